#define CAF_SUITE actors.sender_read_ahead
#include "fixture.hpp"

// The sender with content workers (core/watcher/read_ahead): small files
// are read, and larger ones queued behind them chunked, on the workers
// while the planner goes on, and the operations still leave in the
// planner's order. A "holding" worker keeps its reads until told, to play
// a slow disk while the other worker is fast.

#include "actors/watcher/content_worker.hpp"
#include "sender_fixture.hpp"

#include <random>

using sender_test::fixture;

namespace {

using holding_worker_actor
  = content_worker_actor::extend<caf::reacts_to<atom::tick>>;

struct holding_state {
  std::vector<std::pair<content_reads, caf::typed_response_promise<content_reads>>>
    held;
  static inline const char* name = "holding_worker";
};

/// Reads only when ticked: every read held so far, in order.
holding_worker_actor::behavior_type
holding_worker(holding_worker_actor::stateful_pointer<holding_state> self) {
  return {
    [=](atom::read, content_reads& rs) -> caf::result<content_reads> {
      auto rp = self->make_response_promise<content_reads>();
      self->state.held.emplace_back(rs, rp);
      return rp;
    },
    [=](atom::tick) {
      for (auto& [rs, rp] : self->state.held) {
        for (auto& r : rs)
          r->run();
        rp.deliver(rs);
      }
      self->state.held.clear();
    },
  };
}

/// A worker that fails every request (as one that died would).
content_worker_actor::behavior_type failing_worker() {
  return {
    [](atom::read, content_reads&) -> caf::result<content_reads> {
      return caf::make_error(caf::sec::runtime_error, "worker failed");
    },
  };
}

/// Bytes that chunk into many chunks (no long runs).
std::string varied(size_t n, unsigned seed) {
  std::string out(n, '\0');
  uint64_t x = seed * 0x9e3779b97f4a7c15ULL + 1;
  for (auto& c : out) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    c = static_cast<char>(x);
  }
  return out;
}

struct read_ahead_fixture : fixture {
  holding_worker_actor slow;

  /// Worker 0 holds its reads, worker 1 reads at once (reads go to them
  /// in turn).
  void slow_and_fast() {
    slow = sys.spawn(holding_worker);
    workers = {caf::actor_cast<content_worker_actor>(slow),
               sys.spawn(content_worker)};
  }

  size_t held() {
    return deref<caf::stateful_actor<holding_state, holding_worker_actor::base>>(
             slow)
      .state.held.size();
  }

  void release() {
    self->send(slow, atom::tick_v);
    sched.run();
  }

  /// Every file read on a worker (the test's files are all in the page
  /// cache), one per message, so that reads alternate between the workers.
  void start_watcher_read_by_read(sender_config cfg = {}) {
    cfg.reads_per_message = 1;
    cfg.cached_reads_inline = false;
    start_watcher(cfg);
  }

  bool on_reference(const std::string& rel) {
    return std::filesystem::exists(ref + "/" + rel);
  }

