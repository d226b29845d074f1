#include "actors/watcher/debouncer.hpp"

#include <algorithm>
#include <utility>

namespace livesync {

namespace {

using self_ptr = debouncer_actor::stateful_pointer<debouncer_state>;

// Hands out a batch if the sender wants one and something is due; then
// makes sure a timer runs while the sender waits for something pending.
void deliver(self_ptr self) {
  auto& st = self->state;
  if (!st.demand || (st.policy.empty() && st.barrier == 0))
    return;
  auto now = self->clock().now();
  // A flush barrier takes everything pending now, quiet or not; it rides on
  // the batch that empties the policy.
  auto batch = st.barrier > 0 ? st.policy.pop_all() : st.policy.pop_due(now);
  if (st.barrier > 0 && st.policy.empty())
    batch.barrier = std::exchange(st.barrier, 0);
  if (!batch.empty()) {
    st.demand = false;
    self->send(st.sender, std::move(batch));
    return;
  }
  if (st.tick_armed)
    return;
  if (auto due = st.policy.next_due()) {
    st.tick_armed = true;
    auto delay = *due > now ? *due - now : caf::timespan{0};
    self->delayed_send(self, delay, atom::tick_v);
  }
}

} // namespace

debouncer_actor::behavior_type
debouncer(debouncer_actor::stateful_pointer<debouncer_state> self,
          debounce_config cfg) {
  self->state.policy = debounce_policy{cfg};
  return {
    [=](std::vector<change>& changes) {
      auto now = self->clock().now();
      for (auto& c : changes)
        self->state.policy.add(c, now);
      deliver(self);
    },
    [=](atom::resync) {
      self->state.policy.request_rescan();
      deliver(self);
    },
    [=](atom::demand) {
      auto& st = self->state;
      st.sender = caf::actor_cast<sender_actor>(self->current_sender());
      st.demand = static_cast<bool>(st.sender);
      deliver(self);
    },
    [=](atom::tick) {
      self->state.tick_armed = false;
      deliver(self);
    },
    [=](atom::barrier, uint64_t n) {
      auto& st = self->state;
      st.barrier = std::max(st.barrier, n);
      deliver(self);
    },
    [=](atom::status) -> uint64_t {
      return self->state.policy.pending_paths();
    },
  };
}

} // namespace livesync
