// The sender's pump: planner steps into operations, operations into
// batches within the window, answers into refusals and completed flushes,
// the end of a comparison, and what status and the logs show of it.
#include "actors/watcher/sender_detail.hpp"

#include "core/common/endpoint.hpp"
#include "core/common/path_rules.hpp"

#include <spdlog/spdlog.h>

namespace livesync::sender_detail {

namespace {

/// Planner steps per message, so that a large comparison does not keep the
/// mailbox (peer-down, shutdown) waiting.
constexpr size_t steps_per_pump = 512;

const progress_meter& current_progress(self_ptr self) {
  auto& st = self->state;
  auto& c = st.link->counters();
  // Bytes of the file being streamed count as they go, so a large file
  // shows progress before it is done.
  uint64_t streaming = 0;
  if (st.upload) {
    auto& us = st.upload->stats();
    streaming = us.literal_bytes + us.copied_bytes;
  }
  st.progress.update(c.files - st.progress_files_base,
                     c.literal_bytes + c.copied_bytes + streaming
                       - st.progress_bytes_base,
                     st.planner->stats().checks, st.planner->queued());
  return st.progress;
}

// Progress and counters are logged when work is done and they are due, not
// by timers: an idle node must not wake up (a timer armed during the last
// comparison would fire once more after it). A comparison that stalls
// entirely logs nothing new; `status` still shows where it is.
void maybe_log_progress(self_ptr self) {
  auto& st = self->state;
  if (st.link->state() != phase::reconciling
      || st.cfg.progress_interval.count() <= 0)
    return;
  auto now = self->clock().now();
  if (now - st.progress_logged_at < st.cfg.progress_interval)
    return;
  st.progress_logged_at = now;
  spdlog::info("progress {}", current_progress(self).render(now));
}

void maybe_log_stats(self_ptr self) {
  auto& st = self->state;
  if (st.cfg.stats_interval.count() <= 0)
    return;
  auto now = self->clock().now();
  if (now - st.stats_logged_at < st.cfg.stats_interval)
    return;
  st.stats_logged_at = now;
  log_stats(self);
}

/// The planner or an upload has work under way (besides what the link
/// holds in its batch and window).
bool content_busy(const sender_state& st) {
  return !st.planner->idle() || st.upload || st.chunking
         || st.awaiting_recipe || !st.ahead.empty();
}

void retry_later(self_ptr self, std::string path) {
  if (self->state.link->retry_later(std::move(path)))
    self->delayed_send(self, self->state.cfg.error_retry, atom::resync_v);
}

// Forgets what we believed the reference holds at `path`, and compares it
// again after a pause (a persistent failure must not spin).
void reset_path(self_ptr self, const std::string& path) {
  auto& st = self->state;
  st.recipes.erase(path);
  for (auto& o : st.planner->invalidate(path))
    st.link->append(std::move(o));
  retry_later(self, path);
}

void on_refusals(self_ptr self,
                 const std::vector<link_session::refusal>& refusals) {
  for (auto& r : refusals) {
    auto kind = r.kind_name();
    auto code = to_string(r.code);
    // One failure of a transfer echoes in its later ops: say it once.
    if (r.first_of_path) {
      spdlog::warn("op-failed kind={} path={} reason={} code={}", kind,
                   printable(r.path), r.detail, code);
      self->state.link->note_error(self->clock().now(),
                                   "op-failed kind=" + kind + " path="
                                     + printable(r.path)
                                     + " reason=" + r.detail,
                                   r.code);
    } else {
      spdlog::debug("op-failed kind={} path={} reason={} code={}", kind,
                    printable(r.path), r.detail, code);
    }
    if (r.path.empty())
      continue;
    if (r.fallback)
      spdlog::debug("delta-fallback path={} reason=refused-by-reference "
                    "code={}",
                    printable(r.path), code);
    reset_path(self, r.path);
    // A refused rename (one that would nest paths past the limits, say):
    // the model moved the subtree, the reference did not. A refused link:
    // the reference's source is not what the model believes.
    if (!r.second_path.empty())
      reset_path(self, r.second_path);
  }
}

} // namespace

void execute(self_ptr self, action& a) {
  auto& st = self->state;
  switch (a.kind) {
    case action::send:
      append(self, std::move(a.operation));
      return;
    case action::upload:
      if (st.link->state() == phase::reconciling)
        st.progress.add_total(a.meta.size);
      start_upload(self, a);
      return;
    case action::warn_skipped:
      if (a.reason.empty())
        spdlog::warn("path-skipped path={} reason=not-a-file-directory-or-"
                     "symlink-or-reserved-name",
                     printable(a.path));
      else
        spdlog::warn("path-skipped path={} reason={}", printable(a.path, 300),
                     printable(a.reason));
      return;
    case action::warn_unreadable: {
      auto what = "unreadable-dir path="
                  + printable(a.path.empty() ? "." : a.path);
      spdlog::warn("{} reason=cannot-list-or-search (the reference keeps "
                   "what it holds beneath it; synced once readable)",
                   what);
      ++st.link->counters().unreadable;
      st.link->note_error(self->clock().now(), std::move(what));
      return;
    }
  }
}

namespace {

void maybe_in_sync(self_ptr self) {
  auto& st = self->state;
  if (content_busy(st) || st.planner->root_missing())
    return;
  auto r = st.link->comparison_done(self->clock().now());
  answer_flushes(self, r.flushes);
  switch (r.outcome) {
    case link_session::sync_outcome::not_done:
      return;
    case link_session::sync_outcome::incomplete:
      st.root_missing_logged = false;
      // Compare the whole tree again after a pause (stat only; content
      // only for what still differs).
      spdlog::warn("sync-incomplete failed_ops={} retry_in={}ms reference={}",
                   r.round_errors,
                   std::chrono::duration_cast<std::chrono::milliseconds>(
                     st.cfg.error_retry)
                     .count(),
                   reference_name(st.cfg));
      if (r.arm_retry)
        self->delayed_send(self, st.cfg.error_retry, atom::resync_v);
      return;
    case link_session::sync_outcome::in_sync:
      break;
  }
  st.root_missing_logged = false;
  enter(self); // live
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
              self->clock().now() - st.link->reconcile_start())
              .count();
  auto& c = st.link->counters();
  spdlog::info("in-sync entries={} elapsed_ms={} ops={} files={} "
               "literal_bytes={} copied_bytes={} request_bytes={} "
               "round_trips={} reference={}",
               st.model.size(), ms, c.ops, c.files, c.literal_bytes,
               c.copied_bytes, c.bytes, c.round_trips, reference_name(st.cfg));
}

} // namespace

