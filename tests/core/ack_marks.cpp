#define CAF_SUITE core.ack_marks
#include <caf/test/unit_test.hpp>

#include "core/watcher/ack_marks.hpp"

using namespace livesync;

namespace {

using latencies = std::vector<int64_t>;

} // namespace

CAF_TEST(a mark completes when its last request is answered) {
  ack_marks m;
  ack_marks::done d;
  m.settled(100, 7);
  auto r1 = m.sent();
  auto r2 = m.sent();
  m.planned(150, d);
  CAF_CHECK(d.latency_ns.empty()); // Two requests still open.
  m.acked(r1, 200, d);
  CAF_CHECK(d.latency_ns.empty());
  m.acked(r2, 300, d);
  CAF_CHECK_EQUAL(d.latency_ns, latencies{200}); // From the first event.
  CAF_CHECK_EQUAL(d.barrier, 7u);
}

CAF_TEST(a mark with nothing to send completes when planned) {
  ack_marks m;
  ack_marks::done d;
  m.settled(0, 3); // A barrier alone, no change, no request.
  m.planned(50, d);
  CAF_CHECK(d.latency_ns.empty()); // No event time: no sample.
  CAF_CHECK_EQUAL(d.barrier, 3u);
}

CAF_TEST(an earlier request still open holds a later mark back) {
  ack_marks m;
  ack_marks::done d;
  auto early = m.sent(); // Work of no mark (e.g. the comparison).
  m.settled(10, 1);
  auto mine = m.sent();
  m.planned(20, d);
  m.acked(mine, 30, d);
  CAF_CHECK_EQUAL(d.barrier, 0u);
  m.acked(early, 40, d);
  CAF_CHECK_EQUAL(d.barrier, 1u);
  CAF_CHECK_EQUAL(d.latency_ns, latencies{30});
}

CAF_TEST(batches merge into one open mark until planned) {
  ack_marks m;
  ack_marks::done d;
  m.settled(500, 2);
  m.settled(300, 0); // Older first event, no barrier: both kept.
  m.settled(0, 1);
  auto r = m.sent();
  m.planned(600, d);
  m.acked(r, 1000, d);
  CAF_CHECK_EQUAL(d.latency_ns, latencies{700});
  CAF_CHECK_EQUAL(d.barrier, 2u);
  // Planned again with nothing open: nothing happens.
  ack_marks::done none;
  m.planned(2000, none);
  CAF_CHECK(none.latency_ns.empty());
}

CAF_TEST(a lost link moves barriers to the next full comparison) {
  ack_marks m;
  ack_marks::done d;
  m.settled(10, 4);
  m.sent();
  m.planned(20, d); // Waits for the request...
  m.settled(30, 5); // ... and another batch is still being planned.
  m.link_lost();
  CAF_CHECK_EQUAL(m.take_at_sync(), 5u);
  CAF_CHECK_EQUAL(m.take_at_sync(), 0u); // Taken once.
  // Nothing in flight any more: a new mark completes on its own requests.
  m.settled(40, 6);
  auto r = m.sent();
  m.planned(50, d);
  m.acked(r, 60, d);
  CAF_CHECK_EQUAL(d.barrier, 6u);
}

CAF_TEST(a batch that arrives unlinked waits for the comparison) {
  ack_marks m;
  m.settled_unlinked(9);
  m.settled_unlinked(8);
  CAF_CHECK_EQUAL(m.take_at_sync(), 9u);
}

CAF_TEST(the open barrier can be taken back for a retried path) {
  ack_marks m;
  ack_marks::done d;
  CAF_CHECK_EQUAL(m.take_open_barrier(), 0u); // Nothing open.
  m.settled(10, 3);
  CAF_CHECK_EQUAL(m.take_open_barrier(), 3u);
  CAF_CHECK_EQUAL(m.take_open_barrier(), 0u);
  m.planned(20, d);
  CAF_CHECK_EQUAL(d.barrier, 0u); // The mark still records the latency.
  CAF_CHECK_EQUAL(d.latency_ns, latencies{10});
}
