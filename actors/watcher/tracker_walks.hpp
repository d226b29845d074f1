// The tracker's walks, actor side: starting them, handing the directories
// they queue to walkers (bounded in flight), and acting on each finished
// walk by its kind. Shared by tracker.cpp and tracker_walks.cpp only.
#pragma once

#include "actors/watcher/tracker.hpp"

#include <string>

namespace livesync::detail {

using tracker_self = tracker_actor::stateful_pointer<tracker_state>;

/// Starts a walk of `kind` at root-relative `rel`: its root is watched now;
/// advance_walks() hands out the listings.
uint64_t start_walk(tracker_self self, walk_kind kind, const std::string& rel);

/// Acts on the walks that finished, hands queued directories to free
/// walkers, and passes a held flush barrier on once the walks started
/// before it are done. Every handler that may start or advance a walk ends
/// with it.
void advance_walks(tracker_self self);

/// Logs the number of unwatched directories when it changed (not while a
/// scan is trying them again) and keeps the scan deadline set exactly while
/// there are any.
void unwatched_changed(tracker_self self, size_t before);

/// Arms the one resync timer for the earlier of the paced re-walk and the
/// unwatched scan.
void arm_timer(tracker_self self);

} // namespace livesync::detail
