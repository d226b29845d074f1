// One file's content made ready on a content worker
// (actors/watcher/content_worker) ahead of its upload, so that the sender
// plans, packs and sends while the next files are read:
//
// - a small file is read whole: its content, its hash and its state as
//   read (the sender sends it as one write_file);
// - a larger one is chunked: the chunk list of the version read (chunk
//   hashes and lengths, whole-file hash). The sender then streams it from
//   that list (file_upload's listed mode): it reads only the bytes its
//   reference lacks and checks each chunk against the list, without
//   chunking the file again, and the worker's read left it in the page
//   cache. A file that changed since is told apart by its version, never
//   sent wrong.
//
// Owned by the sender, handed to one worker at a time.
#pragma once

#include "core/watcher/chunk_list_cache.hpp"
#include "core/watcher/file_reader.hpp"
#include "core/wire/chunker.hpp"

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace livesync {

struct content_read {
  /// Root-relative (as the planner names it), and as opened.
  std::string path;
  std::string full_path;
  /// Set: chunk the file with these parameters into `list`; unset: read
  /// it whole into `data`.
  std::optional<chunker_params> chunking;
  read_outcome outcome = read_outcome::failed;
  std::string reason;
  /// A file read whole: the content, its hash and its state as read.
  std::vector<char> data;
  hash128 hash;
  entry_meta meta;
  /// A file chunked: the list of the version read (outcome ok only).
  std::shared_ptr<const chunk_list> list;

  bool chunks() const noexcept { return chunking.has_value(); }

  /// Reads or chunks the file into the fields above.
  void run();

  /// As run() for a file read whole, when all of it is in the page cache
  /// (nothing waits for the disk); false otherwise, with nothing filled in.
  /// Always false for a file to chunk (that is a worker's job).
  bool run_cached();
};

/// Reads handed to a worker in one message.
using content_reads = std::vector<std::shared_ptr<content_read>>;

} // namespace livesync
