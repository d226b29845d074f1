#include "core/watcher/content_read.hpp"

#include <exception>

namespace livesync {

void content_read::run() noexcept {
  if (cancelled.load(std::memory_order_relaxed)) {
    outcome = read_outcome::failed;
    reason = "cancelled";
    return;
  }
  try {
    outcome = read_whole_file(full_path, data, hash, meta, reason, max_bytes);
    if (!chunking || outcome != read_outcome::ok)
      return;
    auto out = std::make_shared<chunk_list>();
    out->version.size = meta.size;
    out->version.mtime_ns = meta.mtime_ns;
    out->version.mode = meta.mode;
    out->chunks = make_recipe(data.data(), data.size(), *chunking);
    out->hash = hash;
    list = std::move(out);
  } catch (const std::exception& e) {
    // Out of memory, say: this file fails, the worker lives on.
    data = std::vector<char>{};
    list.reset();
    outcome = read_outcome::failed;
    reason = e.what();
  }
}

bool content_read::run_cached() {
  if (chunking)
    return false;
  return read_whole_file_cached(full_path, data, hash, meta, reason, outcome,
                                max_bytes);
}

} // namespace livesync
