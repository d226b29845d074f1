#include "actors/watcher/sender.hpp"

#include "actors/watcher/sender_detail.hpp"

#include "actors/common/request_timeout.hpp"

#include <caf/openssl/manager.hpp>
#include "core/wire/compress.hpp"
#include "core/common/path_rules.hpp"
#include "core/wire/tree_listing.hpp"

#include <spdlog/spdlog.h>

#include <map>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <set>
#include <fcntl.h>
#include <malloc.h>
#include <unistd.h>

namespace livesync::sender_detail {

using phase = sender_state::phase;


/// Planner steps per message, so that a large comparison does not keep the
/// mailbox (peer-down, shutdown) waiting.
constexpr size_t steps_per_pump = 512;

void connect(self_ptr self);

const char* phase_name(phase p) {
  switch (p) {
    case phase::disconnected: return "disconnected";
    case phase::connecting: return "connecting";
    case phase::reconciling: return "reconciling";
    case phase::live: return "live";
  }
  return "?";
}

void log_stats(self_ptr self) {
  auto& s = self->state.stats;
  auto& lat = self->state.latency;
  spdlog::info("sender-stats ops={} requests={} request_bytes={} files={} "
               "literal_bytes={} copied_bytes={} payload_bytes={} "
               "round_trips={} fallbacks={} errors={} connects={} "
               "recipes={} recipe_bytes={} queued_checks={} "
               "in_flight_bytes={} latency_samples={} "
               "latency_p50_us={} latency_p99_us={} latency_max_us={}",
               s.ops, s.requests, s.bytes, s.files, s.literal_bytes,
               s.copied_bytes, s.payload_bytes, s.round_trips, s.fallbacks,
               s.errors, s.reconnects, self->state.recipes.size(),
               self->state.recipes.bytes(), self->state.planner->queued(),
               self->state.in_flight_bytes, lat.count(),
               lat.quantile(0.5).count() / 1000,
               lat.quantile(0.99).count() / 1000, lat.max().count() / 1000);
}

/// What `status` shows may have changed: the metrics file actor decides
/// whether to write now or soon. Called from the events that change it
/// (a pump, a link change), never from a timer of its own.
void metrics_changed(self_ptr self) {
  if (self->state.metrics)
    self->send(self->state.metrics, atom::changed_v);
}

void note_error(self_ptr self, std::string what) {
  self->state.last_error = std::move(what);
  self->state.last_error_at = self->clock().now();
}

// -- flush barriers, latency, progress ----------------------------------------

/// Answers every flush whose barrier is done.
void complete_barrier(self_ptr self, uint64_t id) {
  auto& st = self->state;
  st.barrier_done = std::max(st.barrier_done, id);
  auto done = [&](flush_waiter& w) {
    if (w.id > st.barrier_done)
      return false;
    w.promise.deliver(st.stats.errors - w.errors_before + st.stats.unreadable
                      - w.unreadable_before);
    return true;
  };
  st.flush_waiters.erase(std::remove_if(st.flush_waiters.begin(),
                                        st.flush_waiters.end(), done),
                         st.flush_waiters.end());
}

int64_t now_ns(self_ptr self) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
           self->clock().now().time_since_epoch())
    .count();
}

/// Records what the marks completed: latency samples, a flush barrier.
void marks_done(self_ptr self, const ack_marks::done& d) {
  for (auto ns : d.latency_ns)
    self->state.latency.record(std::chrono::nanoseconds{ns});
  if (d.barrier > 0)
    complete_barrier(self, d.barrier);
}

void start_progress(self_ptr self) {
  auto& st = self->state;
  st.progress.start(self->clock().now());
  st.progress_files_base = st.stats.files;
  st.progress_bytes_base = st.stats.literal_bytes + st.stats.copied_bytes;
  st.progress_logged_at = self->clock().now();
}