void log_stats(self_ptr self) {
  auto& st = self->state;
  auto& s = st.link->counters();
  auto& lat = st.link->latency();
  spdlog::info("sender-stats ops={} requests={} request_bytes={} files={} "
               "literal_bytes={} copied_bytes={} payload_bytes={} "
               "round_trips={} fallbacks={} errors={} connects={} "
               "chunked_files={} worker_reads={} "
               "recipes={} recipe_bytes={} queued_checks={} "
               "in_flight_bytes={} latency_samples={} "
               "latency_p50_us={} latency_p99_us={} latency_max_us={} "
               "reference={}",
               s.ops, s.requests, s.bytes, s.files, s.literal_bytes,
               s.copied_bytes, s.payload_bytes, s.round_trips, s.fallbacks,
               s.errors, s.reconnects, s.chunked_files, s.worker_reads,
               st.recipes.size(), st.recipes.bytes(),
               st.planner->queued(), st.link->in_flight_bytes(), lat.count(),
               lat.quantile(0.5).count() / 1000,
               lat.quantile(0.99).count() / 1000, lat.max().count() / 1000,
               reference_name(st.cfg));
}

/// Called from the events that change what status shows (a pump, a link
/// change), never from a timer of its own: the metrics file actor decides
/// whether to write now or soon.
void metrics_changed(self_ptr self) {
  if (self->state.metrics)
    self->send(self->state.metrics, atom::changed_v);
}

void start_progress(self_ptr self) {
  auto& st = self->state;
  auto& c = st.link->counters();
  st.progress.start(self->clock().now());
  st.progress_files_base = c.files;
  st.progress_bytes_base = c.literal_bytes + c.copied_bytes;
  st.progress_logged_at = self->clock().now();
}

void answer_flushes(self_ptr self,
                    const std::vector<link_session::flush_answer>& done) {
  auto& promises = self->state.flush_promises;
  for (auto& a : done) {
    if (auto i = promises.find(a.id); i != promises.end()) {
      i->second.deliver(a.problems);
      promises.erase(i);
    }
  }
}

void send_batch(self_ptr self) {
  auto& st = self->state;
  if (!st.peer)
    return;
  auto out = st.link->take_batch();
  if (!out)
    return;
  maybe_log_stats(self);
  auto seq = out->seq;
  auto epoch = out->epoch;
  auto on_answer = [=](std::vector<op_error>& errors) {
    auto r = self->state.link->acked(seq, epoch, errors, self->clock().now());
    if (!r)
      return;
    on_refusals(self, r->refusals);
    answer_flushes(self, r->flushes);
    pump(self);
  };
  // Any failed request ends the link (and with it the zstd stream: the
  // next connection's hello starts both sides' streams anew).
  std::visit(
    [&](auto& payload) {
      ask<std::vector<op_error>>(self, on_answer, atom::apply_v,
                                 std::move(payload));
    },
    out->payload);
}

