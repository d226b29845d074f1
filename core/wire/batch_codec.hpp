// A batch of ops as bytes, and a batch as one message of a link's zstd
// stream. The encoding is livesync's own (varints, length-prefixed strings
// and data), not CAF's, so a hostile peer's lengths are checked against the
// bytes actually present before anything is allocated.
#pragma once

#include "core/wire/compress.hpp"
#include "core/wire/compression_gate.hpp"
#include "core/wire/op.hpp"
#include "core/common/status.hpp"

#include <cstddef>
#include <cstdint>
#include <vector>

namespace livesync {

/// Appends the encoding of `ops` to `out`.
void encode_ops(const std::vector<op>& ops, std::vector<char>& out);

/// Appends the encoding of `ops` to `out`, except the data of every op i
/// with `stored[i]` set: only its length is encoded (and a flag), its
/// bytes go in the stored section, in order, which the caller sends as
/// they are (packed_batch::stored_size).
void encode_ops(const std::vector<op>& ops, const std::vector<bool>& stored,
                std::vector<char>& out);

/// Decodes exactly `len` bytes at `data` into `ops` (replaced). Refuses
/// more than `max_ops` ops, unknown kinds or encodings, lengths beyond the
/// input, and trailing bytes.
status decode_ops(const char* data, size_t len, size_t max_ops,
                  std::vector<op>& ops);

/// The same with a stored section of `stored_len` bytes at `stored`: the
/// data of each op flagged as stored is taken from it in order; a length
/// beyond the stored bytes left, and stored bytes left over, are refused.
status decode_ops(const char* data, size_t len, const char* stored,
                  size_t stored_len, size_t max_ops, std::vector<op>& ops);

/// Data below this size always goes through the zstd stream; above, the
/// data of a chunk or write_file that looks incompressible
/// (looks_incompressible) is stored beside it.
inline constexpr size_t min_stored_bytes = size_t{32} << 10;

/// The largest encoded batch either side accepts in a packed_batch. The
/// watcher's batches stay far below (about 1 MiB plus one op); a larger
/// one goes out unpacked.
inline constexpr size_t max_packed_raw_bytes = size_t{16} << 20;

/// The watcher's side of one link: packs batches into one zstd stream.
class batch_packer {
public:
  explicit batch_packer(int level) : z_(level) {}

  /// Packs `ops` as the next message. Returns false (and packs nothing)
  /// when the batch is too large to pack, compression failed, or the batch
  /// is data of a file that stopped shrinking (compression_gate); the
  /// caller then sends the ops unpacked. After a compression failure every
  /// later call returns false: the stream is out of step with the peer's.
  bool pack(const std::vector<op>& ops, packed_batch& out);

  /// Batches packed since the start of the stream.
  uint64_t packed() const noexcept { return next_seq_; }

  /// File data left uncompressed because it did not shrink.
  uint64_t skipped_bytes() const noexcept { return gate_.skipped_bytes(); }

  /// File data of packed batches stored beside the stream, not compressed.
  uint64_t stored_bytes() const noexcept { return stored_total_; }

private:
  stream_compressor z_;
  compression_gate gate_;
  uint64_t next_seq_ = 0;
  uint64_t stored_total_ = 0;
  std::vector<char> raw_;
  std::vector<char> zbuf_;
  std::vector<bool> stored_;
};

/// The reference's side of one link.
class batch_unpacker {
public:
  batch_unpacker() : z_(max_packed_raw_bytes) {}

  /// Starts a new stream (a hello).
  void reset();

  /// Unpacks the next message into `ops`. Any failure (a sequence gap,
  /// corrupt or oversized frame, checksum, encoding) leaves the stream
  /// unusable until reset(): nothing of that batch or later ones is
  /// applied.
  status unpack(const packed_batch& in, size_t max_ops, std::vector<op>& ops);

  bool usable() const noexcept { return z_.usable() && usable_; }

private:
  stream_decompressor z_;
  uint64_t next_seq_ = 0;
  bool usable_ = true;
  std::vector<char> raw_;
};

} // namespace livesync
