#define CAF_SUITE actors.tracker
#include "fixture.hpp"
#include "fake_debouncer.hpp"

#include "actors/watcher/tracker.hpp"

#include <filesystem>

#include <sys/inotify.h>
#include <unistd.h>

using namespace livesync;
using namespace std::chrono_literals;

namespace {

inotify_record ev(int32_t wd, uint32_t mask, std::string name,
                  uint32_t cookie = 0) {
  return inotify_record{wd, mask, cookie, std::move(name)};
}

tracker_config test_config() {
  tracker_config cfg;
  cfg.unwatched_scan_interval = 2s;
  cfg.rewalk.first_pause = 500ms;
  cfg.rewalk.max_pause = 4s;
  cfg.rewalk.quiet_reset = 30s;
  return cfg;
}

/// A temporary directory tree, removed at the end.
struct temp_tree {
  std::string root;
  temp_tree() {
    char buf[] = "/tmp/livesync-tracker-XXXXXX";
    if (::mkdtemp(buf) == nullptr)
      CAF_FAIL("mkdtemp failed");
    root = buf;
  }
  ~temp_tree() {
    std::error_code ec;
    std::filesystem::remove_all(root, ec);
  }
  void mkdir(const std::string& rel) {
    std::filesystem::create_directories(root + "/" + rel);
  }
};

struct fixture : test::fixture_base {
  std::shared_ptr<std::vector<change>> got
    = std::make_shared<std::vector<change>>();
  std::shared_ptr<int> rescans = std::make_shared<int>(0);
  debouncer_actor rec;
  tracker_actor trk;

  fixture() {
    rec = sys.spawn(test::fake_debouncer, got, rescans);
    // No inotify descriptor: the tracker's own watch calls fail harmlessly,
    // which these tests do not exercise (see core.watch_setup).
    trk = sys.spawn(tracker, -1, std::string{"/nonexistent-root"}, rec, -1,
                    std::shared_ptr<const ignore_rules>{}, test_config());
    sched.run();
    // As if the start-up walk had watched these.
    auto& table = state(trk).table;
    table.add(1, "");
    table.add(2, "d");
    table.add(3, "d/e");
  }

  tracker_state& state(const tracker_actor& t) {
    return deref<tracker_actor::stateful_base<tracker_state>>(t).state;
  }

  ~fixture() {
    anon_send_exit(trk, caf::exit_reason::user_shutdown);
    anon_send_exit(rec, caf::exit_reason::user_shutdown);
    sched.run();
  }

