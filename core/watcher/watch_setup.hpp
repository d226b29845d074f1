// Adding inotify watches for a directory tree (the kernel side of the
// watcher's watches; decoding events is inotify_decode). The bookkeeping
// itself lives in watch_table / event_interpreter.
#pragma once

#include "core/watcher/event_interpreter.hpp"
#include "core/common/ignore_rules.hpp"
#include "core/watcher/watch_table.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace livesync {

/// The events every directory watch asks for.
uint32_t watch_mask();

/// Result of adding watches for a tree.
struct watch_report {
  size_t added = 0;
  /// One line per directory that could not be watched for a reason other
  /// than the limit, plus one line for all those the limit left out
  /// (naming the sysctl to raise and how).
  std::vector<std::string> errors;
  /// True when the kernel's watch limit was hit.
  bool limit_reached = false;
  /// Root-relative directories the limit left unwatched (ENOSPC, or ENOMEM;
  /// the walk did not go beneath them, so each stands for its subtree),
  /// sorted.
  std::vector<std::string> unwatched;
  /// Root-relative directories the watcher may not read or reach (EACCES,
  /// EPERM: a watch needs read permission), each for its subtree, sorted.
  /// Not errors: the planner warns of them once, and the reference keeps
  /// what it holds there.
  std::vector<std::string> unreadable;
};

/// The line that explains a reached watch limit: how many directories went
/// unwatched, the current fs.inotify.max_user_watches, and the command that
/// raises it.
std::string watch_limit_message(size_t unwatched);

/// Adds (or finds) the watch of root-relative `rel` ("" is the root) with
/// watch_mask(): the wd, or -errno.
int32_t add_watch_at(int inotify_fd, const std::string& root,
                     const std::string& rel);

/// Watches `rel` (root-relative, "" for the root) and every directory
/// beneath it, recording each in `table`. Each directory is watched before
/// it is listed, so a subdirectory created meanwhile is either listed or
/// reported by an event. Never follows symlinks; skips the state folder at
/// the root, directories `excludes` excludes (saving their watches) and
/// those deeper or longer than path_rules allows (never mirrored).
/// Directories that vanish meanwhile are skipped silently. The tracker's
/// walk (watch_walk) driven inline, on the calling thread; the tracker
/// itself lists on walker actors.
watch_report add_watch_tree(int inotify_fd, const std::string& root,
                            const std::string& rel, watch_table& table,
                            const ignore_rules* excludes = nullptr);

} // namespace livesync
