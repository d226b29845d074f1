#define CAF_SUITE core.recipe_cache
#include <caf/test/unit_test.hpp>

#include "core/watcher/recipe_cache.hpp"

using namespace livesync;

namespace {

recipe make(uint64_t first, size_t n, uint32_t len = 1000) {
  recipe r;
  for (size_t i = 0; i < n; ++i)
    r.push_back(chunk_ref{first + i, len});
  return r;
}

struct found {
  bool ok = false;
  std::string path;
  uint64_t offset = 0;
};

found where(const recipe_cache& c, uint64_t hash, uint32_t len = 1000) {
  found f;
  f.ok = c.locate(hash, len, f.path, f.offset);
  return f;
}

} // namespace

CAF_TEST(put find and locate) {
  recipe_cache c;
  c.put("a", make(100, 3));
  CAF_REQUIRE(c.find("a") != nullptr);
  CAF_CHECK_EQUAL(c.find("a")->size(), 3u);
  auto f = where(c, 102);
  CAF_CHECK(f.ok);
  CAF_CHECK_EQUAL(f.path, "a");
  CAF_CHECK_EQUAL(f.offset, 2000u);
  CAF_CHECK(!where(c, 102, 999).ok); // Length must match too.
  CAF_CHECK(!where(c, 7).ok);
}

CAF_TEST(erase forgets a path its subtree and their chunks) {
  recipe_cache c;
  c.put("d/x", make(1, 2));
  c.put("d/y/z", make(10, 2));
  c.put("d-other", make(20, 2));
  c.put("dd", make(30, 2));
  c.erase("d");
  CAF_CHECK(c.find("d/x") == nullptr);
  CAF_CHECK(c.find("d/y/z") == nullptr);
  CAF_CHECK(c.find("d-other") != nullptr);
  CAF_CHECK(c.find("dd") != nullptr);
  CAF_CHECK(!where(c, 1).ok);
  CAF_CHECK(!where(c, 11).ok);
  CAF_CHECK(where(c, 21).ok);
  CAF_CHECK_EQUAL(c.size(), 2u);
}

CAF_TEST(rename moves recipes and the chunk index follows) {
  recipe_cache c;
  c.put("d/x", make(1, 2));
  c.put("d/y/z", make(10, 2));
  c.put("e", make(40, 1)); // Replaced by the rename.
  c.rename("d", "e");
  CAF_CHECK(c.find("d/x") == nullptr);
  CAF_REQUIRE(c.find("e/x") != nullptr);
  CAF_CHECK(c.find("e/y/z") != nullptr);
  CAF_CHECK_EQUAL(where(c, 11).path, "e/y/z");
  CAF_CHECK(!where(c, 40).ok);
  c.rename("e/x", "f");
  CAF_CHECK_EQUAL(where(c, 1).path, "f");
  CAF_CHECK_EQUAL(c.size(), 2u);
}

CAF_TEST(replacing a recipe reindexes and the first holder wins) {
  recipe_cache c;
  c.put("a", make(1, 2));
  c.put("b", make(1, 2)); // Same chunks: "a" keeps them.
  CAF_CHECK_EQUAL(where(c, 1).path, "a");
  c.put("a", make(50, 1)); // "a" changed: its old chunks are gone...
  CAF_CHECK(where(c, 50).ok);
  // ... and the index no longer points at "a" for them (b was not indexed
  // for them while a held them: a miss is safe, only bytes are lost).
  CAF_CHECK(!where(c, 1).ok || where(c, 1).path == "b");
}

CAF_TEST(the budget evicts the least recently used) {
  auto one = make(0, 100);
  recipe_cache probe;
  probe.put("x", one);
  recipe_cache c{probe.bytes() * 2};
  c.put("a", make(1000, 100));
  c.put("b", make(2000, 100));
  CAF_REQUIRE(c.find("a") != nullptr); // a is now the most recent
  c.put("c", make(3000, 100));
  CAF_CHECK(c.find("b") == nullptr);
  CAF_CHECK(c.find("a") != nullptr);
  CAF_CHECK(c.find("c") != nullptr);
  CAF_CHECK_EQUAL(c.evictions(), 1u);
  CAF_CHECK(!where(c, 2000).ok);
  // A recipe bigger than the budget is not kept at all.
  c.put("huge", make(9000, 1000));
  CAF_CHECK(c.find("huge") == nullptr);
}

CAF_TEST(a large recipe is indexed in steps and a dropped one never) {
  constexpr size_t n = recipe_cache::index_step_chunks;
  recipe_cache c;
  c.put("big", make(1, 2 * n + 5));
  CAF_CHECK(c.find("big") != nullptr); // The recipe itself at once...
  CAF_CHECK(c.indexing());
  CAF_CHECK(!where(c, 1).ok); // ... its chunks once indexed.
  c.put("small", make(1, 3)); // Indexed at once: it holds chunks 1-3 now.
  CAF_CHECK_EQUAL(where(c, 2).path, "small");
  CAF_CHECK(c.index_some(n));
  CAF_CHECK_EQUAL(where(c, 2).path, "small"); // First holder wins.
  auto f = where(c, n);
  CAF_CHECK(f.ok && f.path == "big" && f.offset == (n - 1) * 1000);
  CAF_CHECK(!where(c, n + 1).ok);
  // Renamed while half done: the rest is indexed under the new name.
  c.rename("big", "moved");
  CAF_CHECK(c.index_some(n));
  CAF_CHECK(!c.index_some(n));
  CAF_CHECK(!c.indexing());
  auto last = where(c, 2 * n + 5);
  CAF_CHECK(last.ok && last.path == "moved"
            && last.offset == (2 * n + 4) * uint64_t{1000});
  // Two pending, the first erased before its turn: only the second counts.
  c.put("p", make(1000000, n));
  c.put("q", make(2000000, n));
  c.erase("p");
  CAF_CHECK(!c.index_some(2 * n));
  CAF_CHECK(!where(c, 1000000).ok);
  CAF_CHECK_EQUAL(where(c, 2000000 + n - 1).path, "q");
  // clear() forgets pending work too.
  c.put("r", make(3000000, n));
  c.clear();
  CAF_CHECK(!c.indexing());
  CAF_CHECK(!c.index_some(n));
}
