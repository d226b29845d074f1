#define CAF_SUITE core.tree_model
#include <caf/test/unit_test.hpp>

#include "core/watcher/tree_model.hpp"

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

using namespace livesync;

namespace {

// -- building entries ---------------------------------------------------------

entry_meta file_meta(uint64_t size = 1, int64_t mtime = 100,
                     uint32_t mode = 0644) {
  entry_meta m;
  m.kind = entry_kind::file;
  m.mode = mode;
  m.size = size;
  m.mtime_ns = mtime;
  return m;
}

entry_meta dir_meta(uint32_t mode = 0755) {
  entry_meta m;
  m.kind = entry_kind::dir;
  m.mode = mode;
  return m;
}

entry_meta link_meta(std::string target) {
  entry_meta m;
  m.kind = entry_kind::symlink;
  m.mode = 0777;
  m.size = target.size();
  m.target = std::move(target);
  return m;
}

manifest_entry f(std::string path, uint64_t size = 1) {
  return {std::move(path), file_meta(size)};
}

manifest_entry d(std::string path) {
  return {std::move(path), dir_meta()};
}

/// The tree every test starts from: 8 entries.
///   a/ a/x a/sub/ a/sub/y   b/ b/z   c   l -> a
std::vector<manifest_entry> sample() {
  return {d("a"), f("a/x"), d("a/sub"), f("a/sub/y"),
          d("b"), f("b/z"), f("c"),     {"l", link_meta("a")}};
}

tree_model make_sample() {
  tree_model m;
  m.reset(sample());
  return m;
}

/// The kind at `path`, "-" when absent: compact to compare in tables.
std::string kind_at(const tree_model& m, const std::string& path) {
  auto* n = m.find(path);
  return n == nullptr ? "-" : to_string(n->meta.kind);
}

/// Every path in the model, depth first, sorted: the model's whole content.
void collect(const tree_model& m, const tree_model::node& n,
             const std::string& prefix, std::vector<std::string>& out) {
  m.for_each_child(n, [&](std::string_view name,
                          const tree_model::node& child) {
    auto path = prefix.empty() ? std::string{name}
                               : prefix + "/" + std::string{name};
    out.push_back(path);
    collect(m, child, path, out);
  });
}

std::vector<std::string> paths(const tree_model& m) {
  std::vector<std::string> out;
  if (auto* root = m.find(""))
    collect(m, *root, "", out);
  return out;
}

using strings = std::vector<std::string>;

} // namespace

// -- reset and find -------------------------------------------------------------

CAF_TEST(an empty model holds only the root) {
  tree_model m;
  CAF_CHECK_EQUAL(m.size(), 0u);
  CAF_REQUIRE(m.find("") != nullptr);
  CAF_CHECK_EQUAL(kind_at(m, ""), "dir");
  CAF_CHECK(!m.has_children(*m.find("")));
  CAF_CHECK(m.find("a") == nullptr);
}

CAF_TEST(reset builds the tree from a manifest) {
  auto m = make_sample();
  CAF_CHECK_EQUAL(m.size(), 8u);
  CAF_CHECK_EQUAL(paths(m), (strings{"a", "a/sub", "a/sub/y", "a/x", "b",
                                     "b/z", "c", "l"}));
  CAF_REQUIRE(m.find("a/sub/y") != nullptr);
  CAF_CHECK_EQUAL(m.find("a/sub/y")->meta, file_meta());
  CAF_REQUIRE(m.find("l") != nullptr);
  CAF_CHECK_EQUAL(m.find("l")->meta.target, "a");
  // Lookups never follow a symlink nor go through a file.
  CAF_CHECK(m.find("l/x") == nullptr);
  CAF_CHECK(m.find("c/x") == nullptr);
  CAF_CHECK(m.find("a/nope") == nullptr);
  CAF_CHECK(m.find("a/sub/y/z") == nullptr);
}

