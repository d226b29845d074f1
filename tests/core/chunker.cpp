#define CAF_SUITE core.chunker
#include <caf/test/unit_test.hpp>

#include "core/wire/chunker.hpp"

#include <algorithm>
#include <cstring>
#include <map>
#include <stdexcept>
#include <utility>
#include <vector>

#include <xxhash.h>

#include "core/common/splitmix.hpp"

using namespace livesync;

namespace {

uint64_t splitmix64(uint64_t& state) {
  return splitmix64_next(state);
}

// `n` pseudo-random bytes, the same on every machine.
std::vector<char> random_bytes(size_t n, uint64_t seed) {
  return splitmix_bytes(n, seed);
}

const uint8_t* bytes(const std::vector<char>& v) {
  return reinterpret_cast<const uint8_t*>(v.data());
}

recipe recipe_of(const std::vector<char>& v, chunker_params p = {}) {
  return make_recipe(v.data(), v.size(), p);
}

// Feeds `v` to a chunk_stream in pieces of `piece` bytes.
recipe recipe_in_pieces(const std::vector<char>& v, size_t piece,
                        chunker_params p = {}) {
  recipe r;
  chunk_stream s(p, [&r](const char*, size_t n, uint64_t hash, uint64_t) {
    r.push_back(chunk_ref{hash, static_cast<uint32_t>(n)});
  });
  for (size_t pos = 0; pos < v.size(); pos += piece)
    s.add(v.data() + pos, std::min(piece, v.size() - pos));
  s.finish();
  return r;
}

// True if `f()` throws an `E`.
template <class E, class F>
bool throws(F&& f) {
  try {
    f();
  } catch (const E&) {
    return true;
  } catch (...) {
    return false;
  }
  return false;
}

// Chunks in `a` and not in `b`, counted as multisets.
size_t chunks_not_in(const recipe& a, const recipe& b) {
  std::map<std::pair<uint64_t, uint32_t>, int> count;
  for (auto& c : b)
    ++count[{c.hash, c.length}];
  size_t missing = 0;
  for (auto& c : a)
    if (--count[{c.hash, c.length}] < 0)
      ++missing;
  return missing;
}

} // namespace

CAF_TEST(invalid parameters are rejected) {
  CAF_CHECK_EQUAL(invalid_chunker_params(chunker_params{}), nullptr);
  CAF_CHECK_EQUAL(invalid_chunker_params({64, 64, 64}), nullptr);
  CAF_CHECK_EQUAL(invalid_chunker_params({1, 64, 16u << 20}), nullptr);
  CAF_CHECK_EQUAL(invalid_chunker_params({4096, 4096, 4096}), nullptr);
  // avg not a power of two
  CAF_CHECK_NOT_EQUAL(invalid_chunker_params({1024, 5000, 32768}), nullptr);
  CAF_CHECK_NOT_EQUAL(invalid_chunker_params({1024, 0, 32768}), nullptr);
  // min > avg
  CAF_CHECK_NOT_EQUAL(invalid_chunker_params({8192, 4096, 32768}), nullptr);
  // avg > max
  CAF_CHECK_NOT_EQUAL(invalid_chunker_params({1024, 65536, 32768}), nullptr);
  // min == 0
  CAF_CHECK_NOT_EQUAL(invalid_chunker_params({0, 4096, 32768}), nullptr);
  // max > 16 MiB
  CAF_CHECK_NOT_EQUAL(invalid_chunker_params({1024, 4096, (16u << 20) + 1}),
                      nullptr);
  // avg below 64: too few mask bits for normalized chunking
  CAF_CHECK_NOT_EQUAL(invalid_chunker_params({16, 32, 128}), nullptr);
  CAF_CHECK_NOT_EQUAL(invalid_chunker_params({1, 1, 1}), nullptr);
  // The chunker refuses them too.
  CAF_CHECK(throws<std::invalid_argument>(
    [] { chunker ch(chunker_params{0, 4096, 32768}); }));
  // On the link (watcher options, recipe requests): chunks that keep a
  // recipe at a few percent of its file.
  CAF_CHECK_EQUAL(invalid_link_chunker_params(chunker_params{}), nullptr);
  CAF_CHECK_EQUAL(invalid_link_chunker_params({512, 1024, 1024}), nullptr);
  CAF_CHECK_NOT_EQUAL(invalid_link_chunker_params({64, 64, 64}), nullptr);
  CAF_CHECK_NOT_EQUAL(invalid_link_chunker_params({511, 1024, 4096}), nullptr);
  CAF_CHECK_NOT_EQUAL(invalid_link_chunker_params({512, 512, 4096}), nullptr);
  CAF_CHECK_NOT_EQUAL(invalid_link_chunker_params({0, 4096, 32768}), nullptr);
}