  void feed(std::vector<inotify_record> xs) {
    self->send(trk, atom::events_v, std::move(xs));
    sched.run();
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(tracker_tests, fixture)

CAF_TEST(events become dirty paths named from the watch table) {
  feed({ev(3, IN_CREATE, "f"), ev(3, IN_MODIFY, "f"), ev(1, IN_ATTRIB, "g")});
  CAF_REQUIRE_EQUAL(got->size(), 3u);
  CAF_CHECK_EQUAL((*got)[0].path, "d/e/f");
  CAF_CHECK_EQUAL((*got)[0].flags, change_content);
  CAF_CHECK_EQUAL((*got)[2].path, "g");
  CAF_CHECK_EQUAL((*got)[2].flags, change_attr);
}

CAF_TEST(a directory rename moves the watches of its subtree) {
  feed({ev(1, IN_MOVED_FROM | IN_ISDIR, "d", 7),
        ev(1, IN_MOVED_TO | IN_ISDIR, "x", 7)});
  CAF_REQUIRE_EQUAL(got->size(), 2u);
  CAF_CHECK((*got)[0] == change::make_rename("d", "x"));
  CAF_CHECK_EQUAL((*got)[1].path, "x");
  CAF_CHECK((*got)[1].flags & change_deep);
  got->clear();
  // Events of the old wds now carry the new names.
  feed({ev(3, IN_CREATE, "f")});
  CAF_REQUIRE_EQUAL(got->size(), 1u);
  CAF_CHECK_EQUAL((*got)[0].path, "x/e/f");
}

CAF_TEST(an unpaired move out resolves after the pairing window) {
  feed({ev(2, IN_MOVED_FROM, "f", 9)});
  CAF_CHECK(got->empty()); // Its partner may start the next read.
  advance_time(move_pairing_window);
  sched.run();
  CAF_REQUIRE_EQUAL(got->size(), 1u);
  CAF_CHECK_EQUAL((*got)[0].path, "d/f");
  CAF_CHECK_EQUAL((*got)[0].flags, change_content);
}

CAF_TEST(a rename split across two reads is still one rename) {
  feed({ev(2, IN_MOVED_FROM, "f", 9)});
  feed({ev(1, IN_MOVED_TO, "g", 9)});
  CAF_REQUIRE_EQUAL(got->size(), 2u);
  CAF_CHECK((*got)[0] == change::make_rename("d/f", "g"));
  advance_time(move_pairing_window);
  sched.run();
  CAF_CHECK_EQUAL(got->size(), 2u); // Nothing left to expire.
}

CAF_TEST(a flush barrier resolves a pending move out and follows it) {
  feed({ev(2, IN_MOVED_FROM, "f", 9)});
  CAF_CHECK(got->empty());
  // The reader drained the queue before the barrier: no partner can come,
  // so the move out is resolved now, without waiting for the window.
  self->send(trk, atom::barrier_v, uint64_t{3});
  sched.run();
  CAF_REQUIRE_EQUAL(got->size(), 2u);
  CAF_CHECK_EQUAL((*got)[0].path, "d/f");
  CAF_CHECK_EQUAL((*got)[1].path, "<barrier 3>");
}

CAF_TEST(a flush barrier runs a re-walk that overflows still owe first) {
  feed({ev(-1, IN_Q_OVERFLOW, "")});
  CAF_CHECK_EQUAL(*rescans, 1); // First overflow: walk and resync at once.
  advance_time(100ms);
  feed({ev(-1, IN_Q_OVERFLOW, "")}); // Lost events again: paced...
  CAF_CHECK_EQUAL(*rescans, 1);
  self->send(trk, atom::barrier_v, uint64_t{9});
  sched.run();
  // ... but a flush does not wait for the pause: the resync goes first,
  // then the barrier (which the debouncer holds until that rescan starts).
  CAF_CHECK_EQUAL(*rescans, 2);
  CAF_REQUIRE(!got->empty());
  CAF_CHECK_EQUAL(got->back().path, "<barrier 9>");
}

CAF_TEST(an overflow requests a rescan) {
  feed({ev(-1, IN_Q_OVERFLOW, "")});
  CAF_CHECK_EQUAL(*rescans, 1);
}

CAF_TEST(a storm of overflows is coalesced and paced) {
  // A burst: three reads in a row each carrying an overflow.
  for (int i = 0; i < 3; ++i)
    feed({ev(-1, IN_Q_OVERFLOW, ""), ev(3, IN_CREATE, "f")});
  CAF_CHECK_EQUAL(*rescans, 1);
  // Ordinary events still flow meanwhile.
  CAF_CHECK_EQUAL(got->size(), 3u);
  // More overflows within the pause (500ms after the first walk): still
  // one more walk at most, when the pause is over.
  for (int i = 0; i < 5; ++i) {
    advance_time(50ms);
    feed({ev(-1, IN_Q_OVERFLOW, "")});
  }
  CAF_CHECK_EQUAL(*rescans, 1);
  advance_time(250ms); // 500ms since the walk
  sched.run();
  CAF_CHECK_EQUAL(*rescans, 2);
  // Nothing pending: no further walk.
  advance_time(10s);
  sched.run();
  CAF_CHECK_EQUAL(*rescans, 2);
  // Within 30s of the last overflow the storm goes on: the next walk waits
  // the doubled pause (1s from the last walk, long past): at once.
  feed({ev(-1, IN_Q_OVERFLOW, "")});
  CAF_CHECK_EQUAL(*rescans, 3);
  feed({ev(-1, IN_Q_OVERFLOW, "")});
  CAF_CHECK_EQUAL(*rescans, 3);
  advance_time(1999ms); // pause now 2s
  sched.run();
  CAF_CHECK_EQUAL(*rescans, 3);
  advance_time(1ms);
  sched.run();
  CAF_CHECK_EQUAL(*rescans, 4);
  auto& st = state(trk);
  CAF_CHECK_EQUAL(st.rewalk.overflows(), 10u);
  CAF_CHECK_EQUAL(st.rewalk.rescans(), 4u);
}

CAF_TEST(the state folder at the root is ignored) {
  feed({ev(1, IN_CREATE, ".livesync"), ev(2, IN_CREATE, ".livesync")});
  CAF_REQUIRE_EQUAL(got->size(), 1u);
  CAF_CHECK_EQUAL((*got)[0].path, "d/.livesync");
}

CAF_TEST(the start up walk watches the tree and replies once done) {
  temp_tree tree;
  tree.mkdir("a/b");
  tree.mkdir("c");
  int fd = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  CAF_REQUIRE(fd >= 0);
  auto t2 = sys.spawn(tracker, fd, tree.root, rec, -1,
                      std::shared_ptr<const ignore_rules>{}, test_config());
  sched.run();
  CAF_CHECK_EQUAL(state(t2).table.size(), 0u); // Nothing before it is asked.
  auto n = request<uint64_t>(t2, atom::watch_v);
  CAF_CHECK_EQUAL(n, 4u);
  for (auto dir : {"", "a", "a/b", "c"})
    CAF_CHECK(state(t2).table.wd_of(dir).has_value());
  CAF_CHECK(got->empty()); // Watching is not a change.
  anon_send_exit(t2, caf::exit_reason::user_shutdown);
  sched.run();
  ::close(fd);
}

CAF_TEST(a root that cannot be watched fails the start up walk) {
  int fd = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  CAF_REQUIRE(fd >= 0);
  auto t2 = sys.spawn(tracker, fd, std::string{"/nonexistent-root"}, rec, -1,
                      std::shared_ptr<const ignore_rules>{}, test_config());
  sched.run();
  bool failed = false;
  auto reply = self->request(t2, caf::infinite, atom::watch_v);
  sched.run();
  std::move(reply).receive([](uint64_t) {},
                           [&](caf::error&) { failed = true; });
  CAF_CHECK(failed);
  anon_send_exit(t2, caf::exit_reason::user_shutdown);
  sched.run();
  ::close(fd);
}

CAF_TEST(unwatched directories are scanned periodically until watched) {
  temp_tree tree;
  tree.mkdir("w");
  tree.mkdir("u/sub");
  int fd = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  CAF_REQUIRE(fd >= 0);
  auto t2 = sys.spawn(tracker, fd, tree.root, rec, -1,
                      std::shared_ptr<const ignore_rules>{}, test_config());
  sched.run();
  auto& st = state(t2);
  // As if the limit had left "u" and "gone" unwatched at start.
  st.table.add(::inotify_add_watch(fd, tree.root.c_str(), IN_CREATE), "");
  st.table.add(::inotify_add_watch(fd, (tree.root + "/w").c_str(), IN_CREATE),
               "w");
  st.unwatched.add("u");
  st.unwatched.add("gone");
  self->send(t2, atom::events_v, std::vector<inotify_record>{}); // arms the scan
  sched.run();
  CAF_CHECK_EQUAL(st.unwatched.size(), 2u);
  advance_time(1999ms);
  sched.run();
  CAF_CHECK(got->empty());
  advance_time(1ms);
  sched.run();
  // One scan: both compared deep (the sender removes "gone"), and "u" is
  // watched now (this process is far from the limit), with its subtree.
  CAF_REQUIRE_EQUAL(got->size(), 2u);
  CAF_CHECK((*got)[0] == change::make_dirty("gone", change_content
                                                      | change_deep));
  CAF_CHECK((*got)[1] == change::make_dirty("u", change_content
                                                   | change_deep));
  CAF_CHECK_EQUAL(st.unwatched.size(), 0u);
  CAF_CHECK_EQUAL(st.unwatched_scans, 1u);
  CAF_CHECK(st.table.wd_of("u").has_value());
  CAF_CHECK(st.table.wd_of("u/sub").has_value());
  // No directory left unwatched: no timer, no more scans.
  got->clear();
  advance_time(10s);
  sched.run();
  CAF_CHECK(got->empty());
  CAF_CHECK_EQUAL(st.unwatched_scans, 1u);
  anon_send_exit(t2, caf::exit_reason::user_shutdown);
  sched.run();
  ::close(fd);
}

CAF_TEST(unwatched directories follow renames) {
  auto& st = state(trk);
  st.unwatched.add("d/u");
  feed({ev(1, IN_MOVED_FROM | IN_ISDIR, "d", 7),
        ev(1, IN_MOVED_TO | IN_ISDIR, "x", 7)});
  CAF_CHECK_EQUAL(st.unwatched.list(), std::vector<std::string>{"x/u"});
}

CAF_TEST_FIXTURE_SCOPE_END()
