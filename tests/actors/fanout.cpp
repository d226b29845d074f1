#define CAF_SUITE actors.fanout
#include "fixture.hpp"

// One watched tree, three references (--references), on CAF's test
// coordinator: a real debouncer, the fanout, one sender per reference and
// a real receiver per reference tree (connected through
// sender_config::local_peer). Simulated time only.

#include "actors/reference/receiver.hpp"
#include "actors/watcher/debouncer.hpp"
#include "actors/watcher/fanout.hpp"
#include "actors/watcher/sender.hpp"
#include "tree_mismatch.hpp"

#include <filesystem>
#include <fstream>

#include <unistd.h>

using namespace livesync;
using namespace std::chrono_literals;

namespace {

using sender_impl = caf::stateful_actor<sender_state, sender_actor::base>;
using fanout_impl = caf::stateful_actor<fanout_state, fanout_actor::base>;

constexpr size_t refs = 3;

struct fixture : test::fixture_base {
  std::string dir, src;
  std::string roots[refs];
  std::shared_ptr<tree_writer> writers[refs];
  receiver_actor rx[refs];
  /// What the next connect of each sender finds (null: refused).
  std::shared_ptr<receiver_actor> reachable[refs];
  /// Small files read once for all three senders.
  std::shared_ptr<content_cache> reads
    = std::make_shared<content_cache>(1 << 20, refs);
  debouncer_actor deb;
  fanout_actor fan;
  sender_actor snd[refs];

  fixture() {
    char tmpl[] = "/tmp/livesync-fanout-XXXXXX";
    dir = ::mkdtemp(tmpl);
    src = dir + "/src";
    std::filesystem::create_directories(src);
    for (size_t i = 0; i < refs; ++i) {
      roots[i] = dir + "/ref" + std::to_string(i);
      reachable[i] = std::make_shared<receiver_actor>();
    }
  }

  ~fixture() {
    std::vector<caf::actor> all{caf::actor_cast<caf::actor>(fan),
                                caf::actor_cast<caf::actor>(deb)};
    for (size_t i = 0; i < refs; ++i) {
      all.push_back(caf::actor_cast<caf::actor>(snd[i]));
      all.push_back(caf::actor_cast<caf::actor>(rx[i]));
    }
    for (auto& h : all)
      if (h)
        anon_send_exit(h, caf::exit_reason::user_shutdown);
    sched.run();
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }

  void write(const std::string& rel, const std::string& text) {
    test::write_under(src, rel, text);
  }

  void start_reference(size_t i) {
    livesync::status err;
    auto w = tree_writer::open(roots[i], writer_limits{}, err);
    CAF_REQUIRE(w != nullptr);
    writers[i] = std::shared_ptr<tree_writer>{std::move(w)};
    rx[i] = sys.spawn(receiver, writers[i], true,
                      std::shared_ptr<const std::atomic<bool>>{},
                      reference_metrics_actor{}, reference_counters{});
    *reachable[i] = rx[i];
  }

  void start_watcher() {
    debounce_config dcfg;
    dcfg.quiet = 5ms;
    dcfg.max_delay = 100ms;
    deb = sys.spawn(debouncer, dcfg);
    fan = sys.spawn(fanout, deb, refs, dcfg.max_batch);
    for (size_t i = 0; i < refs; ++i) {
      sender_config cfg;
      cfg.root = src;
      cfg.identity = "test-host:" + src;
      cfg.port = static_cast<uint16_t>(4000 + i);
      cfg.retry_min = 100ms;
      cfg.retry_max = 100ms;
      cfg.stats_interval = caf::timespan{0};
      cfg.progress_interval = caf::timespan{0};
      auto peer = reachable[i];
      cfg.local_peer = [peer] { return *peer; };
      cfg.shared_reads = reads;
      snd[i] = sys.spawn(sender, cfg, fan, watcher_metrics_actor{});
    }
    sched.run();
  }

  sender_state& state(size_t i) {
    return deref<sender_impl>(snd[i]).state;
  }

  fanout_state& fanout_now() {
    return deref<fanout_impl>(fan).state;
  }

  /// Settles `paths` through the debouncer, as the tracker reports them.
  /// (No request() here: it would fire the retry timer of a reference that
  /// is away, and each failed connect arms the next one.)
  void changed(std::vector<std::string> paths) {
    std::vector<change> xs;
    for (auto& p : paths)
      xs.push_back(change::make_dirty(p, change_content));
    self->send(deb, std::move(xs));
    sched.run();
    advance_time(10ms); // the quiet period
    sched.run();
  }

