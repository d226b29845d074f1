#define CAF_SUITE core.sync_planner
#include <caf/test/unit_test.hpp>

#include "core/watcher/sync_planner.hpp"

#include "core/fake_fs.hpp"
#include "core/watcher/file_reader.hpp"
#include "core/watcher/local_tree.hpp"
#include "core/common/path_rules.hpp"
#include "core/watcher/tree_compare.hpp"
#include "core/reference/tree_writer.hpp"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

using namespace livesync;

namespace {

using strings = std::vector<std::string>;

constexpr uint8_t content = change_content;
constexpr uint8_t attr = change_attr;
constexpr uint8_t deep = change_content | change_deep;

change dirty(std::string path, uint8_t flags) {
  return change::make_dirty(std::move(path), flags);
}

change rename(std::string from, std::string to) {
  return change::make_rename(std::move(from), std::move(to));
}

// -- printing, so that a failed check shows what came out --------------------

std::string show(const op& o) {
  auto out = to_string(o.kind) + " " + o.path;
  if (o.kind == op_kind::rename || o.kind == op_kind::link)
    out += " " + o.target;
  return out;
}

std::string show(const action& a) {
  switch (a.kind) {
    case action::send: return show(a.operation);
    case action::upload: return "upload " + a.path;
    case action::warn_skipped: return "warn " + a.path;
    case action::warn_unreadable: return "unreadable " + a.path;
  }
  return "invalid action";
}

// -- the tree most tests start from -------------------------------------------

/// d/ d/f d/sub/ d/sub/g e l->d/f
void sample(fake_fs& fs) {
  fs.dir("d")
    .file("d/f", 10, 100)
    .dir("d/sub")
    .file("d/sub/g", 20, 200)
    .file("e", 5, 50)
    .link("l", "d/f");
}

/// A planner over a fake filesystem and a model, driven like the sender
/// drives it, except that uploads succeed at once.
struct harness {
  fake_fs fs;
  tree_model model;
  ignore_rules excludes;
  sync_planner planner{fs, model, &excludes};
  /// Every action of the last run(), in order, for field checks.
  std::vector<action> actions;
  /// The most items ever queued during the last run().
  size_t max_queued = 0;

  /// Makes the model what the reference would hold for the current fs.
  void mirror() {
    model.reset(fs.manifest());
  }

  /// Processes everything queued; returns the transcript.
  strings run() {
    strings out;
    actions.clear();
    max_queued = planner.queued();
    size_t steps = 0;
    while (!planner.idle()) {
      // A planner that keeps queueing work would hang the suite instead.
      if (++steps > 100000) {
        CAF_FAIL("planner does not settle; transcript so far: " << out.size()
                                                                << " lines");
      }
      for (auto& a : planner.step()) {
        out.push_back(show(a));
        if (a.kind == action::upload)
          planner.uploaded(a.path, a.meta);
        actions.push_back(a);
      }
      max_queued = std::max(max_queued, planner.queued());
    }
    return out;
  }

  strings full_check() {
    planner.push_full_check();
    return run();
  }

  strings apply(const std::vector<change>& cs) {
    for (auto& c : cs)
      planner.push(c);
    return run();
  }

  /// The first difference between the model and the mirrored part of the
  /// fs, or "" when they agree.
  std::string model_mismatch() const {
    std::map<std::string, entry_meta> want;
    for (auto& e : fs.manifest())
      if (!is_within(e.path, state_folder))
        want.emplace(e.path, e.meta);
    for (auto& [path, meta] : want) {
      auto* n = model.find(path);
      if (n == nullptr)
        return "missing in model: " + path;
      if (n->meta != meta)
        return "differs in model: " + path;
    }
    if (model.size() != want.size())
      return "model holds " + std::to_string(model.size()) + " entries, fs "
             + std::to_string(want.size());
    return "";
  }

  /// After any run the model must equal the fs, and a full check must then
  /// find nothing to do: the planner converges in one pass.
  void check_converged() {
    CAF_CHECK_EQUAL(model_mismatch(), "");
    CAF_CHECK_EQUAL(full_check(), strings{});
  }
};

const action* find_action(const std::vector<action>& xs,
                          const std::string& line) {
  for (auto& a : xs)
    if (show(a) == line)
      return &a;
  return nullptr;
}

} // namespace

// -- full checks --------------------------------------------------------------

CAF_TEST(full check against an empty model sends everything in order) {
  harness h;
  sample(h.fs);
  CAF_CHECK_EQUAL(h.full_check(),
                  (strings{"mkdir d", "upload d/f", "mkdir d/sub",
                           "upload d/sub/g", "upload e", "symlink l"}));
  CAF_CHECK_EQUAL(h.model.size(), 6u);
  // The root and each of the six entries are looked at exactly once.
  CAF_CHECK_EQUAL(h.planner.stats().checks, 7u);
  h.check_converged();
}

CAF_TEST(full check against an equal model sends nothing) {
  harness h;
  sample(h.fs);
  h.mirror();
  CAF_CHECK_EQUAL(h.full_check(), strings{});
  CAF_CHECK_EQUAL(h.model.size(), 6u);
  CAF_CHECK_EQUAL(h.planner.stats().checks, 7u);
}

CAF_TEST(a vanished root never becomes a mass removal) {
  harness h;
  sample(h.fs);
  h.mirror();
  h.fs.root_missing = true;
  h.fs.erase("d");
  h.fs.erase("e");
  h.fs.erase("l");
  CAF_CHECK_EQUAL(h.full_check(), strings{});
  CAF_CHECK(h.planner.root_missing());
  CAF_CHECK_EQUAL(h.model.size(), 6u);
  // Once the root is back, a deleted entry is removed as usual.
  h.fs.root_missing = false;
  CAF_CHECK_EQUAL(h.full_check(), (strings{"remove d", "remove e", "remove l"}));
  CAF_CHECK(!h.planner.root_missing());
}

CAF_TEST(excluded paths are neither sent nor removed) {
  harness h;
  sample(h.fs); // d, d/f, d/sub, d/sub/g, e, l
  h.fs.file("build/out.o", 10, 1, 0644);
  h.fs.file("d/x.swp", 10, 1, 0644);
  CAF_REQUIRE_EQUAL(h.excludes.add("build/"), "");
  CAF_REQUIRE_EQUAL(h.excludes.add("*.swp"), "");
  CAF_CHECK_EQUAL(h.full_check(),
                  (strings{"mkdir d", "upload d/f", "mkdir d/sub",
                           "upload d/sub/g", "upload e", "symlink l"}));
  // The reference holds an excluded path (excluded later, or put there):
  // it stays, as with rsync --exclude without --delete-excluded.
  h.model.set("d/old.swp", entry_meta{entry_kind::file, 0644, 1, 1, {}});
  CAF_CHECK_EQUAL(h.full_check(), strings{});
  CAF_CHECK(h.model.find("d/old.swp") != nullptr);
  CAF_CHECK(h.planner.stats().excluded > 0);
}

