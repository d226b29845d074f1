#define CAF_SUITE core.watch_walk
#include <caf/test/unit_test.hpp>

#include "core/watcher/watch_walk.hpp"

#include <algorithm>
#include <cerrno>
#include <map>
#include <set>
#include <string>
#include <vector>

using namespace livesync;

namespace {

using strings = std::vector<std::string>;

/// A directory tree in memory: each directory has an inode, which is its
/// wd once watched (the kernel gives a watched inode the same wd again).
struct fake_fs {
  std::map<std::string, int32_t> dirs; // path -> inode
  std::set<std::string> denied;        // EACCES
  size_t watch_limit = 1000;
  std::set<int32_t> watched;
  int32_t next_inode = 1;

  fake_fs(std::initializer_list<const char*> paths) {
    dirs[""] = next_inode++;
    for (auto p : paths)
      dirs[p] = next_inode++;
  }

  int32_t add_watch(const std::string& path) {
    auto i = dirs.find(path);
    if (i == dirs.end())
      return -ENOENT;
    if (denied.count(path) > 0)
      return -EACCES;
    if (watched.count(i->second) == 0 && watched.size() >= watch_limit)
      return -ENOSPC;
    watched.insert(i->second);
    return i->second;
  }

  static std::string parent(const std::string& p) {
    auto slash = p.rfind('/');
    return slash == std::string::npos ? "" : p.substr(0, slash);
  }

  /// What a walker would read for `task` now.
  walk_listing list(const walk_task& task) const {
    walk_listing l{task.wd, task.path, task.walk, 0, {}};
    if (dirs.count(task.path) == 0) {
      l.error = ENOENT;
      return l;
    }
    for (auto& [p, ino] : dirs)
      if (!p.empty() && p != task.path && parent(p) == task.path)
        l.subdirs.push_back(p.substr(task.path.empty() ? 0
                                                       : task.path.size() + 1));
    return l;
  }

  /// mv from to (everything beneath goes along, keeping its inode).
  void rename(const std::string& from, const std::string& to) {
    std::map<std::string, int32_t> out;
    for (auto& [p, ino] : dirs)
      if (p == from || p.rfind(from + "/", 0) == 0)
        out[to + p.substr(from.size())] = ino;
      else
        out[p] = ino;
    dirs = std::move(out);
  }

  void remove(const std::string& path) {
    for (auto i = dirs.begin(); i != dirs.end();)
      if (i->first == path || i->first.rfind(path + "/", 0) == 0)
        i = dirs.erase(i);
      else
        ++i;
  }
};

struct fixture {
  fake_fs fs{"a", "a/b", "a/b/c", "d", ".livesync", "d/.livesync"};
  watch_table table;
  watch_walks walks;

  explicit fixture(std::shared_ptr<const ignore_rules> excludes = nullptr) {
    walks = watch_walks{"/r",
                        [this](const std::string& p) {
                          return fs.add_watch(p);
                        },
                        std::move(excludes)};
  }

  /// Lists everything queued, one directory at a time, until nothing is.
  void run() {
    while (walks.queued() > 0)
      for (auto& t : walks.next(1))
        walks.merge(fs.list(t), table);
  }

