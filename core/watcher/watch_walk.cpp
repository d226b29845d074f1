#include "core/watcher/watch_walk.hpp"

#include "core/common/path_rules.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

namespace livesync {

watch_walks::watch_walks(std::string root, add_watch_fn add_watch,
                         std::shared_ptr<const ignore_rules> excludes)
  : root_(std::move(root)),
    add_watch_(std::move(add_watch)),
    excludes_(std::move(excludes)) {
  // nop
}

bool watch_walks::wanted(const std::string& path) const {
  // Past the depth or length any operation may name: never mirrored (the
  // planner warns), so not watched either. Excluded directories save their
  // watches.
  if (path.empty())
    return true;
  return !invalid_path_reason(path)
         && (!excludes_ || !excludes_->excluded(path, true));
}

uint64_t watch_walks::start(walk_kind kind, const std::string& rel,
                            watch_table& table) {
  auto id = next_id_++;
  auto& w = walks_[id];
  w.kind = kind;
  w.root = rel;
  if (wanted(rel)) {
    int32_t wd = -1;
    bool vanished = false;
    if (watch(w, id, rel, table, &wd, &vanished))
      w.root_wd = wd;
  }
  if (w.outstanding == 0)
    finish(id, table);
  return id;
}

bool watch_walks::watch(open_walk& w, uint64_t id, const std::string& path,
                        watch_table& table, int32_t* wd_out, bool* vanished) {
  auto wd = add_watch_ ? add_watch_(path) : -EBADF;
  if (wd < 0) {
    auto err = -wd;
    if (err == ENOENT || err == ENOTDIR || err == ELOOP) {
      // Gone or replaced meanwhile: its parent's events tell.
      *vanished = true;
    } else if (err == ENOSPC || err == ENOMEM) {
      // The watch limit (or the kernel's memory): one line for all of
      // them when the walk is done, not one per directory.
      w.report.limit_reached = true;
      w.report.unwatched.push_back(path);
    } else if (err == EACCES || err == EPERM) {
      w.report.unreadable.push_back(path);
    } else {
      auto full = path.empty() ? root_ : root_ + "/" + path;
      w.report.errors.push_back("cannot watch " + full + ": "
                                + std::strerror(err));
    }
    return false;
  }
  table.add(wd, path);
  ++w.report.added;
  queue(w, id, wd, path);
  *wd_out = wd;
  return true;
}

void watch_walks::queue(open_walk& w, uint64_t id, int32_t wd,
                        std::string path) {
  queue_.push_back(walk_task{wd, std::move(path), id});
  ++w.outstanding;
}

std::vector<walk_task> watch_walks::next(size_t max) {
  std::vector<walk_task> out;
  while (!queue_.empty() && out.size() < max) {
    out.push_back(std::move(queue_.back()));
    queue_.pop_back();
  }
  return out;
}

void watch_walks::merge(const walk_listing& l, watch_table& table) {
  auto it = walks_.find(l.walk);
  if (it == walks_.end())
    return; // Not a task of ours: nothing to count.
  auto& w = it->second;
  auto now = table.path_of(l.wd);
  if (!now) {
    // Deleted or moved out meanwhile: its watch went with it.
    suspects_.erase(l.wd);
  } else if (*now != l.path) {
    // Renamed while it was listed: the listing may be of whatever took
    // the old name. Listed again under the name the table has now.
    queue(w, l.walk, l.wd, *now);
  } else if (l.error != 0) {
    // The wd stays, the name does not resolve: deleted (its IN_IGNORED is
    // on the way) or renamed by an event not interpreted yet (recheck()).
    if (l.error == ENOENT || l.error == ENOTDIR || l.error == ELOOP)
      suspects_[l.wd] = l.path;
  } else {
    bool vanished = false;
    for (auto& name : l.subdirs) {
      if (l.path.empty() && name == state_folder)
        continue;
      auto child = join_path(l.path, name);
      if (!wanted(child))
        continue;
      int32_t wd = -1;
      watch(w, l.walk, child, table, &wd, &vanished);
    }
    // A subdirectory that vanished by name may mean that this directory
    // was renamed (an event the tracker has not interpreted yet).
    if (vanished)
      suspects_[l.wd] = l.path;
    else
      suspects_.erase(l.wd);
  }
  settle(l.walk, table);
}

void watch_walks::recheck(watch_table& table) {
  if (suspects_.empty())
    return;
  std::vector<std::string> again;
  for (auto i = suspects_.begin(); i != suspects_.end();) {
    auto now = table.path_of(i->first);
    if (now && *now == i->second) {
      ++i;
      continue;
    }
    if (now)
      again.push_back(*now);
    i = suspects_.erase(i);
  }
  for (auto& path : again)
    start(walk_kind::created, path, table);
}

void watch_walks::settle(uint64_t id, const watch_table& table) {
  auto it = walks_.find(id);
  if (it == walks_.end() || --it->second.outstanding > 0)
    return;
  finish(id, table);
}

void watch_walks::finish(uint64_t id, const watch_table& table) {
  auto it = walks_.find(id);
  auto& w = it->second;
  walk_result r;
  r.id = id;
  r.kind = w.kind;
  r.root = std::move(w.root);
  r.root_watched = w.root_wd >= 0;
  if (r.root_watched)
    if (auto now = table.path_of(w.root_wd))
      r.root = *now;
  r.report = std::move(w.report);
  std::sort(r.report.unwatched.begin(), r.report.unwatched.end());
  std::sort(r.report.unreadable.begin(), r.report.unreadable.end());
  if (r.report.limit_reached)
    r.report.errors.push_back(watch_limit_message(r.report.unwatched.size()));
  walks_.erase(it);
  done_.push_back(std::move(r));
}

std::vector<walk_result> watch_walks::take_done() {
  return std::exchange(done_, {});
}

bool watch_walks::done_below(uint64_t id) const noexcept {
  return walks_.empty() || walks_.begin()->first >= id;
}

size_t walker_batch(size_t queued, size_t free_slots) {
  if (queued == 0 || free_slots == 0)
    return 0;
  auto share = (queued + free_slots - 1) / free_slots;
  return std::clamp<size_t>(share, 1, 64);
}

} // namespace livesync
