// The watcher's blocking reader: owns nothing but the read loop on the
// inotify descriptor. Decodes each read() and sends the records, as one
// message, to the tracker. Runs detached (it blocks in poll) and stops as
// soon as its stop eventfd is signalled (the tracker signals it when it
// terminates, for any reason).
#pragma once

#include "messages/actors.hpp"

namespace livesync {

/// Loops until `stop_fd` becomes readable or the tracker is gone. Each
/// time `barrier_fd` (an eventfd counting flush requests; -1: none) becomes
/// readable, drains the inotify queue and then sends the tracker
/// `(barrier, N)`, N being the number of flush requests so far.
void inotify_reader(caf::blocking_actor* self, tracker_actor tracker,
                    int inotify_fd, int stop_fd, int barrier_fd = -1);

} // namespace livesync
