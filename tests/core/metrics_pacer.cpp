#define CAF_SUITE core.metrics_pacer
#include <caf/test/unit_test.hpp>

#include "core/common/metrics_pacer.hpp"

#include <string>
#include <vector>

using namespace livesync;
using namespace std::chrono;

namespace {

/// One event of a script: a change or the timer, at `at_ms`, and what the
/// pacer must answer: "write", "arm N" (ms), or "-" (nothing).
struct step {
  const char* event; // "change" or "tick"
  int at_ms;
  std::string expect;
};

std::string run(metrics_pacer& p, const step& s) {
  auto t0 = metrics_pacer::time_point{} + hours(1);
  auto now = t0 + milliseconds(s.at_ms);
  auto d = std::string{s.event} == "tick" ? p.tick(now) : p.changed(now);
  std::string out;
  if (d.write)
    out = "write";
  if (d.arm)
    out += (out.empty() ? "" : "+") + std::string{"arm "}
           + std::to_string(duration_cast<milliseconds>(d.delay).count());
  return out.empty() ? "-" : out;
}

void check_script(const char* name, const std::vector<step>& script) {
  CAF_MESSAGE(name);
  metrics_pacer p{milliseconds(1000)};
  for (auto& s : script)
    CAF_CHECK_EQUAL(run(p, s), s.expect);
  // However the script ended, nothing waits: an idle node has no timer.
  CAF_CHECK(!p.pending());
}

} // namespace

CAF_TEST(writes at once after quiet then once per interval then once more) {
  check_script("first change writes at once",
               {{"change", 0, "write"}});
  check_script("a burst: one write now, one at the interval's end",
               {{"change", 0, "write"},
                {"change", 10, "arm 990"},
                {"change", 20, "-"},
                {"change", 900, "-"},
                {"tick", 1000, "write"}});
  check_script("steady changes: a write per interval, no more",
               {{"change", 0, "write"},
                {"change", 300, "arm 700"},
                {"tick", 1000, "write"},
                {"change", 1200, "arm 800"},
                {"change", 1900, "-"},
                {"tick", 2000, "write"},
                {"change", 2500, "arm 500"},
                {"tick", 3000, "write"}});
  check_script("a change long after the last write is written at once",
               {{"change", 0, "write"},
                {"change", 5000, "write"},
                {"change", 6000, "write"}});
  check_script("a late timer writes when it fires",
               {{"change", 0, "write"},
                {"change", 100, "arm 900"},
                {"tick", 1700, "write"},
                {"change", 1800, "arm 900"},
                {"tick", 2700, "write"}});
}

CAF_TEST(a timer with nothing to write does nothing and arms nothing) {
  metrics_pacer p{milliseconds(1000)};
  auto t = metrics_pacer::time_point{} + hours(1);
  CAF_CHECK(p.changed(t).write);
  auto d = p.tick(t + seconds(5));
  CAF_CHECK(!d.write && !d.arm);
}

CAF_TEST(pending says a change waits for the timer) {
  metrics_pacer p{milliseconds(1000)};
  auto t = metrics_pacer::time_point{} + hours(1);
  p.changed(t);
  CAF_CHECK(!p.pending());
  p.changed(t + milliseconds(1));
  CAF_CHECK(p.pending());
  p.tick(t + milliseconds(1000));
  CAF_CHECK(!p.pending());
}