const progress_meter& current_progress(self_ptr self) {
  auto& st = self->state;
  // Bytes of the file being streamed count as they go, so a large file
  // shows progress before it is done.
  uint64_t streaming = 0;
  if (st.upload) {
    auto& us = st.upload->stats();
    streaming = us.literal_bytes + us.copied_bytes;
  }
  st.progress.update(st.stats.files - st.progress_files_base,
                     st.stats.literal_bytes + st.stats.copied_bytes
                       + streaming - st.progress_bytes_base,
                     st.planner->stats().checks, st.planner->queued());
  return st.progress;
}

// Progress and counters are logged when work is done and they are due, not
// by timers: an idle node must not wake up (a timer armed during the last
// comparison would fire once more after it). A comparison that stalls
// entirely logs nothing new; `status` still shows where it is.
void maybe_log_progress(self_ptr self) {
  auto& st = self->state;
  if (st.state != phase::reconciling || st.cfg.progress_interval.count() <= 0)
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

// -- link state ---------------------------------------------------------------

/// The pause before the next connection attempt: capped exponential.
caf::timespan next_backoff(const sender_state& st) {
  return st.backoff.count() == 0 ? st.cfg.retry_min
                                 : std::min(st.backoff * 2, st.cfg.retry_max);
}

long long millis(caf::timespan t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t).count();
}

void schedule_connect(self_ptr self) {
  auto& st = self->state;
  st.backoff = next_backoff(st);
  self->delayed_send(self, st.backoff, atom::connect_v);
}

/// Frees what the digest reconcile held (the model has it now).
void drop_digest_state(sender_state& st) {
  bool had_walk = !st.snapshot.empty();
  std::vector<dir_listing>{}.swap(st.snapshot);
  std::vector<dir_listing>{}.swap(st.fetched);
  std::vector<reference_dir>{}.swap(st.reference_dirs);
  st.plan = digest_plan{};
  st.snapshot_ok = false;
  // The walk held about as much as the model (a few MB per 100,000
  // entries), all freed at once: give the pages back rather than let the
  // idle watcher keep them.
  if (had_walk)
    ::malloc_trim(0);
}

void link_lost(self_ptr self, const std::string& reason) {
  auto& st = self->state;
  if (st.state == phase::disconnected)
    return;
  spdlog::warn("peer-lost phase={} reason={} retry_in={}ms",
               phase_name(st.state), reason, millis(next_backoff(st)));
  note_error(self, "peer lost: " + reason);
  ++st.epoch;
  // What was in flight may or may not have been committed: barriers wait
  // for the full comparison after reconnect. Latency samples are dropped.
  st.marks.link_lost();
  if (st.peer)
    self->demonitor(st.peer.address());
  st.peer = nullptr;
  st.state = phase::disconnected;
  st.batch.clear();
  st.batch_bytes = 0;
  st.in_flight_bytes = 0;
  st.in_flight_requests = 0;
  st.upload.reset();
  st.awaiting_recipe = false;
  // Everything queued is covered by the full comparison after reconnect.
  st.planner->clear();
  st.held.clear();
  drop_digest_state(st);
  schedule_connect(self);
  metrics_changed(self);
}

/// Hands the paths waiting for a retry to the debouncer now.
void redirty_retry_paths(self_ptr self) {
  auto& st = self->state;
  if (st.retry_paths.empty())
    return;
  std::vector<change> again;
  for (auto& p : st.retry_paths)
    again.push_back(change::make_dirty(p, change_content | change_deep));
  st.retry_paths.clear();
  self->send(st.debouncer, std::move(again));
}

void redirty_later(self_ptr self, std::string path) {
  auto& st = self->state;
  st.retry_paths.push_back(std::move(path));
  if (!st.retry_armed) {
    st.retry_armed = true;
    self->delayed_send(self, st.cfg.error_retry, atom::resync_v);
  }
}

// -- sending --------------------------------------------------------------------

/// What error replies need of a sent batch: an error names its op by index
/// and carries its path, so keep each op's kind and the second path of a
/// rename (its target) or a link (its source), not a copy of the content.
struct sent_batch {
  std::vector<op_kind> kinds;
  std::map<uint32_t, std::string> second_paths;
};

