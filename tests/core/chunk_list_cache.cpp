#define CAF_SUITE core.chunk_list_cache
#include <caf/test/unit_test.hpp>

#include "core/watcher/chunk_list_cache.hpp"

#include <vector>

using namespace livesync;

namespace {

using answer = chunk_list_cache::answer;

file_version version(uint64_t size, int64_t mtime, int64_t ctime = 1,
                     uint64_t inode = 7, uint32_t mode = 0644) {
  return {size, mtime, mode, ctime, inode};
}

std::shared_ptr<const chunk_list> list_of(file_version v, size_t chunks) {
  auto x = std::make_shared<chunk_list>();
  x->version = v;
  for (size_t i = 0; i < chunks; ++i)
    x->chunks.push_back(chunk_ref{i + 1, 4096});
  x->hash = {v.size, 1};
  return x;
}

// Asks as taker `who`, counting wake-ups in `woken[who]`.
struct asker {
  explicit asker(chunk_list_cache& c) : cache(c) {}
  chunk_list_cache& cache;
  std::vector<int> woken = std::vector<int>(8, 0);
  std::shared_ptr<const chunk_list> got;

  answer ask(const std::string& path, file_version v, uint64_t who) {
    got.reset();
    return cache.take(path, v, who, [this, who] { ++woken[who]; }, got);
  }
};

} // namespace

CAF_TEST(the first asker chunks and each other sender takes the list once) {
  chunk_list_cache c{1 << 20, 3};
  asker a{c};
  auto v = version(8192, 10);
  CAF_CHECK(a.ask("big", v, 1) == answer::produce);
  c.put("big", list_of(v, 2));
  CAF_CHECK(a.ask("big", v, 2) == answer::hit);
  CAF_REQUIRE(a.got);
  CAF_CHECK_EQUAL(a.got->chunks.size(), 2u);
  CAF_CHECK(a.ask("big", v, 3) == answer::hit);
  // All have taken it: gone, and the next change is chunked again.
  CAF_CHECK_EQUAL(c.bytes(), 0u);
  CAF_CHECK(a.ask("big", v, 1) == answer::produce);
  auto s = c.stats();
  CAF_CHECK_EQUAL(s.hits, 2u);
  CAF_CHECK_EQUAL(s.misses, 2u);
}

CAF_TEST(a sender asking while another chunks waits and is woken once) {
  chunk_list_cache c{1 << 20, 3};
  asker a{c};
  auto v = version(8192, 10);
  CAF_CHECK(a.ask("big", v, 1) == answer::produce);
  CAF_CHECK(a.ask("big", v, 2) == answer::wait);
  CAF_CHECK(a.ask("big", v, 2) == answer::wait); // Asking again: one wake-up.
  CAF_CHECK(a.ask("big", v, 3) == answer::wait);
  CAF_CHECK_EQUAL(a.woken[2], 0);
  c.put("big", list_of(v, 1));
  CAF_CHECK_EQUAL(a.woken[2], 1);
  CAF_CHECK_EQUAL(a.woken[3], 1);
  CAF_CHECK(a.ask("big", v, 2) == answer::hit);
  CAF_CHECK(a.ask("big", v, 3) == answer::hit);
  CAF_CHECK_EQUAL(c.stats().waits, 3u);
  CAF_CHECK_EQUAL(c.stats().misses, 1u);
}

CAF_TEST(an abandoned claim wakes the waiters and the next asker chunks) {
  chunk_list_cache c{1 << 20, 3};
  asker a{c};
  auto v = version(8192, 10);
  CAF_CHECK(a.ask("big", v, 1) == answer::produce);
  CAF_CHECK(a.ask("big", v, 2) == answer::wait);
  c.abandon("big", version(8192, 99)); // Not the claimed version: no effect.
  CAF_CHECK_EQUAL(a.woken[2], 0);
  c.abandon("big", v);
  CAF_CHECK_EQUAL(a.woken[2], 1);
  CAF_CHECK(a.ask("big", v, 2) == answer::produce);
  CAF_CHECK(a.ask("big", v, 3) == answer::wait);
}

