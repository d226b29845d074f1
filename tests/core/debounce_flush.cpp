#define CAF_SUITE core.debounce_flush
#include <caf/test/unit_test.hpp>

// The debounce policy's side of a flush barrier: pop_all() hands out what
// is pending whether quiet or not, and every batch says when its oldest
// change was seen (the start of the latency the sender measures).
#include "core/watcher/debounce_policy.hpp"

using namespace livesync;
using namespace std::chrono_literals;

namespace {

using time_point = debounce_policy::time_point;
const time_point t0 = time_point{} + 1h;

int64_t ns(time_point t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
           t.time_since_epoch())
    .count();
}

debounce_policy policy(size_t max_batch = 4096) {
  debounce_config cfg;
  cfg.quiet = 10ms;
  cfg.max_delay = 100ms;
  cfg.max_batch = max_batch;
  return debounce_policy{cfg};
}

} // namespace

CAF_TEST(pop_all takes paths and renames that are not quiet yet) {
  auto p = policy();
  p.add(change::make_dirty("a", change_content), t0);
  p.add(change::make_rename("x", "y"), t0 + 1ms);
  p.add(change::make_dirty("a", change_attr), t0 + 2ms);
  CAF_CHECK(p.pop_due(t0 + 3ms).empty());
  auto b = p.pop_all();
  CAF_REQUIRE_EQUAL(b.paths.size(), 1u);
  CAF_CHECK_EQUAL(b.paths[0].flags, change_content | change_attr);
  CAF_REQUIRE_EQUAL(b.renames.size(), 1u);
  CAF_CHECK(p.empty());
  CAF_CHECK_EQUAL(b.first_event_ns, ns(t0));
}

CAF_TEST(pop_all respects the batch cap) {
  auto p = policy(2);
  for (auto name : {"a", "b", "c"})
    p.add(change::make_dirty(name, change_content), t0);
  CAF_CHECK_EQUAL(p.pop_all().paths.size(), 2u);
  CAF_CHECK_EQUAL(p.pop_all().paths.size(), 1u);
  CAF_CHECK(p.empty());
}

CAF_TEST(first event is the oldest first-seen time of the batch) {
  auto p = policy();
  p.add(change::make_dirty("late", change_content), t0 + 5ms);
  p.add(change::make_dirty("early", change_content), t0 + 1ms);
  // "early" keeps its first-seen time when touched again.
  p.add(change::make_dirty("early", change_content), t0 + 4ms);
  auto b = p.pop_due(t0 + 20ms);
  CAF_CHECK_EQUAL(b.paths.size(), 2u);
  CAF_CHECK_EQUAL(b.first_event_ns, ns(t0 + 1ms));
}

CAF_TEST(a rename alone dates the batch by the first rename) {
  auto p = policy();
  p.add(change::make_rename("a", "b"), t0 + 2ms);
  p.add(change::make_rename("b", "c"), t0 + 3ms);
  auto b = p.pop_due(t0 + 20ms);
  CAF_CHECK_EQUAL(b.renames.size(), 2u);
  CAF_CHECK_EQUAL(b.first_event_ns, ns(t0 + 2ms));
}

CAF_TEST(a rescan alone carries no event time) {
  auto p = policy();
  p.request_rescan();
  auto b = p.pop_due(t0);
  CAF_CHECK(b.rescan);
  CAF_CHECK_EQUAL(b.first_event_ns, 0);
}
