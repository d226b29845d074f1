#define CAF_SUITE core.fanout_queue
#include <caf/test/unit_test.hpp>

#include "core/watcher/fanout_queue.hpp"

using namespace livesync;

namespace {

settled batch(std::vector<change> renames, std::vector<std::string> paths,
              int64_t first_ns = 100, uint64_t barrier = 0) {
  settled b;
  b.renames = std::move(renames);
  for (auto& p : paths)
    b.paths.push_back(change::make_dirty(p, change_content));
  b.first_event_ns = first_ns;
  b.barrier = barrier;
  return b;
}

std::vector<std::string> paths_of(const settled& b) {
  std::vector<std::string> out;
  for (auto& c : b.paths)
    out.push_back(c.path);
  return out;
}

using strings = std::vector<std::string>;

} // namespace

CAF_TEST(each reference takes what settled at its own pace) {
  fanout_queue q{3, 4096, 1000};
  CAF_CHECK(!q.wants_more()); // Nobody asked yet.
  q.demand(0);
  q.demand(1);
  CAF_CHECK(q.wants_more());
  q.add(batch({}, {"a", "b"}));
  auto ready = q.take_ready();
  CAF_REQUIRE_EQUAL(ready.size(), 2u); // 2 has not asked: it keeps them.
  CAF_CHECK_EQUAL(ready[0].first, 0u);
  CAF_CHECK_EQUAL(ready[1].first, 1u);
  CAF_CHECK_EQUAL(paths_of(ready[1].second), (strings{"a", "b"}));
  CAF_CHECK_EQUAL(ready[1].second.first_event_ns, 100);
  CAF_CHECK(!q.wants_more());
  q.add(batch({}, {"b", "c"}, 200));
  CAF_CHECK_EQUAL(q.backlog_paths(0), 2u);
  CAF_CHECK_EQUAL(q.backlog_paths(2), 3u); // a, b, c: merged per path.
  q.demand(2);
  ready = q.take_ready();
  CAF_REQUIRE_EQUAL(ready.size(), 1u);
  CAF_CHECK_EQUAL(paths_of(ready[0].second), (strings{"a", "b", "c"}));
  CAF_CHECK_EQUAL(ready[0].second.first_event_ns, 100); // The oldest.
}

CAF_TEST(a rename re-keys the paths a slow reference still owes) {
  fanout_queue q{2, 4096, 1000};
  q.demand(0);
  q.add(batch({}, {"d/x"}));
  q.take_ready(); // 0 took d/x; 1 is slow and still owes it.
  q.demand(0);
  q.add(batch({change::make_rename("d", "e")}, {}));
  auto fast = q.take_ready();
  CAF_REQUIRE_EQUAL(fast.size(), 1u);
  CAF_CHECK(paths_of(fast[0].second).empty());
  q.demand(1);
  auto slow = q.take_ready();
  CAF_REQUIRE_EQUAL(slow.size(), 1u);
  // The rename first, then the content change under its new name.
  CAF_REQUIRE_EQUAL(slow[0].second.renames.size(), 1u);
  CAF_CHECK_EQUAL(paths_of(slow[0].second), (strings{"e/x"}));
}

CAF_TEST(a barrier rides on the batch that empties the backlog) {
  fanout_queue q{2, 2, 1000}; // Two paths per batch.
  q.add(batch({}, {"a", "b", "c"}, 100, 7));
  q.demand(0);
  auto first = q.take_ready();
  CAF_REQUIRE_EQUAL(first.size(), 1u);
  CAF_CHECK_EQUAL(first[0].second.barrier, 0u); // c still waits.
  q.demand(0);
  auto second = q.take_ready();
  CAF_CHECK_EQUAL(paths_of(second[0].second), (strings{"c"}));
  CAF_CHECK_EQUAL(second[0].second.barrier, 7u);
  // A barrier alone is something to hand out.
  q.add(batch({}, {}, 0, 8));
  q.demand(1);
  auto other = q.take_ready();
  CAF_REQUIRE_EQUAL(other.size(), 1u);
  CAF_CHECK_EQUAL(other[0].second.paths.size(), 2u);
}

CAF_TEST(a backlog past its bound becomes one rescan) {
  fanout_queue q{2, 4096, 3};
  q.add(batch({}, {"a", "b", "c", "d"}, 100, 5));
  CAF_CHECK_EQUAL(q.backlog_paths(0), 0u);
  CAF_CHECK_EQUAL(q.collapsed(0), 1u);
  q.demand(0);
  auto ready = q.take_ready();
  CAF_REQUIRE_EQUAL(ready.size(), 1u);
  CAF_CHECK(ready[0].second.rescan);
  CAF_CHECK(ready[0].second.paths.empty());
  CAF_CHECK_EQUAL(ready[0].second.barrier, 5u); // The flush still ends.
}
