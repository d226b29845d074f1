// The deterministic actor-system fixture shared by the actor suites: CAF's
// test coordinator (simulated time, no threads) with livesync's types.
#pragma once

#define FAIL(msg) CAF_FAIL(msg) // 0.17.6: dsl.hpp's request<T>() calls FAIL()
#include <caf/test/dsl.hpp>

#include "messages/register.hpp"

namespace livesync::test {

struct test_config : caf::actor_system_config {
  test_config() {
    livesync::add_message_types(*this);
  }
};

using fixture_base = test_coordinator_fixture<test_config>;

} // namespace livesync::test
