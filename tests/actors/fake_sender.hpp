// A stand-in for the sender in the debouncer's and tracker's suites: asks
// the debouncer for a batch on `pump`, records every batch it gets.
#pragma once

#include "messages/actors.hpp"

#include <memory>
#include <vector>

namespace livesync::test {

// Stands in for the sender: asks for a batch on `pump`, records batches.
struct fake_sender_state {
  std::shared_ptr<std::vector<settled>> got;
  debouncer_actor deb;
};

inline sender_actor::behavior_type
fake_sender(sender_actor::stateful_pointer<fake_sender_state> self,
            debouncer_actor deb, std::shared_ptr<std::vector<settled>> got) {
  self->state.deb = deb;
  self->state.got = got;
  return {
    [=](settled& b) { self->state.got->push_back(std::move(b)); },
    [=](atom::connect) {},
    [=](atom::resync) {},
    [=](atom::pump) { self->send(self->state.deb, atom::demand_v); },
    [=](atom::flush, bool) -> uint64_t { return 0; },
    [=](atom::status) { return watcher_status{}; },
  };
}

} // namespace livesync::test