CAF_TEST(reset drops entries without a directory parent) {
  struct case_t {
    const char* what;
    std::vector<manifest_entry> manifest;
    strings expected;
  };
  std::vector<case_t> cases{
    {"empty manifest", {}, {}},
    {"child listed before its parent",
     {f("a/x"), d("a")},
     {"a"}},
    {"missing parent", {d("a"), f("b/x"), f("a/b/c")}, {"a"}},
    {"parent is a file", {f("a"), f("a/x"), d("b")}, {"a", "b"}},
    {"parent is a symlink",
     {{"l", link_meta("d")}, f("l/x")},
     {"l"}},
    {"dropped parent drops the whole branch",
     {d("a/b"), f("a/b/c"), d("x")},
     {"x"}},
    {"later line for the same path wins",
     {f("a", 1), f("a", 2)},
     {"a"}},
  };
  for (auto& c : cases) {
    CAF_MESSAGE(c.what);
    tree_model m;
    m.reset(c.manifest);
    CAF_CHECK_EQUAL(paths(m), c.expected);
    CAF_CHECK_EQUAL(m.size(), c.expected.size());
  }
}

CAF_TEST(reset replaces what was there) {
  auto m = make_sample();
  m.reset({d("q"), f("q/r")});
  CAF_CHECK_EQUAL(paths(m), (strings{"q", "q/r"}));
  CAF_CHECK_EQUAL(m.size(), 2u);
  m.reset({});
  CAF_CHECK_EQUAL(m.size(), 0u);
  CAF_CHECK(m.find("q") == nullptr);
  CAF_REQUIRE(m.find("") != nullptr);
  CAF_CHECK_EQUAL(kind_at(m, ""), "dir");
}

// -- set ------------------------------------------------------------------------

CAF_TEST(set adds updates and replaces) {
  struct case_t {
    const char* what;
    std::string path;
    entry_meta meta;
    bool ok;
    size_t size_after;
    strings paths_after;
  };
  auto all = strings{"a", "a/sub", "a/sub/y", "a/x", "b", "b/z", "c", "l"};
  std::vector<case_t> cases{
    {"new file at the root", "n", file_meta(), true, 9,
     {"a", "a/sub", "a/sub/y", "a/x", "b", "b/z", "c", "l", "n"}},
    {"new dir deep down", "a/sub/n", dir_meta(), true, 9,
     {"a", "a/sub", "a/sub/n", "a/sub/y", "a/x", "b", "b/z", "c", "l"}},
    {"update a file keeps the count", "c", file_meta(5, 200), true, 8, all},
    {"dir mode change keeps its children", "a", dir_meta(0700), true, 8, all},
    {"file replaces a dir and drops its subtree", "a", file_meta(), true, 5,
     {"a", "b", "b/z", "c", "l"}},
    {"symlink replaces a dir and drops its subtree", "a/sub",
     link_meta("x"), true, 7, {"a", "a/sub", "a/x", "b", "b/z", "c", "l"}},
    {"dir replaces a file", "c", dir_meta(), true, 8, all},
    {"dir replaces a symlink", "l", dir_meta(), true, 8, all},
    {"parent missing", "n/x", file_meta(), false, 8, all},
    {"parent is a file", "c/x", file_meta(), false, 8, all},
    {"parent is a symlink", "l/x", file_meta(), false, 8, all},
    {"the root itself", "", dir_meta(), false, 8, all},
  };
  for (auto& c : cases) {
    CAF_MESSAGE(c.what);
    auto m = make_sample();
    CAF_CHECK_EQUAL(m.set(c.path, c.meta), c.ok);
    CAF_CHECK_EQUAL(m.size(), c.size_after);
    CAF_CHECK_EQUAL(paths(m), c.paths_after);
    if (c.ok) {
      CAF_REQUIRE(m.find(c.path) != nullptr);
      CAF_CHECK_EQUAL(m.find(c.path)->meta, c.meta);
    }
  }
}

CAF_TEST(children of a replaced dir do not come back) {
  // A dir turned into a file and back must not resurrect the old subtree.
  auto m = make_sample();
  CAF_REQUIRE(m.set("a", file_meta()));
  CAF_REQUIRE(m.set("a", dir_meta()));
  CAF_CHECK(m.find("a/x") == nullptr);
  CAF_CHECK(m.find("a/sub") == nullptr);
  CAF_CHECK_EQUAL(m.size(), 5u);
  CAF_CHECK(m.set("a/x", file_meta()));
  CAF_CHECK_EQUAL(m.size(), 6u);
}

