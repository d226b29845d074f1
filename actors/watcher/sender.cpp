// The sender's behaviors, one per phase of its link. What differs between
// them is what a settled batch means and whether a connect timer does
// anything; flush, status, the retry timer and the pump message behave the
// same in every phase (the link_session decides what they do).
#include "actors/watcher/sender.hpp"

#include "actors/watcher/sender_detail.hpp"

#include <spdlog/spdlog.h>


namespace livesync::sender_detail {

namespace {

// -- handlers every phase shares ------------------------------------------------

/// Paths refused earlier go back to the debouncer, to be compared again.
void redirty(self_ptr self, const std::vector<std::string>& paths) {
  if (paths.empty())
    return;
  std::vector<change> again;
  for (auto& p : paths)
    again.push_back(change::make_dirty(p, change_content | change_deep));
  self->send(self->state.debouncer, std::move(again));
}

/// The retry timer: paths refused earlier go back to the debouncer, or a
/// comparison that ended incomplete runs again.
auto on_retry_timer(self_ptr self) {
  return [=](atom::resync) {
    auto& st = self->state;
    auto plan = st.link->retry_fired();
    if (plan.full_check) {
      st.planner->push_full_check();
      pump(self);
      return;
    }
    redirty(self, plan.paths);
  };
}

auto on_pump(self_ptr self) {
  return [=](atom::pump) {
    self->state.pump_scheduled = false;
    pump(self);
  };
}

/// Replies once every change made before it is committed on the reference
/// (or refused): a barrier through the inotify reader and the debouncer.
/// `wait`: also while the link is down (one reference); else a link that
/// is not up answers at once (several: flush reports it, the others go on).
auto on_flush(self_ptr self) {
  return [=](atom::flush, bool wait) -> caf::result<uint64_t> {
    auto& st = self->state;
    if (!wait && !st.link->linked())
      return make_error(ec::unreachable,
                        reference_name(st.cfg) + " is not connected");
    // Each waits for the reference, however long it is away: a local
    // client looping on flush must not grow the watcher without bound.
    if (st.link->flushes_waiting() >= max_pending_flushes) {
      spdlog::warn("flush-refused pending={} max={}",
                   st.link->flushes_waiting(), max_pending_flushes);
      return make_error(ec::limit_exceeded,
                        "too many flushes pending ("
                          + std::to_string(max_pending_flushes)
                          + "); try again when the reference is reachable");
    }
    // Paths waiting to be retried after a refusal are changes made before
    // this flush: they go to the debouncer ahead of the barrier.
    redirty(self, st.link->take_retry_paths());
    std::string why;
    auto id = st.cfg.barriers->next(why);
    if (id == 0) {
      spdlog::error("flush-failed reason={}", why);
      return make_error(ec::io_error, why);
    }
    auto rp = self->make_response_promise<uint64_t>();
    st.link->add_flush(id);
    st.flush_promises.emplace(id, rp);
    if (!st.cfg.barriers->has_reader())
      self->send(st.debouncer, atom::barrier_v, id);
    spdlog::debug("flush-requested id={}", id);
    pump(self); // A comparison that waits for its retry may now demand.
    return rp;
  };
}

auto on_status(self_ptr self) {
  return [=](atom::status) { return make_status(self); };
}

// -- one behavior per phase -----------------------------------------------------

/// No link: settled changes are covered by the comparison after the next
/// connect (their barriers wait for it); the connect timer connects.
sender_actor::behavior_type unconnected(self_ptr self) {
  return {
    [=](settled& batch) {
      self->state.demand_sent = false;
      self->state.link->settled(batch.first_event_ns, batch.barrier);
    },
    [=](atom::connect) { connect(self); },
    on_retry_timer(self), on_pump(self), on_flush(self), on_status(self),
  };
}

/// Connecting (handshake and the reference's digests): our walk may be
/// older than what settles now, so it is held and compared after the
/// reconcile.
sender_actor::behavior_type connecting(self_ptr self) {
  return {
    [=](settled& batch) {
      auto& st = self->state;
      st.demand_sent = false;
      st.link->settled(batch.first_event_ns, batch.barrier);
      for (auto& c : batch.renames)
        st.held.push_back(std::move(c));
      for (auto& c : batch.paths)
        st.held.push_back(std::move(c));
    },
    [=](atom::connect) {
      // A stale timer: the attempt under way decides.
    },
    on_retry_timer(self), on_pump(self), on_flush(self), on_status(self),
  };
}

/// Linked (reconciling or live): settled changes go to the planner; an
/// overflow's rescan turns a live link back into a full comparison.
void plan_settled(self_ptr self, settled& batch) {
  auto& st = self->state;
  st.demand_sent = false;
  st.link->settled(batch.first_event_ns, batch.barrier);
  for (auto& c : batch.renames)
    st.planner->push(c);
  for (auto& c : batch.paths)
    st.planner->push(c);
  if (batch.rescan) {
    st.planner->push_full_check();
    st.link->rescan(self->clock().now());
    enter(self);
    start_progress(self);
  }
  pump(self);
}

/// Comparing the trees after a connect or a rescan; "in-sync" ends it.
sender_actor::behavior_type reconciling(self_ptr self) {
  return {
    [=](settled& batch) { plan_settled(self, batch); },
    [=](atom::connect) {},
    on_retry_timer(self), on_pump(self), on_flush(self), on_status(self),
  };
}

/// In sync: one settled batch at a time, as the debouncer delivers them.
sender_actor::behavior_type live(self_ptr self) {
  return {
    [=](settled& batch) { plan_settled(self, batch); },
    [=](atom::connect) {},
    on_retry_timer(self), on_pump(self), on_flush(self), on_status(self),
  };
}

sender_actor::behavior_type behavior_of(self_ptr self, phase p) {
  switch (p) {
    case phase::connecting: return connecting(self);
    case phase::reconciling: return reconciling(self);
    case phase::live: return live(self);
    case phase::disconnected: break;
  }
  return unconnected(self);
}

} // namespace

void enter(self_ptr self) {
  self->become(behavior_of(self, self->state.link->state()));
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
  link_settings ls;
  ls.window_bytes = st.cfg.window_bytes;
  ls.batch_bytes = st.cfg.batch_bytes;
  ls.batch_ops = st.cfg.batch_ops;
  ls.zstd_level = st.cfg.upload.zstd_level;
  ls.retry_min = st.cfg.retry_min;
  ls.retry_max = st.cfg.retry_max;
  st.link = std::make_unique<link_session>(ls, self->clock().now());
  st.fs = std::make_unique<local_tree>(st.cfg.root);
  st.planner = std::make_unique<sync_planner>(*st.fs, st.model,
                                              st.cfg.excludes.get());
  st.recipes = recipe_cache{st.cfg.recipe_budget_bytes};
  st.ahead = read_ahead{st.cfg.read_ahead_limits};
  st.debouncer = std::move(debouncer);
  if (!st.cfg.barriers)
    st.cfg.barriers = std::make_shared<barrier_signal>();
  st.stats_logged_at = self->clock().now();
  self->set_down_handler([=](const caf::down_msg& msg) {
    if (msg.source == self->state.peer)
      link_lost(self, caf::to_string(msg.reason));
  });
  // The last stats line is written while the state is still alive: CAF
  // 0.17 destroys it before the functors attached to the actor run (one
  // printed queued_checks=18446669571572655113 from freed memory).
  self->set_exit_handler([self](caf::exit_msg& msg) {
    log_stats(self);
    self->quit(msg.reason);
  });
  self->send(self, atom::connect_v);
  return unconnected(self);
}

} // namespace livesync
