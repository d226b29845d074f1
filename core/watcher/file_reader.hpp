// Reads a file of the watched tree for sending, and notices when it changed
// while being read (size, mtime, ctime or inode differ before and after), so
// a torn version is never sent as final.
#pragma once

#include "core/wire/content_hash.hpp"
#include "core/wire/entry.hpp"
#include "core/watcher/fs_view.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace livesync {

enum class read_outcome : uint8_t {
  /// The content was read and the file did not change meanwhile.
  ok,
  /// The path is gone or is no longer a regular file: look at it again.
  vanished,
  /// The file changed while it was read: read it again later.
  changed,
  /// It cannot be read (permissions, I/O error): `reason` says why.
  failed,
};

/// A file open for streaming: open(), then next() until done, then
/// finish() to learn whether the bytes sent are a consistent version.
class file_stream {
public:
  file_stream() = default;
  ~file_stream();
  file_stream(const file_stream&) = delete;
  file_stream& operator=(const file_stream&) = delete;

  /// Opens `full_path` (not following a final symlink) and records its state.
  read_outcome open(const std::string& full_path, std::string& reason);

  /// Reads up to `max` bytes at the current offset into `out` (never past
  /// the size seen at open). Returns ok, or changed when the file shrank.
  read_outcome next(size_t max, std::vector<char>& out, std::string& reason);

  /// Reads `len` bytes at `offset` into `out`, without hashing them or
  /// moving the stream's offset (a file whose chunks are known: only the
  /// bytes the reference lacks are read). Returns ok, or changed when the
  /// file is shorter now.
  read_outcome read_at(uint64_t offset, size_t len, std::vector<char>& out,
                       std::string& reason);

  /// All bytes up to the size seen at open() have been read.
  bool at_end() const noexcept { return offset_ >= state_.meta.size; }

  /// Checks that the file is still the version open() saw.
  read_outcome finish();

  const fs_stat& state() const noexcept { return state_; }
  uint64_t offset() const noexcept { return offset_; }
  hash128 digest() const { return hasher_.digest(); }
  void close();

  /// From now on, reads only what the page cache holds (preadv2
  /// RWF_NOWAIT): a read that would wait for the disk fails with
  /// would_block() set. A kernel or filesystem without it reads as usual.
  void cached_only() noexcept { cached_only_ = true; }
  bool would_block() const noexcept { return would_block_; }

private:
  int fd_ = -1;
  bool cached_only_ = false;
  bool would_block_ = false;
  fs_stat state_;
  uint64_t offset_ = 0;
  content_hasher hasher_;
};

/// Reads a whole (small) file: content, its hash and its state as read.
/// A file larger than `max_bytes` now is not read: `changed` (it is no
/// longer the file that was planned as one to read whole).
read_outcome read_whole_file(const std::string& full_path,
                             std::vector<char>& data, hash128& hash,
                             entry_meta& meta, std::string& reason,
                             uint64_t max_bytes = UINT64_MAX);

/// As read_whole_file, from the page cache only: false when some of the
/// file would have to come from the disk (then nothing is filled in).
bool read_whole_file_cached(const std::string& full_path,
                            std::vector<char>& data, hash128& hash,
                            entry_meta& meta, std::string& reason,
                            read_outcome& out, uint64_t max_bytes = UINT64_MAX);

} // namespace livesync
