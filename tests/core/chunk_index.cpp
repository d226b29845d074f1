#define CAF_SUITE core.chunk_index
#include <caf/test/unit_test.hpp>

#include "core/watcher/chunk_index.hpp"
#include "core/common/splitmix.hpp"

#include <unordered_map>
#include <vector>

using namespace livesync;

namespace {

// The model: what std::unordered_map gave before (first holder wins;
// erase only by the holder).
struct model {
  std::unordered_map<uint64_t, chunk_index::home> m;
  void emplace(uint64_t h, chunk_index::home x) { m.emplace(h, x); }
  void erase(uint64_t h, uint64_t id) {
    auto i = m.find(h);
    if (i != m.end() && i->second.id == id)
      m.erase(i);
  }
};

bool agree(const chunk_index& ix, const model& md,
           const std::vector<uint64_t>& keys) {
  if (ix.size() != md.m.size())
    return false;
  for (auto k : keys) {
    auto* got = ix.find(k);
    auto want = md.m.find(k);
    if ((got == nullptr) != (want == md.m.end()))
      return false;
    if (got != nullptr
        && (got->id != want->second.id || got->offset != want->second.offset
            || got->length != want->second.length))
      return false;
  }
  return true;
}

} // namespace

CAF_TEST(the flat index behaves as the map it replaces) {
  struct row {
    const char* what;
    size_t keys;      // distinct hashes drawn from
    size_t steps;     // operations
    unsigned erase_1_in;
    bool clustered;   // hashes that differ only in their low bits
  };
  std::vector<row> rows{
    {"few keys, many repeats", 50, 5000, 3, false},
    {"growth through several sizes", 20000, 60000, 5, false},
    {"mostly erasing", 3000, 30000, 2, false},
    {"clustered hashes", 5000, 40000, 3, true},
  };
  for (auto& r : rows) {
    CAF_MESSAGE(r.what);
    uint64_t seed = 42;
    std::vector<uint64_t> keys(r.keys);
    for (size_t i = 0; i < keys.size(); ++i)
      keys[i] = r.clustered ? (uint64_t{0xabcdef} << 40) + i
                            : splitmix64_next(seed);
    keys.push_back(0); // a zero hash is a key like any other
    chunk_index ix;
    model md;
    bool ok = true;
    for (size_t s = 0; s < r.steps && ok; ++s) {
      auto x = splitmix64_next(seed);
      auto k = keys[x % keys.size()];
      uint64_t id = 1 + (x >> 32) % 7;
      if ((x >> 16) % r.erase_1_in == 0) {
        ix.erase(k, id);
        md.erase(k, id);
      } else {
        chunk_index::home h{id, x >> 20, static_cast<uint32_t>(x >> 40)};
        ix.emplace(k, h);
        md.emplace(k, h);
      }
      if (s % 997 == 0)
        ok = agree(ix, md, keys);
    }
    CAF_CHECK(ok);
    CAF_CHECK(agree(ix, md, keys));
    // Erasing every key by its holder empties it; then it is reusable.
    for (auto& [k, h] : std::unordered_map<uint64_t, chunk_index::home>{md.m})
      ix.erase(k, h.id);
    CAF_CHECK_EQUAL(ix.size(), 0u);
    for (auto k : keys)
      CAF_CHECK(ix.find(k) == nullptr);
    ix.emplace(keys[0], {9, 1, 2});
    CAF_REQUIRE(ix.find(keys[0]) != nullptr);
    CAF_CHECK_EQUAL(ix.find(keys[0])->id, 9u);
    ix.clear();
    CAF_CHECK(ix.find(keys[0]) == nullptr);
    CAF_CHECK_EQUAL(ix.size(), 0u);
  }
}

CAF_TEST(the index costs a flat table not a node per chunk) {
  chunk_index ix;
  uint64_t seed = 7;
  constexpr size_t n = 100000;
  for (size_t i = 0; i < n; ++i)
    ix.emplace(splitmix64_next(seed), {1, i * 4096, 4096});
  CAF_CHECK_EQUAL(ix.size(), n);
  // 32-byte slots at most 3/4 full and at least 3/8 after growing: under
  // 90 bytes per chunk, against ~64 for a map node alone plus its bucket.
  CAF_CHECK_LESS(ix.bytes(), n * 90);
}
