#define CAF_SUITE core.watch_table
#include <caf/test/unit_test.hpp>

#include "core/watcher/watch_table.hpp"

#include <algorithm>
#include <utility>

using namespace livesync;

namespace {

using wd_path = std::pair<int32_t, std::string>;

/// A table holding `xs`.
watch_table make_table(std::initializer_list<wd_path> xs) {
  watch_table t;
  for (auto& [wd, path] : xs)
    t.add(wd, path);
  return t;
}

/// Checks that both directions agree on `wd` <-> `path`.
void check_entry(const watch_table& t, int32_t wd, const std::string& path) {
  CAF_CHECK_EQUAL(t.path_of(wd), std::optional<std::string>{path});
  CAF_CHECK_EQUAL(t.wd_of(path), std::optional<int32_t>{wd});
}

void check_gone(const watch_table& t, int32_t wd, const std::string& path) {
  CAF_CHECK_EQUAL(t.path_of(wd), std::nullopt);
  CAF_CHECK_EQUAL(t.wd_of(path), std::nullopt);
}

std::vector<int32_t> sorted(std::vector<int32_t> xs) {
  std::sort(xs.begin(), xs.end());
  return xs;
}

} // namespace

CAF_TEST(add maps both ways) {
  auto t = make_table({{1, ""}, {2, "a"}, {3, "a/x"}});
  CAF_CHECK_EQUAL(t.size(), 3u);
  check_entry(t, 1, "");
  check_entry(t, 2, "a");
  check_entry(t, 3, "a/x");
  CAF_CHECK_EQUAL(t.path_of(9), std::nullopt);
  CAF_CHECK_EQUAL(t.wd_of("b"), std::nullopt);
}

CAF_TEST(re adding a wd repoints it) {
  auto t = make_table({{1, ""}, {2, "a"}});
  t.add(2, "b");
  CAF_CHECK_EQUAL(t.size(), 2u);
  check_entry(t, 2, "b");
  CAF_CHECK_EQUAL(t.wd_of("a"), std::nullopt);
  // Re-adding the same pair changes nothing.
  t.add(2, "b");
  CAF_CHECK_EQUAL(t.size(), 2u);
  check_entry(t, 2, "b");
}

CAF_TEST(a path watched anew drops its older wd) {
  auto t = make_table({{1, ""}, {2, "a"}});
  t.add(7, "a");
  CAF_CHECK_EQUAL(t.size(), 2u);
  check_entry(t, 7, "a");
  CAF_CHECK_EQUAL(t.path_of(2), std::nullopt);
}

CAF_TEST(remove forgets a wd) {
  auto t = make_table({{1, ""}, {2, "a"}, {3, "a/x"}});
  t.remove(2);
  check_gone(t, 2, "a");
  check_entry(t, 3, "a/x");
  t.remove(42); // unknown: nothing happens
  CAF_CHECK_EQUAL(t.size(), 2u);
}

CAF_TEST(remove of a stale wd keeps the path of its successor) {
  // "b" was an empty watched directory; "a" was renamed over it. The kernel
  // sends IN_IGNORED for the old wd of "b" afterwards.
  auto t = make_table({{1, ""}, {2, "a"}, {3, "b"}});
  t.move("a", "b");
  check_entry(t, 2, "b");
  t.remove(3);
  check_entry(t, 2, "b");
  CAF_CHECK_EQUAL(t.size(), 2u);
}

CAF_TEST(move renames a subtree and nothing else) {
  auto t = make_table({{1, ""}, {2, "a"}, {3, "a/x"}, {4, "a/x/y"}, {5, "ab"},
                       {6, "a-b"}, {7, "c"}});
  t.move("a", "b");
  CAF_CHECK_EQUAL(t.size(), 7u);
  check_entry(t, 2, "b");
  check_entry(t, 3, "b/x");
  check_entry(t, 4, "b/x/y");
  check_entry(t, 5, "ab");
  check_entry(t, 6, "a-b");
  check_entry(t, 7, "c");
  for (auto p : {"a", "a/x", "a/x/y"})
    CAF_CHECK_EQUAL(t.wd_of(p), std::nullopt);
}

CAF_TEST(move into a deeper and a shallower place) {
  auto t = make_table({{1, ""}, {2, "a"}, {3, "a/x"}, {4, "d"}});
  t.move("a", "d/e/a");
  check_entry(t, 2, "d/e/a");
  check_entry(t, 3, "d/e/a/x");
  t.move("d/e/a/x", "x");
  check_entry(t, 3, "x");
  check_entry(t, 2, "d/e/a");
  check_entry(t, 4, "d");
  CAF_CHECK_EQUAL(t.size(), 4u);
}

CAF_TEST(move of an unwatched path changes nothing) {
  auto t = make_table({{1, ""}, {2, "a"}});
  t.move("file", "other");
  t.move("a", "a");
  CAF_CHECK_EQUAL(t.size(), 2u);
  check_entry(t, 2, "a");
}

CAF_TEST(remove subtree returns the wds beneath a path) {
  struct case_t {
    std::string path;
    std::vector<int32_t> removed;
  };
  std::vector<case_t> cases{
    {"a", {2, 3, 4}},
    {"a/x", {3, 4}},
    {"ab", {5}},
    {"missing", {}},
    {"a/x/y/z", {}},
  };
  for (auto& c : cases) {
    CAF_MESSAGE("remove_subtree(" << c.path << ")");
    auto t = make_table({{1, ""}, {2, "a"}, {3, "a/x"}, {4, "a/x/y"},
                         {5, "ab"}, {6, "a-b"}});
    CAF_CHECK_EQUAL(sorted(t.remove_subtree(c.path)), c.removed);
    CAF_CHECK_EQUAL(t.size(), 6u - c.removed.size());
    for (auto wd : c.removed)
      CAF_CHECK_EQUAL(t.path_of(wd), std::nullopt);
    check_entry(t, 1, "");
    check_entry(t, 6, "a-b");
  }
}