CAF_TEST(directory mtimes never cause work) {
  // Directory mtimes move with every child; comparing them would resend
  // every directory after each reconnect.
  harness h;
  sample(h.fs);
  h.mirror();
  auto m = h.fs.meta("d");
  m.mtime_ns = 12345;
  h.model.set("d", m);
  CAF_CHECK_EQUAL(h.full_check(), strings{});
}

CAF_TEST(ops carry the state they leave) {
  harness h;
  h.fs.dir("d", 0710).file("d/f", 7, 1234567890123, 0640).link("l", "d/f");
  CAF_CHECK_EQUAL(h.full_check(),
                  (strings{"mkdir d", "upload d/f", "symlink l"}));
  auto* mk = find_action(h.actions, "mkdir d");
  CAF_REQUIRE(mk != nullptr);
  CAF_CHECK_EQUAL(mk->operation.mode, 0710u);
  auto* up = find_action(h.actions, "upload d/f");
  CAF_REQUIRE(up != nullptr);
  CAF_CHECK_EQUAL(up->path, "d/f");
  CAF_CHECK(up->meta == h.fs.meta("d/f"));
  auto* ln = find_action(h.actions, "symlink l");
  CAF_REQUIRE(ln != nullptr);
  CAF_CHECK_EQUAL(ln->operation.target, "d/f");
  // A mode change carries the new mode and the current mtime.
  h.fs.file("d/f", 7, 1234567890123, 0600);
  CAF_CHECK_EQUAL(h.full_check(), strings{"set_attr d/f"});
  auto* sa = find_action(h.actions, "set_attr d/f");
  CAF_REQUIRE(sa != nullptr);
  CAF_CHECK_EQUAL(sa->operation.mode, 0600u);
  CAF_CHECK_EQUAL(sa->operation.mtime_ns, 1234567890123);
}

CAF_TEST(full check against a stale model sends exactly the differences) {
  struct case_t {
    const char* what;
    /// Turns the sample (which the reference holds) into the tree now.
    std::function<void(fake_fs&)> now;
    strings expected;
    /// Another transcript that is just as right, when there is one.
    strings also_ok;
  };
  std::vector<case_t> cases{
    {"unchanged", [](fake_fs&) {}, {}, {}},
    {"size changed", [](fake_fs& fs) { fs.file("e", 6, 50); },
     {"upload e"}, {}},
    {"mtime changed", [](fake_fs& fs) { fs.file("d/sub/g", 20, 201); },
     {"upload d/sub/g"}, {}},
    {"file mode only", [](fake_fs& fs) { fs.file("e", 5, 50, 0600); },
     {"set_attr e"}, {}},
    {"dir mode only", [](fake_fs& fs) { fs.dir("d", 0700); },
     {"set_attr d"}, {}},
    {"new file in a subdir", [](fake_fs& fs) { fs.file("d/sub/h", 1, 1); },
     {"upload d/sub/h"}, {}},
    {"new dir with a file",
     [](fake_fs& fs) { fs.dir("n").file("n/a", 1, 1); },
     {"mkdir n", "upload n/a"}, {}},
    {"new empty dir", [](fake_fs& fs) { fs.dir("d/sub/n"); },
     {"mkdir d/sub/n"}, {}},
    {"file deleted", [](fake_fs& fs) { fs.erase("e"); }, {"remove e"}, {}},
    {"symlink deleted", [](fake_fs& fs) { fs.erase("l"); }, {"remove l"}, {}},
    {"subtree deleted is one remove", [](fake_fs& fs) { fs.erase("d"); },
     {"remove d"}, {}},
    {"nested subtree deleted", [](fake_fs& fs) { fs.erase("d/sub"); },
     {"remove d/sub"}, {}},
    {"everything deleted",
     [](fake_fs& fs) { fs.erase("d").erase("e").erase("l"); },
     {"remove d", "remove e", "remove l"}, {}},
    {"file over dir",
     [](fake_fs& fs) { fs.erase("d/sub").file("d/sub", 3, 3); },
     {"remove d/sub", "upload d/sub"}, {}},
    {"symlink over dir",
     [](fake_fs& fs) { fs.erase("d/sub").link("d/sub", "x"); },
     {"remove d/sub", "symlink d/sub"}, {}},
    {"dir over file",
     [](fake_fs& fs) { fs.erase("e").dir("e").file("e/x", 1, 1); },
     {"remove e", "mkdir e", "upload e/x"},
     // mkdir replaces a non-directory on the reference by itself.
     {"mkdir e", "upload e/x"}},
    {"dir over file with the same mode",
     [](fake_fs& fs) { fs.erase("e").dir("e", 0644).file("e/x", 1, 1); },
     {"remove e", "mkdir e", "upload e/x"},
     {"mkdir e", "upload e/x"}},
    {"dir over symlink",
     [](fake_fs& fs) { fs.erase("l").dir("l").file("l/x", 1, 1); },
     {"remove l", "mkdir l", "upload l/x"},
     {"mkdir l", "upload l/x"}},
    {"file over symlink replaces it directly",
     [](fake_fs& fs) { fs.erase("l").file("l", 3, 3); },
     {"upload l"}, {}},
    {"symlink over file replaces it directly",
     [](fake_fs& fs) { fs.erase("e").link("e", "d"); },
     {"symlink e"}, {}},
    {"symlink target changed", [](fake_fs& fs) { fs.link("l", "e"); },
     {"symlink l"}, {}},
    {"many at once",
     [](fake_fs& fs) {
       fs.erase("d/sub")
         .file("d/f", 11, 100)
         .file("e", 5, 50, 0600)
         .dir("m")
         .file("m/1", 1, 1);
     },
     {"upload d/f", "remove d/sub", "set_attr e", "mkdir m", "upload m/1"},
     {}},
  };
  for (auto& c : cases) {
    CAF_MESSAGE(c.what);
    harness h;
    sample(h.fs);
    h.mirror();
    c.now(h.fs);
    auto got = h.full_check();
    if (!c.also_ok.empty() && got == c.also_ok)
      CAF_CHECK_EQUAL(got, c.also_ok);
    else
      CAF_CHECK_EQUAL(got, c.expected);
    h.check_converged();
  }
}

CAF_TEST(entries only in the model get one remove per top-most path) {
  harness h;
  sample(h.fs);
  // The reference holds two extra subtrees and an extra file.
  h.fs.dir("x").file("x/1", 1, 1).dir("x/y").file("x/y/2", 1, 1);
  h.fs.dir("d/old").file("d/old/3", 1, 1).file("d/stray", 1, 1);
  h.mirror();
  CAF_CHECK_EQUAL(h.model.size(), 13u);
  h.fs.erase("x").erase("d/old").erase("d/stray");
  CAF_CHECK_EQUAL(h.full_check(),
                  (strings{"remove d/old", "remove d/stray", "remove x"}));
  CAF_CHECK_EQUAL(h.model.size(), 6u);
  h.check_converged();
}

