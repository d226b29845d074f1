#include "actors/watcher/tracker.hpp"

#include "core/common/path_rules.hpp"
#include "core/watcher/watch_setup.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

#include <sys/inotify.h>
#include <unistd.h>

namespace livesync {

namespace {

using self_ptr = tracker_actor::stateful_pointer<tracker_state>;

long long millis(caf::timespan d) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
}

// Logs the number of unwatched directories whenever it changed, and keeps
// the scan timer's deadline set exactly while there are any.
void unwatched_changed(self_ptr self, size_t before) {
  auto& st = self->state;
  auto n = st.unwatched.size();
  if (n == 0) {
    st.next_unwatched_scan.reset();
  } else if (!st.next_unwatched_scan) {
    st.next_unwatched_scan = self->clock().now() + st.unwatched_scan_interval;
  }
  if (n == before)
    return;
  if (n == 0) {
    spdlog::info("unwatched-dirs count=0 (every directory is watched again)");
    return;
  }
  auto dirs = st.unwatched.list();
  std::string first;
  for (size_t i = 0; i < dirs.size() && i < 5; ++i)
    first += (i ? "," : "") + printable(dirs[i].empty() ? "." : dirs[i], 200);
  spdlog::warn("unwatched-dirs count={} scan_interval_ms={} first={}{} "
               "(inotify watch limit; these subtrees are compared by a "
               "periodic stat-only scan)",
               n, millis(st.unwatched_scan_interval), first,
               dirs.size() > 5 ? ",..." : "");
}

// Watches `dir` and its subtree; what the limit leaves out is added to
// `unwatched`. Errors are logged unless `quiet` (the periodic retries would
// repeat the same line every interval); the limit's line only when it is
// news (while directories are unwatched, the unwatched-dirs count says it).
void watch_tree(self_ptr self, const std::string& dir, bool quiet) {
  auto& st = self->state;
  auto limit_known = !st.unwatched.empty();
  auto report = add_watch_tree(st.inotify_fd, st.root, dir, st.table,
                               st.excludes.get());
  for (size_t i = 0; i < report.errors.size() && !quiet; ++i) {
    // The limit's line is the last one (watch_report).
    auto limit_line = report.limit_reached && i + 1 == report.errors.size();
    if (!limit_line || !limit_known)
      spdlog::error("watch-failed {}", report.errors[i]);
  }
  for (auto& u : report.unwatched)
    st.unwatched.add(u);
  for (auto& u : report.unreadable)
    if (st.unreadable.add(u))
      spdlog::debug("watch-skipped path={} reason=permission-denied",
                    printable(u));
}

// Tries the watches of the unreadable directories at or beneath the paths
// of `changes` again (a chmod or chown that makes one readable is an event
// in a directory above it), and adds a deep dirty path for each one that is
// watched now: nothing beneath it was ever compared.
void retry_unreadable(self_ptr self, std::vector<change>& changes) {
  auto& st = self->state;
  std::vector<std::string> retry;
  for (auto& c : changes) {
    auto dirs = st.unreadable.within(c.kind == change::rename ? c.to : c.path);
    retry.insert(retry.end(), dirs.begin(), dirs.end());
  }
  for (auto& dir : retry) {
    st.unreadable.remove(dir);
    watch_tree(self, dir, true);
    if (!st.unreadable.contains(dir)) {
      spdlog::debug("watch-added path={} reason=readable-now", printable(dir));
      changes.push_back(change::make_dirty(dir, change_content | change_deep));
    }
  }
}

// The single resync timer serves both the paced re-walk and the unwatched
// scan: armed for the earlier deadline, unless a timer for an earlier or
// equal time is already in flight (a later one fires harmlessly).
void arm_timer(self_ptr self) {
  auto& st = self->state;
  std::optional<caf::actor_clock::time_point> due = st.rewalk.next_due();
  if (st.next_unwatched_scan && (!due || *st.next_unwatched_scan < *due))
    due = st.next_unwatched_scan;
  if (!due || (st.resync_at && *st.resync_at <= *due))
    return;
  auto now = self->clock().now();
  auto at = std::max(*due, now);
  st.resync_at = at;
  self->delayed_send(self, at - now, atom::resync_v);
}

// Events were lost, among them perhaps the creation of directories that now
// lack a watch: walk the tree again (an existing watch keeps its wd), then
// have the sender compare everything (the debouncer paces that too).
void rewalk(self_ptr self) {
  auto& st = self->state;
  auto now = self->clock().now();
  st.rewalk.started(now);
  auto before = st.unwatched.size();
  // The whole tree is walked, so what is still unwatched is exactly what
  // this walk reports.
  auto report = add_watch_tree(st.inotify_fd, st.root, "", st.table,
                               st.excludes.get());
  for (auto& line : report.errors)
    spdlog::error("watch-failed {}", line);
  st.unwatched = subtree_set{};
  for (auto& u : report.unwatched)
    st.unwatched.add(u);
  st.unreadable = subtree_set{};
  for (auto& u : report.unreadable)
    st.unreadable.add(u);
  st.rewalk.finished(self->clock().now());
  spdlog::warn("queue-overflow action=rescan watches={} overflows={} "
               "rescans={} next_pause_ms={}",
               st.table.size(), st.rewalk.overflows(), st.rewalk.rescans(),
               millis(st.rewalk.pause()));
  unwatched_changed(self, before);
  self->send(st.debouncer, atom::resync_v);
}

// Tries the watches of every unwatched directory again and has each one
// compared (stat only): its changes raise no events.
void scan_unwatched(self_ptr self) {
  auto& st = self->state;
  auto before = st.unwatched.size();
  std::vector<change> again;
  for (auto& dir : st.unwatched.list()) {
    st.unwatched.remove(dir);
    // Gone meanwhile: dropped, and the dirty path lets the sender remove it.
    watch_tree(self, dir, true);
    again.push_back(change::make_dirty(dir, change_content | change_deep));
  }
  ++st.unwatched_scans;
  st.next_unwatched_scan.reset();
  unwatched_changed(self, before);
  spdlog::debug("unwatched-scan dirs={} still_unwatched={} scans={}",
                again.size(), st.unwatched.size(), st.unwatched_scans);
  if (!again.empty())
    self->send(st.debouncer, std::move(again));
}

// The start-up walk: every directory watched before the reply, so that
// main starts the senders (whose first comparison relies on the watches)
// only then. A reached limit is one line naming the sysctl; the directories
// it left out are mirrored by the periodic scan.
caf::result<uint64_t> watch_all(self_ptr self) {
  auto& st = self->state;
  auto report = add_watch_tree(st.inotify_fd, st.root, "", st.table,
                               st.excludes.get());
  for (auto& line : report.errors)
    spdlog::error("watch-failed {}", line);
  if (!st.table.wd_of("")) {
    std::string why = report.unreadable.empty()
                        ? "cannot watch the root"
                        : "cannot watch the root: permission denied";
    spdlog::error("watch-failed root={} ({})", st.root, why);
    return caf::make_error(caf::sec::runtime_error, std::move(why));
  }
  auto before = st.unwatched.size();
  for (auto& u : report.unwatched)
    st.unwatched.add(u);
  for (auto& u : report.unreadable)
    st.unreadable.add(u);
  spdlog::info("watching root={} directories={} unwatched={} unreadable={} "
               "exclude_patterns={}",
               st.root, report.added, report.unwatched.size(),
               report.unreadable.size(), st.excludes ? st.excludes->size() : 0);
  unwatched_changed(self, before);
  arm_timer(self);
  return uint64_t{report.added};
}

void handle(self_ptr self, interpretation&& x) {
  auto& st = self->state;
  for (auto wd : x.unwatch)
    ::inotify_rm_watch(st.inotify_fd, wd);
  auto before = st.unwatched.size();
  for (auto& c : x.changes)
    if (c.kind == change::rename) {
      if (!st.unwatched.empty())
        st.unwatched.rename(c.path, c.to);
      if (!st.unreadable.empty())
        st.unreadable.rename(c.path, c.to);
    }
  if (!st.unreadable.empty())
    retry_unreadable(self, x.changes);
  for (auto& dir : x.watch)
    watch_tree(self, dir, false);
  unwatched_changed(self, before);
  if (x.overflow) {
    auto now = self->clock().now();
    st.rewalk.overflow(now);
    if (st.rewalk.due(now))
      rewalk(self);
    else
      spdlog::debug("queue-overflow action=coalesced overflows={}",
                    st.rewalk.overflows());
  }
  if (!x.changes.empty())
    self->send(st.debouncer, std::move(x.changes));
  if (st.interpreter.has_pending() && !st.tick_armed) {
    st.tick_armed = true;
    self->delayed_send(self, move_pairing_window, atom::tick_v);
  }
  arm_timer(self);
}

} // namespace