// Forgets what we believed the reference holds at `path`, and compares it
// again after a pause (a persistent failure must not spin).
void reset_path(self_ptr self, const std::string& path) {
  auto& st = self->state;
  for (auto& o : st.planner->invalidate(path)) {
    st.batch_bytes += wire_size(o);
    st.batch.push_back(std::move(o));
  }
  redirty_later(self, path);
}

void on_reply(self_ptr self, const sent_batch& sent,
              std::vector<op_error>& errors) {
  auto& st = self->state;
  std::set<std::string> warned;
  for (auto& e : errors) {
    ++st.stats.errors;
    if (st.state == phase::reconciling)
      ++st.round_errors;
    auto kind = e.index < sent.kinds.size() ? to_string(sent.kinds[e.index])
                                            : std::string{"?"};
    // One failure of a transfer echoes in its later ops: say it once.
    if (warned.insert(e.path).second) {
      spdlog::warn("op-failed kind={} path={} reason={}", kind,
                   printable(e.path), e.reason);
      note_error(self, "op-failed kind=" + kind + " path="
                         + printable(e.path) + " reason=" + e.reason);
    }
    else
      spdlog::debug("op-failed kind={} path={} reason={}", kind,
                    printable(e.path), e.reason);
    if (e.path.empty())
      continue;
    st.recipes.erase(e.path);
    if (kind == "commit_file" || kind == "copy_range") {
      ++st.stats.fallbacks;
      spdlog::debug("delta-fallback path={} reason=refused-by-reference",
                    printable(e.path));
    }
    reset_path(self, e.path);
    // A refused rename (one that would nest paths past the limits, say):
    // the model moved the subtree, the reference did not. A refused link:
    // the reference's source is not what the model believes.
    if (auto i = sent.second_paths.find(e.index);
        i != sent.second_paths.end())
      reset_path(self, i->second);
  }
}

/// Sends one `apply` request (a packed batch or plain ops); its timeout is
/// cancelled when the answer arrives.
template <class Payload, class OnErrors, class OnFailure>
void request_apply(self_ptr self, Payload payload, OnErrors on_errors,
                   OnFailure on_failure) {
  auto& st = self->state;
  auto rh = self->request(st.peer, st.cfg.request_timeout, atom::apply_v,
                          std::move(payload));
  auto id = rh.id();
  rh.then(
    [=](std::vector<op_error>& errors) {
      forget_request_timeout(self, id);
      on_errors(errors);
    },
    on_failure);
}

void flush(self_ptr self) {
  auto& st = self->state;
  if (st.batch.empty() || !st.peer)
    return;
  auto bytes = st.batch_bytes;
  maybe_log_stats(self);
  st.in_flight_bytes += bytes;
  ++st.in_flight_requests;
  ++st.stats.requests;
  st.stats.bytes += bytes;
  auto epoch = st.epoch;
  auto seq = st.marks.sent();
  auto sent = std::make_shared<sent_batch>();
  sent->kinds.reserve(st.batch.size());
  for (auto& o : st.batch) {
    if (o.kind == op_kind::rename || o.kind == op_kind::link)
      sent->second_paths.emplace(static_cast<uint32_t>(sent->kinds.size()),
                                 o.target);
    sent->kinds.push_back(o.kind);
  }
  auto ops = std::move(st.batch);
  st.batch.clear();
  st.batch_bytes = 0;
  auto on_errors = [=](std::vector<op_error>& errors) {
    auto& st = self->state;
    if (epoch != st.epoch)
      return;
    st.in_flight_bytes -= bytes;
    --st.in_flight_requests;
    if (!errors.empty())
      on_reply(self, *sent, errors);
    ack_marks::done d;
    st.marks.acked(seq, now_ns(self), d);
    marks_done(self, d);
    pump(self);
  };
  // Any failed request ends the link (and with it the zstd stream: the
  // next connection's hello starts both sides' streams anew).
  auto on_failure = [=](caf::error& err) {
    if (epoch != self->state.epoch)
      return;
    link_lost(self, self->system().render(err));
  };
  // The whole batch as the next message of the link's zstd stream: each
  // file is coded against everything sent before it on this link.
  if (st.cfg.upload.zstd_level > 0
      && (!st.packer || st.packer_epoch != st.epoch)) {
    st.packer = std::make_unique<batch_packer>(st.cfg.upload.zstd_level);
    st.packer_epoch = st.epoch;
  }
  packed_batch packed;
  if (st.packer && st.packer->pack(ops, packed)) {
    st.stats.payload_bytes += packed.frame.size();
    request_apply(self, std::move(packed), on_errors, on_failure);
    return;
  }
  // Compression off, or this batch cannot be packed (too large, or the
  // stream failed): as it is.
  for (auto& o : ops)
    st.stats.payload_bytes += o.data.size();
  request_apply(self, std::move(ops), on_errors, on_failure);
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
  ++st.stats.ops;
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
  st.batch_bytes += wire_size(o);
  st.batch.push_back(std::move(o));
  if (st.batch_bytes >= st.cfg.batch_bytes
      || st.batch.size() >= st.cfg.batch_ops)
    flush(self);
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
  if (auto b = st.marks.take_open_barrier(); b > 0)
    self->send(st.debouncer, atom::barrier_v, b);
}