// -- erase ----------------------------------------------------------------------

CAF_TEST(erase removes subtrees and counts them) {
  struct case_t {
    const char* what;
    std::string path;
    size_t removed;
    strings paths_after;
  };
  std::vector<case_t> cases{
    {"a file", "c", 1, {"a", "a/sub", "a/sub/y", "a/x", "b", "b/z", "l"}},
    {"a symlink", "l", 1, {"a", "a/sub", "a/sub/y", "a/x", "b", "b/z", "c"}},
    {"a dir with a subtree", "a", 4, {"b", "b/z", "c", "l"}},
    {"a nested dir", "a/sub", 2, {"a", "a/x", "b", "b/z", "c", "l"}},
    {"a deep file", "a/sub/y", 1,
     {"a", "a/sub", "a/x", "b", "b/z", "c", "l"}},
    {"missing", "nope", 0,
     {"a", "a/sub", "a/sub/y", "a/x", "b", "b/z", "c", "l"}},
    {"beneath a missing parent", "nope/x", 0,
     {"a", "a/sub", "a/sub/y", "a/x", "b", "b/z", "c", "l"}},
    {"beneath a file", "c/x", 0,
     {"a", "a/sub", "a/sub/y", "a/x", "b", "b/z", "c", "l"}},
    {"the root is never erased", "", 0,
     {"a", "a/sub", "a/sub/y", "a/x", "b", "b/z", "c", "l"}},
  };
  for (auto& c : cases) {
    CAF_MESSAGE(c.what);
    auto m = make_sample();
    CAF_CHECK_EQUAL(m.erase(c.path), c.removed);
    CAF_CHECK_EQUAL(m.size(), 8u - c.removed);
    CAF_CHECK_EQUAL(paths(m), c.paths_after);
    CAF_CHECK_EQUAL(m.erase(c.path), 0u); // a second time finds nothing
  }
}

// -- rename ---------------------------------------------------------------------

CAF_TEST(rename moves subtrees) {
  struct case_t {
    const char* what;
    std::string from;
    std::string to;
    size_t size_after;
    strings paths_after;
  };
  std::vector<case_t> cases{
    {"file to a new name", "c", "c2", 8,
     {"a", "a/sub", "a/sub/y", "a/x", "b", "b/z", "c2", "l"}},
    {"file into a dir", "c", "a/sub/c", 8,
     {"a", "a/sub", "a/sub/c", "a/sub/y", "a/x", "b", "b/z", "l"}},
    {"dir with its subtree", "a", "n", 8,
     {"b", "b/z", "c", "l", "n", "n/sub", "n/sub/y", "n/x"}},
    {"dir into another dir", "a", "b/a", 8,
     {"b", "b/a", "b/a/sub", "b/a/sub/y", "b/a/x", "b/z", "c", "l"}},
    {"nested dir up to the root", "a/sub", "s", 8,
     {"a", "a/x", "b", "b/z", "c", "l", "s", "s/y"}},
    {"file replaces a file", "c", "b/z", 7,
     {"a", "a/sub", "a/sub/y", "a/x", "b", "b/z", "l"}},
    {"dir replaces a dir and its subtree", "b", "a", 4,
     {"a", "a/z", "c", "l"}},
    {"file replaces a dir and its subtree", "c", "a", 4,
     {"a", "b", "b/z", "l"}},
    {"symlink moves as a leaf", "l", "b/l", 8,
     {"a", "a/sub", "a/sub/y", "a/x", "b", "b/l", "b/z", "c"}},
    {"child replaces its own parent", "a/sub", "a", 6,
     {"a", "a/y", "b", "b/z", "c", "l"}},
    {"prefix-sharing name is not within", "a", "ab", 8,
     {"ab", "ab/sub", "ab/sub/y", "ab/x", "b", "b/z", "c", "l"}},
  };
  for (auto& c : cases) {
    CAF_MESSAGE(c.what);
    auto m = make_sample();
    auto before = m.find(c.from)->meta;
    CAF_CHECK(m.rename(c.from, c.to));
    CAF_CHECK_EQUAL(m.size(), c.size_after);
    CAF_CHECK_EQUAL(paths(m), c.paths_after);
    CAF_CHECK(m.find(c.from) == nullptr);
    CAF_REQUIRE(m.find(c.to) != nullptr);
    CAF_CHECK_EQUAL(m.find(c.to)->meta, before);
  }
}