  std::string mismatch(size_t i) {
    return test::tree_mismatch(src, *writers[i]);
  }

  bool live(size_t i) {
    return state(i).link->state() == link_session::phase::live;
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(fanout_tests, fixture)

CAF_TEST(each reference gets the tree and every change) {
  write("a", "1");
  write("d/b", "2");
  for (size_t i = 0; i < refs; ++i)
    start_reference(i);
  start_watcher();
  for (size_t i = 0; i < refs; ++i) {
    CAF_CHECK(live(i));
    CAF_CHECK_EQUAL(mismatch(i), "");
  }
  write("a", "version 2");
  write("d/c", "new");
  changed({"a", "d/c"});
  for (size_t i = 0; i < refs; ++i) {
    CAF_CHECK_EQUAL(mismatch(i), "");
    CAF_CHECK_EQUAL(state(i).link->counters().files, 4u); // Sent to each.
  }
  // Each version of each file was read once, by the first sender that
  // needed it; the other two took that read.
  CAF_CHECK_EQUAL(reads->stats().misses, 4u);
  CAF_CHECK_EQUAL(reads->stats().hits, 8u);
  CAF_CHECK_EQUAL(reads->bytes(), 0u);
}

// Reference 2 is away from the start: the others sync and stay live; what
// it owes waits in the fanout as paths; when it comes, its own reconcile
// covers the tree and the backlog goes to it without holding the others.
CAF_TEST(a reference that is away holds back none of the others) {
  write("a", "1");
  start_reference(0);
  start_reference(1);
  start_watcher();
  CAF_CHECK(live(0));
  CAF_CHECK(live(1));
  CAF_CHECK(!live(2));
  for (int round = 0; round < 3; ++round) {
    write("r" + std::to_string(round), "x");
    changed({"r" + std::to_string(round)});
    CAF_CHECK_EQUAL(mismatch(0), "");
    CAF_CHECK_EQUAL(mismatch(1), "");
  }
  // Three changed paths wait for it (the first batch may have gone to the
  // ones that asked first; each backlog is its own).
  auto& fq = *fanout_now().queue;
  size_t owed = 0;
  for (size_t i = 0; i < refs; ++i)
    owed = std::max(owed, fq.backlog_paths(i));
  CAF_CHECK_EQUAL(owed, 3u);
  auto files_before = state(0).link->counters().files;
  start_reference(2);
  advance_time(100ms); // its sender's reconnect backoff
  sched.run();
  CAF_CHECK(live(2));
  CAF_CHECK_EQUAL(mismatch(2), "");
  // Reference 2 was sent the four files once; the others nothing again.
  CAF_CHECK_EQUAL(state(2).link->counters().files, 4u);
  CAF_CHECK_EQUAL(state(0).link->counters().files, files_before);
  for (size_t i = 0; i < refs; ++i)
    CAF_CHECK_EQUAL(fq.backlog_paths(i), 0u);
}

// One reference dies mid-way and comes back: only it reconnects and
// reconciles; the content it had is not sent again.
CAF_TEST(a reference that returns gets only what it lacks) {
  write("keep", std::string(200 << 10, 'k'));
  for (size_t i = 0; i < refs; ++i)
    start_reference(i);
  start_watcher();
  auto sent_before = state(1).link->counters().literal_bytes;
  anon_send_exit(rx[1], caf::exit_reason::kill);
  *reachable[1] = receiver_actor{};
  sched.run();
  CAF_CHECK(!live(1));
  write("new", "while it was away");
  changed({"new"});
  CAF_CHECK_EQUAL(mismatch(0), "");
  CAF_CHECK_EQUAL(mismatch(2), "");
  start_reference(1);
  advance_time(100ms);
  sched.run();
  CAF_CHECK(live(1));
  CAF_CHECK_EQUAL(mismatch(1), "");
  // The 200 KiB file was not sent again: only the new one's bytes.
  CAF_CHECK_EQUAL(state(1).link->counters().literal_bytes - sent_before,
                  std::string{"while it was away"}.size());
  CAF_CHECK_EQUAL(state(0).link->counters().reconnects, 1u);
  CAF_CHECK_EQUAL(state(1).link->counters().reconnects, 2u);
}

CAF_TEST_FIXTURE_SCOPE_END()