void execute(self_ptr self, action& a) {
  switch (a.kind) {
    case action::send:
      append(self, std::move(a.operation));
      return;
    case action::upload:
      if (self->state.state == phase::reconciling)
        self->state.progress.add_total(a.meta.size);
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
      ++self->state.stats.unreadable;
      note_error(self, std::move(what));
      return;
    }
  }
}

void maybe_in_sync(self_ptr self) {
  auto& st = self->state;
  if (st.state != phase::reconciling || !st.planner->idle() || st.upload
      || st.awaiting_recipe
      || !st.batch.empty() || st.in_flight_requests > 0 || st.recheck_all
      || st.planner->root_missing())
    return;
  st.root_missing_logged = false;
  if (st.round_errors > 0) {
    // Some operations failed: the reference is not identical. Compare the
    // whole tree again after a pause (stat only; content only for what
    // still differs).
    spdlog::warn("sync-incomplete failed_ops={} retry_in={}ms",
                 st.round_errors,
                 millis(st.cfg.error_retry));
    // The comparison covered what barriers lost with the link were for:
    // their flushes end now, reporting the refusals.
    if (auto b = st.marks.take_at_sync(); b > 0)
      complete_barrier(self, b);
    st.round_errors = 0;
    st.recheck_all = true;
    if (!st.retry_armed) {
      st.retry_armed = true;
      self->delayed_send(self, st.cfg.error_retry, atom::resync_v);
    }
    return;
  }
  st.state = phase::live;
  st.ever_in_sync = true;
  st.last_in_sync = self->clock().now();
  if (auto b = st.marks.take_at_sync(); b > 0)
    complete_barrier(self, b);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
              self->clock().now() - st.reconcile_start)
              .count();
  spdlog::info("in-sync entries={} elapsed_ms={} ops={} files={} "
               "literal_bytes={} copied_bytes={} request_bytes={} "
               "round_trips={}",
               st.model.size(), ms, st.stats.ops, st.stats.files,
               st.stats.literal_bytes, st.stats.copied_bytes, st.stats.bytes,
               st.stats.round_trips);
}

