#define CAF_SUITE core.compress
#include <caf/test/unit_test.hpp>

#include "core/wire/compress.hpp"
#include "core/common/splitmix.hpp"

#include <zstd.h>

#include <string>
#include <vector>

using namespace livesync;

namespace {

std::vector<char> text(size_t n, const std::string& line) {
  std::vector<char> out;
  while (out.size() < n)
    out.insert(out.end(), line.begin(), line.end());
  out.resize(n);
  return out;
}

/// One frame of `n` zero bytes at level 19 (a few hundred bytes at most).
std::vector<char> zero_frame(size_t n) {
  std::vector<char> zeros(n, 0);
  std::vector<char> out(ZSTD_compressBound(n));
  out.resize(ZSTD_compress(out.data(), out.size(), zeros.data(), n, 19));
  return out;
}

} // namespace

CAF_TEST(messages round trip in order over one stream) {
  stream_compressor tx{3};
  stream_decompressor rx{1 << 20};
  std::vector<std::vector<char>> msgs{
    text(5000, "static int buf_len(struct ctx *c);\n"),
    splitmix_bytes(3000, 1), // incompressible
    {'x'},
    text(70000, "# heading\nsome words about the tree\n"),
  };
  for (auto& m : msgs) {
    std::vector<char> wire;
    CAF_REQUIRE(tx.compress(m.data(), m.size(), wire).ok());
    std::vector<char> back;
    auto st = rx.decompress(wire.data(), wire.size(), m.size(), back);
    CAF_REQUIRE(st.ok());
    CAF_CHECK(back == m);
  }
  CAF_CHECK(rx.usable());
}

CAF_TEST(a message repeating an earlier one costs almost nothing) {
  // The point of one stream per link: file N+1 is coded against files 1..N.
  stream_compressor tx{3};
  stream_decompressor rx{1 << 20};
  auto m = splitmix_bytes(20000, 7); // incompressible on its own
  std::vector<char> first;
  std::vector<char> second;
  std::vector<char> back;
  CAF_REQUIRE(tx.compress(m.data(), m.size(), first).ok());
  CAF_REQUIRE(tx.compress(m.data(), m.size(), second).ok());
  CAF_CHECK_GREATER(first.size(), m.size() - 100);
  CAF_CHECK_LESS(second.size(), 100u);
  CAF_REQUIRE(rx.decompress(first.data(), first.size(), m.size(), back).ok());
  CAF_REQUIRE(rx.decompress(second.data(), second.size(), m.size(), back).ok());
  CAF_CHECK(back == m);
}

CAF_TEST(reset starts both sides anew) {
  stream_compressor tx{1};
  stream_decompressor rx{1 << 20};
  auto m = text(4000, "license header line\n");
  std::vector<char> wire;
  std::vector<char> back;
  CAF_REQUIRE(tx.compress(m.data(), m.size(), wire).ok());
  CAF_REQUIRE(rx.decompress(wire.data(), wire.size(), m.size(), back).ok());
  tx.reset();
  rx.reset();
  CAF_REQUIRE(tx.compress(m.data(), m.size(), wire).ok());
  CAF_REQUIRE(rx.decompress(wire.data(), wire.size(), m.size(), back).ok());
  CAF_CHECK(back == m);
}

CAF_TEST(a lost message is caught and breaks the stream until reset) {
  stream_compressor tx{3};
  stream_decompressor rx{1 << 20};
  auto a = splitmix_bytes(8000, 3);
  std::vector<char> w1;
  std::vector<char> w2;
  std::vector<char> back;
  CAF_REQUIRE(tx.compress(a.data(), a.size(), w1).ok());
  CAF_REQUIRE(tx.compress(a.data(), a.size(), w2).ok()); // refers to w1
  // w1 never arrives: w2 names history the receiver does not have.
  auto st = rx.decompress(w2.data(), w2.size(), a.size(), back);
  if (st.ok()) // zstd may decode it from a zeroed window: content differs
    CAF_CHECK(back != a);
  else
    CAF_CHECK(!rx.usable());
  // After a failure nothing more is decoded, even a good message.
  stream_decompressor rx2{1 << 20};
  auto bad = rx2.decompress("garbage!", 8, 8, back);
  CAF_CHECK(!bad.ok());
  CAF_CHECK(!rx2.usable());
  CAF_CHECK(!rx2.decompress(w1.data(), w1.size(), a.size(), back).ok());
  CAF_CHECK(back.empty());
  rx2.reset();
  CAF_CHECK(rx2.decompress(w1.data(), w1.size(), a.size(), back).ok());
  CAF_CHECK(back == a);
}

CAF_TEST(the stated size is the exact size) {
  auto m = text(10000, "abcdefgh\n");
  for (size_t stated : {size_t{0}, size_t{9999}, size_t{10001}, size_t{1} << 19}) {
    stream_compressor tx{3};
    stream_decompressor rx{1 << 20};
    std::vector<char> wire;
    std::vector<char> back;
    CAF_REQUIRE(tx.compress(m.data(), m.size(), wire).ok());
    auto st = rx.decompress(wire.data(), wire.size(), stated, back);
    CAF_CHECK(!st.ok());
    CAF_CHECK(!rx.usable());
    CAF_CHECK(back.empty());
  }
}

