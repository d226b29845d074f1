// The sender's read-ahead (core/watcher/read_ahead): small files are read,
// and larger ones queued behind other work are chunked, on the content
// workers while the planner goes on, and every action still runs in the
// planner's order. Without workers, actions run as they come.
#include "actors/watcher/sender_detail.hpp"

#include "core/common/path_rules.hpp"

#include <spdlog/spdlog.h>

namespace livesync::sender_detail {

namespace {

bool reads_ahead(const sender_state& st, const action& a) {
  return !st.cfg.content_workers.empty() && a.kind == action::upload
         && a.meta.size <= st.cfg.small_file_bytes;
}

// An upload above the small size, with workers that may chunk it (with
// several references the senders share one chunking of each file instead,
// core/watcher/chunk_list_cache).
bool larger_for_workers(const sender_state& st, const action& a) {
  return !st.cfg.content_workers.empty() && !st.cfg.shared_chunks
         && a.kind == action::upload && a.meta.size > st.cfg.small_file_bytes;
}

// A larger file that would wait behind other work anyway: a worker chunks
// it meanwhile (not one at the front: the sender streams that at once,
// chunking as it goes).
bool chunks_ahead(const sender_state& st, const action& a) {
  return larger_for_workers(st, a)
         && a.meta.size <= st.cfg.scan_ahead_max_bytes && !st.ahead.empty()
         && st.ahead.has_room_for_scan(a.meta.size);
}

// A larger file the sender chunks itself as it streams it: before it
// starts, it plans a little further (look_ahead), so that the workers read
// and chunk the next files while it streams this one.
bool streams_itself(const sender_state& st, const action& a) {
  return larger_for_workers(st, a) && st.cfg.stream_look_ahead > 0;
}

// Queues `a` behind the reads out, with its file chunked on a worker, in a
// message of its own (small reads batched with it would wait for it).
void chunk_soon(self_ptr self, action a) {
  auto& st = self->state;
  if (st.link->state() == phase::reconciling)
    st.progress.add_total(a.meta.size);
  auto r = std::make_shared<content_read>();
  r->path = a.path;
  r->full_path = st.fs->full_path(a.path);
  r->chunking = st.cfg.upload.chunking;
  r->max_bytes = st.cfg.scan_ahead_max_bytes;
  dispatch_reads(self);
  st.unsent_ids.push_back(st.ahead.push_read(std::move(a), r));
  st.unsent_reads.push_back(std::move(r));
  dispatch_reads(self);
}

// Reads `a`'s file now if the page cache holds it (or another sender has
// read this version), else queues its read for a worker (dispatch_reads
// sends them, several to a message).
void read_soon(self_ptr self, action a) {
  auto& st = self->state;
  if (st.link->state() == phase::reconciling)
    st.progress.add_total(a.meta.size);
  if (st.cfg.cached_reads_inline)
    if (auto r = read_small_file(self, a, true)) {
      // At once when nothing waits before it.
      if (st.ahead.empty())
        send_small_file(self, a, std::move(r));
      else
        st.ahead.push_read(std::move(a), std::move(r), true);
      return;
    }
  auto r = std::make_shared<content_read>();
  r->path = a.path;
  r->full_path = st.fs->full_path(a.path);
  r->max_bytes = st.cfg.small_file_bytes;
  st.unsent_ids.push_back(st.ahead.push_read(std::move(a), r));
  st.unsent_reads.push_back(std::move(r));
  if (st.unsent_reads.size() >= st.cfg.reads_per_message)
    dispatch_reads(self);
}

} // namespace

// The worker's answer (or its failure) marks the reads done and pumps; an
// answer for a link that is gone finds no read to mark
// (read_ahead::clear).
void dispatch_reads(self_ptr self) {
  auto& st = self->state;
  if (st.unsent_reads.empty())
    return;
  auto& workers = st.cfg.content_workers;
  auto pick = st.worker_load.pick(workers.size());
  auto worker = workers[pick];
  auto ids = std::move(st.unsent_ids);
  auto reads = std::move(st.unsent_reads);
  st.unsent_ids.clear();
  st.unsent_reads.clear();
  self->request(worker, caf::infinite, atom::read_v, reads)
    .then(
      [=](content_reads& done) {
        auto& st = self->state;
        st.worker_load.done(pick);
        bool any = false;
        for (size_t i = 0; i < ids.size(); ++i)
          if (st.ahead.done(ids[i])) {
            any = true;
            ++st.link->counters().worker_reads;
            if (!done[i]->chunks())
              share_read(self, done[i]->path, *done[i]);
            else
              spdlog::debug("chunked-ahead path={} chunks={}",
                            printable(done[i]->path),
                            done[i]->list ? done[i]->list->chunks.size() : 0);
          }
        if (any)
          pump(self);
      },
      [=](caf::error& err) {
        // The worker failed (not the reads): the sender reads these files
        // itself when their turn comes.
        self->state.worker_load.done(pick);
        spdlog::warn("content-worker-failed reads={} detail={}", ids.size(),
                     self->system().render(err));
        bool any = false;
        for (size_t i = 0; i < ids.size(); ++i) {
          reads[i]->worker_failed = true;
          any |= self->state.ahead.done(ids[i]);
        }
        if (any)
          pump(self);
      });
}

void plan_or_queue(self_ptr self, action a) {
  auto& st = self->state;
  if (reads_ahead(st, a)) {
    read_soon(self, std::move(a));
    return;
  }
  if (chunks_ahead(st, a)) {
    chunk_soon(self, std::move(a));
    return;
  }
  if (st.ahead.empty() && !streams_itself(st, a)) {
    execute(self, a);
    return;
  }
  st.ahead.push(std::move(a));
}

bool look_ahead(self_ptr self) {
  auto& st = self->state;
  auto* front = st.ahead.peek_plain();
  // Bounded in actions queued and in planner steps (a walk over files that
  // need nothing plans many steps and queues nothing).
  return front != nullptr && streams_itself(st, *front)
         && st.ahead.size() <= st.cfg.stream_look_ahead
         && st.look_ahead_steps < 4 * st.cfg.stream_look_ahead
         && !st.planner->idle() && may_plan(self);
}

bool may_plan(self_ptr self) {
  auto& st = self->state;
  if (st.ahead.empty())
    return true;
  return st.ahead.has_room_for(st.cfg.small_file_bytes)
         && st.ahead.may_plan_past(st.planner->next());
}

bool run_ready(self_ptr self) {
  auto& st = self->state;
  auto r = st.ahead.pop_ready();
  if (!r)
    return false;
  st.look_ahead_steps = 0;
  if (!r->read) {
    // The workers get what the look-ahead planned before this file
    // streams (possibly for the rest of this pump).
    if (r->a.kind == action::upload)
      dispatch_reads(self);
    execute(self, r->a);
  } else if (!r->read->chunks()) {
    if (r->read->worker_failed)
      r->read.reset(); // Read here.
    send_small_file(self, r->a, std::move(r->read));
  } else if (r->read->worker_failed || r->read->outcome == read_outcome::ok) {
    // Sent from the worker's content, or (the worker failed) read here.
    start_upload(self, r->a, std::move(r->read));
  } else {
    // Gone, changed (still being written, or grown past the bound) or
    // unreadable: as after any read of ours (a file being written is
    // looked at again once it settles, not read again at once).
    readable(self, r->a.path, r->read->outcome, r->read->reason);
  }
  return true;
}

} // namespace livesync::sender_detail
