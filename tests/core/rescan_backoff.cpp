#define CAF_SUITE core.rescan_backoff
#include <caf/test/unit_test.hpp>

#include "core/watcher/rescan_backoff.hpp"

#include <string>
#include <vector>

using namespace livesync;
using namespace std::chrono_literals;

namespace {

using time_point = rescan_backoff::time_point;

/// Any fixed origin works: the policy never reads a clock.
const time_point t0 = time_point{} + 1h;

rescan_backoff_config test_config() {
  rescan_backoff_config cfg;
  cfg.first_pause = 100ms;
  cfg.max_pause = 350ms;
  cfg.quiet_reset = 1s;
  return cfg;
}

/// One step of a script: at t0 + `at`, an overflow ('o'), a rescan that
/// starts if due ('s'), or the running one ending ('f'); then what the
/// policy must say.
struct step {
  std::chrono::milliseconds at;
  char what;
  bool started;                 // for 's': did a rescan start?
  bool pending;                 // afterwards
  bool running;                 // afterwards
  std::chrono::milliseconds due;  // next_due() - t0; `none`, or `past`
};

constexpr auto none = std::chrono::milliseconds{-1};
/// Due at once: next_due() is not after the step's time.
constexpr auto past = std::chrono::milliseconds{-2};

void play(const std::vector<step>& script) {
  rescan_backoff b{test_config()};
  size_t i = 0;
  for (auto& s : script) {
    auto now = t0 + s.at;
    CAF_MESSAGE("step " << i++ << ": " << s.what << " at " << s.at.count()
                        << "ms");
    if (s.what == 'o') {
      b.overflow(now);
    } else if (s.what == 's') {
      auto due = b.due(now);
      CAF_CHECK_EQUAL(due, s.started);
      if (due)
        b.started(now);
    } else {
      b.finished(now);
    }
    CAF_CHECK_EQUAL(b.pending(), s.pending);
    CAF_CHECK_EQUAL(b.running(), s.running);
    auto next = b.next_due();
    if (s.due == none)
      CAF_CHECK(!next.has_value());
    else if (s.due == past)
      CAF_CHECK(next.has_value() && *next <= now);
    else
      CAF_CHECK_EQUAL(next ? (*next - t0).count() : -1,
                      std::chrono::nanoseconds{s.due}.count());
  }
}

} // namespace

CAF_TEST(nothing is due without an overflow) {
  rescan_backoff b{test_config()};
  CAF_CHECK(!b.due(t0));
  CAF_CHECK(!b.next_due());
  CAF_CHECK(!b.pending());
  b.finished(t0); // no rescan runs: ignored
  CAF_CHECK(!b.running());
}

CAF_TEST(a burst of overflows makes one rescan at once) {
  play({
    {0ms, 'o', false, true, false, past}, // due at once
    {1ms, 'o', false, true, false, past},
    {2ms, 'o', false, true, false, past},
    {3ms, 's', true, false, true, none},
    {4ms, 's', false, false, true, none}, // nothing more pending
    {50ms, 'f', false, false, false, none},
  });
}

CAF_TEST(overflows during a rescan make one more after the pause) {
  play({
    {0ms, 'o', false, true, false, past},
    {0ms, 's', true, false, true, none},
    {10ms, 'o', false, true, true, none}, // running: its end decides
    {20ms, 'o', false, true, true, none},
    {30ms, 's', false, true, true, none},
    {40ms, 'f', false, true, false, 140ms}, // pause 100ms from the end
    {139ms, 's', false, true, false, 140ms},
    {140ms, 's', true, false, true, none},
  });
}

CAF_TEST(the pause doubles within a storm up to the cap) {
  play({
    {0ms, 'o', false, true, false, past},
    {0ms, 's', true, false, true, none},
    {0ms, 'f', false, false, false, none},
    {10ms, 'o', false, true, false, 100ms},   // pause 100
    {100ms, 's', true, false, true, none},
    {100ms, 'f', false, false, false, none},
    {110ms, 'o', false, true, false, 300ms},  // pause 200
    {300ms, 's', true, false, true, none},
    {300ms, 'f', false, false, false, none},
    {310ms, 'o', false, true, false, 650ms},  // 400 capped at 350
    {650ms, 's', true, false, true, none},
    {650ms, 'f', false, false, false, none},
    {660ms, 'o', false, true, false, 1000ms}, // still 350
  });
}

CAF_TEST(a quiet period ends the storm) {
  play({
    {0ms, 'o', false, true, false, past},
    {0ms, 's', true, false, true, none},
    {0ms, 'f', false, false, false, none},
    {10ms, 'o', false, true, false, 100ms},
    {100ms, 's', true, false, true, none},
    {100ms, 'f', false, false, false, none}, // pause now 200ms
    // 1 s after the last overflow (10ms): rescan at once, pause 100ms again.
    {1010ms, 'o', false, true, false, past},
    {1010ms, 's', true, false, true, none},
    {1010ms, 'f', false, false, false, none},
    {1020ms, 'o', false, true, false, 1110ms},
  });
}

CAF_TEST(counters) {
  rescan_backoff b{test_config()};
  for (int i = 0; i < 5; ++i)
    b.overflow(t0);
  b.started(t0);
  b.overflow(t0 + 1ms);
  b.finished(t0 + 2ms);
  CAF_CHECK_EQUAL(b.overflows(), 6u);
  CAF_CHECK_EQUAL(b.rescans(), 1u);
  CAF_CHECK_EQUAL(b.pause().count(), std::chrono::nanoseconds{100ms}.count());
}
