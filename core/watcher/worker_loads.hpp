// Which content worker a sender hands its next request to: the one with
// the fewest of its requests out, the next in turn on a tie, so that a
// small read does not queue behind chunkings while a worker is free
// (actors/watcher/sender_read_ahead.cpp).
#pragma once

#include <cstddef>
#include <vector>

namespace livesync {

class worker_loads {
public:
  /// The worker for the next request among `n` (n > 0), counted as out.
  size_t pick(size_t n);

  /// The request to worker `i` was answered (or failed).
  void done(size_t i);

  size_t load(size_t i) const { return i < out_.size() ? out_[i] : 0; }

private:
  std::vector<size_t> out_;
  size_t next_ = 0;
};

} // namespace livesync
