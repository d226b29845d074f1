#include "core/watcher/chunk_scan.hpp"

namespace livesync {

chunk_scan::chunk_scan(chunker_params p)
  : chunks_(p, [this](const char*, size_t len, uint64_t hash, uint64_t) {
      recipe_.push_back(chunk_ref{hash, static_cast<uint32_t>(len)});
    }) {
  // nop
}

read_outcome chunk_scan::open(const std::string& full_path,
                              std::string& reason) {
  return in_.open(full_path, reason);
}

read_outcome chunk_scan::step(size_t max, std::string& reason) {
  if (in_.at_end())
    return read_outcome::ok;
  auto r = in_.next(max, block_, reason);
  if (r != read_outcome::ok)
    return r;
  chunks_.add(block_.data(), block_.size());
  return read_outcome::ok;
}

read_outcome chunk_scan::finish(chunk_list& out) {
  chunks_.finish();
  if (in_.finish() != read_outcome::ok)
    return read_outcome::changed;
  out.version = version();
  out.chunks = std::move(recipe_);
  out.hash = in_.digest();
  in_.close();
  return read_outcome::ok;
}

} // namespace livesync