CAF_TEST(cut honours its contract) {
  chunker_params p;
  chunker ch(p);
  auto data = random_bytes(4 * p.max_size, 7);
  auto d = bytes(data);
  CAF_CHECK_EQUAL(ch.cut(d, 0, false), 0u);
  CAF_CHECK_EQUAL(ch.cut(d, 0, true), 0u);
  // Up to min_size there is no cut point: more bytes, or the end.
  for (size_t len : {size_t{1}, size_t{100}, size_t{p.min_size}}) {
    CAF_CHECK_EQUAL(ch.cut(d, len, false), 0u);
    CAF_CHECK_EQUAL(ch.cut(d, len, true), len);
  }
  // With max_size bytes or more, a cut in (min_size, max_size].
  size_t full = ch.cut(d, data.size(), false);
  CAF_CHECK_GREATER(full, p.min_size);
  CAF_CHECK_LESS_OR_EQUAL(full, p.max_size);
  CAF_CHECK_EQUAL(ch.cut(d, p.max_size, false), full);
  CAF_CHECK_EQUAL(ch.cut(d, data.size(), true), full);
  // A shorter window finds the same cut or asks for more bytes; at the end
  // of the stream it stops at the end of the data.
  for (size_t len = 1; len < p.max_size; len += 97) {
    auto c = ch.cut(d, len, false);
    CAF_CHECK_EQUAL(c, len >= full ? full : 0u);
    CAF_CHECK_EQUAL(ch.cut(d, len, true), std::min(len, full));
  }
  // Every chunk of a buffer, at every position.
  for (size_t pos = 0; pos + p.max_size <= data.size(); pos += 1013) {
    auto c = ch.cut(d + pos, p.max_size, false);
    CAF_CHECK(c > p.min_size && c <= p.max_size);
  }
}

CAF_TEST(chunk sizes respect the bounds and the average) {
  for (auto p : {chunker_params{}, chunker_params{256, 1024, 8192},
                 chunker_params{2048, 8192, 65536},
                 chunker_params{4096, 4096, 4096}}) {
    auto data = random_bytes(8 << 20, 11);
    auto r = recipe_of(data, p);
    CAF_REQUIRE(!r.empty());
    CAF_CHECK_EQUAL(recipe_size(r), data.size());
    for (size_t i = 0; i + 1 < r.size(); ++i) {
      if (r[i].length < p.min_size || r[i].length > p.max_size) {
        CAF_FAIL("chunk " << i << " has " << r[i].length << " bytes");
      }
    }
    CAF_CHECK(r.back().length >= 1 && r.back().length <= p.max_size);
    double avg = static_cast<double>(data.size()) / r.size();
    CAF_MESSAGE("params " << p.min_size << "/" << p.avg_size << "/"
                          << p.max_size << ": " << r.size()
                          << " chunks, average " << avg);
    CAF_CHECK_GREATER(avg, 0.75 * p.avg_size);
    CAF_CHECK_LESS(avg, 1.25 * p.avg_size);
  }
}

CAF_TEST(chunking is deterministic and pinned) {
  auto data = random_bytes(1 << 20, 1);
  auto r = recipe_of(data);
  CAF_CHECK(r == recipe_of(data));
  // Pinned values: a change of the gear table, the masks or the cut rule
  // changes them, and makes two builds disagree on the wire.
  CAF_REQUIRE(!r.empty());
  CAF_CHECK_EQUAL(r.size(), 224u);
  CAF_CHECK_EQUAL(r[0].length, 6033u);
  CAF_CHECK_EQUAL(r[0].hash, 0xb292b0b46d52ca8eULL);
  CAF_CHECK_EQUAL(r[0].hash, XXH3_64bits(data.data(), r[0].length));
}

