#include "actors/watcher/debouncer.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <utility>

namespace livesync {

namespace {

using self_ptr = debouncer_actor::stateful_pointer<debouncer_state>;

// Hands out a batch if the sender wants one and something is due; then
// makes sure a timer runs while the sender waits for something pending.
void deliver(self_ptr self) {
  auto& st = self->state;
  if (!st.demand)
    return;
  auto now = self->clock().now();
  if (!st.policy.empty() || st.barrier > 0) {
    // A flush barrier takes everything pending now, quiet or not, and
    // rides on the batch that empties the policy. A rescan that lost
    // events owe is pending here already (the tracker sends its resync
    // before passing the barrier on), so the barrier travels with it.
    auto batch = st.barrier > 0 ? st.policy.pop_all() : st.policy.pop_due(now);
    if (st.barrier > 0 && st.policy.empty())
      batch.barrier = std::exchange(st.barrier, 0);
    if (!batch.empty()) {
      if (batch.rescan)
        spdlog::info("rescan-start reason=queue-overflow");
      st.demand = false;
      self->send(st.sender, std::move(batch));
      return;
    }
  }
  auto due = st.policy.next_due();
  // One timer for the earliest deadline; a later timer already in flight
  // does not delay an earlier one (it fires harmlessly).
  if (!due || (st.tick_at && *st.tick_at <= *due))
    return;
  auto at = std::max(*due, now);
  st.tick_at = at;
  self->delayed_send(self, at - now, atom::tick_v);
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
      // Already paced by the tracker: due at once. Several before the next
      // batch are one rescan.
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
      auto& st = self->state;
      if (st.tick_at && *st.tick_at <= self->clock().now())
        st.tick_at.reset();
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
