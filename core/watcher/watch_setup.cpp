#include "core/watcher/watch_setup.hpp"

#include "core/common/path_rules.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <dirent.h>
#include <sys/inotify.h>
#include <sys/stat.h>

namespace livesync {

uint32_t watch_mask() {
  return IN_CREATE | IN_DELETE | IN_MODIFY | IN_CLOSE_WRITE | IN_ATTRIB
         | IN_MOVED_FROM | IN_MOVED_TO | IN_DELETE_SELF | IN_MOVE_SELF
         | IN_ONLYDIR | IN_DONT_FOLLOW | IN_EXCL_UNLINK;
}

watch_report add_watch_tree(int inotify_fd, const std::string& root,
                            const std::string& rel, watch_table& table,
                            const ignore_rules* excludes) {
  watch_report report;
  std::vector<std::string> todo;
  bool nameable = rel.empty() || !invalid_path_reason(rel);
  if (nameable
      && (rel.empty() || excludes == nullptr || !excludes->excluded(rel, true)))
    todo.push_back(rel);
  while (!todo.empty()) {
    auto dir = std::move(todo.back());
    todo.pop_back();
    auto full = dir.empty() ? root : root + "/" + dir;
    auto wd = ::inotify_add_watch(inotify_fd, full.c_str(), watch_mask());
    if (wd < 0) {
      auto err = errno;
      if (err == ENOENT || err == ENOTDIR || err == ELOOP)
        continue; // Gone or replaced meanwhile: its parent's events tell.
      // ENOSPC is the watch limit (ENOMEM the kernel's memory): one line
      // for all of them below, not one per directory.
      if (err == ENOSPC || err == ENOMEM) {
        report.limit_reached = true;
        report.unwatched.push_back(dir);
      } else if (err == EACCES || err == EPERM) {
        report.unreadable.push_back(dir);
      } else {
        report.errors.push_back("cannot watch " + full + ": "
                                + std::strerror(err));
      }
      continue;
    }
    table.add(wd, dir);
    ++report.added;
    auto* d = ::opendir(full.c_str());
    if (d == nullptr)
      continue;
    while (auto* e = ::readdir(d)) {
      std::string_view name{e->d_name};
      if (name == "." || name == "..")
        continue;
      if (dir.empty() && name == state_folder)
        continue;
      bool is_dir = e->d_type == DT_DIR;
      if (e->d_type == DT_UNKNOWN) {
        struct stat st;
        auto child = full + "/" + std::string{name};
        is_dir = ::lstat(child.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
      }
      if (!is_dir)
        continue;
      auto child = join_path(dir, name);
      // Past the depth or length any operation may name: never mirrored
      // (the planner warns), so not watched either.
      if (invalid_path_reason(child))
        continue;
      if (excludes == nullptr || !excludes->excluded(child, true))
        todo.push_back(std::move(child));
    }
    ::closedir(d);
  }
  std::sort(report.unwatched.begin(), report.unwatched.end());
  std::sort(report.unreadable.begin(), report.unreadable.end());
  if (report.limit_reached)
    report.errors.push_back(watch_limit_message(report.unwatched.size()));
  return report;
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