  ~read_ahead_fixture() {
    if (slow)
      anon_send_exit(slow, caf::exit_reason::user_shutdown);
    sched.run();
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(sender_read_ahead_tests, read_ahead_fixture)

CAF_TEST(later files read fast wait behind an earlier one read slowly) {
  for (int i = 0; i < 8; ++i)
    write("d/f" + std::to_string(i), "content " + std::to_string(i));
  slow_and_fast();
  start_reference();
  start_watcher_read_by_read();
  // d/f0, f2, f4, f6 wait on the slow worker; f1, f3, f5, f7 were read,
  // but nothing after f0 may leave before it (not even d's mkdir, which
  // waits in the open batch for the files that follow it).
  CAF_CHECK_EQUAL(held(), 4u);
  CAF_CHECK(!on_reference("d/f1"));
  CAF_CHECK(!on_reference("d/f7"));
  CAF_CHECK_EQUAL(state().ahead.size(), 8u);
  CAF_CHECK_EQUAL(state().ahead.reads_out(), 4u);
  release();
  CAF_CHECK_EQUAL(held(), 0u);
  CAF_CHECK_EQUAL(status_now().state, "in-sync");
  CAF_CHECK_EQUAL(mismatch(), "");
  CAF_CHECK_EQUAL(status_now().counters.files, 8u);
  CAF_CHECK_EQUAL(status_now().counters.worker_reads, 8u);
  CAF_CHECK(state().ahead.empty());
}

CAF_TEST(a file removed while its read waits is not sent) {
  write("a", "stays");
  write("b", "goes");
  slow_and_fast();
  start_reference();
  start_watcher_read_by_read();
  CAF_REQUIRE_EQUAL(held(), 1u); // "a" on the slow worker, "b" read.
  std::filesystem::remove(src + "/a");
  release(); // "a" vanished: looked at again, gone, nothing to send.
  CAF_CHECK_EQUAL(status_now().state, "in-sync");
  CAF_CHECK_EQUAL(mismatch(), "");
  CAF_CHECK(!on_reference("a"));
  CAF_CHECK(on_reference("b"));
  CAF_CHECK_EQUAL(status_now().counters.errors, 0u);
}

CAF_TEST(reads answered after the link was lost are dropped) {
  for (int i = 0; i < 4; ++i)
    write("f" + std::to_string(i), "v1 " + std::to_string(i));
  slow_and_fast();
  start_reference();
  start_watcher_read_by_read();
  CAF_REQUIRE_EQUAL(held(), 2u);
  anon_send_exit(rx, caf::exit_reason::kill);
  *reachable = receiver_actor{};
  sched.run();
  CAF_CHECK(state().ahead.empty());
  // The held reads come back to a sender without that link.
  write("f0", "v2 changed meanwhile");
  release();
  CAF_CHECK(state().ahead.empty());
  CAF_CHECK(!on_reference("f0"));
  start_reference();
  advance_time(100ms);
  sched.run();
  release(); // the new link's reads
  CAF_CHECK_EQUAL(status_now().state, "in-sync");
  CAF_CHECK_EQUAL(mismatch(), "");
}

CAF_TEST(a larger file behind a slow read is chunked on a worker meanwhile) {
  write("a", "small, read slowly");
  auto big = varied(300u << 10, 1); // Above the 64 KiB of a small file.
  write("b", big);
  slow_and_fast();
  start_reference();
  start_watcher_read_by_read();
  // "a" waits on the slow worker; "b", behind it, was chunked on the
  // fast one, and waits its turn.
  CAF_CHECK_EQUAL(held(), 1u);
  CAF_CHECK_EQUAL(state().ahead.size(), 2u);
  CAF_CHECK_EQUAL(state().ahead.reads_out(), 1u);
  CAF_CHECK_EQUAL(state().ahead.scans_out(), 0u);
  CAF_CHECK(!on_reference("b"));
  // Read and chunked, its content waits in memory, counted.
  CAF_CHECK_EQUAL(state().ahead.scan_bytes_held(), big.size());
  release();
  CAF_CHECK_EQUAL(status_now().state, "in-sync");
  CAF_CHECK_EQUAL(mismatch(), "");
  CAF_CHECK_EQUAL(state().ahead.scan_bytes_held(), 0u);
  auto c = status_now().counters;
  CAF_CHECK_EQUAL(c.files, 2u);
  CAF_CHECK_EQUAL(c.worker_reads, 2u);
  CAF_CHECK_EQUAL(c.chunked_files, 1u);
  CAF_CHECK_EQUAL(c.literal_bytes, big.size() + 18);
  // Its recipe is the worker's list: an edit now goes as a delta.
  auto edited = big;
  edited[150u << 10] ^= 0x55;
  write("b", edited);
  changed({"b"});
  CAF_CHECK_EQUAL(mismatch(), "");
  CAF_CHECK_LESS(status_now().counters.literal_bytes - c.literal_bytes,
                 64u << 10);
  CAF_CHECK_EQUAL(status_now().counters.round_trips, 0u);
}

CAF_TEST(the files after a larger one are read and chunked while it streams) {
  // "a" is larger: the sender streams it itself, but plans a little
  // further first, so "b" (larger too) is chunked and "c" read on the
  // workers meanwhile. "b" is held on the slow worker: "a" leaves, and
  // nothing after "b".
  auto a = varied(300u << 10, 5);
  write("a", a);
  write("b", varied(100u << 10, 6));
  write("c", "small after them");
  slow_and_fast();
  start_reference();
  start_watcher_read_by_read();
  CAF_CHECK_EQUAL(held(), 1u);
  CAF_CHECK(on_reference("a"));
  CAF_CHECK(!on_reference("b"));
  CAF_CHECK(!on_reference("c"));
  CAF_CHECK_EQUAL(state().ahead.scans_out(), 1u);
  CAF_CHECK_EQUAL(state().ahead.size(), 2u);
  release();
  CAF_CHECK_EQUAL(status_now().state, "in-sync");
  CAF_CHECK_EQUAL(mismatch(), "");
  auto c = status_now().counters;
  CAF_CHECK_EQUAL(c.files, 3u);
  CAF_CHECK_EQUAL(c.worker_reads, 2u); // "b" chunked, "c" read.
  CAF_CHECK_EQUAL(c.chunked_files, 2u);
}

CAF_TEST(without look-ahead a larger file at the front streams at once) {
  write("a", varied(300u << 10, 5));
  write("b", varied(100u << 10, 6));
  slow_and_fast();
  start_reference();
  sender_config cfg;
  cfg.stream_look_ahead = 0;
  start_watcher_read_by_read(cfg);
  // Nothing waited when either was planned: the sender chunked both.
  CAF_CHECK_EQUAL(held(), 0u);
  CAF_CHECK_EQUAL(status_now().state, "in-sync");
  CAF_CHECK_EQUAL(mismatch(), "");
  CAF_CHECK_EQUAL(status_now().counters.worker_reads, 0u);
}

CAF_TEST(a larger file changed after its worker read it goes as read then again) {
  write("a", "small, read slowly");
  write("b", varied(200u << 10, 2));
  slow_and_fast();
  start_reference();
  start_watcher_read_by_read();
  CAF_REQUIRE_EQUAL(held(), 1u);
  CAF_REQUIRE_EQUAL(state().ahead.scans_out(), 0u); // "b" read and chunked.
  auto v2 = varied(250u << 10, 3);
  write("b", v2); // Another version than the one the worker read.
  release();
  // The version read went (consistent, as read); the change is the next
  // event, and the next upload, a delta against what went.
  CAF_CHECK_EQUAL(status_now().state, "in-sync");
  CAF_CHECK_NOT_EQUAL(mismatch(), "");
  auto before = status_now().counters;
  changed({"b"});
  CAF_CHECK_EQUAL(mismatch(), "");
  CAF_CHECK_EQUAL(status_now().counters.errors, 0u);
  CAF_CHECK_EQUAL(status_now().counters.files, before.files + 1);
}

CAF_TEST(another name of a file whose read waits is linked to it not copied) {
  write("a", "one inode, two names");
  std::filesystem::create_hard_link(src + "/a", src + "/b");
  slow_and_fast();
  start_reference();
  start_watcher_read_by_read();
  // "a" waits on the slow worker, and the planner waits for it: "b"
  // planned now would find no "a" on the reference to link to.
  CAF_CHECK_EQUAL(held(), 1u);
  CAF_CHECK_EQUAL(state().ahead.size(), 1u);
  release();
  CAF_CHECK_EQUAL(status_now().state, "in-sync");
  CAF_CHECK_EQUAL(mismatch(), "");
  CAF_CHECK(std::filesystem::equivalent(ref + "/a", ref + "/b"));
  CAF_CHECK_EQUAL(status_now().counters.files, 1u);
}

CAF_TEST(files a worker failed to read are read by the sender) {
  write("a", "small");
  write("b", varied(200u << 10, 7));
  write("c", "small too");
  workers = {sys.spawn(failing_worker)};
  start_reference();
  start_watcher_read_by_read();
  CAF_CHECK_EQUAL(status_now().state, "in-sync");
  CAF_CHECK_EQUAL(mismatch(), "");
  auto c = status_now().counters;
  CAF_CHECK_EQUAL(c.files, 3u);
  CAF_CHECK_EQUAL(c.worker_reads, 0u);
  CAF_CHECK_EQUAL(c.unreadable, 0u);
}

CAF_TEST(chunkings out when the link is lost are cancelled) {
  write("a", "small, read slowly");
  write("b", varied(200u << 10, 8));
  workers = {};
  slow = sys.spawn(holding_worker);
  workers = {caf::actor_cast<content_worker_actor>(slow)};
  start_reference();
  start_watcher_read_by_read();
  CAF_REQUIRE_EQUAL(held(), 2u); // "a" read, "b" chunked: both held.
  auto& held_reads = deref<caf::stateful_actor<holding_state,
                                               holding_worker_actor::base>>(
                       slow)
                       .state.held;
  auto b = held_reads[1].first.front();
  CAF_REQUIRE(b->chunks());
  anon_send_exit(rx, caf::exit_reason::kill);
  *reachable = receiver_actor{};
  sched.run();
  CAF_CHECK(state().ahead.empty());
  CAF_CHECK(b->cancelled); // The worker skips it.
  release();
  CAF_CHECK(b->list == nullptr);
  CAF_CHECK(b->data.empty());
  start_reference();
  advance_time(100ms);
  sched.run();
  release(); // The new link's reads.
  CAF_CHECK_EQUAL(status_now().state, "in-sync");
  CAF_CHECK_EQUAL(mismatch(), "");
}

CAF_TEST(a larger file grown past the bound before its chunking goes once settled) {
  write("a", "small, read slowly");
  write("b", varied(200u << 10, 9));
  slow = sys.spawn(holding_worker);
  workers = {caf::actor_cast<content_worker_actor>(slow)};
  start_reference();
  sender_config cfg;
  cfg.scan_ahead_max_bytes = 300u << 10;
  start_watcher_read_by_read(cfg);
  CAF_REQUIRE_EQUAL(held(), 2u); // "a" read, "b" chunked: both held.
  auto grown = varied(400u << 10, 10); // Past the 300 KiB bound.
  write("b", grown);
  release(); // "b" is not taken whole: changed, looked at once settled.
  CAF_CHECK(!on_reference("b"));
  advance_time(10ms);
  sched.run();
  CAF_CHECK_EQUAL(status_now().state, "in-sync");
  CAF_CHECK_EQUAL(mismatch(), "");
  auto c = status_now().counters;
  CAF_CHECK_EQUAL(c.errors, 0u);
  CAF_CHECK_EQUAL(c.unreadable, 0u);
  CAF_CHECK_EQUAL(c.literal_bytes, grown.size() + 18);
}

CAF_TEST(live changes and renames through real workers end identical) {
  workers = {sys.spawn(content_worker), sys.spawn(content_worker)};
  write("keep/x", "x");
  start_reference();
  start_watcher();
  CAF_REQUIRE_EQUAL(status_now().state, "in-sync");
  std::vector<std::string> paths;
  for (int i = 0; i < 30; ++i) {
    write("d/g" + std::to_string(i), std::string(100 + i, char('a' + i)));
    paths.push_back("d/g" + std::to_string(i));
  }
  changed(paths);
  CAF_CHECK_EQUAL(mismatch(), "");
  std::filesystem::rename(src + "/d", src + "/e");
  write("e/new", "new after the rename");
  self->send(deb, std::vector<change>{change::make_rename("d", "e"),
                                      change::make_dirty("e/new",
                                                         change_content)});
  sched.run();
  advance_time(10ms);
  sched.run();
  CAF_CHECK_EQUAL(mismatch(), "");
  CAF_CHECK_EQUAL(status_now().state, "in-sync");
}


// The order and model rules under pressure: random changes (files written
// and removed, files and directories renamed) reported as the tracker
// reports them, every read (and, for files above 150 bytes, every
// chunking behind other work) on a worker, one of the two workers holding
// its reads until a random later round. Whenever all is released and the
// sender is in sync, the reference equals the source; and at the end.
CAF_TEST(random changes with reads held at random end identical) {
  std::mt19937 rng{20261206};
  auto pick = [&](int n) { return static_cast<int>(rng() % n); };
  auto dir_name = [](int i) { return "d" + std::to_string(i); };
  for (int d = 0; d < 3; ++d)
    for (int f = 0; f < 3; ++f)
      write(dir_name(d) + "/f" + std::to_string(f), "initial");
  slow_and_fast();
  start_reference();
  sender_config cfg;
  cfg.reads_per_message = 2;
  cfg.cached_reads_inline = false;
  // Files above 150 bytes go as chunked transfers: those queued behind a
  // read are chunked on a worker.
  cfg.small_file_bytes = 150;
  start_watcher(cfg);
  release();
  CAF_REQUIRE_EQUAL(status_now().state, "in-sync");
  CAF_REQUIRE_EQUAL(mismatch(), "");
  namespace fs = std::filesystem;
  size_t checked = 0;
  for (int round = 0; round < 60; ++round) {
    std::vector<change> changes;
    for (int n = 1 + pick(5); n > 0; --n) {
      auto d = dir_name(pick(5));
      auto f = d + "/f" + std::to_string(pick(6));
      switch (pick(6)) {
        case 0:
        case 1: // Write a file (its directory made if needed).
          if (fs::exists(src + "/" + d) && !fs::is_directory(src + "/" + d))
            break;
          write(f, std::string(1 + pick(300), char('a' + pick(26))));
          changes.push_back(change::make_dirty(d, change_content | change_deep));
          changes.push_back(change::make_dirty(f, change_content));
          break;
        case 2: // Remove a file.
          if (fs::remove(src + "/" + f))
            changes.push_back(change::make_dirty(f, change_content));
          break;
        case 3: { // Rename a directory to a free name.
          auto to = dir_name(pick(5));
          if (!fs::is_directory(src + "/" + d) || fs::exists(src + "/" + to))
            break;
          fs::rename(src + "/" + d, src + "/" + to);
          changes.push_back(change::make_rename(d, to));
          break;
        }
        case 4: { // Rename a file over another name (maybe elsewhere).
          auto to = dir_name(pick(5)) + "/f" + std::to_string(pick(6));
          if (!fs::is_regular_file(src + "/" + f)
              || !fs::is_directory(fs::path(src + "/" + to).parent_path())
              || fs::is_directory(src + "/" + to) || to == f)
            break;
          fs::rename(src + "/" + f, src + "/" + to);
          changes.push_back(change::make_rename(f, to));
          break;
        }
        case 5: // Remove a whole directory.
          if (fs::is_directory(src + "/" + d)) {
            fs::remove_all(src + "/" + d);
            changes.push_back(change::make_dirty(d, change_content));
          }
          break;
      }
    }
    self->send(deb, std::move(changes));
    sched.run();
    advance_time(10ms);
    sched.run();
    if (pick(3) == 0)
      continue; // The slow worker keeps what it holds.
    release();
    advance_time(10ms);
    sched.run();
    if (held() == 0 && state().ahead.empty()
        && status_now().state == "in-sync") {
      CAF_CHECK_EQUAL(mismatch(), "");
      ++checked;
    }
  }
  for (int i = 0; i < 10 && (held() > 0 || !state().ahead.empty()); ++i) {
    release();
    advance_time(10ms);
    sched.run();
  }
  CAF_CHECK_EQUAL(status_now().state, "in-sync");
  CAF_CHECK_EQUAL(mismatch(), "");
  CAF_CHECK_EQUAL(status_now().counters.errors, 0u);
  CAF_CHECK_GREATER(status_now().counters.worker_reads, 20u);
  CAF_MESSAGE("rounds compared in between: " << checked);
  CAF_CHECK_GREATER(checked, 10u);
}

CAF_TEST_FIXTURE_SCOPE_END()
