#include "core/wire/compress.hpp"

#include <zstd.h>

#include <cstring>
#include <memory>
#include <new>
#include <string>

namespace livesync {

namespace {

// One context per thread: creating one costs more than compressing a
// small chunk.
ZSTD_CCtx* cctx() {
  thread_local std::unique_ptr<ZSTD_CCtx, decltype(&ZSTD_freeCCtx)> ctx{
    ZSTD_createCCtx(), ZSTD_freeCCtx};
  return ctx.get();
}

ZSTD_DCtx* dctx() {
  thread_local std::unique_ptr<ZSTD_DCtx, decltype(&ZSTD_freeDCtx)> ctx{
    ZSTD_createDCtx(), ZSTD_freeDCtx};
  return ctx.get();
}

} // namespace

bool compress_if_smaller(const char* data, size_t len, int level,
                         std::vector<char>& out) {
  out.clear();
  if (len < 64)
    return false; // The frame overhead eats any gain.
  out.resize(ZSTD_compressBound(len));
  auto n = ZSTD_compressCCtx(cctx(), out.data(), out.size(), data, len, level);
  if (ZSTD_isError(n) || n >= len) {
    out.clear();
    return false;
  }
  out.resize(n);
  return true;
}

bool looks_incompressible(const char* data, size_t len) {
  constexpr size_t piece = 4096;
  if (len < 3 * piece)
    return false;
  char sample[3 * piece];
  std::memcpy(sample, data, piece);
  std::memcpy(sample + piece, data + (len / 2 - piece / 2), piece);
  std::memcpy(sample + 2 * piece, data + (len - piece), piece);
  char out[ZSTD_COMPRESSBOUND(3 * piece)];
  auto n = ZSTD_compressCCtx(cctx(), out, sizeof out, sample, sizeof sample,
                             1);
  if (ZSTD_isError(n))
    return false;
  return n + sizeof sample / 128 >= sizeof sample;
}

status decompress_exact(const char* data, size_t len, size_t expected,
                        std::vector<char>& out) {
  auto declared = ZSTD_getFrameContentSize(data, len);
  if (declared == ZSTD_CONTENTSIZE_ERROR)
    return status::fail(ec::protocol, "not a zstd frame");
  if (declared != ZSTD_CONTENTSIZE_UNKNOWN && declared != expected)
    return status::fail(ec::protocol,
                        "zstd frame declares " + std::to_string(declared)
                          + " bytes, expected " + std::to_string(expected));
  out.resize(expected);
  auto n = ZSTD_decompressDCtx(dctx(), out.data(), out.size(), data, len);
  if (ZSTD_isError(n))
    return status::fail(ec::protocol,
                        std::string{"zstd: "} + ZSTD_getErrorName(n));
  if (n != expected)
    return status::fail(ec::protocol,
                        "zstd frame expands to " + std::to_string(n)
                          + " bytes, expected " + std::to_string(expected));
  return {};
}

} // namespace livesync

// -- link streams ---------------------------------------------------------------