CAF_TEST(a larger tree goes parents first and each path once) {
  // Three levels of ten: 1110 entries.
  harness h;
  for (int i = 0; i < 10; ++i) {
    auto a = "a" + std::to_string(i);
    h.fs.dir(a);
    for (int j = 0; j < 10; ++j) {
      auto b = a + "/b" + std::to_string(j);
      h.fs.dir(b);
      for (int k = 0; k < 10; ++k)
        h.fs.file(b + "/c" + std::to_string(k), 1, 1);
    }
  }
  auto got = h.full_check();
  CAF_CHECK_EQUAL(got.size(), 1110u);
  std::set<std::string> done;
  for (auto& line : got) {
    auto path = line.substr(line.find(' ') + 1);
    CAF_CHECK(done.insert(path).second); // each once
    auto parent = std::string{parent_of(path)};
    CAF_CHECK(parent.empty() || done.count(parent) == 1); // parent first
    bool is_dir = h.fs.meta(path).kind == entry_kind::dir;
    CAF_CHECK_EQUAL(line.substr(0, line.find(' ')),
                    is_dir ? "mkdir" : "upload");
  }
  // Depth first: the queue holds siblings along one path, not the tree.
  CAF_CHECK_LESS_OR_EQUAL(h.max_queued, 30u);
  h.check_converged();
  CAF_CHECK_EQUAL(h.planner.stats().checks, 2u * 1111u);
}

// -- dirty paths --------------------------------------------------------------

CAF_TEST(dirty paths are compared with the model) {
  struct case_t {
    const char* what;
    std::function<void(fake_fs&)> now;
    std::vector<change> changes;
    strings expected;
    /// False where the changes on purpose do not cover every difference.
    bool in_sync = true;
  };
  std::vector<case_t> cases{
    {"attr with equal size and new mtime is set_attr",
     [](fake_fs& fs) { fs.file("e", 5, 51); },
     {dirty("e", attr)}, {"set_attr e"}},
    {"attr with new mode is set_attr",
     [](fake_fs& fs) { fs.file("e", 5, 50, 0600); },
     {dirty("e", attr)}, {"set_attr e"}},
    {"attr with a new size is an upload",
     [](fake_fs& fs) { fs.file("e", 6, 51); },
     {dirty("e", attr)}, {"upload e"}},
    {"attr merged with content is an upload",
     [](fake_fs& fs) { fs.file("e", 5, 51); },
     {dirty("e", attr | content)}, {"upload e"}},
    {"content with new mtime is an upload",
     [](fake_fs& fs) { fs.file("e", 5, 51); },
     {dirty("e", content)}, {"upload e"}},
    {"content unchanged is nothing", [](fake_fs&) {},
     {dirty("e", content)}, {}},
    {"attr unchanged is nothing", [](fake_fs&) {}, {dirty("e", attr)}, {}},
    {"content with only a new mode is set_attr",
     [](fake_fs& fs) { fs.file("e", 5, 50, 0600); },
     {dirty("e", content)}, {"set_attr e"}},
    {"deleted file", [](fake_fs& fs) { fs.erase("e"); },
     {dirty("e", content)}, {"remove e"}},
    {"deleted dir", [](fake_fs& fs) { fs.erase("d"); },
     {dirty("d", content)}, {"remove d"}},
    {"new file", [](fake_fs& fs) { fs.file("n", 1, 1); },
     {dirty("n", content)}, {"upload n"}},
    {"missing now and missing from the model", [](fake_fs&) {},
     {dirty("nope", content), dirty("d/nope", deep), dirty("x/y/z", attr)},
     {}},
    {"dir without deep looks at the dir only",
     [](fake_fs& fs) { fs.file("d/new", 1, 1); },
     {dirty("d", content)}, {}, false},
    {"dir with deep looks beneath",
     [](fake_fs& fs) { fs.file("d/new", 1, 1).file("d/sub/g", 21, 200); },
     {dirty("d", deep)}, {"upload d/new", "upload d/sub/g"}},
    {"new dir with deep sends its subtree",
     [](fake_fs& fs) { fs.dir("n").dir("n/m").file("n/m/f", 1, 1); },
     {dirty("n", deep)}, {"mkdir n", "mkdir n/m", "upload n/m/f"}},
    {"new dir without deep still sends its subtree",
     [](fake_fs& fs) { fs.dir("n").file("n/f", 1, 1); },
     {dirty("n", content)}, {"mkdir n", "upload n/f"}},
    {"parents not in the model are created first",
     [](fake_fs& fs) { fs.dir("x").dir("x/y").file("x/y/f", 1, 1); },
     {dirty("x/y/f", content)}, {"mkdir x", "mkdir x/y", "upload x/y/f"}},
    {"missing parent under an existing dir",
     [](fake_fs& fs) { fs.dir("d/sub/n").file("d/sub/n/f", 1, 1); },
     {dirty("d/sub/n/f", content)}, {"mkdir d/sub/n", "upload d/sub/n/f"}},
    {"parent deep check covers a later dirty of the same file",
     [](fake_fs& fs) { fs.dir("x").file("x/f", 1, 1); },
     {dirty("x/f", content), dirty("x", deep), dirty("x/f", content)},
     {"mkdir x", "upload x/f"}},
    {"the root without deep is nothing",
     [](fake_fs& fs) { fs.file("n", 1, 1); },
     {dirty("", content)}, {}, false},
    {"state folder at the root is never sent",
     [](fake_fs& fs) { fs.dir(".livesync").file(".livesync/x", 1, 1); },
     {dirty(".livesync", deep), dirty(".livesync/x", content)},
     {"warn .livesync"}},
    {"state folder name below the root is ordinary",
     [](fake_fs& fs) { fs.dir("d/.livesync").file("d/.livesync/x", 1, 1); },
     {dirty("d/.livesync", deep)},
     {"mkdir d/.livesync", "upload d/.livesync/x"}},
    {"fifo is skipped", [](fake_fs& fs) { fs.unsupported("p"); },
     {dirty("p", content)}, {"warn p"}},
    {"file turned into a fifo is removed",
     [](fake_fs& fs) { fs.unsupported("e"); },
     {dirty("e", content)}, {"warn e", "remove e"}},
    {"dir turned into a socket is removed",
     [](fake_fs& fs) { fs.unsupported("d"); },
     {dirty("d", deep)}, {"warn d", "remove d"}},
    {"fifo in a new dir",
     [](fake_fs& fs) { fs.dir("n").unsupported("n/p"); },
     {dirty("n/p", content)}, {"mkdir n", "warn n/p"}},
  };
  for (auto& c : cases) {
    CAF_MESSAGE(c.what);
    harness h;
    sample(h.fs);
    h.mirror();
    c.now(h.fs);
    CAF_CHECK_EQUAL(h.apply(c.changes), c.expected);
    if (c.in_sync)
      CAF_CHECK_EQUAL(h.model_mismatch(), "");
  }
}

