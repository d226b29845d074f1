// One file's content made ready on a content worker
// (actors/watcher/content_worker) ahead of its upload, so that the sender
// plans, packs and sends while the next files are read:
//
// - a small file is read whole: its content, its hash and its state as
//   read (the sender sends it as one write_file);
// - a larger one (up to a bound, sender_config::scan_ahead_max_bytes) is
//   read whole and chunked: its content, state as read, and chunk list
//   (chunk hashes and lengths, whole-file hash). The sender then streams
//   that version from memory (file_upload's listed mode with held
//   content), against the recipe its reference holds, without reading,
//   chunking or hashing the file itself.
//
// Either way the sender sends the version the worker read, consistent
// (its state did not change during the read); a later change of the file
// is a later event, and a later upload.
//
// Owned by the sender, handed to one worker at a time.
#pragma once

#include "core/watcher/chunk_list_cache.hpp"
#include "core/watcher/file_reader.hpp"
#include "core/wire/chunker.hpp"

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace livesync {

struct content_read {
  /// Root-relative (as the planner names it), and as opened.
  std::string path;
  std::string full_path;
  /// Set: also chunk the file with these parameters into `list`.
  std::optional<chunker_params> chunking;
  /// A file larger than this now is not read (`changed`): what was planned
  /// as a small file, or one to chunk ahead, may have grown since, and a
  /// worker must not take a log or an image whole into memory.
  uint64_t max_bytes = UINT64_MAX;
  /// Set by the sender when it no longer waits for this read (its link
  /// was lost): a worker that has not started it skips it.
  std::atomic<bool> cancelled{false};
  /// The worker failed (not the read): the sender reads the file itself.
  bool worker_failed = false;
  read_outcome outcome = read_outcome::failed;
  std::string reason;
  /// The content, its hash and its state as read.
  std::vector<char> data;
  hash128 hash;
  entry_meta meta;
  /// A file chunked: the list of the version read (outcome ok only). Its
  /// version has the size, mtime and mode read (no ctime or inode: it is
  /// sent from `data`, never checked against the file again).
  std::shared_ptr<const chunk_list> list;

  bool chunks() const noexcept { return chunking.has_value(); }

  /// Reads (and chunks) the file into the fields above, unless cancelled;
  /// never throws (an exception is a failed read).
  void run() noexcept;

  /// As run() for a file read whole, when all of it is in the page cache
  /// (nothing waits for the disk); false otherwise, with nothing filled in.
  /// Always false for a file to chunk (that is a worker's job).
  bool run_cached();
};

/// Reads handed to a worker in one message.
using content_reads = std::vector<std::shared_ptr<content_read>>;

} // namespace livesync