CAF_TEST(a claim dropped unfulfilled abandons and a fulfilled one puts) {
  auto c = std::make_shared<chunk_list_cache>(1 << 20, 2);
  asker a{*c};
  auto v = version(8192, 10);
  {
    CAF_CHECK(a.ask("big", v, 1) == answer::produce);
    chunk_claim claim{c, "big", v};
    CAF_CHECK(a.ask("big", v, 2) == answer::wait);
  } // A torn read, a lost link, an exit.
  CAF_CHECK_EQUAL(a.woken[2], 1);
  CAF_CHECK(a.ask("big", v, 2) == answer::produce);
  {
    chunk_claim claim{c, "big", v};
    claim.fulfil(list_of(v, 1));
  }
  CAF_CHECK(a.ask("big", v, 1) == answer::hit);
}

CAF_TEST(another version of the file is a miss) {
  chunk_list_cache c{1 << 20, 3};
  asker a{c};
  auto v = version(8192, 10);
  CAF_CHECK(a.ask("big", v, 1) == answer::produce);
  c.put("big", list_of(v, 1));
  // Each field of the version counts: size, mtime, ctime, inode, mode.
  for (auto other : {version(8193, 10), version(8192, 11),
                     version(8192, 10, 2), version(8192, 10, 1, 8),
                     version(8192, 10, 1, 7, 0600)}) {
    c.put("big", list_of(v, 1));
    CAF_CHECK(a.ask("big", other, 2) == answer::produce);
    CAF_CHECK(!a.got);
    c.abandon("big", other);
  }
  CAF_CHECK(a.ask("other", v, 2) == answer::produce);
  // A newer version's list replaces the older one.
  c.put("big", list_of(v, 1));
  auto v2 = version(9000, 12);
  c.put("big", list_of(v2, 3));
  CAF_CHECK(a.ask("big", v, 2) == answer::produce);
  c.put("big", list_of(v2, 3));
  CAF_CHECK(a.ask("big", v2, 2) == answer::hit);
  CAF_CHECK_EQUAL(a.got->chunks.size(), 3u);
}

CAF_TEST(a claim for an older version neither blocks nor takes a newer one) {
  chunk_list_cache c{1 << 20, 3};
  asker a{c};
  auto v1 = version(8192, 10);
  auto v2 = version(8192, 11);
  CAF_CHECK(a.ask("big", v1, 1) == answer::produce);
  CAF_CHECK(a.ask("big", v1, 3) == answer::wait);
  // The file changed before sender 2 opened it: it chunks what it sees.
  CAF_CHECK(a.ask("big", v2, 2) == answer::produce);
  c.put("big", list_of(v2, 1)); // Not v1's claim: its waiter sleeps on.
  CAF_CHECK_EQUAL(a.woken[3], 0);
  c.abandon("big", v1); // v1's read was torn.
  CAF_CHECK_EQUAL(a.woken[3], 1);
  CAF_CHECK(a.ask("big", v2, 3) == answer::hit);
}

CAF_TEST(the byte budget evicts the oldest lists) {
  auto one = [](const char* path, size_t chunks) {
    return sizeof(chunk_list) + chunks * sizeof(chunk_ref)
           + std::string(path).size();
  };
  // Room for two lists of 10 chunks, not three.
  chunk_list_cache c{2 * one("a", 10) + 8, 3};
  asker a{c};
  auto v = version(40960, 1);
  c.put("a", list_of(v, 10));
  c.put("b", list_of(v, 10));
  c.put("c", list_of(v, 10));
  CAF_CHECK_EQUAL(c.stats().evicted, 1u);
  CAF_CHECK(a.ask("a", v, 2) == answer::produce);
  c.abandon("a", v);
  CAF_CHECK(a.ask("c", v, 2) == answer::hit);
  CAF_CHECK_LESS_OR_EQUAL(c.bytes(), 2 * one("a", 10) + 8);
  // Larger than the whole budget: not kept, yet its waiters are woken.
  CAF_CHECK(a.ask("huge", v, 1) == answer::produce);
  CAF_CHECK(a.ask("huge", v, 2) == answer::wait);
  c.put("huge", list_of(v, 1000));
  CAF_CHECK_EQUAL(a.woken[2], 1);
  CAF_CHECK(a.ask("huge", v, 2) == answer::produce);
}

CAF_TEST(one sender shares with nobody and never waits) {
  chunk_list_cache c{1 << 20, 1};
  asker a{c};
  auto v = version(8192, 1);
  CAF_CHECK(a.ask("a", v, 1) == answer::produce);
  CAF_CHECK(a.ask("a", v, 1) == answer::produce);
  c.put("a", list_of(v, 1));
  CAF_CHECK_EQUAL(c.bytes(), 0u);
}
