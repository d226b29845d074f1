#define CAF_SUITE actors.walker
#include "fixture.hpp"
#include "fake_debouncer.hpp"

#include "actors/watcher/tracker.hpp"
#include "core/watcher/inotify_decode.hpp"

#include <filesystem>
#include <set>

#include <sys/inotify.h>
#include <unistd.h>

using namespace livesync;
using namespace std::chrono_literals;

namespace {

// The tracker's walks on walker actors, over a real tree and a real
// inotify descriptor; the test coordinator runs one message at a time, so
// what is in flight at each step is seen.
struct fixture : test::fixture_base {
  std::string root;
  int fd = -1;
  std::shared_ptr<std::vector<change>> got
    = std::make_shared<std::vector<change>>();
  std::shared_ptr<int> resyncs = std::make_shared<int>(0);
  debouncer_actor deb;
  tracker_actor trk;

  fixture() {
    char buf[] = "/tmp/livesync-walker-XXXXXX";
    if (::mkdtemp(buf) == nullptr)
      CAF_FAIL("mkdtemp failed");
    root = buf;
    fd = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    CAF_REQUIRE(fd >= 0);
    for (auto d : {"a/a1/a2", "b/b1", "c", "d", "e", "f"})
      std::filesystem::create_directories(root + "/" + d);
    deb = sys.spawn(test::fake_debouncer, got, resyncs);
    tracker_config cfg;
    cfg.max_walkers = 2;
    trk = sys.spawn(tracker, fd, root, deb, -1,
                    std::shared_ptr<const ignore_rules>{}, cfg);
    sched.run();
  }

  ~fixture() {
    anon_send_exit(trk, caf::exit_reason::user_shutdown);
    anon_send_exit(deb, caf::exit_reason::user_shutdown);
    sched.run();
    ::close(fd);
    std::error_code ec;
    std::filesystem::remove_all(root, ec);
  }

  tracker_state& state() {
    return deref<tracker_actor::stateful_base<tracker_state>>(trk).state;
  }

  /// Delivers the tracker's next message only (a walker's work or its
  /// listing), and returns whether there was one.
  bool step_tracker() {
    return sched.prioritize(trk) && sched.try_run_once();
  }

  /// Sends what the kernel queued on the descriptor to the tracker, as the
  /// reader would.
  void pump_events() {
    alignas(inotify_event) char buf[8192];
    for (;;) {
      auto n = ::read(fd, buf, sizeof buf);
      if (n <= 0)
        break;
      self->send(trk, atom::events_v,
                 decode_inotify(buf, static_cast<size_t>(n)));
    }
  }

