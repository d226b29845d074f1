// Reads a large file once and chunks it, for the chunk list of the version
// read (core/watcher/chunk_list_cache): with several references, one
// sender chunks a changed file and every sender streams it from that list.
// In steps of a bounded size, so that the sender answers its mailbox
// while it chunks a large file. Not copyable (the chunker calls back into
// it): hold it by pointer.
#pragma once

#include "core/watcher/chunk_list_cache.hpp"
#include "core/watcher/file_reader.hpp"
#include "core/wire/chunker.hpp"

#include <cstddef>
#include <string>
#include <vector>

namespace livesync {

class chunk_scan {
public:
  explicit chunk_scan(chunker_params p);
  chunk_scan(const chunk_scan&) = delete;
  chunk_scan& operator=(const chunk_scan&) = delete;

  /// Opens `full_path` (as file_stream::open) and records its version.
  read_outcome open(const std::string& full_path, std::string& reason);

  /// Reads and chunks up to `max` more bytes: ok (go on until at_end()),
  /// changed (it shrank) or failed.
  read_outcome step(size_t max, std::string& reason);

  bool at_end() const noexcept { return in_.at_end(); }

  /// Once at_end(): the list of the version open() saw; changed when the
  /// file changed while read (then `out` is untouched).
  read_outcome finish(chunk_list& out);

  /// The version open() saw.
  file_version version() const { return version_of(in_.state()); }
  const fs_stat& state() const noexcept { return in_.state(); }
  uint64_t offset() const noexcept { return in_.offset(); }

private:
  file_stream in_;
  recipe recipe_;
  chunk_stream chunks_;
  std::vector<char> block_;
};

} // namespace livesync
