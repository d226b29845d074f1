#define CAF_SUITE actors.debouncer
#include "fixture.hpp"
#include "fake_sender.hpp"

#include "actors/watcher/debouncer.hpp"

using namespace livesync;
using namespace std::chrono_literals;

namespace {

using test::fake_sender;
using test::fake_sender_state;

struct fixture : test::fixture_base {
  std::shared_ptr<std::vector<settled>> got
    = std::make_shared<std::vector<settled>>();
  debouncer_actor deb;
  sender_actor snd;

  fixture() {
    debounce_config cfg;
    cfg.quiet = 5ms;
    cfg.max_delay = 100ms;
    deb = sys.spawn(debouncer, cfg);
    snd = sys.spawn(fake_sender, deb, got);
    sched.run();
  }

  ~fixture() {
    anon_send_exit(deb, caf::exit_reason::user_shutdown);
    anon_send_exit(snd, caf::exit_reason::user_shutdown);
    sched.run();
  }

  void changes(std::vector<change> xs) {
    self->send(deb, std::move(xs));
    sched.run();
  }

  void demand() {
    self->send(snd, atom::pump_v);
    sched.run();
  }

  std::vector<std::string> last_paths() {
    std::vector<std::string> out;
    if (!got->empty())
      for (auto& c : got->back().paths)
        out.push_back(c.path);
    return out;
  }
};

change dirty(std::string p, uint8_t f = change_content) {
  return change::make_dirty(std::move(p), f);
}

} // namespace

CAF_TEST_FIXTURE_SCOPE(debouncer_tests, fixture)

CAF_TEST(a path is handed over once quiet and only on demand) {
  changes({dirty("a.txt")});
  CAF_CHECK(got->empty()); // No demand yet.
  demand();
  CAF_CHECK(got->empty()); // Not quiet yet.
  advance_time(4ms);
  sched.run();
  CAF_CHECK(got->empty());
  advance_time(1ms);
  sched.run();
  CAF_REQUIRE_EQUAL(got->size(), 1u);
  CAF_CHECK_EQUAL(last_paths(), std::vector<std::string>{"a.txt"});
}

CAF_TEST(many events on one path coalesce into one entry) {
  demand();
  for (int i = 0; i < 50; ++i) {
    changes({dirty("log"), dirty("log", change_attr)});
    advance_time(1ms); // Never quiet for 5ms...
    sched.run();
  }
  // ... until max_delay (100ms) forces it out: one entry, flags merged.
  advance_time(60ms);
  sched.run();
  CAF_REQUIRE_EQUAL(got->size(), 1u);
  CAF_REQUIRE_EQUAL(got->back().paths.size(), 1u);
  CAF_CHECK_EQUAL(got->back().paths[0].flags, change_content | change_attr);
}

CAF_TEST(nothing is handed over without demand and it waits) {
  changes({dirty("a"), dirty("b")});
  advance_time(1s);
  sched.run();
  CAF_CHECK(got->empty());
  demand();
  CAF_REQUIRE_EQUAL(got->size(), 1u);
  CAF_CHECK_EQUAL(last_paths(), (std::vector<std::string>{"a", "b"}));
  // One batch per demand: new changes wait for the next one.
  changes({dirty("c")});
  advance_time(10ms);
  sched.run();
  CAF_CHECK_EQUAL(got->size(), 1u);
  demand();
  CAF_CHECK_EQUAL(got->size(), 2u);
}

CAF_TEST(renames rekey pending paths and travel first) {
  demand();
  changes({dirty("tmp/a"), dirty("tmp/b", change_attr),
           change::make_rename("tmp", "final"), dirty("other")});
  advance_time(5ms);
  sched.run();
  CAF_REQUIRE_EQUAL(got->size(), 1u);
  auto& b = got->back();
  CAF_REQUIRE_EQUAL(b.renames.size(), 1u);
  CAF_CHECK_EQUAL(b.renames[0].path, "tmp");
  CAF_CHECK_EQUAL(b.renames[0].to, "final");
  CAF_CHECK_EQUAL(last_paths(),
                  (std::vector<std::string>{"final/a", "final/b", "other"}));
}

CAF_TEST(an overflow asks the sender for a rescan) {
  demand();
  self->send(deb, atom::resync_v);
  sched.run();
  advance_time(5ms);
  sched.run();
  CAF_REQUIRE_EQUAL(got->size(), 1u);
  CAF_CHECK(got->back().rescan);
}

