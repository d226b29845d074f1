// The watcher's debouncer: holds the dirty paths and renames until they
// settle (debounce_policy), then hands one batch to the sender each time
// the sender asks for one (demand). Pull-based, so the pending set, bounded
// by the number of paths and not by the number of events, is the only queue
// while the sender is busy or the reference is unreachable.
//
// A resync (events were lost) is forwarded: the next batch asks the sender
// for a rescan. Pacing and coalescing them is the tracker's alone (its
// rescan_backoff), which sends a resync only once the watches are walked
// again; resyncs that arrive before a batch leaves ride it as one rescan.
#pragma once

#include "core/watcher/debounce_policy.hpp"
#include "messages/actors.hpp"

#include <optional>

namespace livesync {

struct debouncer_state {
  debounce_policy policy;
  sender_actor sender;
  bool demand = false;
  /// When the earliest timer in flight fires (none when nothing is armed).
  std::optional<caf::actor_clock::time_point> tick_at;
  /// The highest flush barrier not yet handed out (0: none).
  uint64_t barrier = 0;
  static inline const char* name = "debouncer";
};

debouncer_actor::behavior_type
debouncer(debouncer_actor::stateful_pointer<debouncer_state> self,
          debounce_config cfg);

} // namespace livesync