CAF_TEST(a path seen through a symlink is not mirrored) {
  // lstat("ld/f") resolves the intermediate symlink "ld" to "d": the path
  // exists, but the reference holds "ld" as a link, not a directory.
  harness h;
  sample(h.fs);
  h.fs.link("ld", "d");
  h.mirror();
  h.fs.file("ld/f", 10, 100);
  CAF_CHECK_EQUAL(h.apply({dirty("ld/f", content), dirty("ld/x/y", content)}),
                  strings{});
  CAF_CHECK(h.model.find("ld/f") == nullptr);
  CAF_CHECK_EQUAL(h.model.size(), 7u);
}

CAF_TEST(unsupported entries are reported once per path) {
  harness h;
  sample(h.fs);
  h.fs.unsupported("p").unsupported("d/sock");
  CAF_CHECK_EQUAL(h.full_check(),
                  (strings{"mkdir d", "upload d/f", "warn d/sock",
                           "mkdir d/sub", "upload d/sub/g", "upload e",
                           "symlink l", "warn p"}));
  CAF_CHECK_EQUAL(h.full_check(), strings{});
  CAF_CHECK_EQUAL(h.apply({dirty("p", content), dirty("d/sock", attr)}),
                  strings{});
  // A new unsupported path is still reported once.
  h.fs.unsupported("q");
  CAF_CHECK_EQUAL(h.full_check(), strings{"warn q"});
  CAF_CHECK_EQUAL(h.full_check(), strings{});
}

CAF_TEST(the state folder at the root is never sent) {
  harness h;
  sample(h.fs);
  h.fs.dir(".livesync").dir(".livesync/staging").file(".livesync/staging/1",
                                                      9, 9);
  h.fs.dir("d/.livesync");
  CAF_CHECK_EQUAL(h.full_check(),
                  (strings{"warn .livesync", "mkdir d", "mkdir d/.livesync",
                           "upload d/f", "mkdir d/sub", "upload d/sub/g",
                           "upload e", "symlink l"}));
  CAF_CHECK(h.model.find(".livesync") == nullptr);
  CAF_CHECK_EQUAL(h.full_check(), strings{});
}

// -- renames ------------------------------------------------------------------

CAF_TEST(a file rename is replayed) {
  harness h;
  sample(h.fs);
  h.mirror();
  h.fs.move("e", "e2");
  CAF_CHECK_EQUAL(h.apply({rename("e", "e2"), dirty("e2", content)}),
                  strings{"rename e e2"});
  auto* rn = find_action(h.actions, "rename e e2");
  CAF_REQUIRE(rn != nullptr);
  CAF_CHECK_EQUAL(rn->operation.path, "e");
  CAF_CHECK_EQUAL(rn->operation.target, "e2");
  CAF_CHECK_EQUAL(h.planner.stats().renames_replayed, 1u);
  CAF_CHECK_EQUAL(h.planner.stats().renames_degraded, 0u);
  h.check_converged();
}

CAF_TEST(a renamed then modified file is renamed then uploaded) {
  harness h;
  sample(h.fs);
  h.mirror();
  h.fs.move("e", "d/e").file("d/e", 9, 99);
  CAF_CHECK_EQUAL(h.apply({rename("e", "d/e"), dirty("d/e", content)}),
                  (strings{"rename e d/e", "upload d/e"}));
  h.check_converged();
}

CAF_TEST(a directory rename is one operation) {
  harness h;
  sample(h.fs);
  h.fs.dir("big");
  for (int i = 0; i < 100; ++i)
    h.fs.file("big/f" + std::to_string(i), 1, i);
  h.mirror();
  CAF_REQUIRE_EQUAL(h.model.size(), 107u);
  h.fs.move("big", "d/big2");
  // What the interpreter and debouncer hand over: the rename, a deep look
  // at the target, and the files touched inside, re-keyed to the new name.
  std::vector<change> cs{rename("big", "d/big2"), dirty("d/big2", deep)};
  for (int i = 0; i < 100; i += 7)
    cs.push_back(dirty("d/big2/f" + std::to_string(i), content | attr));
  CAF_CHECK_EQUAL(h.apply(cs), strings{"rename big d/big2"});
  CAF_CHECK_EQUAL(h.model.size(), 107u);
  CAF_CHECK(h.model.find("big") == nullptr);
  CAF_CHECK(h.model.find("d/big2/f99") != nullptr);
  CAF_CHECK_EQUAL(h.planner.stats().renames_replayed, 1u);
  h.check_converged();
}

CAF_TEST(renames are replayed in order) {
  struct case_t {
    const char* what;
    std::function<void(fake_fs&)> now;
    std::vector<change> changes;
    strings expected;
    uint64_t replayed;
    uint64_t degraded;
  };
  std::vector<case_t> cases{
    {"chain",
     [](fake_fs& fs) { fs.move("e", "e2").move("e2", "e3"); },
     // As the debouncer hands it over: a dirty path is re-keyed to the
     // name given by the renames that followed it.
     {rename("e", "e2"), rename("e2", "e3"), dirty("e3", content)},
     {"rename e e2", "rename e2 e3"}, 2, 0},
    {"swap through a temporary name",
     [](fake_fs& fs) { fs.move("e", "t").move("d/f", "e").move("t", "d/f"); },
     {rename("e", "t"), rename("d/f", "e"), rename("t", "d/f"),
      dirty("t", content), dirty("e", content), dirty("d/f", content)},
     {"rename e t", "rename d/f e", "rename t d/f"}, 3, 0},
    {"file onto a file",
     [](fake_fs& fs) { fs.move("d/f", "e"); },
     {rename("d/f", "e"), dirty("e", content)},
     {"rename d/f e"}, 1, 0},
    {"dir onto an empty dir",
     [](fake_fs& fs) { fs.move("d", "n"); },
     {rename("d", "n"), dirty("n", deep)},
     {"rename d n"}, 1, 0},
    {"dir onto a non-empty dir removes the target first",
     [](fake_fs& fs) { fs.move("d/sub", "x"); },
     {rename("d/sub", "x"), dirty("x", deep)},
     {"remove x", "rename d/sub x"}, 1, 0},
    {"file onto a dir removes the target first",
     [](fake_fs& fs) { fs.move("e", "n"); },
     {rename("e", "n"), dirty("n", content)},
     {"remove n", "rename e n"}, 1, 0},
    {"dir onto a file removes the target first",
     [](fake_fs& fs) { fs.move("d/sub", "e"); },
     {rename("d/sub", "e"), dirty("e", deep)},
     {"remove e", "rename d/sub e"}, 1, 0},
    {"dir onto a symlink removes the target first",
     [](fake_fs& fs) { fs.move("d/sub", "l"); },
     {rename("d/sub", "l"), dirty("l", deep)},
     {"remove l", "rename d/sub l"}, 1, 0},
    {"symlink onto a dir removes the target first",
     [](fake_fs& fs) { fs.move("l", "x"); },
     {rename("l", "x"), dirty("x", content)},
     {"remove x", "rename l x"}, 1, 0},
    {"source never sent is an upload of the target",
     [](fake_fs& fs) { fs.file("e", 6, 60); },
     // An editor's atomic save: write a temp file, rename it over.
     {dirty(".e.swp", content), rename(".e.swp", "e"), dirty("e", content)},
     {"upload e"}, 0, 1},
    {"source never sent onto a new name",
     [](fake_fs& fs) { fs.file("t", 6, 60); },
     {rename("tmp", "t"), dirty("t", content)},
     {"upload t"}, 0, 1},
    {"dir moved into a dir the reference lacks",
     [](fake_fs& fs) { fs.dir("m").move("d/sub", "m/sub"); },
     {rename("d/sub", "m/sub"), dirty("m", deep), dirty("m/sub", deep)},
     {"remove d/sub", "mkdir m", "mkdir m/sub", "upload m/sub/g"}, 0, 1},
    {"rename into the state folder is a move out",
     [](fake_fs& fs) { fs.dir(".livesync").move("e", ".livesync/e"); },
     {rename("e", ".livesync/e")},
     {"remove e", "warn .livesync"}, 0, 1},
  };
  for (auto& c : cases) {
    CAF_MESSAGE(c.what);
    harness h;
    sample(h.fs);
    h.fs.dir("n").dir("x").file("x/1", 1, 1);
    h.mirror();
    c.now(h.fs);
    CAF_CHECK_EQUAL(h.apply(c.changes), c.expected);
    CAF_CHECK_EQUAL(h.planner.stats().renames_replayed, c.replayed);
    CAF_CHECK_EQUAL(h.planner.stats().renames_degraded, c.degraded);
    h.check_converged();
  }
}

