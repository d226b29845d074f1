#define CAF_SUITE core.content_hash
#include <caf/test/unit_test.hpp>

#include "core/wire/content_hash.hpp"

#include <algorithm>
#include <string>

#include <xxhash.h>

using namespace livesync;

namespace {

std::string sample(size_t n) {
  std::string out;
  out.reserve(n);
  for (size_t i = 0; i < n; ++i)
    out.push_back(static_cast<char>((i * 131 + i / 7) & 0xff));
  return out;
}

} // namespace

CAF_TEST(hashing in pieces equals hashing at once) {
  // Sizes around xxhash internal block and buffer boundaries.
  for (size_t n : {0u, 1u, 15u, 16u, 17u, 128u, 129u, 240u, 241u, 255u, 256u,
                   1024u, 4096u, 100000u}) {
    auto data = sample(n);
    auto whole = hash_bytes(data.data(), data.size());
    for (size_t piece : {1u, 3u, 64u, 1000u}) {
      content_hasher h;
      for (size_t pos = 0; pos < n; pos += piece)
        h.update(data.data() + pos, std::min(piece, n - pos));
      CAF_CHECK(h.digest() == whole);
    }
  }
}

CAF_TEST(digest can be taken mid stream) {
  auto data = sample(300);
  content_hasher h;
  h.update(data.data(), 100);
  CAF_CHECK(h.digest() == hash_bytes(data.data(), 100));
  h.update(data.data() + 100, 200);
  CAF_CHECK(h.digest() == hash_bytes(data.data(), 300));
}

CAF_TEST(empty input) {
  content_hasher h;
  h.update(nullptr, 0);
  CAF_CHECK(h.digest() == hash_bytes(nullptr, 0));
  CAF_CHECK(hash_bytes(nullptr, 0) == hash_bytes("x", 0));
}

CAF_TEST(different data gives a different hash) {
  auto a = sample(1000);
  auto b = a;
  b[500] ^= 1;
  CAF_CHECK(hash_bytes(a.data(), a.size()) != hash_bytes(b.data(), b.size()));
  CAF_CHECK(hash_bytes(a.data(), 999) != hash_bytes(a.data(), 1000));
  CAF_CHECK(hash_bytes("a", 1) != hash_bytes("b", 1));
  auto h = hash_bytes(a.data(), a.size());
  CAF_CHECK(h.lo != h.hi);
}

CAF_TEST(lo and hi are the low64 and high64 halves of XXH3 128) {
  auto data = sample(777);
  auto ref = XXH3_128bits(data.data(), data.size());
  auto h = hash_bytes(data.data(), data.size());
  CAF_CHECK_EQUAL(h.lo, ref.low64);
  CAF_CHECK_EQUAL(h.hi, ref.high64);
}
