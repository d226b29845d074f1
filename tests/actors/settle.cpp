#define CAF_SUITE actors.settle
#include "fixture.hpp"
#include "fake_sender.hpp"

// Raw inotify events through the real tracker and debouncer, on simulated
// time: a file written and closed (or renamed into place) reaches the
// sender with no time passing; a file still being written waits for the
// quiet window (5ms here); nothing keeps a timer once all is handed out.
#include "actors/watcher/debouncer.hpp"
#include "actors/watcher/tracker.hpp"

#include <sys/inotify.h>

using namespace livesync;
using namespace std::chrono_literals;

namespace {

using strings = std::vector<std::string>;

using test::fake_sender;
using test::fake_sender_state;

inotify_record ev(int32_t wd, uint32_t mask, std::string name,
                  uint32_t cookie = 0) {
  return inotify_record{wd, mask, cookie, std::move(name)};
}

constexpr int32_t root_wd = 1;

struct fixture : test::fixture_base {
  std::shared_ptr<std::vector<settled>> got
    = std::make_shared<std::vector<settled>>();
  debouncer_actor deb;
  tracker_actor trk;
  sender_actor snd;

  fixture() {
    debounce_config cfg; // the watcher's defaults: quiet 5ms
    cfg.max_delay = 500ms;
    deb = sys.spawn(debouncer, cfg);
    tracker_config tcfg;
    trk = sys.spawn(tracker, -1, std::string{"/nonexistent-root"}, deb, -1,
                    std::shared_ptr<const ignore_rules>{}, tcfg);
    snd = sys.spawn(fake_sender, deb, got);
    sched.run();
    // As if the start-up walk had watched the root.
    deref<tracker_actor::stateful_base<tracker_state>>(trk).state.table.add(
      root_wd, "");
    // The sender is live and waits for a batch.
    self->send(snd, atom::pump_v);
    sched.run();
  }

  ~fixture() {
    for (auto& a : {caf::actor_cast<caf::actor>(trk),
                    caf::actor_cast<caf::actor>(deb),
                    caf::actor_cast<caf::actor>(snd)})
      anon_send_exit(a, caf::exit_reason::user_shutdown);
    sched.run();
  }

  /// One read()'s worth of events; runs every job, fires no timer.
  void read(std::vector<inotify_record> xs) {
    self->send(trk, atom::events_v, std::move(xs));
    sched.run();
  }

  void demand() {
    self->send(snd, atom::pump_v);
    sched.run();
  }

  strings last_paths() {
    strings out;
    if (!got->empty())
      for (auto& c : got->back().paths)
        out.push_back(c.path);
    return out;
  }