  strings watched_paths() const {
    strings out;
    for (auto& [p, ino] : fs.dirs)
      if (auto wd = table.wd_of(p); wd && *wd == ino)
        out.push_back(p);
    return out;
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(watch_walk_tests, fixture)

CAF_TEST(a walk watches each directory before listing it and ends when all are listed) {
  auto id = walks.start(walk_kind::start, "", table);
  // The root is watched at once; its listing waits for a walker.
  CAF_CHECK(table.wd_of("").has_value());
  CAF_CHECK_EQUAL(walks.queued(), 1u);
  CAF_CHECK(walks.take_done().empty());
  auto t = walks.next(8);
  CAF_REQUIRE_EQUAL(t.size(), 1u);
  walks.merge(fs.list(t[0]), table);
  // Its subdirectories are watched as its listing is merged, the state
  // folder at the root left out (not the one deeper down).
  CAF_CHECK(table.wd_of("a").has_value());
  CAF_CHECK(table.wd_of("d").has_value());
  CAF_CHECK(!table.wd_of(".livesync").has_value());
  CAF_CHECK(walks.take_done().empty());
  run();
  auto done = walks.take_done();
  CAF_REQUIRE_EQUAL(done.size(), 1u);
  CAF_CHECK_EQUAL(done[0].id, id);
  CAF_CHECK(done[0].root_watched);
  CAF_CHECK_EQUAL(done[0].report.added, 6u);
  CAF_CHECK_EQUAL(watched_paths(),
                  (strings{"", "a", "a/b", "a/b/c", "d", "d/.livesync"}));
  CAF_CHECK_EQUAL(walks.open(), 0u);
}

CAF_TEST(listings merged in any order give the same table) {
  walks.start(walk_kind::start, "", table);
  // Everything a level holds goes out at once and comes back reversed, as
  // parallel walkers may answer.
  while (walks.queued() > 0) {
    auto tasks = walks.next(100);
    std::vector<walk_listing> ls;
    for (auto& t : tasks)
      ls.push_back(fs.list(t));
    std::reverse(ls.begin(), ls.end());
    for (auto& l : ls)
      walks.merge(l, table);
  }
  CAF_CHECK_EQUAL(watched_paths(),
                  (strings{"", "a", "a/b", "a/b/c", "d", "d/.livesync"}));
  CAF_CHECK_EQUAL(walks.take_done().size(), 1u);
}

CAF_TEST(two walks at once each end on their own) {
  auto first = walks.start(walk_kind::start, "a", table);
  auto second = walks.start(walk_kind::created, "d", table);
  CAF_CHECK(!walks.done_below(first + 1));
  run();
  auto done = walks.take_done();
  CAF_REQUIRE_EQUAL(done.size(), 2u);
  CAF_CHECK(walks.done_below(second + 1));
  std::set<uint64_t> ids{done[0].id, done[1].id};
  CAF_CHECK_EQUAL(ids, (std::set<uint64_t>{first, second}));
}

CAF_TEST(a directory removed mid walk is dropped) {
  walks.start(walk_kind::start, "", table);
  auto root = walks.next(1);
  walks.merge(fs.list(root[0]), table);
  auto level = walks.next(10); // a and d are being listed...
  fs.remove("a");              // ... when a goes,
  table.remove(*table.wd_of("a")); // and its IN_IGNORED is interpreted.
  for (auto& t : level)
    walks.merge(fs.list(t), table);
  run();
  auto done = walks.take_done();
  CAF_REQUIRE_EQUAL(done.size(), 1u);
  CAF_CHECK(done[0].report.errors.empty());
  CAF_CHECK_EQUAL(watched_paths(), (strings{"", "d", "d/.livesync"}));
  CAF_CHECK_EQUAL(walks.suspects(), 0u);
}

CAF_TEST(a directory removed before its events are interpreted is forgotten with its watch) {
  walks.start(walk_kind::start, "", table);
  walks.merge(fs.list(walks.next(1)[0]), table);
  auto level = walks.next(10);
  auto wd_a = *table.wd_of("a");
  fs.remove("a"); // Its IN_IGNORED is not interpreted yet.
  for (auto& t : level)
    walks.merge(fs.list(t), table);
  run();
  CAF_CHECK_EQUAL(walks.take_done().size(), 1u);
  CAF_CHECK_EQUAL(walks.suspects(), 1u); // a may have been renamed...
  table.remove(wd_a);                    // ... no: it is gone.
  walks.recheck(table);
  CAF_CHECK_EQUAL(walks.suspects(), 0u);
  CAF_CHECK_EQUAL(walks.open(), 0u);
}

CAF_TEST(a directory renamed mid walk is listed under its new name) {
  walks.start(walk_kind::start, "", table);
  walks.merge(fs.list(walks.next(1)[0]), table);
  auto level = walks.next(10); // a and d are being listed...
  fs.rename("a", "x");         // ... when a becomes x,
  table.move("a", "x");        // and the rename is interpreted.
  for (auto& t : level)
    walks.merge(fs.list(t), table);
  run();
  auto done = walks.take_done();
  CAF_REQUIRE_EQUAL(done.size(), 1u);
  CAF_CHECK_EQUAL(watched_paths(),
                  (strings{"", "d", "d/.livesync", "x", "x/b", "x/b/c"}));
}

CAF_TEST(a rename interpreted after the listing is walked again once it is) {
  walks.start(walk_kind::start, "", table);
  walks.merge(fs.list(walks.next(1)[0]), table);
  auto level = walks.next(10);
  std::vector<walk_listing> ls;
  for (auto& t : level)
    ls.push_back(fs.list(t)); // a lists "b"...
  fs.rename("a", "x");        // ... then a becomes x, not interpreted yet:
  for (auto& l : ls)
    walks.merge(l, table); // watching a/b fails.
  run();
  CAF_CHECK_EQUAL(walks.take_done().size(), 1u);
  CAF_CHECK(!table.wd_of("a/b").has_value());
  CAF_CHECK_EQUAL(walks.suspects(), 1u);
  walks.recheck(table); // Nothing moved in the table yet: nothing to do.
  CAF_CHECK_EQUAL(walks.queued(), 0u);
  table.move("a", "x"); // The rename is interpreted.
  walks.recheck(table);
  run();
  auto done = walks.take_done();
  CAF_REQUIRE_EQUAL(done.size(), 1u);
  CAF_CHECK(done[0].kind == walk_kind::created);
  CAF_CHECK_EQUAL(done[0].root, "x");
  CAF_CHECK_EQUAL(watched_paths(),
                  (strings{"", "d", "d/.livesync", "x", "x/b", "x/b/c"}));
  CAF_CHECK_EQUAL(walks.suspects(), 0u);
}

CAF_TEST(a walk root renamed mid walk is reported under its new name) {
  walks.start(walk_kind::created, "a", table);
  fs.rename("a", "x");
  table.move("a", "x");
  run();
  auto done = walks.take_done();
  CAF_REQUIRE_EQUAL(done.size(), 1u);
  CAF_CHECK_EQUAL(done[0].root, "x");
}

CAF_TEST(the watch limit and unreadable directories are reported) {
  fs.denied.insert("d");
  fs.watch_limit = 3; // the root, a, a/b
  walks.start(walk_kind::start, "", table);
  run();
  auto done = walks.take_done();
  CAF_REQUIRE_EQUAL(done.size(), 1u);
  auto& r = done[0].report;
  CAF_CHECK_EQUAL(r.added, 3u);
  CAF_CHECK(r.limit_reached);
  CAF_CHECK_EQUAL(r.unwatched, strings{"a/b/c"});
  CAF_CHECK_EQUAL(r.unreadable, strings{"d"});
  // One line, for the limit, last.
  CAF_REQUIRE_EQUAL(r.errors.size(), 1u);
  CAF_CHECK(r.errors[0].find("max_user_watches") != std::string::npos);
}

CAF_TEST(a walk that watches nothing is done at once) {
  auto id = walks.start(walk_kind::unwatched, "gone", table);
  auto done = walks.take_done();
  CAF_REQUIRE_EQUAL(done.size(), 1u);
  CAF_CHECK_EQUAL(done[0].id, id);
  CAF_CHECK(!done[0].root_watched);
  CAF_CHECK_EQUAL(done[0].root, "gone");
  CAF_CHECK(walks.done_below(walks.next_id()));
}

CAF_TEST_FIXTURE_SCOPE_END()

CAF_TEST(excluded directories get no watch) {
  auto rules = std::make_shared<ignore_rules>();
  rules->add("b/");
  fixture fx{rules};
  fx.walks.start(walk_kind::start, "", fx.table);
  fx.run();
  CAF_CHECK_EQUAL(fx.watched_paths(), (strings{"", "a", "d", "d/.livesync"}));
}

CAF_TEST(walker batches share the queue among free walkers) {
  struct row {
    size_t queued, free, batch;
  };
  for (auto r : {row{0, 4, 0}, row{5, 0, 0}, row{1, 4, 1}, row{3, 4, 1},
                 row{9, 4, 3}, row{1000, 4, 64}, row{64, 1, 64}}) {
    CAF_MESSAGE(r.queued << " queued, " << r.free << " free");
    CAF_CHECK_EQUAL(walker_batch(r.queued, r.free), r.batch);
  }
}
