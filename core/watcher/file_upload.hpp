// One file on its way to the reference, as a sequence of operations:
// begin_file, then copy_range (bytes the reference already holds, found
// through the recipe of its version) and chunk (literal bytes, raw: the
// sender compresses whole batches), then commit_file with the strong hash
// of what was read. Reads the file in blocks, chunks it as it goes
// (building the recipe of the new version for next time), and never holds
// more than one block plus one pending instruction. A file that changes
// while it is read ends as "torn": the caller sends abort_file instead of
// commit_file.
//
// Given the chunk list of the version (several references: another
// sender chunked it, core/watcher/chunk_list_cache), it reads only the
// chunks that go as literals, and checks each against its hash in the
// list; the version opened must be the list's. Either way a file that
// changed is torn, never sent wrong. Given also the content the list was
// made of (a content worker read and chunked the file whole,
// core/watcher/content_read), it takes the literals from that content and
// does not open the file: it sends that version, as read.
#pragma once

#include "core/watcher/chunk_list_cache.hpp"
#include "core/wire/chunker.hpp"
#include "core/wire/delta.hpp"
#include "core/watcher/file_reader.hpp"
#include "core/wire/op.hpp"

#include <cstdint>
#include <deque>
#include <memory>
#include <string>

namespace livesync {

struct upload_settings {
  chunker_params chunking;
  /// zstd level of the link stream that carries the ops (0: none). Not
  /// used by file_upload: literal chunks go raw into ops, and the sender
  /// compresses whole batches (core/wire/batch_codec.hpp).
  int zstd_level = 3;
  /// Bytes read from the file at a time, and the largest literal op.
  uint64_t block_bytes = 1u << 20;
};

/// Byte counters of one upload.
struct upload_stats {
  uint64_t file_bytes = 0;
  uint64_t literal_bytes = 0;
  uint64_t copied_bytes = 0;
  /// Of copied_bytes, those copied from other files than the base.
  uint64_t reused_bytes = 0;
  /// Bytes of op payload (literal data; compressed later, per batch).
  uint64_t payload_bytes = 0;
};

class file_upload {
public:
  /// `base` is the recipe of the version the reference holds at `path`
  /// (nullptr or empty when it holds none). Chunks not in it are looked up
  /// in `others` (other files the reference holds; may be nullptr, must
  /// outlive the upload); the rest goes as literals. `listed`, when given,
  /// is the chunk list of the version to send (the file is not chunked
  /// again).
  file_upload(std::string path, uint64_t xfer, const recipe* base,
              upload_settings settings, const chunk_locator* others = nullptr,
              std::shared_ptr<const chunk_list> listed = nullptr);

  /// Sends `content`, the bytes the chunk list was made of, in state
  /// `meta` as read, instead of reading the file. Before open(). Ignored
  /// (open() then checks the file against the list's version) unless the
  /// list, the content and `meta` agree on the size.
  void use_content(std::vector<char> content, const entry_meta& meta);

  /// Opens the file and fills `begin` with the begin_file op (changed:
  /// the file is not the version of the chunk list). With held content
  /// (use_content) only fills `begin`.
  read_outcome open(const std::string& full_path, op& begin,
                    std::string& reason);

  enum class step { op, done, torn, failed };

  /// The next chunk or copy_range op in `out` (step::op); or, when all is
  /// sent and the file did not change, the commit_file op (step::done);
  /// step::torn when the file changed while read (send abort_file); or
  /// step::failed with `reason` (a read error; send abort_file).
  step next(op& out, std::string& reason);

  /// An abort_file op for this transfer.
  op abort_op() const;

  /// The state of the file as read (valid after open()).
  const entry_meta& meta() const {
    return held_ ? held_meta_ : in_.state().meta;
  }

  /// The recipe of the version sent (complete after step::done).
  recipe take_recipe() {
    return listed_ ? listed_->chunks : std::move(recipe_);
  }

  /// Bytes of copy_range ops made since the last copies_handed_over():
  /// work for the reference that is tiny on the wire. The sender hands such
  /// ops over in slices, so the reference copies while this side still
  /// reads, instead of after the whole file.
  uint64_t copies_pending() const noexcept { return copies_pending_; }
  void copies_handed_over() noexcept { copies_pending_ = 0; }

  const upload_stats& stats() const noexcept { return stats_; }
  const std::string& path() const noexcept { return path_; }
  uint64_t xfer() const noexcept { return xfer_; }

private:
  op make(op_kind kind) const;
  op to_op(delta_instr& instr);
  void move_scratch();
  step next_listed(op& out, std::string& reason);
  /// Reads the literal chunks gathered so far, checks them against the
  /// list and feeds them to the encoder.
  read_outcome flush_literals(std::string& reason);

  std::string path_;
  uint64_t xfer_;
  upload_settings settings_;
  recipe_index base_;
  delta_encoder encoder_;
  chunk_stream chunks_;
  file_stream in_;
  /// One block of the file; reused (a fresh 1 MiB vector per block cost a
  /// zeroing and, above malloc's mmap threshold, an mmap + munmap each).
  std::vector<char> block_;
  std::deque<delta_instr> pending_;
  std::vector<delta_instr> scratch_;
  recipe recipe_;
  uint64_t out_offset_ = 0;
  bool chunking_done_ = false;
  uint64_t copies_pending_ = 0;
  upload_stats stats_;
  // With a chunk list: the next chunk, its offset in the file, and the
  // literal chunks gathered but not read yet (a run of them, read at once).
  std::shared_ptr<const chunk_list> listed_;
  size_t next_chunk_ = 0;
  uint64_t chunk_offset_ = 0;
  size_t run_first_ = 0;
  uint64_t run_offset_ = 0;
  uint64_t run_bytes_ = 0;
  // Held content (use_content): the bytes of the list's version, as read.
  bool held_ = false;
  std::vector<char> held_content_;
  entry_meta held_meta_;
};

} // namespace livesync