tracker_actor::behavior_type
tracker(tracker_actor::stateful_pointer<tracker_state> self, int inotify_fd,
        std::string root, debouncer_actor debouncer, int stop_fd,
        std::shared_ptr<const ignore_rules> excludes, tracker_config cfg) {
  auto& st = self->state;
  st.inotify_fd = inotify_fd;
  st.root = std::move(root);
  st.debouncer = std::move(debouncer);
  st.excludes = std::move(excludes);
  st.unwatched_scan_interval = cfg.unwatched_scan_interval;
  st.rewalk = rescan_backoff{cfg.rewalk};
  if (stop_fd >= 0)
    self->attach_functor([stop_fd] {
      uint64_t one = 1;
      [[maybe_unused]] auto n = ::write(stop_fd, &one, sizeof(one));
    });
  return {
    [=](atom::watch) -> caf::result<uint64_t> { return watch_all(self); },
    [=](atom::events, const std::vector<inotify_record>& records) {
      auto& st = self->state;
      handle(self, st.interpreter.feed(records, st.table));
    },
    [=](atom::tick) {
      auto& st = self->state;
      st.tick_armed = false;
      if (st.interpreter.has_pending())
        handle(self, st.interpreter.expire(st.table));
    },
    [=](atom::resync) {
      auto& st = self->state;
      auto now = self->clock().now();
      if (st.resync_at && *st.resync_at <= now)
        st.resync_at.reset();
      if (st.rewalk.due(now))
        rewalk(self);
      if (st.next_unwatched_scan && *st.next_unwatched_scan <= now)
        scan_unwatched(self);
      arm_timer(self);
    },
    [=](atom::barrier, uint64_t n) {
      // The reader drained the queue: an IN_MOVED_FROM still unpaired has
      // no partner to wait for (both halves are queued by one syscall).
      auto& st = self->state;
      if (st.interpreter.has_pending())
        handle(self, st.interpreter.expire(st.table));
      // Events were lost and the re-walk (with the rescan it asks for) waits
      // for its pause: a flush is an explicit request, so it runs now, and
      // the debouncer then holds the barrier until that rescan starts.
      if (st.rewalk.pending() && !st.rewalk.running())
        rewalk(self);
      // Directories without a watch raise no events: compare them now, so
      // the flush covers them too.
      if (!st.unwatched.empty()) {
        scan_unwatched(self);
        arm_timer(self);
      }
      self->send(st.debouncer, atom::barrier_v, n);
    },
    [=](atom::status) -> uint64_t {
      return self->state.unwatched.size();
    },
  };
}

} // namespace livesync
