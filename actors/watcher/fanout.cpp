#include "actors/watcher/fanout.hpp"

#include <spdlog/spdlog.h>

namespace livesync {

namespace {

using self_ptr = fanout_actor::stateful_pointer<fanout_state>;

/// Hands out what is ready, and asks the debouncer for more when a sender
/// waits with an empty backlog.
void dispatch(self_ptr self) {
  auto& st = self->state;
  for (auto& [i, batch] : st.queue->take_ready())
    self->send(st.handles[i], std::move(batch));
  if (st.queue->wants_more() && !st.demand_out) {
    st.demand_out = true;
    self->send(st.debouncer, atom::demand_v);
  }
}

} // namespace

fanout_actor::behavior_type
fanout(fanout_actor::stateful_pointer<fanout_state> self,
       debouncer_actor debouncer, size_t senders, size_t max_batch) {
  auto& st = self->state;
  st.debouncer = std::move(debouncer);
  st.queue = std::make_unique<fanout_queue>(senders, max_batch,
                                            max_backlog_paths);
  return {
    // From the senders: what the debouncer takes goes to it.
    [=](std::vector<change>& xs) {
      self->send(self->state.debouncer, std::move(xs));
    },
    [=](atom::resync) { self->send(self->state.debouncer, atom::resync_v); },
    [=](atom::barrier, uint64_t n) {
      self->send(self->state.debouncer, atom::barrier_v, n);
    },
    [=](atom::demand) {
      auto& st = self->state;
      auto from = caf::actor_cast<caf::actor_addr>(self->current_sender());
      size_t i = 0;
      while (i < st.consumers.size() && st.consumers[i] != from)
        ++i;
      if (i == st.consumers.size()) {
        if (i >= st.queue->consumers()) {
          spdlog::error("fanout-refused reason=more senders than references");
          return;
        }
        st.consumers.push_back(from);
        st.handles.push_back(
          caf::actor_cast<sender_actor>(self->current_sender()));
      }
      st.queue->demand(i);
      dispatch(self);
    },
    [=](atom::tick) {},
    [=](atom::status) {
      return self->delegate(self->state.debouncer, atom::status_v);
    },
    [=](atom::status, const caf::actor_addr& sender) -> uint64_t {
      auto& st = self->state;
      for (size_t i = 0; i < st.consumers.size(); ++i)
        if (st.consumers[i] == sender)
          return st.queue->backlog_paths(i);
      return 0;
    },
    // From the debouncer: one batch, for every reference.
    [=](settled& batch) {
      auto& st = self->state;
      st.demand_out = false;
      st.queue->add(batch);
      dispatch(self);
    },
  };
}

} // namespace livesync
