#define CAF_SUITE core.content_cache
#include <caf/test/unit_test.hpp>

#include "core/watcher/content_cache.hpp"

using namespace livesync;

namespace {

content_cache::item read_of(const std::string& text, int64_t mtime,
                            uint32_t mode = 0644) {
  content_cache::item x;
  x.data = std::make_shared<const std::vector<char>>(text.begin(), text.end());
  x.hash = {text.size(), 1};
  x.meta.kind = entry_kind::file;
  x.meta.size = text.size();
  x.meta.mtime_ns = mtime;
  x.meta.mode = mode;
  return x;
}

} // namespace

CAF_TEST(a read is taken by each other sender once) {
  content_cache c{1 << 20, 3};
  auto v1 = read_of("hello", 10);
  c.put("a", v1);
  auto first = c.take("a", v1.meta);
  CAF_REQUIRE(first);
  CAF_CHECK_EQUAL(std::string(first->data->begin(), first->data->end()),
                  "hello");
  CAF_CHECK(c.take("a", v1.meta)); // The third sender.
  CAF_CHECK(!c.take("a", v1.meta)); // Gone: all have taken it.
  CAF_CHECK_EQUAL(c.bytes(), 0u);
  CAF_CHECK_EQUAL(c.stats().hits, 2u);
}

CAF_TEST(another version of the file is a miss) {
  content_cache c{1 << 20, 2};
  auto v1 = read_of("hello", 10);
  c.put("a", v1);
  CAF_CHECK(!c.take("a", read_of("hello", 11).meta));        // mtime
  CAF_CHECK(!c.take("a", read_of("hello!", 10).meta));       // size
  CAF_CHECK(!c.take("a", read_of("hello", 10, 0600).meta));  // mode
  CAF_CHECK(!c.take("b", v1.meta));
  CAF_CHECK(c.take("a", v1.meta));
  // A newer read replaces the older.
  c.put("a", v1);
  auto v2 = read_of("hello 2", 12);
  c.put("a", v2);
  CAF_CHECK(!c.take("a", v1.meta));
  CAF_CHECK(c.take("a", v2.meta));
}

CAF_TEST(the byte budget evicts the oldest reads) {
  content_cache c{30, 3}; // Room for about two 10-byte files and names.
  c.put("a", read_of("0123456789", 1));
  c.put("b", read_of("0123456789", 1));
  c.put("c", read_of("0123456789", 1));
  CAF_CHECK(!c.take("a", read_of("0123456789", 1).meta));
  CAF_CHECK(c.take("c", read_of("0123456789", 1).meta));
  CAF_CHECK_EQUAL(c.stats().evicted, 1u);
  CAF_CHECK_LESS_OR_EQUAL(c.bytes(), 30u);
  // Larger than the whole budget: not kept at all.
  c.put("huge", read_of(std::string(100, 'x'), 1));
  CAF_CHECK(!c.take("huge", read_of(std::string(100, 'x'), 1).meta));
}

CAF_TEST(one sender shares with nobody) {
  content_cache c{1 << 20, 1};
  auto v1 = read_of("x", 1);
  c.put("a", v1);
  CAF_CHECK(!c.take("a", v1.meta));
  CAF_CHECK_EQUAL(c.bytes(), 0u);
}