CAF_TEST(a flush barrier hands out what is pending at once and marks it) {
  demand();
  changes({dirty("a"), dirty("b")});
  CAF_CHECK(got->empty()); // Not quiet yet...
  self->send(deb, atom::barrier_v, uint64_t{7});
  sched.run();
  // ... but the barrier does not wait for quiet: no time has passed.
  CAF_REQUIRE_EQUAL(got->size(), 1u);
  CAF_CHECK_EQUAL(last_paths(), (std::vector<std::string>{"a", "b"}));
  CAF_CHECK_EQUAL(got->back().barrier, 7u);
  CAF_CHECK(got->back().first_event_ns > 0);
}

CAF_TEST(a flush barrier with nothing pending is a batch of its own) {
  self->send(deb, atom::barrier_v, uint64_t{1});
  sched.run();
  CAF_CHECK(got->empty()); // Still only on demand.
  demand();
  CAF_REQUIRE_EQUAL(got->size(), 1u);
  CAF_CHECK(got->back().paths.empty());
  CAF_CHECK_EQUAL(got->back().barrier, 1u);
}

CAF_TEST(a flush barrier rides on the batch that empties the debouncer) {
  // More paths than one batch takes (4096): the barrier goes with the last.
  std::vector<change> many;
  for (int i = 0; i < 5000; ++i)
    many.push_back(dirty("f" + std::to_string(i)));
  changes(std::move(many));
  self->send(deb, atom::barrier_v, uint64_t{2});
  sched.run();
  demand();
  CAF_REQUIRE_EQUAL(got->size(), 1u);
  CAF_CHECK_EQUAL(got->back().paths.size(), 4096u);
  CAF_CHECK_EQUAL(got->back().barrier, 0u);
  demand();
  CAF_REQUIRE_EQUAL(got->size(), 2u);
  CAF_CHECK_EQUAL(got->back().paths.size(), 904u);
  CAF_CHECK_EQUAL(got->back().barrier, 2u);
}

CAF_TEST(status reports the pending paths) {
  changes({dirty("a"), dirty("b"), dirty("c")});
  auto n = request<uint64_t>(deb, atom::status_v);
  CAF_CHECK_EQUAL(n, 3u);
}

// Pacing the rescans is the tracker's (actors.tracker); the debouncer
// only forwards each resync into the next batch.

CAF_TEST(resyncs before a batch leaves ride it as one rescan) {
  auto rescans = [&] {
    size_t n = 0;
    for (auto& b : *got)
      n += b.rescan ? 1 : 0;
    return n;
  };
  // Several resyncs while the sender is busy: one rescan when it asks.
  for (int i = 0; i < 20; ++i)
    self->send(deb, atom::resync_v);
  changes({dirty("a")});
  CAF_CHECK(got->empty());
  demand();
  CAF_REQUIRE_EQUAL(got->size(), 1u);
  CAF_CHECK_EQUAL(rescans(), 1u);
  // The path still waits for its quiet window, as without a rescan.
  CAF_CHECK(last_paths().empty());
  demand();
  advance_time(5ms);
  sched.run();
  CAF_REQUIRE_EQUAL(got->size(), 2u);
  CAF_CHECK(!got->back().rescan);
  CAF_CHECK_EQUAL(last_paths(), std::vector<std::string>{"a"});
  // A later resync is not delayed by the debouncer: no pause here.
  demand();
  self->send(deb, atom::resync_v);
  sched.run();
  CAF_REQUIRE_EQUAL(got->size(), 3u);
  CAF_CHECK_EQUAL(rescans(), 2u);
  // Nothing else pending: no more batches, no timer.
  demand();
  advance_time(5s);
  sched.run();
  CAF_CHECK_EQUAL(rescans(), 2u);
}

CAF_TEST(a flush barrier travels with a pending rescan) {
  self->send(deb, atom::resync_v); // The sender is busy: the rescan waits...
  changes({dirty("a")});
  self->send(deb, atom::barrier_v, uint64_t{4});
  sched.run();
  CAF_CHECK(got->empty());
  demand(); // ... and leaves with the pending path and the barrier.
  CAF_REQUIRE_EQUAL(got->size(), 1u);
  CAF_CHECK(got->back().rescan);
  CAF_CHECK_EQUAL(last_paths(), std::vector<std::string>{"a"});
  CAF_CHECK_EQUAL(got->back().barrier, 4u);
}

CAF_TEST_FIXTURE_SCOPE_END()
