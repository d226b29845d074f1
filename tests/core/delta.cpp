#define CAF_SUITE core.delta
#include <caf/test/unit_test.hpp>

#include "core/wire/delta.hpp"
#include "core/common/splitmix.hpp"

#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <vector>

using namespace livesync;

namespace {

uint64_t splitmix64(uint64_t& state) {
  return splitmix64_next(state);
}

std::vector<char> random_bytes(size_t n, uint64_t seed) {
  return splitmix_bytes(n, seed);
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

struct delta_result {
  std::vector<delta_instr> instrs;
  uint64_t copied = 0;
  uint64_t literal = 0;
};

// What the watcher does: the recipe of the base, the new version streamed
// through a chunker into an encoder.
delta_result encode(const std::vector<char>& base,
                    const std::vector<char>& next, chunker_params p = {},
                    uint64_t max_literal = 1u << 20, size_t piece = 65536) {
  recipe_index index{make_recipe(base.data(), base.size(), p)};
  delta_encoder enc{index, max_literal};
  delta_result res;
  chunk_stream s(p, [&](const char* data, size_t n, uint64_t hash, uint64_t) {
    enc.add(data, n, hash, res.instrs);
  });
  for (size_t pos = 0; pos < next.size(); pos += piece)
    s.add(next.data() + pos, std::min(piece, next.size() - pos));
  s.finish();
  enc.finish(res.instrs);
  res.copied = enc.copied();
  res.literal = enc.literal();
  return res;
}

// Checks what must hold for every delta: it rebuilds `next`, its counters
// add up, and no two neighbouring instructions could have been merged.
void check_delta(const std::vector<char>& base, const std::vector<char>& next,
                 const delta_result& d, uint64_t max_literal = 1u << 20) {
  CAF_CHECK(apply_delta(base, d.instrs) == next);
  CAF_CHECK_EQUAL(d.copied + d.literal, next.size());
  uint64_t copied = 0, literal = 0;
  for (size_t i = 0; i < d.instrs.size(); ++i) {
    auto& in = d.instrs[i];
    CAF_CHECK_GREATER(in.length, 0u);
    if (in.kind == delta_instr::copy) {
      copied += in.length;
      CAF_CHECK(in.data.empty());
      if (i > 0 && d.instrs[i - 1].kind == delta_instr::copy) {
        auto& prev = d.instrs[i - 1];
        CAF_CHECK_NOT_EQUAL(prev.base_offset + prev.length, in.base_offset);
      }
    } else {
      literal += in.length;
      CAF_CHECK_EQUAL(in.length, in.data.size());
      CAF_CHECK_LESS_OR_EQUAL(in.length, max_literal);
      if (i > 0 && d.instrs[i - 1].kind == delta_instr::literal)
        CAF_CHECK_EQUAL(d.instrs[i - 1].length, max_literal);
    }
  }
  CAF_CHECK_EQUAL(copied, d.copied);
  CAF_CHECK_EQUAL(literal, d.literal);
}

size_t count(const std::vector<delta_instr>& instrs, delta_instr::kind_t k) {
  return static_cast<size_t>(
    std::count_if(instrs.begin(), instrs.end(),
                  [k](const delta_instr& in) { return in.kind == k; }));
}

} // namespace

CAF_TEST(recipe index keeps the first occurrence and checks the length) {
  recipe r{{1, 100}, {2, 200}, {1, 100}, {3, 50}, {2, 999}};
  recipe_index index{r};
  CAF_CHECK(!index.empty());
  auto a = index.find(1, 100);
  CAF_REQUIRE(a != nullptr);
  CAF_CHECK_EQUAL(a->offset, 0u);
  CAF_CHECK_EQUAL(a->length, 100u);
  auto b = index.find(2, 200);
  CAF_REQUIRE(b != nullptr);
  CAF_CHECK_EQUAL(b->offset, 100u);
  auto c = index.find(3, 50);
  CAF_REQUIRE(c != nullptr);
  CAF_CHECK_EQUAL(c->offset, 400u);
  CAF_CHECK(index.find(1, 101) == nullptr);
  CAF_CHECK(index.find(4, 100) == nullptr);
  // Not after a hit at 3: the table's entry for hash 2 has length 200.
  recipe_index fresh{r};
  CAF_CHECK(fresh.find(2, 999) == nullptr);
  // Right after the hit at 3, chunk 4 is tried first, and it fits.
  CAF_REQUIRE(fresh.find(3, 50) != nullptr);
  auto d = fresh.find(2, 999);
  CAF_REQUIRE(d != nullptr);
  CAF_CHECK_EQUAL(d->offset, 450u);
  CAF_CHECK(recipe_index{}.empty());
  CAF_CHECK(recipe_index{recipe{}}.empty());
  CAF_CHECK(recipe_index{}.find(1, 100) == nullptr);
}

CAF_TEST(encoder merges contiguous copies and literals) {
  recipe base{{1, 10}, {2, 20}, {3, 30}};
  recipe_index index{base};
  delta_encoder enc{index, 8};
  std::vector<delta_instr> out;
  enc.add("aaaaaaaaaa", 10, 1, out); // copy 0+10
  enc.add("bbbbbbbbbbbbbbbbbbbb", 20, 2, out); // contiguous: 0+30
  enc.add("xyz", 3, 77, out); // literal
  enc.add("uvwxy", 5, 78, out); // literal, merged: 8 = max_literal
  enc.add("12345678901", 11, 79, out); // literal: 8 + 3
  enc.add("aaaaaaaaaa", 10, 1, out); // copy 0+10
  enc.add("cccccccccccccccccccccccccccccc", 30, 3, out); // not contiguous
  enc.add("", 0, 1, out); // ignored
  enc.finish(out);
  CAF_REQUIRE_EQUAL(out.size(), 6u);
  CAF_CHECK_EQUAL(out[0].kind, delta_instr::copy);
  CAF_CHECK_EQUAL(out[0].base_offset, 0u);
  CAF_CHECK_EQUAL(out[0].length, 30u);
  CAF_CHECK_EQUAL(out[1].kind, delta_instr::literal);
  CAF_CHECK_EQUAL(std::string(out[1].data.begin(), out[1].data.end()),
                  "xyzuvwxy");
  CAF_CHECK_EQUAL(out[1].length, 8u);
  CAF_CHECK_EQUAL(std::string(out[2].data.begin(), out[2].data.end()),
                  "12345678");
  CAF_CHECK_EQUAL(std::string(out[3].data.begin(), out[3].data.end()), "901");
  CAF_CHECK_EQUAL(out[3].length, 3u);
  CAF_CHECK_EQUAL(out[4].kind, delta_instr::copy);
  CAF_CHECK_EQUAL(out[4].base_offset, 0u);
  CAF_CHECK_EQUAL(out[4].length, 10u);
  CAF_CHECK_EQUAL(out[5].kind, delta_instr::copy);
  CAF_CHECK_EQUAL(out[5].base_offset, 30u);
  CAF_CHECK_EQUAL(out[5].length, 30u);
  CAF_CHECK_EQUAL(enc.copied(), 70u);
  CAF_CHECK_EQUAL(enc.literal(), 19u);
  // finish twice adds nothing.
  enc.finish(out);
  CAF_CHECK_EQUAL(out.size(), 6u);
  CAF_CHECK(throws<std::invalid_argument>(
    [&] { delta_encoder bad(index, 0); }));
}

CAF_TEST(apply checks ranges) {
  std::vector<char> base(100, 'b');
  delta_instr copy;
  copy.kind = delta_instr::copy;
  copy.base_offset = 90;
  copy.length = 10;
  CAF_CHECK_EQUAL(apply_delta(base, {copy}).size(), 10u);
  copy.length = 11;
  CAF_CHECK(throws<std::out_of_range>([&] { apply_delta(base, {copy}); }));
  copy.base_offset = 101;
  copy.length = 0;
  CAF_CHECK(throws<std::out_of_range>([&] { apply_delta(base, {copy}); }));
  copy.base_offset = UINT64_MAX - 5;
  copy.length = 10; // offset + length wraps around
  CAF_CHECK(throws<std::out_of_range>([&] { apply_delta(base, {copy}); }));
  CAF_CHECK(throws<std::out_of_range>([&] { apply_delta({}, {copy}); }));
  CAF_CHECK(apply_delta(base, {}).empty());
}

CAF_TEST(identical files are one copy) {
  auto data = random_bytes(4 << 20, 31);
  auto d = encode(data, data);
  check_delta(data, data, d);
  CAF_REQUIRE_EQUAL(d.instrs.size(), 1u);
  CAF_CHECK_EQUAL(d.instrs[0].kind, delta_instr::copy);
  CAF_CHECK_EQUAL(d.instrs[0].base_offset, 0u);
  CAF_CHECK_EQUAL(d.instrs[0].length, data.size());
  CAF_CHECK_EQUAL(d.literal, 0u);
}

CAF_TEST(empty new file and empty base) {
  auto data = random_bytes(300000, 32);
  auto empty_new = encode(data, {});
  CAF_CHECK(empty_new.instrs.empty());
  CAF_CHECK(apply_delta(data, empty_new.instrs).empty());
  auto empty_base = encode({}, data);
  check_delta({}, data, empty_base);
  CAF_REQUIRE_EQUAL(empty_base.instrs.size(), 1u);
  CAF_CHECK_EQUAL(empty_base.instrs[0].kind, delta_instr::literal);
  CAF_CHECK_EQUAL(empty_base.literal, data.size());
  CAF_CHECK(encode({}, {}).instrs.empty());
}

CAF_TEST(literals are split at max_literal) {
  auto data = random_bytes(100000, 33);
  const uint64_t max_literal = 10000;
  auto d = encode({}, data, {}, max_literal);
  check_delta({}, data, d, max_literal);
  CAF_REQUIRE_EQUAL(d.instrs.size(), 10u);
  for (auto& in : d.instrs)
    CAF_CHECK_EQUAL(in.length, max_literal);
  // A chunk larger than max_literal is split too.
  auto big = encode({}, data, {}, 3000);
  check_delta({}, data, big, 3000);
  CAF_CHECK_EQUAL(big.instrs.size(), 34u); // ceil(100000 / 3000)
}

CAF_TEST(appended data is copies and one literal tail) {
  auto base = random_bytes(4 << 20, 34);
  auto next = base;
  auto tail = random_bytes(512 << 10, 35); // below max_literal
  next.insert(next.end(), tail.begin(), tail.end());
  chunker_params p;
  auto d = encode(base, next, p);
  check_delta(base, next, d);
  // The base's last chunk ended at the end of the file, not at a cut point:
  // it travels again, with the appended bytes.
  CAF_REQUIRE_EQUAL(d.instrs.size(), 2u);
  CAF_CHECK_EQUAL(d.instrs[0].kind, delta_instr::copy);
  CAF_CHECK_EQUAL(d.instrs[0].base_offset, 0u);
  CAF_CHECK_EQUAL(d.instrs[1].kind, delta_instr::literal);
  CAF_CHECK_LESS(d.literal, tail.size() + p.max_size);
}

CAF_TEST(one byte inserted at the front) {
  auto base = random_bytes(4 << 20, 36);
  auto next = base;
  next.insert(next.begin(), '!');
  chunker_params p;
  auto d = encode(base, next, p);
  check_delta(base, next, d);
  CAF_MESSAGE("literal bytes: " << d.literal);
  CAF_CHECK_LESS(d.literal, 2u * p.max_size);
}

CAF_TEST(one hundred small edits) {
  auto base = random_bytes(8 << 20, 37);
  auto next = base;
  uint64_t seed = 38;
  for (int i = 0; i < 100; ++i) {
    size_t at = splitmix64(seed) % (next.size() - 16);
    for (size_t j = 0; j < 16; ++j)
      next[at + j] = static_cast<char>(splitmix64(seed));
  }
  chunker_params p;
  auto d = encode(base, next, p);
  check_delta(base, next, d);
  CAF_MESSAGE("literal bytes: " << d.literal << " in "
                                << count(d.instrs, delta_instr::literal)
                                << " literals");
  CAF_CHECK_LESS_OR_EQUAL(d.literal, 100u * p.max_size);
}

CAF_TEST(a file of zeros is copied in order and then from the first chunk) {
  // Every chunk has the same hash: the one after the last hit is taken
  // (one contiguous copy of the base), then the first occurrence again.
  chunker_params p;
  std::vector<char> base(1 << 20, 0);
  std::vector<char> next((1 << 20) + 4 * p.max_size, 0);
  auto d = encode(base, next, p);
  check_delta(base, next, d);
  CAF_CHECK_EQUAL(d.literal, 0u);
  CAF_REQUIRE_EQUAL(d.instrs.size(), 2u);
  CAF_CHECK_EQUAL(d.instrs[0].kind, delta_instr::copy);
  CAF_CHECK_EQUAL(d.instrs[0].base_offset, 0u);
  CAF_CHECK_EQUAL(d.instrs[0].length, base.size());
  CAF_CHECK_EQUAL(d.instrs[1].kind, delta_instr::copy);
  CAF_CHECK_EQUAL(d.instrs[1].base_offset, 0u);
  CAF_CHECK_EQUAL(d.instrs[1].length, 4u * p.max_size);
}

CAF_TEST(the index finds every chunk of a large recipe) {
  // Enough chunks for many collisions in the table's low bits.
  recipe r;
  uint64_t state = 77;
  for (int i = 0; i < 100000; ++i)
    r.push_back({splitmix64(state), static_cast<uint32_t>(1000 + i % 7)});
  recipe_index index{r};
  for (size_t i = 0; i < r.size(); i += 3) { // out of order: table lookups
    auto* at = index.find(r[i].hash, r[i].length);
    CAF_REQUIRE(at != nullptr);
    CAF_CHECK_EQUAL(at->length, r[i].length);
  }
  uint64_t pos = 0;
  for (auto& c : r) { // in order: the fast path
    auto* at = index.find(c.hash, c.length);
    CAF_REQUIRE(at != nullptr);
    CAF_CHECK_EQUAL(at->offset, pos);
    pos += c.length;
  }
  CAF_CHECK(index.find(12345, 1000) == nullptr);
}

CAF_TEST(a reordered file is copied) {
  auto base = random_bytes(4 << 20, 39);
  std::vector<char> next(base.begin() + (2 << 20), base.end());
  next.insert(next.end(), base.begin(), base.begin() + (2 << 20));
  chunker_params p;
  auto d = encode(base, next, p);
  check_delta(base, next, d);
  CAF_MESSAGE("literal bytes: " << d.literal << ", instructions: "
                                << d.instrs.size());
  // Chunks around the seam in the base, at the start of the new file and
  // around the seam in the new file travel again; the rest is two copies.
  CAF_CHECK_LESS_OR_EQUAL(d.literal, 4u * p.max_size);
  CAF_CHECK_LESS_OR_EQUAL(count(d.instrs, delta_instr::copy), 3u);
}

CAF_TEST(round trip over random edits) {
  // Property style with a fixed seed: inserts, deletes, overwrites and
  // moves of random sizes; small chunks so that edits hit many of them.
  chunker_params p{256, 1024, 8192};
  uint64_t seed = 40;
  auto base = random_bytes(512 << 10, 41);
  for (int round = 0; round < 40; ++round) {
    auto next = base;
    int edits = 1 + static_cast<int>(splitmix64(seed) % 20);
    for (int e = 0; e < edits; ++e) {
      size_t at = next.empty() ? 0 : splitmix64(seed) % next.size();
      size_t n = 1 + splitmix64(seed) % 5000;
      switch (splitmix64(seed) % 4) {
        case 0: { // insert
          auto ins = random_bytes(n, splitmix64(seed));
          next.insert(next.begin() + at, ins.begin(), ins.end());
          break;
        }
        case 1: // delete
          next.erase(next.begin() + at,
                     next.begin() + std::min(at + n, next.size()));
          break;
        case 2: // overwrite
          for (size_t j = at; j < std::min(at + n, next.size()); ++j)
            next[j] = static_cast<char>(splitmix64(seed));
          break;
        default: { // duplicate a range elsewhere
          size_t from = splitmix64(seed) % next.size();
          std::vector<char> range(next.begin() + from,
                                  next.begin()
                                    + std::min(from + n, next.size()));
          next.insert(next.begin() + at, range.begin(), range.end());
        }
      }
    }
    auto max_literal = 1 + splitmix64(seed) % 20000;
    auto piece = 1 + splitmix64(seed) % 100000;
    auto d = encode(base, next, p, max_literal, piece);
    check_delta(base, next, d, max_literal);
    CAF_CHECK_LESS(d.literal, next.size()); // the edits left copies
    base = std::move(next);
  }
}
