// Several references (--references): the one debouncer's settled batches,
// kept per reference (core/watcher/fanout_queue) and handed to each
// reference's sender when it asks. The fanout asks the debouncer for more
// only when a sender waits with nothing left, so while every sender is
// busy the debouncer coalesces as it does for one reference, and a frozen
// reference's backlog is one set of paths here, not a queue of messages.
// With one reference there is no fanout: the sender talks to the debouncer.
#pragma once

#include "core/watcher/fanout_queue.hpp"
#include "messages/actors.hpp"

#include <memory>
#include <vector>

namespace livesync {

/// Paths a reference may owe before its backlog becomes one rescan (about
/// 100 B each: tens of MB at most, for a reference away for long).
inline constexpr size_t max_backlog_paths = 262144;

struct fanout_state {
  debouncer_actor debouncer;
  std::unique_ptr<fanout_queue> queue;
  /// The senders, by the order of their first demand.
  std::vector<caf::actor_addr> consumers;
  std::vector<sender_actor> handles;
  /// A demand is out at the debouncer.
  bool demand_out = false;
  static inline const char* name = "fanout";
};

fanout_actor::behavior_type
fanout(fanout_actor::stateful_pointer<fanout_state> self,
       debouncer_actor debouncer, size_t senders, size_t max_batch);

} // namespace livesync
