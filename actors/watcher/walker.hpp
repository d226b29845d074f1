// A walker: a short-lived actor that lists the subdirectories of the few
// directories it was spawned with (a part of one of the tracker's walks),
// sends the listings to the tracker in one atom::listed, and quits. Walkers
// run on the scheduler's threads, so the walks of different directories
// proceed in parallel; the tracker bounds how many are in flight and stays
// the one writer of the watch table (it adds every watch itself).
#pragma once

#include "messages/actors.hpp"

#include <string>
#include <vector>

namespace livesync {

/// Lists each of `tasks` beneath the absolute `root`, replies to `tracker`
/// with one listing per task (in order), and terminates.
void walker(caf::event_based_actor* self, tracker_actor tracker,
            std::string root, std::vector<walk_task> tasks);

} // namespace livesync