// -- the sender's feedback ----------------------------------------------------

CAF_TEST(a failed upload is looked at again first thing) {
  harness h;
  h.fs.file("a", 1, 1).file("b", 2, 2);
  h.planner.push(dirty("a", content));
  h.planner.push(dirty("b", content));
  auto first = h.planner.step();
  CAF_REQUIRE_EQUAL(first.size(), 1u);
  CAF_CHECK_EQUAL(show(first[0]), "upload a");
  // The file changed while being read: the sender gives up on it.
  h.fs.file("a", 3, 3);
  h.planner.upload_failed("a");
  CAF_CHECK_EQUAL(h.planner.queued(), 2u);
  auto again = h.planner.step();
  CAF_REQUIRE_EQUAL(again.size(), 1u);
  CAF_CHECK_EQUAL(show(again[0]), "upload a");
  CAF_CHECK(again[0].meta == h.fs.meta("a"));
  h.planner.uploaded("a", again[0].meta);
  CAF_CHECK_EQUAL(h.run(), strings{"upload b"});
  h.check_converged();
}

CAF_TEST(a failed upload of a vanished file sends nothing) {
  harness h;
  h.fs.file("a", 1, 1);
  h.planner.push(dirty("a", content));
  auto first = h.planner.step();
  CAF_REQUIRE_EQUAL(first.size(), 1u);
  h.fs.erase("a");
  h.planner.upload_failed("a");
  CAF_CHECK_EQUAL(h.run(), strings{});
  CAF_CHECK_EQUAL(h.model.size(), 0u);
}

CAF_TEST(a failed upload of a path that became a dir mirrors the dir) {
  harness h;
  h.fs.file("a", 1, 1);
  h.planner.push(dirty("a", content));
  CAF_REQUIRE_EQUAL(h.planner.step().size(), 1u);
  h.fs.dir("a").file("a/x", 1, 1);
  h.planner.upload_failed("a");
  CAF_CHECK_EQUAL(h.run(), (strings{"mkdir a", "upload a/x"}));
  h.check_converged();
}

CAF_TEST(invalidate forgets a path so the next check resends it) {
  harness h;
  sample(h.fs);
  h.mirror();
  auto ops = h.planner.invalidate("e");
  CAF_REQUIRE_EQUAL(ops.size(), 1u);
  CAF_CHECK_EQUAL(show(ops[0]), "remove e");
  CAF_CHECK(h.model.find("e") == nullptr);
  CAF_CHECK_EQUAL(h.model.size(), 5u);
  CAF_CHECK_EQUAL(h.apply({dirty("e", content)}), strings{"upload e"});
  // A directory is forgotten with everything beneath it.
  ops = h.planner.invalidate("d");
  CAF_REQUIRE_EQUAL(ops.size(), 1u);
  CAF_CHECK_EQUAL(show(ops[0]), "remove d");
  CAF_CHECK_EQUAL(h.model.size(), 2u);
  CAF_CHECK_EQUAL(h.apply({dirty("d", content)}),
                  (strings{"mkdir d", "upload d/f", "mkdir d/sub",
                           "upload d/sub/g"}));
  // The root is never removed.
  CAF_CHECK(h.planner.invalidate("").empty());
  CAF_CHECK_EQUAL(h.model.size(), 6u);
  h.check_converged();
}

CAF_TEST(clear drops queued work) {
  harness h;
  sample(h.fs);
  h.planner.push_full_check();
  h.planner.push(dirty("e", content));
  CAF_CHECK_EQUAL(h.planner.queued(), 2u);
  CAF_CHECK(!h.planner.idle());
  h.planner.clear();
  CAF_CHECK(h.planner.idle());
  CAF_CHECK(h.planner.step().empty());
  CAF_CHECK_EQUAL(h.model.size(), 0u);
  // Work queued later proceeds as usual.
  CAF_CHECK_EQUAL(h.full_check().size(), 6u);
}

// -- a watcher that may not read everything -----------------------------------

// A directory the watcher cannot list (or look into) holds unknown names,
// not no names: whatever the reference holds beneath it stays, until a
// change on it or above it (a chmod is an IN_ATTRIB) shows it again.
CAF_TEST(an unreadable directory is never emptied on the reference) {
  struct case_t {
    const char* what;
    bool listable; // mode 0444: names without their metadata
    std::vector<change> changes;
  };
  std::vector<case_t> cases{
    {"full check, not listable", false, {}},
    {"full check, listable but not searchable", true, {}},
    {"deep dirty, not listable", false, {dirty("d", deep)}},
    {"dirty children, not searchable", true,
     {dirty("d/f", content), dirty("d/sub", deep), dirty("d/sub/g", attr)}},
  };
  for (auto& c : cases) {
    CAF_MESSAGE(c.what);
    harness h;
    sample(h.fs);
    h.mirror();
    h.fs.file("d/sub/new", 1, 1); // unseen while d is locked
    h.fs.lock("d", c.listable);
    auto out = c.changes.empty() ? h.full_check() : h.apply(c.changes);
    CAF_CHECK_EQUAL(out, strings{"unreadable d"});
    CAF_CHECK_EQUAL(h.model.size(), 6u);
    CAF_CHECK(h.model.find("d/sub/g") != nullptr);
    // Said once: the next look is quiet.
    CAF_CHECK_EQUAL(h.full_check(), strings{});
    // Readable again: the chmod's event on d alone mirrors the subtree.
    h.fs.unlock("d");
    CAF_CHECK_EQUAL(h.apply({dirty("d", attr)}), strings{"upload d/sub/new"});
    h.check_converged();
  }
}

