#include "core/compress.hpp"

#include <zstd.h>

#include <memory>
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

status decompress_exact(const char* data, size_t len, size_t expected,
                        std::vector<char>& out) {
  auto declared = ZSTD_getFrameContentSize(data, len);
  if (declared == ZSTD_CONTENTSIZE_ERROR)
    return status::fail("not a zstd frame");
  if (declared != ZSTD_CONTENTSIZE_UNKNOWN && declared != expected)
    return status::fail("zstd frame declares " + std::to_string(declared)
                        + " bytes, expected " + std::to_string(expected));
  out.resize(expected);
  auto n = ZSTD_decompressDCtx(dctx(), out.data(), out.size(), data, len);
  if (ZSTD_isError(n))
    return status::fail(std::string{"zstd: "} + ZSTD_getErrorName(n));
  if (n != expected)
    return status::fail("zstd frame expands to " + std::to_string(n)
                        + " bytes, expected " + std::to_string(expected));
  return {};
}

} // namespace livesync
