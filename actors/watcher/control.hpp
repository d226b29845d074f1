// The watcher's control actor: what `livesync-watcher status` and
// `livesync-watcher flush` talk to. Published on a loopback port (with the
// same mutual TLS as the link when TLS is configured), it only forwards:
// flush to the sender, status to the sender, debouncer and tracker, and merges
// the answers. Nothing here can change the mirror.
#pragma once

#include "messages/actors.hpp"

namespace livesync {

struct control_state {
  sender_actor sender;
  debouncer_actor debouncer;
  tracker_actor tracker;
  static inline const char* name = "control";
};

control_actor::behavior_type
control(control_actor::stateful_pointer<control_state> self,
        sender_actor sender, debouncer_actor debouncer,
        tracker_actor tracker);

} // namespace livesync