CAF_TEST(bombs are refused without expanding beyond the stated size) {
  // ~64 MiB of zeros in a few KiB; stated as 1 MiB (the limit), then as
  // more than the limit.
  auto bomb = zero_frame(size_t{64} << 20);
  CAF_REQUIRE(bomb.size() < 10000u);
  {
    stream_decompressor rx{1 << 20};
    std::vector<char> back;
    auto st = rx.decompress(bomb.data(), bomb.size(), 1 << 20, back);
    CAF_CHECK(!st.ok());
    CAF_CHECK_NOT_EQUAL(st.reason().find("more than"), std::string::npos);
    CAF_CHECK_LESS_OR_EQUAL(back.capacity(), size_t{1} << 20);
  }
  {
    stream_decompressor rx{1 << 20};
    std::vector<char> back;
    auto st = rx.decompress(bomb.data(), bomb.size(), size_t{64} << 20, back);
    CAF_CHECK(!st.ok());
    CAF_CHECK_NOT_EQUAL(st.reason().find("at most"), std::string::npos);
    CAF_CHECK_EQUAL(back.capacity(), 0u); // refused before any allocation
  }
}

CAF_TEST(a stream asking for a window beyond the limit is refused) {
  // Level 19 with a long window on 32 MiB: the frame header asks for 2^25.
  std::vector<char> data(size_t{32} << 20, 0);
  for (size_t i = 0; i < data.size(); i += 4096)
    data[i] = static_cast<char>(i >> 12);
  auto* c = ZSTD_createCCtx();
  ZSTD_CCtx_setParameter(c, ZSTD_c_compressionLevel, 1);
  ZSTD_CCtx_setParameter(c, ZSTD_c_windowLog, 25);
  ZSTD_CCtx_setParameter(c, ZSTD_c_contentSizeFlag, 0);
  std::vector<char> frame(ZSTD_compressBound(data.size()));
  frame.resize(ZSTD_compress2(c, frame.data(), frame.size(), data.data(),
                              data.size()));
  ZSTD_freeCCtx(c);
  stream_decompressor rx{size_t{16} << 20};
  std::vector<char> back;
  auto st = rx.decompress(frame.data(), frame.size(), 1 << 20, back);
  CAF_CHECK(!st.ok());
  CAF_CHECK(!rx.usable());
}

CAF_TEST(one frame per piece: exact size or refused) {
  auto m = text(5000, "per-op frames are still accepted\n");
  std::vector<char> packed;
  CAF_REQUIRE(compress_if_smaller(m.data(), m.size(), 3, packed));
  std::vector<char> back;
  CAF_CHECK(decompress_exact(packed.data(), packed.size(), m.size(), back).ok());
  CAF_CHECK(back == m);
  CAF_CHECK(!decompress_exact(packed.data(), packed.size(), m.size() - 1, back).ok());
  auto noise = splitmix_bytes(5000, 5);
  CAF_CHECK(!compress_if_smaller(noise.data(), noise.size(), 3, packed));
  CAF_CHECK(packed.empty());
}

CAF_TEST(buffers reused across messages of changing sizes hold each message) {
  // Both halves keep their buffers between messages (no zero-fill per
  // message): a smaller message after a larger one must not keep a byte
  // of it, nor a larger one after a smaller one.
  stream_compressor tx{3};
  stream_decompressor rx{1 << 22};
  std::vector<char> wire;
  std::vector<char> back; // reused, as batch_unpacker does
  std::vector<std::vector<char>> msgs{
    splitmix_bytes(300000, 1), text(1000, "a line\n"),
    splitmix_bytes(200, 2),    splitmix_bytes(1 << 21, 3),
    text(50000, "another\n"),  std::vector<char>(1, 'z'),
  };
  for (auto& m : msgs) {
    CAF_REQUIRE(tx.compress(m.data(), m.size(), wire).ok());
    CAF_CHECK_LESS(wire.size(), m.size() + 200);
    CAF_REQUIRE(rx.decompress(wire.data(), wire.size(), m.size(), back).ok());
    CAF_CHECK(back == m);
  }
}

CAF_TEST(incompressible samples are told from compressible data) {
  struct row {
    const char* what;
    std::vector<char> data;
    bool incompressible;
  };
  std::vector<char> rep;
  auto block = splitmix_bytes(3000, 5);
  while (rep.size() < (100 << 10))
    rep.insert(rep.end(), block.begin(), block.end());
  // Random at both ends, text in the middle: the middle piece compresses.
  auto mixed = splitmix_bytes(96 << 10, 6);
  auto mid = text(8192, "int x;\n");
  std::copy(mid.begin(), mid.end(), mixed.begin() + (48 << 10) - 4096);
  std::vector<row> rows{
    {"random", splitmix_bytes(64 << 10, 4), true},
    {"random, odd size", splitmix_bytes((1 << 20) + 3, 7), true},
    {"text", text(64 << 10, "static int f(void) { return 1; }\n"), false},
    {"repeated random block", rep, false},
    {"random with text inside", mixed, false},
    {"zeros", std::vector<char>(64 << 10, 0), false},
    {"random but too short to judge", splitmix_bytes(12287, 8), false},
  };
  for (auto& r : rows) {
    CAF_MESSAGE(r.what);
    CAF_CHECK_EQUAL(looks_incompressible(r.data.data(), r.data.size()),
                    r.incompressible);
  }
}
