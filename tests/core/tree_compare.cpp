#define CAF_SUITE core.tree_compare
#include <caf/test/unit_test.hpp>

#include "core/watcher/tree_compare.hpp"
#include "fake_fs.hpp"

using namespace livesync;

namespace {

using strings = std::vector<std::string>;

entry_meta file_meta(uint64_t size, int64_t mtime, uint32_t mode = 0644) {
  entry_meta m;
  m.kind = entry_kind::file;
  m.size = size;
  m.mtime_ns = mtime;
  m.mode = mode;
  return m;
}

entry_meta dir_meta(uint32_t mode = 0755, int64_t mtime = 0) {
  entry_meta m;
  m.kind = entry_kind::dir;
  m.mode = mode;
  m.mtime_ns = mtime;
  return m;
}

entry_meta link_meta(std::string target) {
  entry_meta m;
  m.kind = entry_kind::symlink;
  m.size = target.size();
  m.target = std::move(target);
  return m;
}

strings show(const tree_comparison& c) {
  strings out;
  for (auto& d : c.differences)
    out.push_back(d.path + ": " + d.what);
  return out;
}

} // namespace

CAF_TEST(list_tree walks parents first and leaves out what is not mirrored) {
  fake_fs fs;
  fs.dir("a").file("a/x", 3, 1).dir("a/b").file("a/b/y", 4, 2)
    .link("l", "a/x").unsupported("fifo").dir(".livesync")
    .file(".livesync/s", 1, 1).dir("skip").file("skip/z", 1, 1)
    .file("n.swp", 1, 1);
  ignore_rules ex;
  CAF_REQUIRE(ex.add("skip/").empty());
  CAF_REQUIRE(ex.add("*.swp").empty());
  strings skipped;
  auto xs = list_tree(fs, &ex, &skipped);
  strings paths;
  for (auto& e : xs)
    paths.push_back(e.path);
  CAF_CHECK_EQUAL(paths, (strings{"a", "a/b", "a/b/y", "a/x", "l"}));
  CAF_CHECK_EQUAL(skipped, (strings{".livesync", "fifo"}));
  CAF_CHECK_EQUAL(xs[4].meta.target, "a/x");
}

CAF_TEST(identical listings differ in nothing and hash every file) {
  std::vector<manifest_entry> w{{"d", dir_meta()},
                                {"d/f", file_meta(10, 5)},
                                {"g", file_meta(0, 6)},
                                {"l", link_meta("d/f")}};
  auto c = compare_listings(w, w, 01777, nullptr);
  CAF_CHECK(c.differences.empty());
  CAF_CHECK_EQUAL(c.to_hash, (strings{"d/f", "g"}));
}

CAF_TEST(every kind of difference is named) {
  std::vector<manifest_entry> w{
    {"both-mode", file_meta(1, 1, 0644)},
    {"both-mtime", file_meta(1, 1)},
    {"both-size", file_meta(1, 1)},
    {"dir-mtime", dir_meta(0755, 1)},
    {"dir-mode", dir_meta(0700)},
    {"link", link_meta("a")},
    {"only-w", file_meta(1, 1)},
    {"type", file_meta(1, 1)},
  };
  std::vector<manifest_entry> r{
    {"both-mode", file_meta(1, 1, 0600)},
    {"both-mtime", file_meta(1, 2)},
    {"both-size", file_meta(2, 1)},
    {"dir-mtime", dir_meta(0755, 99)},
    {"dir-mode", dir_meta(0755)},
    {"link", link_meta("b")},
    {"only-r", file_meta(1, 1)},
    {"type", dir_meta()},
  };
  auto c = compare_listings(w, r, 01777, nullptr);
  CAF_CHECK_EQUAL(show(c), (strings{
                             "both-mode: mode 0644/0600",
                             "both-mtime: mtime",
                             "both-size: size 1/2",
                             "dir-mode: mode 0700/0755",
                             "link: symlink target",
                             "only-r: only on reference",
                             "only-w: only on watcher",
                             "type: type file/dir",
                           }));
  // Same size: content compared even when the mode or mtime differ.
  CAF_CHECK_EQUAL(c.to_hash, (strings{"both-mode", "both-mtime"}));
}

CAF_TEST(the mode mask of the reference is applied to the watcher side) {
  std::vector<manifest_entry> w{{"suid", file_meta(1, 1, 04755)}};
  std::vector<manifest_entry> r{{"suid", file_meta(1, 1, 0755)}};
  CAF_CHECK(compare_listings(w, r, 01777, nullptr).differences.empty());
  CAF_CHECK_EQUAL(show(compare_listings(w, r, 07777, nullptr)),
                  strings{"suid: mode 4755/0755"});
}

CAF_TEST(excluded paths on the reference are not differences) {
  ignore_rules ex;
  CAF_REQUIRE(ex.add("build/").empty());
  std::vector<manifest_entry> w{{"src", dir_meta()}};
  std::vector<manifest_entry> r{{"build", dir_meta()},
                                {"build/out", file_meta(1, 1)},
                                {"src", dir_meta()},
                                {"stale", file_meta(1, 1)}};
  CAF_CHECK_EQUAL(show(compare_listings(w, r, 01777, &ex)),
                  strings{"stale: only on reference"});
}

CAF_TEST(content differences are added in path order) {
  std::vector<manifest_entry> w{{"a", file_meta(1, 1)},
                                {"b", file_meta(1, 1)},
                                {"c", file_meta(1, 1, 0600)}};
  auto r = w;
  r[2].meta.mode = 0644;
  auto c = compare_listings(w, r, 01777, nullptr);
  hash128 h1{1, 2};
  hash128 h2{3, 4};
  add_content_differences(c, {"a", "b", "c"}, {h1, h1, h1}, {h2, h1, h2});
  CAF_CHECK_EQUAL(show(c), (strings{"a: content", "c: mode 0600/0644",
                                    "c: content"}));
}

// A watcher that is not root cannot vouch for what it cannot read: the
// directory is one difference, and nothing beneath it is "only on
// reference".
CAF_TEST(verify names an unreadable directory instead of its contents) {
  for (bool listable : {false, true}) {
    CAF_MESSAGE("listable " << listable);
    fake_fs fs;
    fs.dir("ok").file("ok/f", 1, 1).dir("locked").file("locked/f", 2, 2)
      .dir("locked/sub").file("locked/sub/g", 3, 3);
    auto reference = fs.manifest();
    fs.lock("locked", listable);
    strings unreadable;
    auto mine = list_tree(fs, nullptr, nullptr, &unreadable);
    CAF_CHECK_EQUAL(unreadable, strings{"locked"});
    auto c = compare_listings(mine, reference, 01777, nullptr, &unreadable);
    CAF_CHECK_EQUAL(show(c),
                    strings{"locked: unreadable on the watcher (not compared)"});
  }
}