void pump(self_ptr self) {
  auto& st = self->state;
  if (st.state != phase::reconciling && st.state != phase::live)
    return;
  size_t steps = 0;
  while (st.in_flight_bytes + st.batch_bytes < st.cfg.window_bytes
         && !st.awaiting_recipe) {
    if (st.upload) {
      stream_step(self);
      continue;
    }
    if (st.planner->idle())
      break;
    if (++steps > steps_per_pump) {
      if (!st.pump_scheduled) {
        st.pump_scheduled = true;
        self->send(self, atom::pump_v);
      }
      break;
    }
    for (auto& a : st.planner->step())
      execute(self, a);
    if (st.planner->root_missing() && !st.root_missing_logged) {
      st.root_missing_logged = true;
      spdlog::error("root-missing root={} action=nothing-removed (the watched "
                    "root is gone; the reference keeps its copy)",
                    st.cfg.root);
    }
  }
  flush(self);
  maybe_log_progress(self);
  if (st.planner->idle() && !st.upload && !st.awaiting_recipe) {
    // Every settled batch received so far is planned: its mark waits for
    // the requests sent so far.
    ack_marks::done d;
    st.marks.planned(now_ns(self), d);
    marks_done(self, d);
  }
  maybe_in_sync(self);
  // Live, one batch at a time; while comparing, only when a flush waits
  // (its barrier is in the debouncer, and a comparison that keeps failing
  // must not hold it back for ever).
  bool want = st.state == phase::live
              || (st.state == phase::reconciling && !st.flush_waiters.empty());
  if (want && st.planner->idle() && !st.upload
      && !st.awaiting_recipe && !st.demand_sent) {
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

// -- connecting -----------------------------------------------------------------

/// The comparison is set up (model and planner): run it. Changes settled
/// while connecting are compared after it.
void begin_reconcile(self_ptr self) {
  auto& st = self->state;
  for (auto& c : st.held)
    st.planner->push(c);
  st.held.clear();
  st.state = phase::reconciling;
  st.round_errors = 0;
  st.recheck_all = false;
  st.backoff = caf::timespan{0};
  start_progress(self);
  pump(self);
}

/// The reference's whole manifest and a full comparison: when our own
/// walk failed (the root cannot be read), as before digests.
void start_reconcile(self_ptr self, std::vector<manifest_entry>& entries) {
  auto& st = self->state;
  st.reconcile_start = self->clock().now();
  st.model.reset(entries);
  st.planner->clear();
  st.planner->push_full_check();
  spdlog::info("reconcile-start reference_entries={}", entries.size());
  begin_reconcile(self);
}

void fail_request(self_ptr self, uint64_t epoch, caf::error& err) {
  if (epoch == self->state.epoch)
    link_lost(self, self->system().render(err));
}

void request_manifest(self_ptr self) {
  auto epoch = self->state.epoch;
  auto rh = self->request(self->state.peer, self->state.cfg.request_timeout,
                          atom::manifest_v);
  auto id = rh.id();
  rh.then(
      [=](std::vector<manifest_entry>& entries) {
        forget_request_timeout(self, id);
        if (epoch == self->state.epoch)
          start_reconcile(self, entries);
      },
      [=](caf::error& err) { fail_request(self, epoch, err); });
}

/// Every listing is here: the model is the reference's tree, and the
/// planner compares the directories whose digests differ.
void finish_digest_reconcile(self_ptr self) {
  auto& st = self->state;
  auto t0 = self->clock().now();
  build_model(st.model, st.reference_dirs, st.plan, st.snapshot, st.fetched);
  st.planner->clear();
  for (auto& dir : st.plan.check)
    st.planner->push_listing_check(dir);
  auto now = self->clock().now();
  auto ms = [](auto d) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
  };
  // digest_ms: from the hello's answer until here (both walks, the
  // digests, the listings); walk_ms: our own walk, part of it.
  spdlog::info("reconcile-start reference_entries={} reference_dirs={} "
               "matched_dirs={} listed_dirs={} compared_dirs={} "
               "digest_ms={} walk_ms={} model_ms={}",
               st.model.size(), st.reference_dirs.size(),
               st.reference_dirs.size() - st.plan.fetch.size(),
               st.plan.fetch.size(), st.plan.check.size(),
               ms(now - st.reconcile_start), ms(st.walk_time), ms(now - t0));
  drop_digest_state(st);
  begin_reconcile(self);
}

/// Asks for the listings of plan.fetch from `from` on, a bounded number
/// per request, one request at a time.
void fetch_listings(self_ptr self, size_t from) {
  auto& st = self->state;
  if (from >= st.plan.fetch.size()) {
    finish_digest_reconcile(self);
    return;
  }
  auto n = std::min(max_listing_dirs, st.plan.fetch.size() - from);
  std::vector<std::string> asked(st.plan.fetch.begin() + from,
                                 st.plan.fetch.begin() + from + n);
  auto epoch = st.epoch;
  auto rh = self->request(st.peer, st.cfg.request_timeout, atom::listings_v,
                          asked);
  auto id = rh.id();
  rh.then(
      [=](std::vector<dir_listing>& got) {
        forget_request_timeout(self, id);
        auto& st = self->state;
        if (epoch != st.epoch)
          return;
        std::string why;
        if (!check_fetched(asked, got, why)) {
          link_lost(self, "bad listings from the reference: " + why);
          return;
        }
        // A prefix when the reply reached its byte bound: the rest next.
        auto received = got.size();
        for (auto& d : got)
          st.fetched.push_back(std::move(d));
        fetch_listings(self, from + received);
      },
      [=](caf::error& err) { fail_request(self, epoch, err); });
}

void on_digests(self_ptr self, std::vector<dir_digest>& digests) {
  auto& st = self->state;
  if (!st.snapshot_ok) {
    // Our walk failed: compare everything against the whole manifest.
    drop_digest_state(st);
    request_manifest(self);
    return;
  }
  std::string why;
  if (!expand_digest_list(digests, st.reference_dirs, why)) {
    link_lost(self, "bad digest list from the reference: " + why);
    return;
  }
  st.plan = plan_by_digests(st.reference_dirs, st.snapshot);
  st.fetched.clear();
  fetch_listings(self, 0);
}

/// Walks the watched tree into st.snapshot (while the reference walks its
/// own). Changes from now on are held and compared after the reconcile.
void take_snapshot(self_ptr self) {
  auto& st = self->state;
  st.snapshot.clear();
  st.snapshot_ok = false;
  int fd = ::open(st.cfg.root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    spdlog::warn("walk-failed root={} reason={}", st.cfg.root,
                 std::strerror(errno));
    return;
  }
  walk_options opts;
  opts.excludes = st.cfg.excludes.get();
  auto t0 = self->clock().now();
  auto s = walk_listings(fd, opts, st.snapshot);
  st.walk_time = self->clock().now() - t0;
  ::close(fd);
  if (!s) {
    spdlog::warn("walk-failed root={} reason={}", st.cfg.root, s.reason());
    st.snapshot.clear();
    return;
  }
  st.snapshot_ok = true;
  st.planner->note_links(st.snapshot);
}

void handshake(self_ptr self) {
  auto& st = self->state;
  auto epoch = st.epoch;
  auto hello = self->request(st.peer, st.cfg.request_timeout, atom::hello_v,
                             protocol_version, st.cfg.identity);
  auto hello_id = hello.id();
  hello.then(
      [=](uint32_t) {
        forget_request_timeout(self, hello_id);
        auto& st = self->state;
        if (epoch != st.epoch)
          return;
        st.reconcile_start = self->clock().now();
        auto rh = self->request(st.peer, st.cfg.request_timeout,
                                atom::dir_digests_v);
        auto id = rh.id();
        rh.then(
            [=](std::vector<dir_digest>& digests) {
              forget_request_timeout(self, id);
              if (epoch == self->state.epoch)
                on_digests(self, digests);
            },
            [=](caf::error& err) { fail_request(self, epoch, err); });
        // The request is out: the reference walks its tree while we walk
        // ours.
        take_snapshot(self);
      },
      [=](caf::error& err) { fail_request(self, epoch, err); });
}

/// The reference answered the connect: the link is this actor.
void adopt_peer(self_ptr self, receiver_actor peer) {
  auto& st = self->state;
  st.peer = std::move(peer);
  self->monitor(st.peer);
  spdlog::info("{} host={} port={} tls={}",
               st.stats.reconnects++ > 0 ? "peer-reconnected"
                                         : "peer-connected",
               st.cfg.host, st.cfg.port, st.cfg.tls);
  if (!st.cfg.tls)
    spdlog::warn("insecure-link when=connection detail=plain TCP, "
                 "neither encrypted nor authenticated");
  handshake(self);
}

void connect_failed(self_ptr self, const std::string& reason) {
  auto& st = self->state;
  spdlog::warn("connect-failed host={} port={} reason={} retry_in={}ms",
               st.cfg.host, st.cfg.port, reason, millis(next_backoff(st)));
  note_error(self, "connect failed: " + reason);
  st.state = phase::disconnected;
  schedule_connect(self);
  metrics_changed(self);
}

void connect(self_ptr self) {
  auto& st = self->state;
  if (st.state != phase::disconnected)
    return;
  st.state = phase::connecting;
  metrics_changed(self);
  if (st.cfg.local_peer) {
    // An actor test: the reference lives in this actor system.
    if (auto peer = st.cfg.local_peer())
      adopt_peer(self, std::move(peer));
    else
      connect_failed(self, "no local reference");
    return;
  }
  auto mm = st.cfg.tls ? self->system().openssl_manager().actor_handle()
                       : self->system().middleman().actor_handle();
  auto rh = self->request(mm, st.cfg.request_timeout, caf::connect_atom::value,
                          st.cfg.host, st.cfg.port);
  auto id = rh.id();
  rh.then(
      [=](const caf::node_id&, caf::strong_actor_ptr& ptr,
          const std::set<std::string>& ifs) {
        forget_request_timeout(self, id);
        auto& st = self->state;
        if (!ptr || !self->system().assignable<receiver_actor>(ifs)) {
          st.state = phase::connecting; // link_lost needs a live phase
          link_lost(self, "peer is not a livesync reference");
          return;
        }
        adopt_peer(self, caf::actor_cast<receiver_actor>(std::move(ptr)));
      },
      [=](caf::error& err) {
        connect_failed(self, self->system().render(err));
      });
}

// -- status -------------------------------------------------------------------

watcher_status make_status(self_ptr self) {
  auto& st = self->state;
  auto now = self->clock().now();
  auto secs = [&](std::chrono::steady_clock::time_point t) {
    return static_cast<int64_t>(
      std::chrono::duration_cast<std::chrono::seconds>(now - t).count());
  };
  watcher_status out;
  bool busy = !st.planner->idle() || st.upload || st.awaiting_recipe
              || !st.batch.empty() || st.in_flight_requests > 0;
  switch (st.state) {
    case phase::disconnected: out.state = "disconnected"; break;
    case phase::connecting: out.state = "connecting"; break;
    case phase::reconciling: out.state = "syncing"; break;
    case phase::live: out.state = busy ? "syncing" : "in-sync"; break;
  }
  out.root = st.cfg.root;
  out.reference = st.cfg.host + ":" + std::to_string(st.cfg.port);
  out.tls = st.cfg.tls;
  out.uptime_s = secs(st.started_at);
  out.since_in_sync_s = st.ever_in_sync ? secs(st.last_in_sync) : -1;
  out.queued_checks = st.planner->queued();
  out.in_flight_bytes = st.in_flight_bytes;
  out.last_error = st.last_error;
  out.last_error_age_s = st.last_error.empty() ? -1 : secs(st.last_error_at);
  out.counters = st.stats;
  // Connections after the first.
  out.counters.reconnects = st.stats.reconnects > 0 ? st.stats.reconnects - 1
                                                    : 0;
  auto us = [](std::chrono::nanoseconds d) {
    return static_cast<uint64_t>(d.count() / 1000);
  };
  out.latency_samples = st.latency.count();
  out.latency_p50_us = us(st.latency.quantile(0.50));
  out.latency_p90_us = us(st.latency.quantile(0.90));
  out.latency_p99_us = us(st.latency.quantile(0.99));
  out.latency_max_us = us(st.latency.max());
  out.latency_buckets = st.latency.export_cumulative();
  out.latency_sum_ns = st.latency.sum_ns();
  if (st.state == phase::reconciling)
    out.progress = current_progress(self).render(now);
  return out;
}

} // namespace livesync::sender_detail