namespace livesync {

stream_compressor::stream_compressor(int level)
  : ctx_(ZSTD_createCCtx(), ZSTD_freeCCtx), level_(level) {
  if (!ctx_)
    throw std::bad_alloc{};
  reset();
}

stream_compressor::~stream_compressor() = default;

void stream_compressor::reset() {
  ZSTD_CCtx_reset(ctx_.get(), ZSTD_reset_session_and_parameters);
  ZSTD_CCtx_setParameter(ctx_.get(), ZSTD_c_compressionLevel, level_);
  // Levels up to 19 use at most an 8 MiB window (2^23) on a stream of
  // unknown size; the "ultra" levels above would pick one the peer refuses.
  if (level_ > 19)
    ZSTD_CCtx_setParameter(ctx_.get(), ZSTD_c_windowLog,
                           stream_window_log_max);
  usable_ = true;
}

status stream_compressor::compress(const char* data, size_t len,
                                   std::vector<char>& out) {
  out.clear();
  if (!usable_)
    return status::fail(ec::internal, "compression stream failed earlier");
  // buf_ only grows (its size is its usable room), so only new room is
  // ever zero-filled.
  if (auto need = ZSTD_compressBound(len) + 64; buf_.size() < need)
    buf_.resize(need);
  ZSTD_inBuffer in{data, len, 0};
  ZSTD_outBuffer dst{buf_.data(), buf_.size(), 0};
  for (;;) {
    auto left = ZSTD_compressStream2(ctx_.get(), &dst, &in, ZSTD_e_flush);
    if (ZSTD_isError(left)) {
      usable_ = false;
      return status::fail(ec::internal,
                          std::string{"zstd: "} + ZSTD_getErrorName(left));
    }
    if (left == 0 && in.pos == in.size)
      break;
    if (dst.pos == dst.size) { // Never with compressBound room; be safe.
      buf_.resize(buf_.size() * 2);
      dst.dst = buf_.data();
      dst.size = buf_.size();
    }
  }
  out.assign(buf_.data(), buf_.data() + dst.pos);
  return {};
}

stream_decompressor::stream_decompressor(size_t max_message_bytes)
  : ctx_(ZSTD_createDCtx(), ZSTD_freeDCtx), max_(max_message_bytes) {
  if (!ctx_)
    throw std::bad_alloc{};
  reset();
}

stream_decompressor::~stream_decompressor() = default;

void stream_decompressor::reset() {
  ZSTD_DCtx_reset(ctx_.get(), ZSTD_reset_session_and_parameters);
  ZSTD_DCtx_setParameter(ctx_.get(), ZSTD_d_windowLogMax,
                         stream_window_log_max);
  usable_ = true;
}

status stream_decompressor::fail(status st) {
  usable_ = false;
  return st;
}

status stream_decompressor::decompress(const char* data, size_t len,
                                       size_t expected,
                                       std::vector<char>& out) {
  if (!usable_) {
    out.clear();
    return status::fail(ec::protocol, "decompression stream failed earlier");
  }
  if (expected > max_) {
    out.clear();
    return fail(status::fail(ec::limit_exceeded,
                             "message of " + std::to_string(expected)
                               + " bytes, at most " + std::to_string(max_)
                               + " allowed"));
  }
  // Not cleared first: the bytes kept from an earlier message are all
  // overwritten (or the message is refused), so only room beyond the last
  // message's size is zero-filled, not every message's whole size.
  out.resize(expected);
  ZSTD_inBuffer in{data, len, 0};
  ZSTD_outBuffer dst{out.data(), out.size(), 0};
  // Decode until the input is used up or the stated size is reached; a
  // call that moves neither means zstd needs more room than was stated.
  while (in.pos < in.size) {
    auto in_before = in.pos;
    auto out_before = dst.pos;
    auto r = ZSTD_decompressStream(ctx_.get(), &dst, &in);
    if (ZSTD_isError(r)) {
      out.clear();
      return fail(status::fail(ec::protocol, std::string{"zstd: "}
                                               + ZSTD_getErrorName(r)));
    }
    if (in.pos == in_before && dst.pos == out_before)
      break;
  }
  // Output zstd still holds back (input fully read, room ran out) is more
  // than stated: ask for one more byte to find out.
  char extra = 0;
  ZSTD_outBuffer probe{&extra, 1, 0};
  auto r = ZSTD_decompressStream(ctx_.get(), &probe, &in);
  if (ZSTD_isError(r)) {
    out.clear();
    return fail(status::fail(ec::protocol, std::string{"zstd: "}
                                             + ZSTD_getErrorName(r)));
  }
  if (in.pos < in.size || probe.pos > 0) {
    out.clear();
    return fail(status::fail(ec::protocol,
                             "message expands to more than "
                               + std::to_string(expected) + " bytes"));
  }
  if (dst.pos != expected) {
    auto got = dst.pos;
    out.clear();
    return fail(status::fail(ec::protocol,
                             "message expands to " + std::to_string(got)
                               + " bytes, expected "
                               + std::to_string(expected)));
  }
  return {};
}

} // namespace livesync