CAF_TEST(a new unreadable directory is created empty then filled) {
  harness h;
  sample(h.fs);
  h.mirror();
  h.fs.dir("x", 0700).file("x/f", 3, 3);
  h.fs.lock("x");
  CAF_CHECK_EQUAL(h.apply({dirty("x", deep)}),
                  (strings{"mkdir x", "unreadable x"}));
  h.fs.unlock("x");
  CAF_CHECK_EQUAL(h.apply({dirty("x", attr)}), strings{"upload x/f"});
  h.check_converged();
}

CAF_TEST(an unreadable directory beneath a changed one is looked at again) {
  // d readable, d/sub not searchable: a chmod of d/sub comes as an event
  // on d/sub, but one of d (a rename in, a chmod) must also show it.
  harness h;
  sample(h.fs);
  h.mirror();
  h.fs.file("d/sub/new", 1, 1);
  h.fs.lock("d/sub");
  CAF_CHECK_EQUAL(h.full_check(), strings{"unreadable d/sub"});
  h.fs.unlock("d/sub");
  CAF_CHECK_EQUAL(h.apply({dirty("d", attr)}), strings{"upload d/sub/new"});
  h.check_converged();
}

CAF_TEST(an unreadable directory is known by its new name after a rename) {
  harness h;
  sample(h.fs);
  h.mirror();
  h.fs.lock("d");
  CAF_CHECK_EQUAL(h.full_check(), strings{"unreadable d"});
  h.fs.unlock("d");
  h.fs.move("d", "moved");
  h.fs.file("moved/sub/new", 1, 1);
  h.fs.lock("moved");
  CAF_CHECK_EQUAL(h.apply({rename("d", "moved")}), strings{"rename d moved"});
  h.fs.unlock("moved");
  CAF_CHECK_EQUAL(h.apply({dirty("moved", attr)}),
                  strings{"upload moved/sub/new"});
  h.check_converged();
}

CAF_TEST(an unreadable root removes nothing) {
  harness h;
  sample(h.fs);
  h.mirror();
  h.fs.lock("");
  CAF_CHECK_EQUAL(h.full_check(), strings{"unreadable "});
  CAF_CHECK_EQUAL(h.model.size(), 6u);
}

// A watched tree deeper than any operation may name (path_rules) has its
// mirrorable part sent and one warning for the rest, which is never sent.
CAF_TEST(paths deeper than the limit are skipped with one warning) {
  harness h;
  sample(h.fs);
  std::string p = "z";
  h.fs.dir(p);
  for (size_t i = 1; i < max_path_depth + 5; ++i)
    h.fs.dir(p += "/z");
  h.fs.file(p + "/f", 1, 1);
  auto out = h.full_check();
  size_t mkdirs = 0, warns = 0;
  for (auto& a : h.actions) {
    mkdirs += a.kind == action::send && a.operation.kind == op_kind::mkdir
              && a.path.empty() && a.operation.path[0] == 'z';
    if (a.kind == action::warn_skipped) {
      ++warns;
      CAF_CHECK_EQUAL(a.reason, "path deeper than 256");
    }
  }
  CAF_CHECK_EQUAL(mkdirs, max_path_depth);
  CAF_CHECK_EQUAL(warns, 1u);
  // Said once; nothing more to do.
  CAF_CHECK_EQUAL(h.full_check(), strings{});
}

// -- hard links ------------------------------------------------------------------

// A write through one name of a file with two raises an event for that name
// only: the other name's copy on the reference must follow too.
CAF_TEST(a change through one name of a hard-linked file reaches every name) {
  struct case_t {
    const char* what;
    std::function<void(fake_fs&, const std::string&)> change;
    strings expected;
  };
  std::vector<case_t> cases{
    {"new content", [](fake_fs& fs, const std::string& p) { fs.file(p, 11, 300); },
     {"upload d/f", "link x/y d/f"}},
    {"chmod", [](fake_fs& fs, const std::string& p) { fs.file(p, 10, 100, 0600); },
     {"set_attr d/f", "set_attr x/y"}},
  };
  for (auto& c : cases) {
    for (bool from_walk : {false, true}) {
      CAF_MESSAGE(c.what << (from_walk ? ", names known from the walk" : ""));
      harness h;
      sample(h.fs);
      h.fs.dir("x").file("x/y", 10, 100).linked({"d/f", "x/y"}, 42);
      h.mirror();
      if (from_walk) {
        // After a reconnect: the names come from the watcher's walk.
        dir_listing d{"x", {}, true};
        listed_entry e;
        e.name = "y";
        e.meta = h.fs.meta("x/y");
        e.linked_inode = 42;
        d.entries.push_back(e);
        dir_listing d2{"d", {}, true};
        e.name = "f";
        d2.entries.push_back(e);
        h.planner.note_links({d, d2});
      } else {
        // Live: the planner met both names in a full check.
        CAF_CHECK_EQUAL(h.full_check(), strings{});
      }
      for (auto p : {"d/f", "x/y"})
        c.change(h.fs, p);
      h.fs.linked({"d/f", "x/y"}, 42);
      CAF_CHECK_EQUAL(h.apply({dirty("d/f", content | attr)}), c.expected);
      h.check_converged();
    }
  }
}

// A new name of a file the reference holds costs a link, not its content;
// whatever makes the model's copy of the other name differ from the file
// now (a change not sent yet, another inode since) costs an upload.
CAF_TEST(a new name of a mirrored file is linked on the reference) {
  struct case_t {
    const char* what;
    std::function<void(harness&)> before;
    strings expected;
  };
  std::vector<case_t> cases{
    {"same content", [](harness&) {}, {"link d/g d/f"}},
    {"the model's copy is older",
     [](harness& h) {
       entry_meta old = h.fs.meta("d/f");
       old.mtime_ns -= 1;
       h.model.set("d/f", old);
     },
     {"link d/g d/h", "link d/f d/h"}},
    {"the other names are another inode now",
     [](harness& h) {
       h.fs.file("d/f", 10, 100).linked({"d/f"}, 7);
       h.fs.file("d/h", 10, 100).linked({"d/h"}, 8);
     },
     {"upload d/g"}},
  };
  for (auto& c : cases) {
    CAF_MESSAGE(c.what);
    harness h;
    sample(h.fs);
    // d/f has a second name already: the planner knows its names (a file
    // of one name is not indexed, so its first new name is sent whole).
    h.fs.file("d/h", 10, 100).linked({"d/f", "d/h"}, 42);
    h.mirror();
    CAF_CHECK_EQUAL(h.full_check(), strings{});
    // ln d/f d/g: one event, for the new name.
    h.fs.file("d/g", 10, 100).linked({"d/f", "d/g", "d/h"}, 42);
    c.before(h);
    CAF_CHECK_EQUAL(h.apply({dirty("d/g", content)}), c.expected);
    h.check_converged();
  }
}