CAF_TEST(refused renames change nothing) {
  struct case_t {
    const char* what;
    std::string from;
    std::string to;
  };
  std::vector<case_t> cases{
    {"into itself", "a", "a/sub/a"},
    {"into its own child", "a", "a/n"},
    {"onto itself", "a", "a"},
    {"missing source", "nope", "n"},
    {"source beneath a file", "c/x", "n"},
    {"missing target parent", "c", "nope/c"},
    {"target parent is a file", "c", "b/z/c"},
    {"target parent is a symlink", "c", "l/c"},
    {"from the root", "", "n"},
    {"onto the root", "c", ""},
  };
  auto all = strings{"a", "a/sub", "a/sub/y", "a/x", "b", "b/z", "c", "l"};
  for (auto& c : cases) {
    CAF_MESSAGE(c.what);
    auto m = make_sample();
    CAF_CHECK(!m.rename(c.from, c.to));
    CAF_CHECK_EQUAL(m.size(), 8u);
    CAF_CHECK_EQUAL(paths(m), all);
  }
}

CAF_TEST(a moved subtree stays editable under its new name) {
  auto m = make_sample();
  CAF_REQUIRE(m.rename("a", "b/a"));
  CAF_CHECK(m.set("b/a/sub/new", file_meta()));
  CAF_CHECK_EQUAL(m.size(), 9u);
  CAF_CHECK_EQUAL(m.erase("b/a/sub"), 3u);
  CAF_CHECK_EQUAL(m.size(), 6u);
  CAF_CHECK(m.rename("b/a", "a"));
  CAF_CHECK_EQUAL(paths(m), (strings{"a", "a/x", "b", "b/z", "c", "l"}));
}

// -- what the compact layout makes risky ------------------------------------------
// Nodes live in chunks indexed by id with a free list, names in one arena,
// children in sorted id vectors: ids get reused, names move, lists shift.

CAF_TEST(renames keep names and subtrees apart) {
  struct case_t {
    const char* what;
    std::vector<manifest_entry> start;
    std::string from;
    std::string to;
    strings paths_after;
  };
  std::vector<case_t> cases{
    {"into a deeper place, under a new name",
     {d("a"), f("a/x"), d("b"), d("b/c"), d("b/c/d")},
     "a", "b/c/d/zz", {"b", "b/c", "b/c/d", "b/c/d/zz", "b/c/d/zz/x"}},
    {"up from deep down",
     {d("a"), d("a/b"), d("a/b/c"), f("a/b/c/x")},
     "a/b/c", "c", {"a", "a/b", "c", "c/x"}},
    {"over an existing dir with a bigger subtree",
     {d("a"), f("a/x"), d("b"), d("b/s"), f("b/s/1"), f("b/s/2"), f("b/t")},
     "a", "b", {"b", "b/x"}},
    {"within one directory, past its siblings",
     {d("p"), f("p/a"), f("p/b"), f("p/c"), f("p/d")},
     "p/a", "p/e", {"p", "p/b", "p/c", "p/d", "p/e"}},
    {"within one directory, over a sibling",
     {d("p"), f("p/a"), f("p/b"), f("p/c")},
     "p/c", "p/a", {"p", "p/a", "p/b"}},
    {"a name that sorts first",
     {d("p"), f("p/m"), f("p/n")},
     "p/n", "p/0", {"p", "p/0", "p/m"}},
  };
  for (auto& c : cases) {
    CAF_MESSAGE(c.what);
    tree_model m;
    m.reset(c.start);
    CAF_CHECK(m.rename(c.from, c.to));
    CAF_CHECK_EQUAL(paths(m), c.paths_after);
    CAF_CHECK_EQUAL(m.size(), c.paths_after.size());
  }
}

