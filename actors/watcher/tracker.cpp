#include "actors/watcher/tracker.hpp"

#include "actors/watcher/tracker_walks.hpp"
#include "core/common/path_rules.hpp"
#include "core/watcher/watch_setup.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

#include <sys/inotify.h>
#include <unistd.h>

namespace livesync {

namespace detail {

namespace {

long long millis(caf::timespan d) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
}

} // namespace

void unwatched_changed(tracker_self self, size_t before) {
  auto& st = self->state;
  // A scan takes its directories out while it tries them again; it reports
  // once all of them are back or watched.
  if (st.scan_open > 0)
    return;
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

// The single resync timer serves both the paced re-walk and the unwatched
// scan: armed for the earlier deadline, unless a timer for an earlier or
// equal time is already in flight (a later one fires harmlessly).
void arm_timer(tracker_self self) {
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

} // namespace detail

namespace {

using detail::advance_walks;
using detail::start_walk;
using self_ptr = detail::tracker_self;

// Tries the watches of the unreadable directories at or beneath the paths
// of `changes` again (a chmod or chown that makes one readable is an event
// in a directory above it); each one watched now is compared deep when its
// walk is done: nothing beneath it was ever compared.
void retry_unreadable(self_ptr self, const std::vector<change>& changes) {
  auto& st = self->state;
  std::vector<std::string> retry;
  for (auto& c : changes) {
    auto dirs = st.unreadable.within(c.kind == change::rename ? c.to : c.path);
    retry.insert(retry.end(), dirs.begin(), dirs.end());
  }
  for (auto& dir : retry) {
    st.unreadable.remove(dir);
    start_walk(self, walk_kind::unreadable, dir);
  }
}

// Events were lost, among them perhaps the creation of directories that now
// lack a watch: walk the tree again (an existing watch keeps its wd); when
// that walk is done the debouncer is told to have everything compared.
void rewalk(self_ptr self) {
  auto& st = self->state;
  st.rewalk.started(self->clock().now());
  start_walk(self, walk_kind::rewalk, "");
}

// Tries the watches of every unwatched directory again; each is compared
// (stat only) when its walk is done: its changes raise no events.
void scan_unwatched(self_ptr self) {
  auto& st = self->state;
  auto dirs = st.unwatched.list();
  st.scan_before = st.unwatched.size();
  st.scan_open += dirs.size();
  for (auto& dir : dirs) {
    st.unwatched.remove(dir);
    start_walk(self, walk_kind::unwatched, dir);
  }
  ++st.unwatched_scans;
  st.next_unwatched_scan.reset();
  spdlog::debug("unwatched-scan dirs={} scans={}", dirs.size(),
                st.unwatched_scans);
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
  // Each new directory is watched here, before its dirty path leaves; its
  // subdirectories are watched as walkers list it.
  for (auto& dir : x.watch)
    start_walk(self, walk_kind::created, dir);
  // A rename that raced a walk: the directories it moved are walked again.
  st.walks.recheck(st.table);
  detail::unwatched_changed(self, before);
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
  advance_walks(self);
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
  st.max_walkers = std::max<size_t>(cfg.max_walkers, 1);
  st.walks = watch_walks{st.root,
                         [fd = inotify_fd, r = st.root](const std::string& p) {
                           return add_watch_at(fd, r, p);
                         },
                         st.excludes};
  if (stop_fd >= 0)
    self->attach_functor([stop_fd] {
      uint64_t one = 1;
      [[maybe_unused]] auto n = ::write(stop_fd, &one, sizeof(one));
    });
  return {
    [=](atom::watch) -> caf::result<uint64_t> {
      // Answered when the walk is done (detail::advance_walks).
      auto& st = self->state;
      st.start_reply = self->make_response_promise<uint64_t>();
      start_walk(self, walk_kind::start, "");
      auto reply = st.start_reply;
      advance_walks(self);
      return reply;
    },
    [=](atom::listed, std::vector<walk_listing>& listings) {
      auto& st = self->state;
      --st.walkers;
      for (auto& l : listings)
        st.walks.merge(l, st.table);
      advance_walks(self);
    },
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
      advance_walks(self);
    },
    [=](atom::barrier, uint64_t n) {
      // The reader drained the queue: an IN_MOVED_FROM still unpaired has
      // no partner to wait for (both halves are queued by one syscall).
      auto& st = self->state;
      if (st.interpreter.has_pending())
        handle(self, st.interpreter.expire(st.table));
      // Events were lost and the re-walk (with the rescan it asks for) waits
      // for its pause: a flush is an explicit request, so it runs now.
      if (st.rewalk.pending() && !st.rewalk.running())
        rewalk(self);
      // Directories without a watch raise no events: compare them now, so
      // the flush covers them too.
      if (!st.unwatched.empty())
        scan_unwatched(self);
      // The barrier follows what the walks started so far will send (their
      // deep dirty paths, the re-walk's resync): it waits for them.
      st.held_barrier = std::max(st.held_barrier, n);
      st.held_barrier_walks = st.walks.next_id();
      advance_walks(self);
    },
    [=](atom::status) -> uint64_t {
      return self->state.unwatched.size();
    },
  };
}

} // namespace livesync
