#include "actors/watcher/tracker_walks.hpp"

#include "actors/watcher/walker.hpp"
#include "core/common/path_rules.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace livesync::detail {

namespace {

long long millis(caf::timespan d) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
}

// Logs a walk's error lines. The limit's line (the last one) only when it
// is news: while directories are unwatched, the unwatched-dirs count says
// it.
void log_errors(tracker_self self, const watch_report& report) {
  auto limit_known = !self->state.unwatched.empty();
  for (size_t i = 0; i < report.errors.size(); ++i) {
    auto limit_line = report.limit_reached && i + 1 == report.errors.size();
    if (!limit_line || !limit_known)
      spdlog::error("watch-failed {}", report.errors[i]);
  }
}

void add_faults(tracker_self self, const watch_report& report) {
  auto& st = self->state;
  for (auto& u : report.unwatched)
    st.unwatched.add(u);
  for (auto& u : report.unreadable)
    if (st.unreadable.add(u))
      spdlog::debug("watch-skipped path={} reason=permission-denied",
                    printable(u));
}

// The start-up walk: main waits for its answer before it starts the reader
// and the senders.
void finished_start(tracker_self self, walk_result& r) {
  auto& st = self->state;
  for (auto& line : r.report.errors)
    spdlog::error("watch-failed {}", line);
  if (!r.root_watched) {
    bool denied = !r.report.unreadable.empty();
    std::string why = denied ? "cannot watch the root: permission denied"
                             : "cannot watch the root";
    spdlog::error("watch-failed root={} ({})", st.root, why);
    st.start_reply.deliver(
      make_error(denied ? ec::permission_denied : ec::io_error, why));
    return;
  }
  auto before = st.unwatched.size();
  add_faults(self, r.report);
  spdlog::info("watching root={} directories={} unwatched={} unreadable={} "
               "exclude_patterns={}",
               st.root, r.report.added, r.report.unwatched.size(),
               r.report.unreadable.size(),
               st.excludes ? st.excludes->size() : 0);
  unwatched_changed(self, before);
  st.start_reply.deliver(uint64_t{r.report.added});
}

// After IN_Q_OVERFLOW: the whole tree was walked again, so what is still
// unwatched is exactly what this walk reports. Then the debouncer has
// everything compared.
void finished_rewalk(tracker_self self, walk_result& r) {
  auto& st = self->state;
  for (auto& line : r.report.errors)
    spdlog::error("watch-failed {}", line);
  auto before = st.unwatched.size();
  st.unwatched = subtree_set{};
  st.unreadable = subtree_set{};
  add_faults(self, r.report);
  st.rewalk.finished(self->clock().now());
  spdlog::warn("queue-overflow action=rescan watches={} overflows={} "
               "rescans={} next_pause_ms={}",
               st.table.size(), st.rewalk.overflows(), st.rewalk.rescans(),
               millis(st.rewalk.pause()));
  unwatched_changed(self, before);
  self->send(st.debouncer, atom::resync_v);
}

// Acts on one finished walk; a deep dirty path it calls for goes to `out`.
void finished(tracker_self self, walk_result& r, std::vector<change>& out) {
  auto& st = self->state;
  auto deep = [&] {
    out.push_back(change::make_dirty(r.root, change_content | change_deep));
  };
  switch (r.kind) {
    case walk_kind::start:
      finished_start(self, r);
      break;
    case walk_kind::rewalk:
      finished_rewalk(self, r);
      break;
    case walk_kind::created: {
      auto before = st.unwatched.size();
      log_errors(self, r.report);
      add_faults(self, r.report);
      unwatched_changed(self, before);
      // The directory itself was watched before its creation's dirty path
      // left; whatever beneath it got a watch later is compared now (a
      // file made there before its watch raised no event).
      if (r.report.added > 1)
        deep();
      break;
    }
    case walk_kind::unwatched:
      // Tried again on the scan's timer: quiet (the count tells), and
      // compared whether watched now or not (gone: the sender removes it).
      add_faults(self, r.report);
      deep();
      if (st.scan_open > 0 && --st.scan_open == 0)
        unwatched_changed(self, st.scan_before);
      break;
    case walk_kind::unreadable:
      add_faults(self, r.report);
      if (r.root_watched && !st.unreadable.contains(r.root)) {
        spdlog::debug("watch-added path={} reason=readable-now",
                      printable(r.root));
        deep();
      }
      break;
  }
}

// Hands the queued directories to walkers, at most max_walkers in flight.
void dispatch(tracker_self self) {
  auto& st = self->state;
  auto me = caf::actor_cast<tracker_actor>(self);
  while (st.walkers < st.max_walkers && st.walks.queued() > 0) {
    auto n = walker_batch(st.walks.queued(), st.max_walkers - st.walkers);
    self->spawn(walker, me, st.root, st.walks.next(n));
    ++st.walkers;
  }
}

} // namespace

uint64_t start_walk(tracker_self self, walk_kind kind,
                    const std::string& rel) {
  auto& st = self->state;
  return st.walks.start(kind, rel, st.table);
}

void advance_walks(tracker_self self) {
  auto& st = self->state;
  std::vector<change> out;
  for (auto done = st.walks.take_done(); !done.empty();
       done = st.walks.take_done())
    for (auto& r : done)
      finished(self, r, out);
  if (!out.empty())
    self->send(st.debouncer, std::move(out));
  dispatch(self);
  // After the changes above: the barrier follows them to the debouncer.
  if (st.held_barrier > 0 && st.walks.done_below(st.held_barrier_walks))
    self->send(st.debouncer, atom::barrier_v,
               std::exchange(st.held_barrier, 0));
  arm_timer(self);
}

} // namespace livesync::detail
