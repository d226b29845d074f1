// The sender's parts shared between its files. Internal to the sender
// actor; nothing else includes this. The layers call downwards only, with
// one exception: the pump runs uploads, and an upload queues operations
// through the pump's append/send_batch.
//
//   sender.cpp         behaviors per phase; enter() switches them
//   sender_link.cpp    connect, handshake, digest reconcile, link loss
//   sender_pump.cpp    planner steps into batches, answers, status
//   sender_upload.cpp  a file's content into operations
//   sender_read_ahead.cpp  files read or chunked on the content workers
#pragma once

#include "actors/watcher/sender.hpp"

#include "actors/common/request_timeout.hpp"

#include <caf/error.hpp>

#include <string>

namespace livesync::sender_detail {

using self_ptr = sender_actor::stateful_pointer<sender_state>;
using phase = link_session::phase;

// -- sender.cpp ---------------------------------------------------------------

/// Switches to the behavior of the link's current phase.
void enter(self_ptr self);

// -- sender_link.cpp ------------------------------------------------------------

/// Starts a connection attempt (unconnected only).
void connect(self_ptr self);

/// Drops the link and everything in flight; reconnects later.
void link_lost(self_ptr self, const std::string& reason);

/// Sends a request to the reference on the current link. `on_reply` runs
/// only while that link lasts; a failure ends it (ask) or goes to
/// `on_error` (ask_or). Either way the request's timeout is forgotten
/// once answered (request_timeout.hpp says why).
template <class Reply, class OnReply, class OnError, class... Ts>
void ask_or(self_ptr self, OnReply on_reply, OnError on_error, Ts&&... xs) {
  auto epoch = self->state.link->epoch();
  auto rh = self->request(self->state.peer, self->state.cfg.request_timeout,
                          std::forward<Ts>(xs)...);
  auto id = rh.id();
  rh.then(
    [=](Reply& reply) mutable {
      forget_request_timeout(self, id);
      if (self->state.link->current(epoch))
        on_reply(reply);
    },
    [=](caf::error& err) mutable {
      if (self->state.link->current(epoch))
        on_error(err);
    });
}

template <class Reply, class OnReply, class... Ts>
void ask(self_ptr self, OnReply on_reply, Ts&&... xs) {
  ask_or<Reply>(
    self, std::move(on_reply),
    [self](caf::error& err) { link_lost(self, self->system().render(err)); },
    std::forward<Ts>(xs)...);
}

// -- sender_pump.cpp ------------------------------------------------------------

/// Does what the planner asked (an upload, an operation, a warning).
void execute(self_ptr self, action& a);

/// Sends what the window allows; asks for more work when idle.
void pump(self_ptr self);

/// Queues one operation for the reference (sends a full batch).
void append(self_ptr self, op o);

/// Sends the batch queued so far as one request.
void send_batch(self_ptr self);

/// Looks at `path` again once it has settled (a read was torn).
void retry_read(self_ptr self, const std::string& path);

/// Answers the flushes whose barriers are done.
void answer_flushes(self_ptr self,
                    const std::vector<link_session::flush_answer>& done);

/// What `status` shows may have changed: tells the metrics file actor.
void metrics_changed(self_ptr self);

/// A comparison starts: progress counts from here.
void start_progress(self_ptr self);

/// Logs the counters (periodically while busy, and at exit).
void log_stats(self_ptr self);

watcher_status make_status(self_ptr self);

/// "host:port" of the reference, as status and errors name it.
std::string reference_name(const sender_config& cfg);

// -- sender_upload.cpp ----------------------------------------------------------

/// Starts sending a file the planner asked for: whole if small, else as a
/// delta (after fetching the reference's recipe when none is cached),
/// from the content and chunk list of `ahead` when a content worker read
/// and chunked it.
void start_upload(self_ptr self, const action& a,
                  std::shared_ptr<content_read> ahead = nullptr);

/// Sends the next operation of the file being streamed.
void stream_step(self_ptr self);

/// Sends a small file whole, with its content read ahead by a worker (or,
/// when `read` is null, read now).
void send_small_file(self_ptr self, const action& a,
                     std::shared_ptr<content_read> read);

/// The small file `a` in the version the planner saw: another sender's
/// read of it (several references), else our own, read now. With
/// `cached_only`, null when some of it would wait for the disk (a read
/// for a worker).
std::shared_ptr<content_read> read_small_file(self_ptr self, const action& a,
                                            bool cached_only);

/// Offers our read of `path` to the other senders (several references).
void share_read(self_ptr self, const std::string& path, const content_read& r);

/// What to do with a file that could not be read as a consistent version
/// (looks again, or says why not); true when `r` is ok.
bool readable(self_ptr self, const std::string& path, read_outcome r,
              const std::string& reason);

// -- sender_read_ahead.cpp -------------------------------------------------------

/// Runs the planner's actions, or queues them behind the reads out;
/// an upload of a small file goes to a content worker when there are any.
void plan_or_queue(self_ptr self, action a);

/// Whether the pump may step the planner now (the read-ahead has room and
/// nothing it holds must be done first).
bool may_plan(self_ptr self);

/// Whether the pump should plan further before it runs the front action:
/// a larger file the sender streams itself, with the planner's next
/// actions still to be handed to the workers (a few, see
/// sender_config::stream_look_ahead).
bool look_ahead(self_ptr self);

/// Runs the actions at the front of the read-ahead whose reads are done;
/// true when one ran.
bool run_ready(self_ptr self);

/// Hands the reads queued so far to a worker.
void dispatch_reads(self_ptr self);

// -- sender_chunking.cpp ----------------------------------------------------------

/// Several references: streams a large file from the chunk list shared by
/// the senders (chunked here or by another sender) against `base`.
void begin_shared_upload(self_ptr self, const std::string& path,
                         const recipe* base);

/// Chunks a slice of the file for every sender, or asks again for the
/// list it waits for; false when the pump should stop for now.
bool chunking_step(self_ptr self);

} // namespace livesync::sender_detail