  std::set<std::string> watched() {
    std::set<std::string> out;
    for (auto d : {"", "a", "a/a1", "a/a1/a2", "b", "b/b1", "c", "d", "e",
                   "f", "x", "x/a1", "x/a1/a2"})
      if (state().table.wd_of(d))
        out.insert(d);
    return out;
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(walker_tests, fixture)

CAF_TEST(walkers retire once the walk is done) {
  auto before = sys.registry().running();
  auto n = request<uint64_t>(trk, atom::watch_v);
  CAF_CHECK_EQUAL(n, 10u);
  CAF_CHECK_EQUAL(watched(),
                  (std::set<std::string>{"", "a", "a/a1", "a/a1/a2", "b",
                                         "b/b1", "c", "d", "e", "f"}));
  // No walker left, none waiting: nothing stays per directory.
  CAF_CHECK_EQUAL(state().walkers, 0u);
  CAF_CHECK_EQUAL(state().walks.open(), 0u);
  CAF_CHECK_EQUAL(sys.registry().running(), before);
  CAF_CHECK(got->empty()); // The start-up walk is not a change.
}

CAF_TEST(walks of several directories run in parallel into one table) {
  self->send(trk, atom::watch_v);
  CAF_REQUIRE(step_tracker()); // The root watched; one walker spawned.
  // The walker runs and reports; then the tracker merges its listing:
  // six subdirectories watched, shared by the two walkers allowed.
  while (state().walkers == 1 && state().table.size() == 1)
    if (!sched.try_run_once())
      break;
  CAF_CHECK_EQUAL(state().table.size(), 7u);
  CAF_CHECK_EQUAL(state().walkers, 2u);
  CAF_CHECK_EQUAL(state().walks.queued(), 0u);
  sched.run();
  CAF_CHECK_EQUAL(state().table.size(), 10u);
  CAF_CHECK_EQUAL(state().walkers, 0u);
}

CAF_TEST(a directory removed mid walk ends consistent) {
  self->send(trk, atom::watch_v);
  CAF_REQUIRE(step_tracker());
  // Until the root's listing is merged: a, b, ... watched, not listed yet.
  while (state().table.size() == 1)
    if (!sched.try_run_once())
      break;
  CAF_REQUIRE(state().table.wd_of("a").has_value());
  CAF_REQUIRE(!state().table.wd_of("a/a1").has_value());
  // a goes before its walker lists it.
  std::filesystem::remove_all(root + "/a");
  sched.run();
  // The walk still ended (its reply was sent), without a/... watched; a's
  // wd stays until its events tell whether it was deleted or renamed.
  CAF_CHECK_EQUAL(state().walks.open(), 0u);
  CAF_CHECK_EQUAL(state().walkers, 0u);
  CAF_CHECK_EQUAL(state().walks.suspects(), 1u);
  // The kernel's events for a (IN_DELETE_SELF, IN_IGNORED, IN_DELETE in
  // the root) reach the tracker: a's watch is forgotten, nothing is
  // walked again.
  pump_events();
  sched.run();
  CAF_CHECK_EQUAL(watched(), (std::set<std::string>{"", "b", "b/b1", "c",
                                                    "d", "e", "f"}));
  CAF_CHECK_EQUAL(state().walks.suspects(), 0u);
  CAF_CHECK_EQUAL(state().walks.open(), 0u);
}

CAF_TEST(a directory renamed mid walk is watched under its new name) {
  self->send(trk, atom::watch_v);
  CAF_REQUIRE(step_tracker());
  while (state().table.size() == 1)
    if (!sched.try_run_once())
      break;
  // a becomes x before its walker lists it; the rename's events are
  // interpreted only after the walk.
  std::filesystem::rename(root + "/a", root + "/x");
  sched.run();
  // The listing of "a" found nothing by that name: the walk ended without
  // its subtree, and a's wd is kept in mind...
  CAF_CHECK(!state().table.wd_of("a/a1").has_value());
  CAF_CHECK_EQUAL(state().walks.suspects(), 1u);
  // ... until the rename is interpreted: then it is walked as x.
  pump_events();
  sched.run();
  CAF_CHECK_EQUAL(watched(),
                  (std::set<std::string>{"", "b", "b/b1", "c", "d", "e", "f",
                                         "x", "x/a1", "x/a1/a2"}));
  CAF_CHECK_EQUAL(state().walks.open(), 0u);
  CAF_CHECK_EQUAL(state().walkers, 0u);
}

CAF_TEST(a new directory is compared once its subtree is watched) {
  request<uint64_t>(trk, atom::watch_v);
  std::filesystem::create_directories(root + "/n/n1/n2");
  pump_events();
  self->send(trk, atom::barrier_v, uint64_t{1});
  sched.run();
  CAF_CHECK(state().table.wd_of("n/n1/n2").has_value());
  // The creation's dirty path at once, the deep one after the walk, and
  // the flush barrier after both.
  CAF_REQUIRE_EQUAL(got->size(), 3u);
  CAF_CHECK_EQUAL((*got)[0].path, "n");
  CAF_CHECK((*got)[1] == change::make_dirty("n", change_content
                                                   | change_deep));
  CAF_CHECK_EQUAL((*got)[2].path, "<barrier 1>");
  CAF_CHECK_EQUAL(state().walkers, 0u);
}

CAF_TEST_FIXTURE_SCOPE_END()
