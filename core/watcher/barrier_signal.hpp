// Flush barriers, numbered and signalled in one step. The n-th call writes
// 1 to the inotify reader's eventfd and returns n, under one lock: the
// reader adds up what it reads, so barrier N reaching a sender means the
// first N signals were written, and every event queued before them was
// read. Shared by the senders of several references, which each ask for
// their own flushes.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>

namespace livesync {

class barrier_signal {
public:
  /// `fd`: the reader's eventfd; -1 numbers the barriers only (actor
  /// tests: the sender hands the barrier to the debouncer itself).
  explicit barrier_signal(int fd = -1) : fd_(fd) {}

  /// The next barrier's number, or 0 when the reader cannot be signalled
  /// (`why` says what failed).
  uint64_t next(std::string& why);

  bool has_reader() const noexcept { return fd_ >= 0; }

private:
  std::mutex mtx_;
  int fd_;
  uint64_t count_ = 0;
};

} // namespace livesync