void append(self_ptr self, op o) {
  auto& st = self->state;
  if (spdlog::should_log(spdlog::level::debug)) {
    if (o.kind == op_kind::rename || o.kind == op_kind::link)
      spdlog::debug("op-sent kind={} path={} to={}", to_string(o.kind),
                    printable(o.path), printable(o.target));
    else
      spdlog::debug("op-sent kind={} path={} bytes={}", to_string(o.kind),
                    printable(o.path), o.data.size());
  }
  // Keep the recipe cache naming what the reference holds at each path.
  switch (o.kind) {
    case op_kind::rename:
      st.recipes.rename(o.path, o.target);
      break;
    case op_kind::remove:
    case op_kind::mkdir:
    case op_kind::symlink:
    case op_kind::write_file:
    case op_kind::link:
      st.recipes.erase(o.path);
      break;
    default:
      break;
  }
  if (st.link->append(std::move(o)))
    send_batch(self);
}

// A read that did not give a consistent version: look again once the path
// has settled (through the debouncer, so a file still being written does
// not make us spin).
void retry_read(self_ptr self, const std::string& path) {
  auto& st = self->state;
  std::vector<change> again{change::make_dirty(path, change_content)};
  self->send(st.debouncer, std::move(again));
  // A flush barrier of the batch being planned must not pass before this
  // path is sent: it goes back to the debouncer behind it.
  if (auto b = st.link->take_open_barrier(); b > 0)
    self->send(st.debouncer, atom::barrier_v, b);
}

void pump(self_ptr self) {
  auto& st = self->state;
  auto& link = *st.link;
  if (!link.linked())
    return;
  size_t steps = 0;
  while (link.window_open() && !st.awaiting_recipe) {
    if (st.upload) {
      stream_step(self);
      continue;
    }
    if (st.chunking) {
      if (!chunking_step(self))
        break;
      continue;
    }
    bool ahead_first = look_ahead(self);
    if (ahead_first)
      ++st.look_ahead_steps;
    else if (run_ready(self))
      continue;
    if (!ahead_first && (st.planner->idle() || !may_plan(self)))
      break;
    if (++steps > steps_per_pump) {
      if (!st.pump_scheduled) {
        st.pump_scheduled = true;
        self->send(self, atom::pump_v);
      }
      break;
    }
    for (auto& a : st.planner->step())
      plan_or_queue(self, std::move(a));
    if (st.planner->root_missing() && !st.root_missing_logged) {
      st.root_missing_logged = true;
      spdlog::error("root-missing root={} action=nothing-removed (the watched "
                    "root is gone; the reference keeps its copy)",
                    st.cfg.root);
    }
  }
  dispatch_reads(self);
  // A partial batch waits while reads are out: their files join it as
  // they come (a batch per read would cost both nodes a request each).
  if (st.ahead.reads_out() == 0 || !link.window_open())
    send_batch(self);
  maybe_log_progress(self);
  // Every settled batch received so far is planned: its mark waits for
  // the requests sent so far.
  if (!content_busy(st))
    answer_flushes(self, link.planned(self->clock().now()).flushes);
  maybe_in_sync(self);
  // Live, one batch at a time; while comparing, only when a flush waits
  // (its barrier is in the debouncer, and a comparison that keeps failing
  // must not hold it back for ever).
  bool want = link.state() == phase::live
              || (link.state() == phase::reconciling
                  && link.flushes_waiting() > 0);
  if (want && !content_busy(st) && !st.demand_sent) {
    st.demand_sent = true;
    self->send(st.debouncer, atom::demand_v);
  }
  // A large file's recipe is indexed a step at a time, after what this
  // pump sent, so that neither changes nor a stop wait for all of it.
  if (st.recipes.indexing() && st.recipes.index_some()
      && !st.pump_scheduled) {
    st.pump_scheduled = true;
    self->send(self, atom::pump_v);
  }
  metrics_changed(self);
}

std::string reference_name(const sender_config& cfg) {
  return endpoint{cfg.host, cfg.port}.text();
}

watcher_status make_status(self_ptr self) {
  auto& st = self->state;
  auto now = self->clock().now();
  watcher_status out;
  st.link->fill_status(out, now, content_busy(st));
  out.root = st.cfg.root;
  out.reference = reference_name(st.cfg);
  out.tls = st.cfg.tls;
  out.queued_checks = st.planner->queued();
  if (st.link->state() == phase::reconciling)
    out.progress = current_progress(self).render(now);
  return out;
}

} // namespace livesync::sender_detail
