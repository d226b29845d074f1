#include "core/watcher/content_read.hpp"

#include "core/watcher/chunk_scan.hpp"

namespace livesync {

namespace {

/// Bytes a chunking worker reads at a time.
constexpr size_t scan_block_bytes = 1u << 20;

} // namespace

void content_read::run() {
  if (!chunking) {
    outcome = read_whole_file(full_path, data, hash, meta, reason);
    return;
  }
  chunk_scan scan{*chunking};
  outcome = scan.open(full_path, reason);
  while (outcome == read_outcome::ok && !scan.at_end())
    outcome = scan.step(scan_block_bytes, reason);
  if (outcome != read_outcome::ok)
    return;
  auto out = std::make_shared<chunk_list>();
  outcome = scan.finish(*out);
  if (outcome == read_outcome::ok)
    list = std::move(out);
}

bool content_read::run_cached() {
  if (chunking)
    return false;
  return read_whole_file_cached(full_path, data, hash, meta, reason, outcome);
}

} // namespace livesync
