// The sender's parts shared between its files: sender.cpp (link, batches,
// the pump) and sender_upload.cpp (turning an upload action into
// operations). Internal to the sender actor; nothing else includes this.
#pragma once

#include "actors/watcher/sender.hpp"

#include <string>

namespace livesync::sender_detail {

using self_ptr = sender_actor::stateful_pointer<sender_state>;

/// Queues one operation for the reference (flushes a full batch).
void append(self_ptr self, op o);

/// Sends the batch queued so far as one request.
void flush(self_ptr self);

/// Looks at `path` again once it has settled (a read was torn).
void retry_read(self_ptr self, const std::string& path);

/// Sends what the window allows; asks for more work when idle.
void pump(self_ptr self);

/// Drops the link and everything in flight; reconnects later.
void link_lost(self_ptr self, const std::string& reason);

/// Starts sending a file the planner asked for: whole if small, else as a
/// delta (after fetching the reference's recipe when none is cached).
void start_upload(self_ptr self, const action& a);

/// Sends the next operation of the file being streamed.
void stream_step(self_ptr self);

} // namespace livesync::sender_detail
