// The watcher's control actor: what `livesync-watcher status` and
// `livesync-watcher flush` talk to. Published on a loopback port (with the
// same mutual TLS as the link when TLS is configured), it only forwards:
// flush to the senders, status to the senders, debouncer and tracker, and
// merges the answers. Nothing here can change the mirror.
//
// One sender per reference. With one, flush waits for it however long it
// is away (as a single pair always did); with several, it waits for those
// connected and reports the others, so one dead reference never blocks a
// flush of the rest.
#pragma once

#include "messages/actors.hpp"

#include <vector>

namespace livesync {

struct control_state {
  std::vector<sender_actor> senders;
  /// "host:port" of each sender's reference, in the same order.
  std::vector<std::string> names;
  debouncer_actor debouncer;
  /// Several references: what each still owes (null with one).
  fanout_actor fanout;
  tracker_actor tracker;
  static inline const char* name = "control";
};

control_actor::behavior_type
control(control_actor::stateful_pointer<control_state> self,
        std::vector<sender_actor> senders, std::vector<std::string> names,
        debouncer_actor debouncer, fanout_actor fanout,
        tracker_actor tracker);

} // namespace livesync