// A chmod tells the reference how many names the watcher's file has: the
// reference changes every name of a shared inode only when the watcher's
// names share it too.
CAF_TEST(set_attr carries the link count of the watcher file) {
  harness h;
  sample(h.fs);
  h.fs.linked({"d/f", "e"}, 42);
  h.fs.file("e", 10, 100).linked({"d/f", "e"}, 42);
  h.mirror();
  CAF_CHECK_EQUAL(h.full_check(), strings{});
  h.fs.file("d/f", 10, 100, 0600).file("e", 10, 100, 0600);
  h.fs.linked({"d/f", "e"}, 42);
  CAF_CHECK_EQUAL(h.apply({dirty("d/f", attr)}),
                  (strings{"set_attr d/f", "set_attr e"}));
  for (auto& a : h.actions)
    CAF_CHECK_EQUAL(a.operation.offset, 2u);
  h.fs.file("d/sub/g", 20, 200, 0600);
  CAF_CHECK_EQUAL(h.apply({dirty("d/sub/g", attr)}), strings{"set_attr d/sub/g"});
  CAF_CHECK_EQUAL(h.actions.at(0).operation.offset, 1u);
}

// -- against a real tree and a real writer ------------------------------------

namespace {

/// A watched tree on disk, a reference tree on disk with a tree_writer, and
/// the planner between them, with uploads done as the sender does small
/// files: read_whole_file, then one write_file op. What the reference ends
/// up holding is compared with the watched tree, so a plan that the
/// reference cannot apply shows up as an op error and a difference.
struct live {
  std::string tmp;
  std::string src;
  std::string dst;
  std::unique_ptr<local_tree> fs;
  tree_model model;
  std::unique_ptr<sync_planner> planner;
  std::unique_ptr<tree_writer> ref;
  /// "<op>: <reason>" for each op the reference refused.
  strings errors;

  live() {
    char buf[] = "/tmp/livesync-planner-XXXXXX";
    if (::mkdtemp(buf) == nullptr)
      CAF_FAIL("mkdtemp failed");
    tmp = buf;
    src = tmp + "/src";
    dst = tmp + "/dst";
    ::mkdir(src.c_str(), 0755);
    fs = std::make_unique<local_tree>(src);
    planner = std::make_unique<sync_planner>(*fs, model);
    status err;
    ref = tree_writer::open(dst, {}, err);
    if (!ref)
      CAF_FAIL("tree_writer::open failed: " << err.reason());
  }

  ~live() {
    planner.reset();
    ref.reset();
    std::error_code ec;
    std::filesystem::remove_all(tmp, ec);
  }

  std::string at(const std::string& rel) const {
    return src + "/" + rel;
  }

  void write(const std::string& rel, const std::string& text,
             uint32_t mode = 0644) {
    {
      std::ofstream out{at(rel), std::ios::binary | std::ios::trunc};
      out << text;
    }
    ::chmod(at(rel).c_str(), mode);
  }

  void mkdir(const std::string& rel, uint32_t mode = 0755) {
    ::mkdir(at(rel).c_str(), mode);
    ::chmod(at(rel).c_str(), mode); // whatever the umask
  }

  void remove(const std::string& rel) {
    std::error_code ec;
    std::filesystem::remove_all(at(rel), ec);
  }

  void apply(const op& o) {
    if (auto st = ref->apply(o); !st)
      errors.push_back(show(o) + ": " + st.reason());
  }

  void upload(const action& a) {
    std::vector<char> data;
    hash128 hash;
    entry_meta meta;
    std::string reason;
    switch (read_whole_file(fs->full_path(a.path), data, hash, meta, reason)) {
      case read_outcome::ok: {
        op o;
        o.kind = op_kind::write_file;
        o.path = a.path;
        o.mode = meta.mode;
        o.mtime_ns = meta.mtime_ns;
        o.size = meta.size;
        o.data = std::move(data);
        o.hash = hash;
        apply(o);
        planner->uploaded(a.path, meta);
        return;
      }
      case read_outcome::failed:
        errors.push_back("read " + a.path + ": " + reason);
        return;
      default:
        planner->upload_failed(a.path);
        return;
    }
  }

  /// Runs queued work to the end; returns the transcript.
  strings run() {
    strings out;
    size_t steps = 0;
    while (!planner->idle()) {
      if (++steps > 100000)
        CAF_FAIL("planner does not settle");
      for (auto& a : planner->step()) {
        out.push_back(show(a));
        if (a.kind == action::send)
          apply(a.operation);
        else if (a.kind == action::upload)
          upload(a);
      }
    }
    return out;
  }

  /// Reconnect: the model is what the reference lists, then a full check.
  strings reconnect() {
    status err;
    auto manifest = ref->reader().manifest(err);
    CAF_CHECK_EQUAL(err.reason(), "");
    model.reset(manifest);
    planner->push_full_check();
    return run();
  }

  strings apply(const std::vector<change>& cs) {
    for (auto& c : cs)
      planner->push(c);
    return run();
  }

  /// The first difference between the two trees, or "".
  std::string mismatch() const {
    auto want = list_tree(*fs, nullptr, nullptr);
    status err;
    auto have = ref->reader().manifest(err);
    if (!err)
      return "manifest: " + err.reason();
    std::map<std::string, entry_meta> got;
    for (auto& e : have)
      got.emplace(e.path, e.meta);
    for (auto& e : want) {
      auto i = got.find(e.path);
      if (i == got.end())
        return "missing on the reference: " + e.path;
      if (i->second != e.meta)
        return "differs on the reference: " + e.path + " ("
               + to_string(i->second.kind) + " there, "
               + to_string(e.meta.kind) + " here)";
      got.erase(i);
    }
    if (!got.empty())
      return "extra on the reference: " + got.begin()->first;
    return "";
  }
};

/// d/ d/f d/sub/ d/sub/g e l->d/f, on disk.
void sample(live& t) {
  t.mkdir("d");
  t.write("d/f", "ffff");
  t.mkdir("d/sub");
  t.write("d/sub/g", "gg");
  t.write("e", "eeeee");
  ::symlink("d/f", t.at("l").c_str());
}

} // namespace

