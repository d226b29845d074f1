// zstd for data on the wire. Two forms:
// - one frame per piece of data (compress_if_smaller / decompress_exact),
//   the form of an op's `data` with data_encoding::zstd;
// - one stream per link (stream_compressor / stream_decompressor): every
//   message is compressed with the history of all earlier messages on the
//   link, so file N+1 is coded against files 1..N (license headers, the
//   vocabulary of a tree), as rsync -z does with its one stream.
// Decompression never trusts a frame header: the sender states how many
// bytes each piece or message expands to, and anything else is refused
// without producing more than that.
#pragma once

#include "core/common/status.hpp"

#include <cstddef>
#include <memory>
#include <vector>

struct ZSTD_CCtx_s;
struct ZSTD_DCtx_s;

namespace livesync {

/// Compresses `len` bytes at `data` at `level` into `out`. Returns false
/// (and leaves `out` empty) when the result would not be smaller: the caller
/// then sends the bytes as they are.
bool compress_if_smaller(const char* data, size_t len, int level,
                         std::vector<char>& out);

/// True when a sample of `len` bytes at `data` (start, middle and end,
/// 4 KiB each) saves less than 1/128 at zstd level 1 on its own: data that
/// a link stream would only copy (random, encrypted, already compressed).
/// A few microseconds for any `len`; false below 12 KiB.
bool looks_incompressible(const char* data, size_t len);

/// Decompresses one zstd frame that must expand to exactly `expected`
/// bytes (the sender states the size; anything else is refused).
status decompress_exact(const char* data, size_t len, size_t expected,
                        std::vector<char>& out);

/// The largest window a link stream may use (log2 bytes): the receiving
/// side refuses streams that need more memory than this.
inline constexpr int stream_window_log_max = 23;

/// The sending half of a link's zstd stream. Each message is flushed
/// (ZSTD_e_flush), so the peer decodes it as soon as it arrives, given every
/// earlier message of the stream in order.
class stream_compressor {
public:
  /// `level` as zstd counts (1..19).
  explicit stream_compressor(int level);
  ~stream_compressor();
  stream_compressor(const stream_compressor&) = delete;
  stream_compressor& operator=(const stream_compressor&) = delete;

  /// Starts a new stream (the peer must start one too: a new link).
  void reset();

  /// Replaces `out` with the compressed, flushed form of the next message.
  /// On failure the stream is unusable until reset().
  status compress(const char* data, size_t len, std::vector<char>& out);

  /// False after a failure, until reset().
  bool usable() const noexcept { return usable_; }

private:
  std::unique_ptr<ZSTD_CCtx_s, size_t (*)(ZSTD_CCtx_s*)> ctx_;
  int level_;
  bool usable_ = true;
  /// Room for one message's compressed form, kept between messages: a
  /// fresh compressBound-sized vector per message cost a zero-fill and a
  /// page fault per 4 KiB of it (most of the packing cost of data zstd
  /// cannot shrink).
  std::vector<char> buf_;
};

/// The receiving half of a link's zstd stream.
class stream_decompressor {
public:
  /// Refuses any message stated to expand to more than `max_message_bytes`.
  explicit stream_decompressor(size_t max_message_bytes);
  ~stream_decompressor();
  stream_decompressor(const stream_decompressor&) = delete;
  stream_decompressor& operator=(const stream_decompressor&) = delete;

  /// Starts a new stream.
  void reset();

  /// Replaces `out` with the next message, which must expand to exactly
  /// `expected` bytes. Any failure (corrupt data, a size other than stated,
  /// a window beyond stream_window_log_max) makes the stream unusable until
  /// reset(): its history is no longer the sender's.
  status decompress(const char* data, size_t len, size_t expected,
                    std::vector<char>& out);

  /// False after a failure, until reset().
  bool usable() const noexcept { return usable_; }

  size_t max_message_bytes() const noexcept { return max_; }

private:
  status fail(status st);

  std::unique_ptr<ZSTD_DCtx_s, size_t (*)(ZSTD_DCtx_s*)> ctx_;
  size_t max_;
  bool usable_ = true;
};

} // namespace livesync
