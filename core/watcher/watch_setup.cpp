#include "core/watcher/watch_setup.hpp"

#include "core/watcher/subdir_listing.hpp"
#include "core/watcher/watch_walk.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <sys/inotify.h>
#include <sys/stat.h>

namespace livesync {

uint32_t watch_mask() {
  return IN_CREATE | IN_DELETE | IN_MODIFY | IN_CLOSE_WRITE | IN_ATTRIB
         | IN_MOVED_FROM | IN_MOVED_TO | IN_DELETE_SELF | IN_MOVE_SELF
         | IN_ONLYDIR | IN_DONT_FOLLOW | IN_EXCL_UNLINK;
}

int32_t add_watch_at(int inotify_fd, const std::string& root,
                     const std::string& rel) {
  auto full = rel.empty() ? root : root + "/" + rel;
  auto wd = ::inotify_add_watch(inotify_fd, full.c_str(), watch_mask());
  return wd >= 0 ? wd : -errno;
}

watch_report add_watch_tree(int inotify_fd, const std::string& root,
                            const std::string& rel, watch_table& table,
                            const ignore_rules* excludes) {
  // The tracker's walk, driven inline: list each directory as soon as it
  // is watched, here rather than on a walker actor.
  std::shared_ptr<const ignore_rules> rules{std::shared_ptr<void>{},
                                            excludes};
  watch_walks walks{
    root,
    [&](const std::string& p) { return add_watch_at(inotify_fd, root, p); },
    excludes != nullptr ? rules : nullptr};
  walks.start(walk_kind::start, rel, table);
  while (walks.queued() > 0)
    for (auto& task : walks.next(64)) {
      walk_listing l{task.wd, task.path, task.walk, 0, {}};
      l.subdirs = list_subdirs(task.path.empty() ? root
                                                 : root + "/" + task.path,
                               l.error);
      walks.merge(l, table);
    }
  auto done = walks.take_done();
  return done.empty() ? watch_report{} : std::move(done.front().report);
}

std::string watch_limit_message(size_t unwatched) {
  // The limit counts the watches of every inotify user of this uid, so the
  // advice is a generous multiple, not "just enough".
  long long limit = 0;
  if (auto* f = std::fopen("/proc/sys/fs/inotify/max_user_watches", "r")) {
    if (std::fscanf(f, "%lld", &limit) != 1)
      limit = 0;
    std::fclose(f);
  }
  auto suggested = std::max<long long>(limit * 2, 524288);
  return "inotify watch limit reached (fs.inotify.max_user_watches="
         + (limit > 0 ? std::to_string(limit) : std::string{"?"}) + "): "
         + std::to_string(unwatched)
         + " directories (with their subtrees) are not watched and are "
           "mirrored by a periodic scan instead (--unwatched-scan-interval); "
           "raise the limit: sysctl -w fs.inotify.max_user_watches="
         + std::to_string(suggested)
         + " (persist it in /etc/sysctl.d/), then restart the watcher or "
           "wait for the next scan to add the watches";
}

} // namespace livesync