CAF_TEST(a real tree is mirrored and then costs nothing) {
  live t;
  sample(t);
  CAF_CHECK_EQUAL(t.reconnect(),
                  (strings{"mkdir d", "upload d/f", "mkdir d/sub",
                           "upload d/sub/g", "upload e", "symlink l"}));
  CAF_CHECK_EQUAL(t.errors, strings{});
  CAF_CHECK_EQUAL(t.mismatch(), "");
  // A fresh watcher against the up-to-date reference sends nothing.
  t.model.reset({});
  CAF_CHECK_EQUAL(t.reconnect(), strings{});
}

CAF_TEST(real changes reach the reference) {
  struct case_t {
    const char* what;
    std::function<void(live&)> edit;
    /// The changes the watcher would report; empty for a reconnect.
    std::vector<change> changes;
  };
  std::vector<case_t> cases{
    {"file rewritten", [](live& t) { t.write("e", "new content"); },
     {dirty("e", content)}},
    {"chmod", [](live& t) { ::chmod(t.at("e").c_str(), 0600); },
     {dirty("e", attr)}},
    {"subtree removed", [](live& t) { t.remove("d"); }, {dirty("d", content)}},
    {"file renamed into a subdir",
     [](live& t) { ::rename(t.at("e").c_str(), t.at("d/sub/e").c_str()); },
     {rename("e", "d/sub/e"), dirty("d/sub/e", content)}},
    {"dir renamed over a non-empty dir",
     [](live& t) {
       t.remove("x");
       ::rename(t.at("d/sub").c_str(), t.at("x").c_str());
     },
     {rename("d/sub", "x"), dirty("x", deep)}},
    {"file replaced by a dir",
     [](live& t) {
       t.remove("e");
       t.mkdir("e");
       t.write("e/inner", "i");
     },
     {dirty("e", deep)}},
    {"file replaced by a dir, found on reconnect",
     [](live& t) {
       t.remove("e");
       t.mkdir("e");
       t.write("e/inner", "i");
     },
     {}},
    {"dir renamed over a deleted file",
     [](live& t) {
       t.remove("e");
       ::rename(t.at("d/sub").c_str(), t.at("e").c_str());
     },
     // The debouncer sends renames before the dirty paths of a batch.
     {rename("d/sub", "e"), dirty("e", deep)}},
    {"symlink replaced by a dir",
     [](live& t) {
       t.remove("l");
       t.mkdir("l");
     },
     {dirty("l", deep)}},
    {"dir replaced by a file",
     [](live& t) {
       t.remove("x");
       t.write("x", "now a file");
     },
     {dirty("x", content)}},
    {"symlink replaced by a file",
     [](live& t) {
       t.remove("l");
       t.write("l", "now a file");
     },
     {dirty("l", content)}},
    {"file replaced by a symlink",
     [](live& t) {
       t.remove("e");
       ::symlink("x", t.at("e").c_str());
     },
     {dirty("e", content)}},
    {"dir renamed over a deleted symlink",
     [](live& t) {
       t.remove("l");
       ::rename(t.at("d/sub").c_str(), t.at("l").c_str());
     },
     {rename("d/sub", "l"), dirty("l", deep)}},
    {"editor atomic save",
     [](live& t) {
       t.write(".e.swp", "saved by an editor");
       ::rename(t.at(".e.swp").c_str(), t.at("e").c_str());
     },
     {dirty(".e.swp", content), rename(".e.swp", "e"), dirty("e", content)}},
  };
  for (auto& c : cases) {
    CAF_MESSAGE(c.what);
    live t;
    sample(t);
    t.mkdir("x");
    t.write("x/1", "1");
    t.reconnect();
    CAF_REQUIRE_EQUAL(t.mismatch(), "");
    c.edit(t);
    if (c.changes.empty())
      t.reconnect();
    else
      t.apply(c.changes);
    CAF_CHECK_EQUAL(t.errors, strings{});
    CAF_CHECK_EQUAL(t.mismatch(), "");
  }
}

// The names of one file on the watcher are one file on the reference: the
// content crosses once, a write through one name reaches all of them, and
// a name that leaves the group keeps its own attributes.
CAF_TEST(hard links on disk are hard links on the reference) {
  live t;
  sample(t);
  ::link(t.at("d/f").c_str(), t.at("d/sub/f2").c_str());
  ::link(t.at("d/f").c_str(), t.at("f3").c_str());
  auto ino = [&](const std::string& rel) {
    struct stat st {};
    ::lstat((t.dst + "/" + rel).c_str(), &st);
    return st.st_ino;
  };
  auto out = t.reconnect();
  CAF_CHECK_EQUAL(std::count(out.begin(), out.end(), "upload d/f"), 1);
  CAF_CHECK_EQUAL(std::count_if(out.begin(), out.end(),
                                [](auto& x) { return x.rfind("link ", 0) == 0; }),
                  2);
  CAF_CHECK_EQUAL(t.errors, strings{});
  CAF_CHECK_EQUAL(t.mismatch(), "");
  CAF_CHECK_EQUAL(ino("d/f"), ino("d/sub/f2"));
  CAF_CHECK_EQUAL(ino("d/f"), ino("f3"));
  // A write through one name, in place: one event, every name follows,
  // still one inode on the reference.
  {
    std::ofstream out{t.at("f3"), std::ios::binary | std::ios::app};
    out << " and more";
  }
  out = t.apply({dirty("f3", content)});
  CAF_CHECK_EQUAL(out, (strings{"upload f3", "link d/f f3", "link d/sub/f2 d/f"}));
  CAF_CHECK_EQUAL(t.errors, strings{});
  CAF_CHECK_EQUAL(t.mismatch(), "");
  CAF_CHECK_EQUAL(ino("d/f"), ino("f3"));
  CAF_CHECK_EQUAL(ino("d/f"), ino("d/sub/f2"));
  // f3 leaves the group with the same content and mtime (cp -p, then a
  // rename over it): nothing to send. A chmod of f3 must then stay on f3.
  auto copy = t.at("f3.tmp");
  std::filesystem::copy_file(t.at("f3"), copy);
  struct stat st {};
  ::lstat(t.at("f3").c_str(), &st);
  struct timespec times[2] = {st.st_atim, st.st_mtim};
  ::utimensat(AT_FDCWD, copy.c_str(), times, 0);
  ::rename(copy.c_str(), t.at("f3").c_str());
  ::chmod(t.at("f3").c_str(), 0600);
  t.apply({dirty("f3", content)});
  CAF_CHECK_EQUAL(t.errors, strings{});
  CAF_CHECK_EQUAL(t.mismatch(), "");
  CAF_CHECK_NOT_EQUAL(ino("d/f"), ino("f3"));
  CAF_CHECK_EQUAL(ino("d/f"), ino("d/sub/f2"));
}
