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
  // The rescan starts when it is handed to the sender, with this batch. A
  // flush does not wait for the pause: it is an explicit request.
  if (st.backoff.due(now)
      || (st.barrier > 0 && st.backoff.pending() && !st.backoff.running())) {
    st.backoff.started(now);
    st.policy.request_rescan();
    spdlog::info("rescan-start reason=queue-overflow overflows={} rescans={} "
                 "next_pause_ms={}",
                 st.backoff.overflows(), st.backoff.rescans(),
                 std::chrono::duration_cast<std::chrono::milliseconds>(
                   st.backoff.pause())
                   .count());
  }
  if (!st.policy.empty() || st.barrier > 0) {
    // A flush barrier takes everything pending now, quiet or not. It rides
    // on the batch that empties the policy, and never overtakes a rescan
    // that overflows still owe (the changes they lost are only known once
    // the rescan ran): it waits for that rescan to start, and travels with
    // it.
    auto batch = st.barrier > 0 ? st.policy.pop_all() : st.policy.pop_due(now);
    if (st.barrier > 0 && st.policy.empty() && !st.backoff.pending())
      batch.barrier = std::exchange(st.barrier, 0);
    if (!batch.empty()) {
      st.demand = false;
      self->send(st.sender, std::move(batch));
      return;
    }
  }
  auto due = st.policy.next_due();
  if (auto b = st.backoff.next_due(); b && (!due || *b < *due))
    due = b;
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
          debounce_config cfg, rescan_backoff_config backoff) {
  self->state.policy = debounce_policy{cfg};
  self->state.backoff = rescan_backoff{backoff};
  return {
    [=](std::vector<change>& changes) {
      auto now = self->clock().now();
      for (auto& c : changes)
        self->state.policy.add(c, now);
      deliver(self);
    },
    [=](atom::resync) {
      auto& st = self->state;
      auto now = self->clock().now();
      if (st.backoff.pending() || st.backoff.running())
        spdlog::debug("rescan-coalesced overflows={}",
                      st.backoff.overflows() + 1);
      st.backoff.overflow(now);
      deliver(self);
    },
    [=](atom::demand) {
      auto& st = self->state;
      // The sender asks again only once idle and in sync: the rescan it
      // was handed (if any) is over.
      st.backoff.finished(self->clock().now());
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