CAF_TEST(erased ids are reused without leaking old state) {
  auto m = make_sample();
  // Free a directory with children, then fill the freed ids with new,
  // differently shaped entries: nothing of the old ones may show through.
  CAF_REQUIRE_EQUAL(m.erase("a"), 4u);
  CAF_REQUIRE(m.set("n", dir_meta()));
  CAF_REQUIRE(m.set("n/f", file_meta(7)));
  CAF_REQUIRE(m.set("m", link_meta("t")));
  CAF_REQUIRE(m.set("k", file_meta(9)));
  CAF_CHECK_EQUAL(paths(m),
                  (strings{"b", "b/z", "c", "k", "l", "m", "n", "n/f"}));
  CAF_CHECK_EQUAL(m.size(), 8u);
  CAF_CHECK(!m.has_children(*m.find("k")));
  CAF_CHECK_EQUAL(m.find("m")->meta, link_meta("t"));
  CAF_CHECK_EQUAL(m.find("n/f")->meta, file_meta(7));
  CAF_CHECK(m.find("a") == nullptr);
  CAF_CHECK(m.find("a/sub/y") == nullptr);
  // A reused directory starts empty.
  CAF_REQUIRE(m.set("k", dir_meta()));
  CAF_CHECK(!m.has_children(*m.find("k")));
}

CAF_TEST(a node keeps its address while others come and go) {
  auto m = make_sample();
  auto* y = m.find("a/sub/y");
  CAF_REQUIRE(y != nullptr);
  for (int i = 0; i < 5000; ++i) // several chunks of new nodes
    CAF_REQUIRE(m.set("b/f" + std::to_string(i), file_meta(i)));
  CAF_CHECK(m.find("a/sub/y") == y);
  CAF_REQUIRE(m.rename("a", "b/a"));
  CAF_CHECK(m.find("b/a/sub/y") == y);
  CAF_CHECK_EQUAL(y->meta, file_meta());
  CAF_CHECK_EQUAL(m.erase("b"), 5006u); // b, b/z, 5000 files, b/a's 4
  CAF_CHECK_EQUAL(m.size(), 2u);
}

CAF_TEST(many siblings in any order stay sorted and findable) {
  // Inserted in a scrambled order (a stride coprime to the count), then
  // half erased and renamed: every lookup must still land.
  const int n = 3000;
  tree_model m;
  CAF_REQUIRE(m.set("d", dir_meta()));
  for (int i = 0; i < n; ++i) {
    auto k = (i * 7919) % n;
    CAF_REQUIRE(m.set("d/" + std::to_string(k), file_meta(k)));
  }
  CAF_CHECK_EQUAL(m.size(), static_cast<size_t>(n) + 1);
  for (int k = 0; k < n; k += 2)
    CAF_REQUIRE_EQUAL(m.erase("d/" + std::to_string(k)), 1u);
  for (int k = 1; k < n; k += 4)
    CAF_REQUIRE(m.rename("d/" + std::to_string(k), "d/r" + std::to_string(k)));
  size_t found = 0;
  for (int k = 0; k < n; ++k) {
    auto* plain = m.find("d/" + std::to_string(k));
    auto* renamed = m.find("d/r" + std::to_string(k));
    bool want_plain = k % 2 == 1 && k % 4 != 1;
    bool want_renamed = k % 4 == 1;
    CAF_CHECK_EQUAL(plain != nullptr, want_plain);
    CAF_CHECK_EQUAL(renamed != nullptr, want_renamed);
    auto* hit = plain != nullptr ? plain : renamed;
    if (hit != nullptr) {
      ++found;
      CAF_CHECK_EQUAL(hit->meta.size, static_cast<uint64_t>(k));
    }
  }
  CAF_CHECK_EQUAL(found, static_cast<size_t>(n / 2));
  auto all = paths(m);
  CAF_CHECK(std::is_sorted(all.begin(), all.end()));
  CAF_CHECK_EQUAL(all.size(), m.size());
  // Children are kept in blocks: emptying them all, front first, and
  // filling them again back to front must leave no stale block behind.
  for (auto i = all.begin() + 1; i != all.end(); ++i)
    CAF_REQUIRE_EQUAL(m.erase(*i), 1u);
  CAF_CHECK_EQUAL(m.size(), 1u);
  CAF_CHECK(!m.has_children(*m.find("d")));
  for (int k = n - 1; k >= 0; --k)
    CAF_REQUIRE(m.set("d/" + std::to_string(k), file_meta(k)));
  all = paths(m);
  CAF_CHECK(std::is_sorted(all.begin(), all.end()));
  CAF_CHECK_EQUAL(all.size(), static_cast<size_t>(n) + 1);
  CAF_REQUIRE(m.find("d/1234") != nullptr);
  CAF_CHECK_EQUAL(m.find("d/1234")->meta.size, 1234u);
}

