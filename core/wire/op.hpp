// The operations a watcher sends to a reference, as plain data. The wire
// form (inspect, type IDs) lives in messages/types.hpp; this header has no
// CAF dependency so core/ stays testable without an actor system.
#pragma once

#include "core/common/error_code.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace livesync {

/// A 128-bit content hash (XXH3-128 of the whole file).
struct hash128 {
  uint64_t lo = 0;
  uint64_t hi = 0;
};

inline bool operator==(const hash128& x, const hash128& y) {
  return x.lo == y.lo && x.hi == y.hi;
}
inline bool operator!=(const hash128& x, const hash128& y) {
  return !(x == y);
}

/// What an operation does on the reference. Every kind is idempotent: it
/// names the state it leaves, so replaying it is harmless.
enum class op_kind : uint8_t {
  /// Make `path` a directory with `mode` (replacing a non-directory).
  mkdir,
  /// Make `path` a symlink whose text is `target` (replacing anything).
  symlink,
  /// Remove `path` recursively; a missing path is fine.
  remove,
  /// rename(2) `path` to `target`. The source must exist.
  rename,
  /// Set `mode` and `mtime_ns` of `path` (no content change). `offset` is
  /// the watcher's link count of a file: a change through a name the
  /// watcher links (2 or more) is meant for every name of the inode, as
  /// chmod(2) is; otherwise (0, 1) a reference file that shares its inode
  /// with other names gets its own copy first, so the change stays on
  /// `path` (links made before a restart may differ between the nodes).
  set_attr,
  /// Replace `path` by a file of `size` bytes given whole in `data`, which
  /// must hash to `hash`; then set `mode` and `mtime_ns`.
  write_file,
  /// Start transfer `xfer` of a `size`-byte file to `path` with `mode` and
  /// `mtime_ns`; content follows in `chunk` ops.
  begin_file,
  /// Append `data` at `offset` to transfer `xfer` (offsets are sequential).
  /// With zstd encoding, `size` is the length `data` expands to.
  chunk,
  /// Check transfer `xfer` against `hash` and size, then commit it atomically.
  commit_file,
  /// Drop transfer `xfer` and its staging file.
  abort_file,
  /// Append to transfer `xfer` the `size` bytes at `offset` of the file the
  /// reference holds at `target` ("" means the transfer's own path, i.e.
  /// the version being replaced). Bounded by that file's size.
  copy_range,
  /// Make `path` a hard link to the regular file the reference holds at
  /// `target`, which must be of `size` bytes with mtime `mtime_ns` (what
  /// the watcher sent there), replacing anything at `path`; then set
  /// `mode`. Where the filesystem cannot link, `path` gets a copy made on
  /// the reference: no content crosses the wire either way.
  link,
};

/// How `data` is encoded.
enum class data_encoding : uint8_t { raw = 0, zstd = 1 };

std::string to_string(op_kind k);

/// One operation. Fields not used by a kind stay at their defaults.
struct op {
  op_kind kind = op_kind::remove;
  std::string path;
  std::string target;
  uint32_t mode = 0;
  int64_t mtime_ns = 0;
  uint64_t size = 0;
  uint64_t xfer = 0;
  uint64_t offset = 0;
  std::vector<char> data;
  data_encoding encoding = data_encoding::raw;
  hash128 hash;
};

/// A refused or failed operation: its index in the batch, the class of the
/// failure (what the watcher acts on), its path (empty: the error names
/// none, or a path too long to echo) and the human-readable detail.
struct op_error {
  uint32_t index = 0;
  ec code = ec::internal;
  std::string path;
  std::string detail;
};

/// A batch of ops as one message of a link's compression stream: the ops
/// encoded (core/wire/batch_codec) and compressed with the history of every
/// earlier batch since the link's hello.
struct packed_batch {
  /// Position in the stream: 0 for the first batch after hello, then +1.
  /// A gap or repeat means the two sides' histories differ.
  uint64_t seq = 0;
  /// Bytes `frame` expands to (bounded by the receiver before decoding).
  uint64_t raw_size = 0;
  /// XXH3-64 of those bytes (then of the stored bytes, seeded with it, when
  /// there are any): a stream out of step is caught, not applied.
  uint64_t checksum = 0;
  /// How many bytes at the end of `frame` are op data stored as it is,
  /// outside the zstd stream (data zstd would only copy: random,
  /// encrypted, already compressed). The encoded ops name which ops' data
  /// they are, in order.
  uint64_t stored_size = 0;
  /// The zstd stream's next message, then `stored_size` stored bytes.
  std::vector<char> frame;
};

/// The payload bytes an op puts on the wire, for flow control.
inline uint64_t wire_size(const op& x) {
  return 64 + x.path.size() + x.target.size() + x.data.size();
}

} // namespace livesync
