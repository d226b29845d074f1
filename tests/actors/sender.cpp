#define CAF_SUITE actors.sender
#include "fixture.hpp"

// The sender: a connect, live changes, a lost reference, the window
// (sender_fixture.hpp says how it runs).

#include "sender_fixture.hpp"

using sender_test::fixture;

CAF_TEST_FIXTURE_SCOPE(sender_tests, fixture)

CAF_TEST(a connect mirrors the tree and ends in sync) {
  write("d/f", "small file");
  write("big.bin", std::string(300 << 10, 'x') + "tail");
  write("d/sub/g", "g");
  ::symlink("d/f", (src + "/l").c_str());
  start_reference();
  start_watcher();
  CAF_CHECK_EQUAL(status_now().state, "in-sync");
  CAF_CHECK_EQUAL(mismatch(), "");
  auto s = status_now();
  CAF_CHECK_EQUAL(s.counters.files, 3u);
  CAF_CHECK_EQUAL(s.counters.errors, 0u);
}

CAF_TEST(a settled change is mirrored and its latency recorded) {
  write("a", "1");
  start_reference();
  start_watcher();
  CAF_REQUIRE_EQUAL(status_now().state, "in-sync");
  write("a", "version 2");
  write("new/file", "new");
  changed({"a", "new"});
  CAF_CHECK_EQUAL(mismatch(), "");
  CAF_CHECK_EQUAL(status_now().state, "in-sync");
  // One settled batch, one sample: from its first event to its commit.
  CAF_CHECK_EQUAL(status_now().latency_samples, 1u);
}

// The reference is gone (its actor died) and then back: the sender sees the
// link go down, retries after its backoff, reconciles by digests and
// resends nothing the reference already holds.
CAF_TEST(a lost reference is reconnected and nothing is sent again) {
  write("a", std::string(100 << 10, 'a'));
  write("b/c", "c");
  start_reference();
  start_watcher();
  CAF_REQUIRE_EQUAL(status_now().state, "in-sync");
  auto files = status_now().counters.files;
  anon_send_exit(rx, caf::exit_reason::kill);
  *reachable = receiver_actor{}; // down for now: connects fail
  sched.run();
  // (No status request while disconnected: the fixture's request() fires
  // every timer, and each failed connect arms the next one.)
  using phase = link_session::phase;
  CAF_CHECK(state().link->state() == phase::disconnected);
  CAF_CHECK(!state().peer);
  advance_time(100ms);
  sched.run();
  CAF_CHECK(state().link->state() == phase::disconnected);
  CAF_CHECK_EQUAL(state().link->counters().reconnects, 1u); // connections so far
  start_reference();
  advance_time(100ms);
  sched.run();
  CAF_CHECK_EQUAL(status_now().state, "in-sync");
  CAF_CHECK_EQUAL(status_now().counters.files, files);
  CAF_CHECK_EQUAL(status_now().counters.reconnects, 1u);
  CAF_CHECK_EQUAL(mismatch(), "");
  // And live again.
  write("b/d", "d");
  changed({"b/d"});
  CAF_CHECK_EQUAL(mismatch(), "");
}

// CAF's middleman has no backpressure: the sender's window is what bounds
// the bytes in flight, whatever the tree. Stepped one message at a time.
CAF_TEST(bytes in flight stay within the window) {
  for (int i = 0; i < 40; ++i)
    write("f" + std::to_string(i), std::string(16 << 10, char('a' + i % 26)));
  start_reference();
  sender_config cfg;
  cfg.window_bytes = 64 << 10;
  cfg.batch_bytes = 16 << 10;
  cfg.upload.zstd_level = 0; // sizes as written
  start_watcher(cfg);
  // start_watcher ran everything already: run it again, stepwise.
  CAF_REQUIRE_EQUAL(status_now().state, "in-sync");
  anon_send_exit(rx, caf::exit_reason::kill);
  *reachable = receiver_actor{};
  sched.run();
  std::filesystem::remove_all(ref);
  start_reference();
  advance_time(100ms);
  uint64_t most = 0;
  size_t steps = 0;
  while (sched.has_job() && ++steps < 100000) {
    sched.run_once();
    most = std::max(most, state().link->in_flight_bytes());
  }
  // One op may cross the window's edge: a 16 KiB file and its header.
  CAF_CHECK_LESS_OR_EQUAL(most, cfg.window_bytes + (17 << 10));
  CAF_CHECK_GREATER_OR_EQUAL(most, cfg.window_bytes / 2);
  CAF_CHECK_EQUAL(status_now().state, "in-sync");
  CAF_CHECK_EQUAL(mismatch(), "");
}

// The reference's copy drifted behind the watcher's back: the delta built
// against the cached recipe copies a range the reference no longer has.
// The refusal reaches the sender with its code (stale, not a string to
// parse), which makes it a delta fallback: the file goes again without the
// recipe, and status shows the code of the last error.
CAF_TEST(a refused delta arrives with its code and falls back) {
  std::string content;
  uint64_t x = 88172645463325252ull;
  for (size_t i = 0; i < (300u << 10); ++i) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17; // xorshift: varied chunks
    content.push_back(static_cast<char>('a' + x % 26));
  }
  write("big.bin", content);
  start_reference();
  start_watcher();
  CAF_REQUIRE_EQUAL(status_now().state, "in-sync");
  CAF_REQUIRE_EQUAL(status_now().counters.fallbacks, 0u);
  // Behind the watcher's back: the reference keeps only 1000 bytes.
  CAF_REQUIRE_EQUAL(::truncate((ref + "/big.bin").c_str(), 1000), 0);
  // A small edit in the middle: a delta of copies and one literal.
  content[150u << 10] ^= 1;
  write("big.bin", content);
  changed({"big.bin"});
  // The refusal is in; the retry timer has not fired yet.
  auto& link = *state().link;
  CAF_CHECK_EQUAL(link.counters().fallbacks, 1u);
  CAF_CHECK_GREATER_OR_EQUAL(link.counters().errors, 1u);
  watcher_status st;
  link.fill_status(st, sched.clock().now(), false);
  CAF_CHECK_EQUAL(st.last_error_code, "stale");
  CAF_CHECK(st.last_error.find("op-failed kind=copy_range path=big.bin ")
            == 0);
  CAF_CHECK(st.last_error.find("past the end of big.bin")
            != std::string::npos);
  // The retry sends it again, against what the reference holds now.
  advance_time(1s);
  sched.run();
  advance_time(10ms);
  sched.run();
  CAF_CHECK_EQUAL(mismatch(), "");
  auto after = status_now();
  CAF_CHECK_EQUAL(after.state, "in-sync");
  CAF_CHECK_EQUAL(after.last_error_code, "stale");
}

// A flush that must not wait (several references) is refused at once
// while the link is down, with a code the control actor can tell apart.
CAF_TEST(a flush that does not wait is refused as unreachable while down) {
  write("a", "1");
  start_watcher(); // no reference: every connect fails
  auto answer = self->request(snd, caf::infinite, atom::flush_v, false);
  sched.run();
  caf::error got;
  answer.receive([&](uint64_t) { CAF_FAIL("a flush answered while down"); },
                 [&](caf::error& err) { got = err; });
  CAF_CHECK(ec_of(got) == ec::unreachable);
  CAF_CHECK_NOT_EQUAL(detail_of(got).find("is not connected"),
                      std::string::npos);
}

CAF_TEST_FIXTURE_SCOPE_END()
