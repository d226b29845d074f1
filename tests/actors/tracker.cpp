#define CAF_SUITE actors.tracker
#include "fixture.hpp"

#include "actors/watcher/tracker.hpp"

#include <sys/inotify.h>

using namespace livesync;
using namespace std::chrono_literals;

namespace {

// Stands in for the debouncer: records every change it gets.
struct recorder_state {
  std::shared_ptr<std::vector<change>> got;
  std::shared_ptr<int> rescans;
};

debouncer_actor::behavior_type
recorder(debouncer_actor::stateful_pointer<recorder_state> self,
         std::shared_ptr<std::vector<change>> got,
         std::shared_ptr<int> rescans) {
  self->state.got = got;
  self->state.rescans = rescans;
  return {
    [=](std::vector<change>& xs) {
      for (auto& x : xs)
        self->state.got->push_back(std::move(x));
    },
    [=](atom::resync) { ++*self->state.rescans; },
    [=](atom::demand) {},
    [=](atom::tick) {},
    [=](atom::barrier, uint64_t n) {
      self->state.got->push_back(
        change::make_dirty("<barrier " + std::to_string(n) + ">", 0));
    },
    [=](atom::status) -> uint64_t { return 0; },
  };
}

inotify_record ev(int32_t wd, uint32_t mask, std::string name,
                  uint32_t cookie = 0) {
  return inotify_record{wd, mask, cookie, std::move(name)};
}

struct fixture : test::fixture_base {
  std::shared_ptr<std::vector<change>> got
    = std::make_shared<std::vector<change>>();
  std::shared_ptr<int> rescans = std::make_shared<int>(0);
  debouncer_actor rec;
  tracker_actor trk;

  fixture() {
    watch_table table;
    table.add(1, "");
    table.add(2, "d");
    table.add(3, "d/e");
    rec = sys.spawn(recorder, got, rescans);
    // No inotify descriptor: the tracker's own watch calls fail harmlessly,
    // which these tests do not exercise (see core.watch_setup).
    trk = sys.spawn(tracker, -1, std::string{"/nonexistent-root"}, table, rec,
                    -1, std::shared_ptr<const ignore_rules>{});
    sched.run();
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

CAF_TEST(an overflow requests a rescan) {
  feed({ev(-1, IN_Q_OVERFLOW, "")});
  CAF_CHECK_EQUAL(*rescans, 1);
}

CAF_TEST(the state folder at the root is ignored) {
  feed({ev(1, IN_CREATE, ".livesync"), ev(2, IN_CREATE, ".livesync")});
  CAF_REQUIRE_EQUAL(got->size(), 1u);
  CAF_CHECK_EQUAL((*got)[0].path, "d/.livesync");
}

CAF_TEST_FIXTURE_SCOPE_END()
