// A stand-in for the debouncer in the tracker's and walkers' suites:
// records every change it gets, a flush barrier as the path "<barrier N>",
// and counts resyncs.
#pragma once

#include "messages/actors.hpp"

#include <memory>
#include <string>
#include <vector>

namespace livesync::test {

struct fake_debouncer_state {
  std::shared_ptr<std::vector<change>> got;
  std::shared_ptr<int> resyncs;
};

inline debouncer_actor::behavior_type
fake_debouncer(debouncer_actor::stateful_pointer<fake_debouncer_state> self,
               std::shared_ptr<std::vector<change>> got,
               std::shared_ptr<int> resyncs) {
  self->state.got = got;
  self->state.resyncs = resyncs;
  return {
    [=](std::vector<change>& xs) {
      for (auto& x : xs)
        self->state.got->push_back(std::move(x));
    },
    [=](atom::resync) { ++*self->state.resyncs; },
    [=](atom::demand) {},
    [=](atom::tick) {},
    [=](atom::barrier, uint64_t n) {
      self->state.got->push_back(
        change::make_dirty("<barrier " + std::to_string(n) + ">", 0));
    },
    [=](atom::status) -> uint64_t { return 0; },
  };
}

} // namespace livesync::test
