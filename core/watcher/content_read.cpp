#include "core/watcher/content_read.hpp"

namespace livesync {

void content_read::run() {
  outcome = read_whole_file(full_path, data, hash, meta, reason);
  if (!chunking || outcome != read_outcome::ok)
    return;
  auto out = std::make_shared<chunk_list>();
  out->version.size = meta.size;
  out->version.mtime_ns = meta.mtime_ns;
  out->version.mode = meta.mode;
  out->chunks = make_recipe(data.data(), data.size(), *chunking);
  out->hash = hash;
  list = std::move(out);
}

bool content_read::run_cached() {
  if (chunking)
    return false;
  return read_whole_file_cached(full_path, data, hash, meta, reason, outcome);
}

} // namespace livesync
