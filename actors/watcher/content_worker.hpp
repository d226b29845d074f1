// One of the watcher's content workers: reads small files whole (content,
// hash, state as read) and chunks larger ones (their chunk lists) for the
// senders, so that a sender plans, packs and compresses while its next
// files are read (core/watcher/read_ahead, core/watcher/content_read).
// A fixed pool, spawned by main and shared by every sender; detached, so a
// slow disk blocks a worker's own thread, not the scheduler's. Stateless:
// an idle worker waits on its mailbox and wakes no thread.
#pragma once

#include "messages/actors.hpp"

#include <cstddef>
#include <vector>

namespace livesync {

content_worker_actor::behavior_type content_worker();

/// `n` workers (none for 0: each sender reads its files itself);
/// `detached` false in actor tests (CAF's test coordinator runs them).
std::vector<content_worker_actor>
spawn_content_workers(caf::actor_system& sys, size_t n, bool detached = true);

} // namespace livesync
