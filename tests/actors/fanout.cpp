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

#include "core/common/splitmix.hpp"
#include "core/watcher/local_tree.hpp"

#include <sys/stat.h>

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
  /// Large files chunked once for all three.
  std::shared_ptr<chunk_list_cache> chunks
    = std::make_shared<chunk_list_cache>(1 << 20, refs);
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
    test::exit_all(all);
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
                      reference_metrics_actor{}, reference_counters{},
                   test::in_test_writers());
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
      cfg.shared_chunks = chunks;
      // A slice per pump well below the test files: the senders that ask
      // while the first one chunks must wait for it.
      cfg.chunk_slice_bytes = 256 << 10;
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

  /// Large files the three senders chunked, and lists they took.
  std::pair<uint64_t, uint64_t> chunk_counts() {
    std::pair<uint64_t, uint64_t> out;
    for (size_t i = 0; i < refs; ++i) {
      out.first += state(i).link->counters().chunked_files;
      out.second += state(i).link->counters().shared_chunk_lists;
    }
    return out;
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

// Issue 15: "read, chunked and hashed once, then sent to every reference
// that needs it". Each sender still sends its own reference's delta.
CAF_TEST(a large file is chunked once for the three references) {
  auto v1 = splitmix_bytes(2 << 20, 15);
  write("big", std::string(v1.begin(), v1.end()));
  for (size_t i = 0; i < refs; ++i)
    start_reference(i);
  start_watcher();
  for (size_t i = 0; i < refs; ++i) {
    CAF_CHECK(live(i));
    CAF_CHECK_EQUAL(mismatch(i), "");
  }
  // The initial sync: one sender chunked it, the two others took its
  // list (their reconciles come one after the other here).
  CAF_CHECK_EQUAL(chunk_counts().first, 1u);
  CAF_CHECK_EQUAL(chunk_counts().second, 2u);
  CAF_CHECK_EQUAL(chunks->bytes(), 0u); // Taken by all: gone.
  // Edited in place: chunked once again; each reference gets a delta
  // against the version it holds (copies plus a few literal chunks).
  auto v2 = v1;
  for (size_t at : {size_t{1000}, size_t{900000}, size_t{1900000}})
    v2[at] ^= 0x5a;
  std::vector<uint64_t> copied_before;
  for (size_t i = 0; i < refs; ++i)
    copied_before.push_back(state(i).link->counters().copied_bytes);
  write("big", std::string(v2.begin(), v2.end()));
  changed({"big"});
  for (size_t i = 0; i < refs; ++i) {
    CAF_CHECK_EQUAL(mismatch(i), "");
    CAF_CHECK_GREATER(state(i).link->counters().copied_bytes
                        - copied_before[i],
                      v2.size() - (200u << 10));
  }
  CAF_CHECK_EQUAL(chunk_counts().first, 2u);
  CAF_CHECK_EQUAL(chunk_counts().second, 4u);
  CAF_CHECK_EQUAL(chunks->stats().misses, 2u);
  CAF_CHECK_EQUAL(chunks->stats().hits, 4u);
  CAF_CHECK_EQUAL(chunks->bytes(), 0u);
}

// A sender that asks while another chunks the same version waits for it,
// sending nothing meanwhile; if that one gives up (a torn read, a lost
// link), the waiters are woken and one of them chunks it.
CAF_TEST(senders wait for the one chunking and take over when it gives up) {
  auto v1 = splitmix_bytes(1 << 20, 16);
  write("big", std::string(v1.begin(), v1.end()));
  for (size_t i = 0; i < refs; ++i)
    start_reference(i);
  start_watcher();
  auto v2 = v1;
  v2[4242] ^= 1;
  write("big", std::string(v2.begin(), v2.end()));
  // Someone else (a fourth sharer, here the test) claims this version.
  struct stat sb;
  CAF_REQUIRE(::stat((src + "/big").c_str(), &sb) == 0);
  auto version = version_of(to_fs_stat(sb));
  std::shared_ptr<const chunk_list> none;
  CAF_REQUIRE(chunks->take("big", version, 99, {}, none)
              == chunk_list_cache::answer::produce);
  auto waits_before = chunks->stats().waits;
  changed({"big"});
  // Each asked at least once (a pump for another reason asks again).
  CAF_CHECK_GREATER_OR_EQUAL(chunks->stats().waits - waits_before, 3u);
  for (size_t i = 0; i < refs; ++i) {
    CAF_CHECK(state(i).chunking && state(i).chunking->waiting);
    CAF_CHECK_NOT_EQUAL(mismatch(i), "");
  }
  chunks->abandon("big", version); // Wakes the three.
  sched.run();
  for (size_t i = 0; i < refs; ++i) {
    CAF_CHECK_EQUAL(mismatch(i), "");
    CAF_CHECK(!state(i).chunking);
  }
  // The initial sync's chunking, then this version's: once each.
  CAF_CHECK_EQUAL(chunk_counts().first, 2u);
  CAF_CHECK_EQUAL(chunk_counts().second, 4u);
}

CAF_TEST_FIXTURE_SCOPE_END()
