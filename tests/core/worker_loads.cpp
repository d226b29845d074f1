#define CAF_SUITE core.worker_loads
#include <caf/test/unit_test.hpp>

#include "core/watcher/worker_loads.hpp"

#include <vector>

using namespace livesync;

CAF_TEST(requests go in turn while loads are equal) {
  worker_loads w;
  std::vector<size_t> got;
  for (int i = 0; i < 3; ++i) {
    auto p = w.pick(3);
    got.push_back(p);
    w.done(p);
  }
  CAF_CHECK_EQUAL(got, (std::vector<size_t>{0, 1, 2}));
}

CAF_TEST(a busy worker is passed over until it answers) {
  worker_loads w;
  CAF_CHECK_EQUAL(w.pick(2), 0u); // A long chunking, say.
  CAF_CHECK_EQUAL(w.pick(2), 1u);
  w.done(1);
  // Worker 0's turn by rotation, but it still has one out.
  CAF_CHECK_EQUAL(w.pick(2), 1u);
  CAF_CHECK_EQUAL(w.load(0), 1u);
  CAF_CHECK_EQUAL(w.load(1), 1u);
  w.done(0);
  w.done(1);
  w.done(1); // An extra answer does not go below zero.
  CAF_CHECK_EQUAL(w.load(1), 0u);
}