namespace livesync {

using namespace sender_detail;

sender_actor::behavior_type
sender(sender_actor::stateful_pointer<sender_state> self, sender_config cfg,
       debouncer_actor debouncer, watcher_metrics_actor metrics) {
  auto& st = self->state;
  st.metrics = std::move(metrics);
  st.cfg = std::move(cfg);
  st.fs = std::make_unique<local_tree>(st.cfg.root);
  st.planner = std::make_unique<sync_planner>(*st.fs, st.model,
                                              st.cfg.excludes.get());
  st.recipes = recipe_cache{st.cfg.recipe_budget_bytes};
  st.debouncer = std::move(debouncer);
  st.started_at = self->clock().now();
  st.stats_logged_at = st.started_at;
  self->set_down_handler([=](const caf::down_msg& msg) {
    if (msg.source == self->state.peer)
      link_lost(self, caf::to_string(msg.reason));
  });
  self->attach_functor([self](const caf::error&) { log_stats(self); });
  self->send(self, atom::connect_v);
  return {
    [=](settled& batch) {
      auto& st = self->state;
      st.demand_sent = false;
      if (st.state != phase::live && st.state != phase::reconciling) {
        // The comparison after reconnect covers these paths, except when
        // it compares a walk that may be older than them: while
        // connecting, they are held and compared after it.
        st.marks.settled_unlinked(batch.barrier);
        if (st.state == phase::connecting) {
          for (auto& c : batch.renames)
            st.held.push_back(std::move(c));
          for (auto& c : batch.paths)
            st.held.push_back(std::move(c));
        }
        return;
      }
      st.marks.settled(batch.first_event_ns, batch.barrier);
      for (auto& c : batch.renames)
        st.planner->push(c);
      for (auto& c : batch.paths)
        st.planner->push(c);
      if (batch.rescan) {
        st.planner->push_full_check();
        st.state = phase::reconciling;
        st.reconcile_start = self->clock().now();
        start_progress(self);
      }
      pump(self);
    },
    [=](atom::connect) { connect(self); },
    [=](atom::resync) {
      auto& st = self->state;
      st.retry_armed = false;
      if (st.recheck_all) {
        st.recheck_all = false;
        st.retry_paths.clear();
        if (st.state == phase::reconciling) {
          st.planner->push_full_check();
          pump(self);
          return;
        }
      }
      redirty_retry_paths(self);
    },
    [=](atom::pump) {
      self->state.pump_scheduled = false;
      pump(self);
    },
    [=](atom::flush) -> caf::result<uint64_t> {
      auto& st = self->state;
      // Each waits for the reference, however long it is away: a local
      // client looping on flush must not grow the watcher without bound.
      if (st.flush_waiters.size() >= max_pending_flushes) {
        spdlog::warn("flush-refused pending={} max={}",
                     st.flush_waiters.size(), max_pending_flushes);
        return caf::make_error(caf::sec::runtime_error,
                               "too many flushes pending ("
                                 + std::to_string(max_pending_flushes)
                                 + "); try again when the reference is "
                                   "reachable");
      }
      // Paths waiting to be retried after a refusal are changes made
      // before this flush: they go to the debouncer ahead of the barrier.
      redirty_retry_paths(self);
      auto rp = self->make_response_promise<uint64_t>();
      if (st.cfg.barrier_fd >= 0) {
        uint64_t one = 1;
        if (::write(st.cfg.barrier_fd, &one, sizeof one)
            != static_cast<ssize_t>(sizeof one)) {
          auto why = std::string{"cannot signal the inotify reader: "}
                     + std::strerror(errno);
          spdlog::error("flush-failed reason={}", why);
          rp.deliver(caf::make_error(caf::sec::runtime_error, why));
          return rp;
        }
      }
      auto id = ++st.flush_requested;
      st.flush_waiters.push_back(
        flush_waiter{id, st.stats.errors, st.stats.unreadable, rp});
      if (st.cfg.barrier_fd < 0) {
        self->send(st.debouncer, atom::barrier_v, id);
      }
      spdlog::debug("flush-requested id={}", id);
      pump(self); // A comparison that waits for its retry may now demand.
      return rp;
    },
    [=](atom::status) { return make_status(self); },
  };
}

} // namespace livesync