CAF_TEST(names survive the arena being rewritten) {
  // Renaming back and forth makes dead name bytes; once they outweigh the
  // live ones the arena is rewritten, and every name must read the same.
  tree_model m;
  CAF_REQUIRE(m.set("d", dir_meta()));
  for (int i = 0; i < 200; ++i)
    CAF_REQUIRE(m.set("d/file-with-a-long-name-" + std::to_string(i),
                      file_meta(i)));
  auto bytes_before_churn = m.heap_bytes();
  for (int round = 0; round < 20; ++round)
    for (int i = 0; i < 200; i += 3) {
      auto a = "d/file-with-a-long-name-" + std::to_string(i);
      auto b = "d/renamed-" + std::to_string(i);
      CAF_REQUIRE(m.rename(a, b));
      CAF_REQUIRE(m.rename(b, a));
    }
  auto bytes_after_churn = m.heap_bytes();
  for (int i = 0; i < 200; ++i) {
    auto* hit = m.find("d/file-with-a-long-name-" + std::to_string(i));
    CAF_REQUIRE(hit != nullptr);
    CAF_CHECK_EQUAL(hit->meta.size, static_cast<uint64_t>(i));
  }
  CAF_CHECK_EQUAL(m.size(), 201u);
  // Without rewriting, 20 rounds of renames would leave ~50 KB of dead
  // names; rewritten, the arena stays within about twice its ~5 KB.
  CAF_CHECK_LESS(bytes_after_churn, bytes_before_churn + 24u * 1024u);
}

CAF_TEST(a directory turned into a file frees its subtree for reuse) {
  auto m = make_sample();
  auto before = m.heap_bytes();
  for (int round = 0; round < 50; ++round) {
    CAF_REQUIRE(m.set("a", dir_meta()));
    for (int i = 0; i < 100; ++i)
      CAF_REQUIRE(m.set("a/" + std::to_string(i), file_meta()));
    CAF_REQUIRE(m.set("a", file_meta()));
    CAF_REQUIRE(m.find("a/0") == nullptr);
    CAF_REQUIRE_EQUAL(m.size(), 5u);
  }
  // 50 rounds of 100 children reuse the same freed ids: one chunk's worth
  // of growth at most, not 5,000 nodes.
  CAF_CHECK_LESS(m.heap_bytes(), before + 200u * 1024u);
}

CAF_TEST(an entry costs well under 100 bytes of heap) {
  // The scale workload's shape: files of short names in many directories.
  // (Issue 7 wants at most 200 B per file for the whole watcher.)
  tree_model m;
  std::vector<manifest_entry> manifest;
  for (int d = 0; d < 1000; ++d) {
    char dir[16];
    std::snprintf(dir, sizeof dir, "d%05d", d);
    manifest.push_back({dir, dir_meta()});
    for (int i = 0; i < 10; ++i) {
      char name[32];
      std::snprintf(name, sizeof name, "%s/f%03d", dir, i);
      manifest.push_back({name, file_meta()});
    }
  }
  m.reset(manifest);
  CAF_REQUIRE_EQUAL(m.size(), 11000u);
  auto per_entry = m.heap_bytes() / m.size();
  CAF_MESSAGE("heap bytes per entry: " << per_entry);
  CAF_CHECK_LESS(per_entry, 100u);
}
