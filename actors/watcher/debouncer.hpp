// The watcher's debouncer: holds the dirty paths and renames until they
// settle (debounce_policy), then hands one batch to the sender each time
// the sender asks for one (demand). Pull-based, so the pending set, bounded
// by the number of paths and not by the number of events, is the only queue
// while the sender is busy or the reference is unreachable.
#pragma once

#include "core/debounce_policy.hpp"
#include "messages/actors.hpp"

namespace livesync {

struct debouncer_state {
  debounce_policy policy;
  sender_actor sender;
  bool demand = false;
  bool tick_armed = false;
  /// The highest flush barrier not yet handed out (0: none).
  uint64_t barrier = 0;
  static inline const char* name = "debouncer";
};

debouncer_actor::behavior_type
debouncer(debouncer_actor::stateful_pointer<debouncer_state> self,
          debounce_config cfg);

} // namespace livesync