CAF_TEST(a buffer of zeros is cut at max_size) {
  chunker_params p;
  std::vector<char> zeros(10 * p.max_size + 123, 0);
  auto r = recipe_of(zeros, p);
  CAF_REQUIRE_EQUAL(r.size(), 11u);
  for (size_t i = 0; i < 10; ++i)
    CAF_CHECK(r[i] == r[0]);
  CAF_CHECK_EQUAL(r[0].length, p.max_size);
  CAF_CHECK_EQUAL(r[10].length, 123u);
}

CAF_TEST(small inputs) {
  CAF_CHECK(recipe_of({}).empty());
  std::vector<char> one{'x'};
  auto r = recipe_of(one);
  CAF_REQUIRE_EQUAL(r.size(), 1u);
  CAF_CHECK_EQUAL(r[0].length, 1u);
  CAF_CHECK_EQUAL(r[0].hash, XXH3_64bits("x", 1));
  auto small = random_bytes(1000, 3); // below min_size: one chunk
  CAF_CHECK_EQUAL(recipe_of(small).size(), 1u);
}

CAF_TEST(stream chunks do not depend on the piece sizes) {
  chunker_params p;
  auto data = random_bytes(2 << 20, 5);
  auto whole = recipe_of(data);
  CAF_REQUIRE_GREATER(whole.size(), 100u);
  for (size_t piece : {size_t{1}, size_t{7}, size_t{1000}, size_t{4096},
                       size_t{p.max_size - 1}, size_t{p.max_size},
                       size_t{p.max_size + 1}, size_t{64 << 10},
                       data.size()}) {
    CAF_MESSAGE("pieces of " << piece);
    CAF_CHECK(recipe_in_pieces(data, piece) == whole);
  }
  // Random piece sizes, fixed seed.
  uint64_t seed = 99;
  recipe r;
  chunk_stream s(p, [&r](const char*, size_t n, uint64_t hash, uint64_t) {
    r.push_back(chunk_ref{hash, static_cast<uint32_t>(n)});
  });
  for (size_t pos = 0; pos < data.size();) {
    size_t n = std::min<size_t>(splitmix64(seed) % 70000, data.size() - pos);
    s.add(data.data() + pos, n);
    pos += n;
  }
  s.finish();
  CAF_CHECK(r == whole);
}

CAF_TEST(stream reports offsets bytes and hashes) {
  auto data = random_bytes(1 << 20, 8);
  for (size_t piece : {size_t{13}, size_t{50000}}) {
    uint64_t expected_offset = 0;
    bool ok = true;
    chunk_stream s({}, [&](const char* p, size_t n, uint64_t hash,
                           uint64_t offset) {
      ok = ok && offset == expected_offset
           && std::memcmp(p, data.data() + offset, n) == 0
           && hash == XXH3_64bits(p, n);
      expected_offset += n;
    });
    for (size_t pos = 0; pos < data.size(); pos += piece)
      s.add(data.data() + pos, std::min(piece, data.size() - pos));
    s.finish();
    CAF_CHECK(ok);
    CAF_CHECK_EQUAL(expected_offset, data.size());
  }
}

CAF_TEST(an insert changes only nearby chunks) {
  auto base = random_bytes(4 << 20, 21);
  auto r_base = recipe_of(base);
  // One byte at the front.
  auto front = base;
  front.insert(front.begin(), 'x');
  auto r_front = recipe_of(front);
  CAF_CHECK_LESS_OR_EQUAL(chunks_not_in(r_front, r_base), 2u);
  CAF_CHECK_LESS_OR_EQUAL(chunks_not_in(r_base, r_front), 2u);
  // 100 bytes in the middle, and a deletion of 100 bytes elsewhere.
  auto mid = base;
  auto ins = random_bytes(100, 22);
  mid.insert(mid.begin() + (1 << 20), ins.begin(), ins.end());
  mid.erase(mid.begin() + (3 << 20), mid.begin() + (3 << 20) + 100);
  auto r_mid = recipe_of(mid);
  CAF_CHECK_LESS_OR_EQUAL(chunks_not_in(r_mid, r_base), 4u);
  CAF_CHECK_LESS_OR_EQUAL(chunks_not_in(r_base, r_mid), 4u);
}

CAF_TEST(recipe size) {
  CAF_CHECK_EQUAL(recipe_size({}), 0u);
  CAF_CHECK_EQUAL(recipe_size({{1, 10}, {2, 20}, {1, 10}}), 40u);
}