  size_t timers() {
    return sched.clock().schedule().size();
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(settle_tests, fixture)

CAF_TEST(a file written and closed settles with no quiet window) {
  auto start = sched.clock().now();
  read({ev(root_wd, IN_CREATE, "f"), ev(root_wd, IN_MODIFY, "f"),
        ev(root_wd, IN_CLOSE_WRITE, "f")});
  CAF_REQUIRE_EQUAL(got->size(), 1u);
  CAF_CHECK(sched.clock().now() == start); // no simulated time passed
  CAF_CHECK_EQUAL(last_paths(), strings{"f"});
  CAF_CHECK_EQUAL(got->back().paths[0].flags, change_content | change_attr);
  CAF_CHECK(got->back().renames.empty());
  // Nothing left pending: no timer armed, so nothing wakes the watcher.
  CAF_CHECK_EQUAL(timers(), 0u);
}

CAF_TEST(a file still being written waits for the quiet window) {
  read({ev(root_wd, IN_CREATE, "busy"), ev(root_wd, IN_MODIFY, "busy")});
  CAF_CHECK(got->empty());
  CAF_CHECK_EQUAL(timers(), 1u);
  advance_time(4ms);
  sched.run();
  CAF_CHECK(got->empty());
  advance_time(1ms);
  sched.run();
  CAF_REQUIRE_EQUAL(got->size(), 1u);
  CAF_CHECK_EQUAL(last_paths(), strings{"busy"});
  CAF_CHECK_EQUAL(timers(), 0u);
}

CAF_TEST(the close may come in a later read and settles then) {
  // The reader woke at the create and read it alone.
  read({ev(root_wd, IN_CREATE, "f")});
  CAF_CHECK(got->empty());
  advance_time(1ms);
  sched.run();
  read({ev(root_wd, IN_MODIFY, "f"), ev(root_wd, IN_CLOSE_WRITE, "f")});
  CAF_REQUIRE_EQUAL(got->size(), 1u);
  CAF_CHECK_EQUAL(last_paths(), strings{"f"});
  // The timer armed for the create fires once and arms nothing more.
  demand();
  advance_time(10ms);
  sched.run();
  CAF_CHECK_EQUAL(got->size(), 1u);
  CAF_CHECK_EQUAL(timers(), 0u);
}

CAF_TEST(a closed file goes out while an unclosed one waits) {
  read({ev(root_wd, IN_CREATE, "busy"), ev(root_wd, IN_MODIFY, "busy"),
        ev(root_wd, IN_CREATE, "done"), ev(root_wd, IN_MODIFY, "done"),
        ev(root_wd, IN_CLOSE_WRITE, "done"), ev(root_wd, IN_MODIFY, "busy")});
  CAF_REQUIRE_EQUAL(got->size(), 1u);
  CAF_CHECK_EQUAL(last_paths(), strings{"done"});
  demand();
  CAF_CHECK_EQUAL(got->size(), 1u);
  advance_time(5ms);
  sched.run();
  CAF_REQUIRE_EQUAL(got->size(), 2u);
  CAF_CHECK_EQUAL(last_paths(), strings{"busy"});
}

CAF_TEST(written again after the close it waits for quiet) {
  read({ev(root_wd, IN_MODIFY, "f"), ev(root_wd, IN_CLOSE_WRITE, "f"),
        ev(root_wd, IN_MODIFY, "f")});
  CAF_CHECK(got->empty());
  advance_time(5ms);
  sched.run();
  CAF_REQUIRE_EQUAL(got->size(), 1u);
  CAF_CHECK_EQUAL(last_paths(), strings{"f"});
}

CAF_TEST(a file renamed into place settles at once with its rename) {
  read({ev(root_wd, IN_CREATE, ".f.tmp"), ev(root_wd, IN_MODIFY, ".f.tmp"),
        ev(root_wd, IN_CLOSE_WRITE, ".f.tmp"),
        ev(root_wd, IN_MOVED_FROM, ".f.tmp", 7),
        ev(root_wd, IN_MOVED_TO, "f", 7)});
  CAF_REQUIRE_EQUAL(got->size(), 1u);
  auto& b = got->back();
  CAF_REQUIRE_EQUAL(b.renames.size(), 1u);
  CAF_CHECK_EQUAL(b.renames[0].path, ".f.tmp");
  CAF_CHECK_EQUAL(b.renames[0].to, "f");
  CAF_CHECK_EQUAL(last_paths(), strings{"f"});
  CAF_CHECK_EQUAL(timers(), 0u);
}

CAF_TEST(a rename split across reads is paired before anything settles) {
  // The first read ends with the IN_MOVED_FROM: the tracker holds it, and
  // sends nothing for it, until its partner comes.
  read({ev(root_wd, IN_MOVED_FROM, "a", 9)});
  CAF_CHECK(got->empty());
  read({ev(root_wd, IN_MOVED_TO, "b", 9)});
  CAF_REQUIRE_EQUAL(got->size(), 1u);
  auto& b = got->back();
  CAF_REQUIRE_EQUAL(b.renames.size(), 1u);
  CAF_CHECK_EQUAL(b.renames[0].path, "a");
  CAF_CHECK_EQUAL(b.renames[0].to, "b");
  CAF_CHECK_EQUAL(last_paths(), strings{"b"});
}

CAF_TEST(a directory created or moved in waits for the quiet window) {
  read({ev(root_wd, IN_CREATE | IN_ISDIR, "d"),
        ev(root_wd, IN_MOVED_TO | IN_ISDIR, "e", 3)});
  CAF_CHECK(got->empty());
  advance_time(5ms);
  sched.run();
  CAF_REQUIRE_EQUAL(got->size(), 1u);
  CAF_CHECK_EQUAL(last_paths(), (strings{"d", "e"}));
}

CAF_TEST_FIXTURE_SCOPE_END()
