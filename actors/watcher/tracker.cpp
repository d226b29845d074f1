#include "actors/watcher/tracker.hpp"

#include "core/watch_setup.hpp"

#include <spdlog/spdlog.h>

#include <sys/inotify.h>
#include <unistd.h>

namespace livesync {

namespace {

void handle(tracker_actor::stateful_pointer<tracker_state> self,
            interpretation&& x) {
  auto& st = self->state;
  for (auto wd : x.unwatch)
    ::inotify_rm_watch(st.inotify_fd, wd);
  for (auto& dir : x.watch) {
    auto report = add_watch_tree(st.inotify_fd, st.root, dir, st.table,
                                 st.excludes.get());
    for (auto& line : report.errors)
      spdlog::error("watch-failed {}", line);
  }
  if (x.overflow) {
    // Events were lost, among them perhaps the creation of directories that
    // now lack a watch: walk the tree again (an existing watch keeps its wd)
    // before the sender compares everything.
    auto report = add_watch_tree(st.inotify_fd, st.root, "", st.table,
                                 st.excludes.get());
    for (auto& line : report.errors)
      spdlog::error("watch-failed {}", line);
    spdlog::warn("queue-overflow action=rescan watches={}", st.table.size());
    self->send(st.debouncer, atom::resync_v);
  }
  if (!x.changes.empty())
    self->send(st.debouncer, std::move(x.changes));
  if (st.interpreter.has_pending() && !st.tick_armed) {
    st.tick_armed = true;
    self->delayed_send(self, move_pairing_window, atom::tick_v);
  }
}

} // namespace

tracker_actor::behavior_type
tracker(tracker_actor::stateful_pointer<tracker_state> self, int inotify_fd,
        std::string root, watch_table table, debouncer_actor debouncer,
        int stop_fd, std::shared_ptr<const ignore_rules> excludes) {
  auto& st = self->state;
  st.inotify_fd = inotify_fd;
  st.root = std::move(root);
  st.table = std::move(table);
  st.debouncer = std::move(debouncer);
  st.excludes = std::move(excludes);
  if (stop_fd >= 0)
    self->attach_functor([stop_fd] {
      uint64_t one = 1;
      [[maybe_unused]] auto n = ::write(stop_fd, &one, sizeof(one));
    });
  return {
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
    [=](atom::barrier, uint64_t n) {
      // The reader drained the queue: an IN_MOVED_FROM still unpaired has
      // no partner to wait for (both halves are queued by one syscall).
      auto& st = self->state;
      if (st.interpreter.has_pending())
        handle(self, st.interpreter.expire(st.table));
      self->send(st.debouncer, atom::barrier_v, n);
    },
  };
}

} // namespace livesync
