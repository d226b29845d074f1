// The deterministic actor-system fixture shared by the actor suites: CAF's
// test coordinator (simulated time, no threads) with livesync's types.
#pragma once

#define FAIL(msg) CAF_FAIL(msg) // 0.17.6: dsl.hpp's request<T>() calls FAIL()
#include <caf/test/dsl.hpp>

#include "actors/reference/receiver.hpp"
#include "messages/register.hpp"

#include <vector>

namespace livesync::test {

struct test_config : caf::actor_system_config {
  test_config() {
    livesync::add_message_types(*this);
  }
};

using fixture_base = test_coordinator_fixture<test_config>;

/// Asks every actor of `all` that is set to exit (the caller runs the
/// scheduler after).
inline void exit_all(const std::vector<caf::actor>& all) {
  for (auto& h : all)
    if (h)
      caf::anon_send_exit(h, caf::exit_reason::user_shutdown);
}

/// Path writers for a receiver under the test coordinator: not detached
/// (the coordinator runs every actor), retiring after 5 s of simulated
/// idle time.
inline writer_pool_options in_test_writers(size_t writers = 4) {
  return writer_pool_options{writers, std::chrono::seconds{5}, false};
}

} // namespace livesync::test
