#include "core/watcher/sync_planner.hpp"

#include "core/common/path_rules.hpp"

#include <algorithm>

namespace livesync {

namespace {

/// Queue flag of push_listing_check (never set on changes from outside).
constexpr uint8_t listing_only = 0x80;
/// Queue flag of a check of another name of a changed file (hard links):
/// it does not look at the names of its own inode again.
constexpr uint8_t via_link = 0x40;

op make_op(op_kind kind, const std::string& path, const entry_meta& meta = {}) {
  op o;
  o.kind = kind;
  o.path = path;
  o.mode = meta.mode;
  o.mtime_ns = meta.mtime_ns;
  o.size = meta.size;
  return o;
}

} // namespace

sync_planner::sync_planner(const fs_view& fs, tree_model& model,
                           const ignore_rules* excludes)
  : fs_(fs), model_(model), excludes_(excludes) {
  // nop
}

void sync_planner::push(const change& c) {
  queue_.push_back(c);
}

void sync_planner::push_full_check() {
  queue_.push_back(change::make_dirty("", change_content | change_deep));
}

void sync_planner::push_listing_check(const std::string& dir) {
  queue_.push_back(change::make_dirty(dir, listing_only));
}

void sync_planner::clear() {
  queue_.clear();
}

std::vector<action> sync_planner::step() {
  std::vector<action> out;
  if (queue_.empty())
    return out;
  auto c = std::move(queue_.front());
  queue_.pop_front();
  if (c.kind == change::rename)
    replay_rename(c.path, c.to, out);
  else
    check(c.path, c.flags, out);
  return out;
}

void sync_planner::uploaded(const std::string& path, const entry_meta& meta) {
  model_.set(path, meta);
}

void sync_planner::upload_failed(const std::string& path) {
  queue_.push_front(change::make_dirty(path, change_content));
}

std::vector<op> sync_planner::invalidate(const std::string& path) {
  std::vector<op> out;
  if (path.empty())
    return out;
  model_.erase(path);
  out.push_back(make_op(op_kind::remove, path));
  return out;
}

void sync_planner::emit(op o, std::vector<action>& out) {
  action a;
  a.kind = action::send;
  a.operation = std::move(o);
  out.push_back(std::move(a));
}

void sync_planner::warn_once(const std::string& path,
                             std::vector<action>& out, std::string reason) {
  if (!warned_.insert(path).second)
    return;
  action a;
  a.kind = action::warn_skipped;
  a.path = path;
  a.reason = std::move(reason);
  out.push_back(std::move(a));
}

void sync_planner::note_unreadable(const std::string& dir,
                                   std::vector<action>& out) {
  // Nothing new when an entry above covers it. Warned once per path: a
  // directory that can be listed but not searched leaves the set at each
  // listing and comes back with its first child.
  if (!unreadable_.add(dir) || !warned_.insert(dir).second)
    return;
  action a;
  a.kind = action::warn_unreadable;
  a.path = dir;
  out.push_back(std::move(a));
}

bool sync_planner::was_unreadable(const std::string& dir) {
  if (unreadable_.empty())
    return false;
  bool self = false;
  // Deepest last, so that the queue's front is in order.
  auto dirs = unreadable_.within(dir);
  for (auto i = dirs.rbegin(); i != dirs.rend(); ++i) {
    if (*i == dir)
      self = true;
    else
      queue_.push_front(change::make_dirty(*i, change_content | change_deep));
  }
  return self;
}

void sync_planner::push_children(const std::string& dir, uint8_t flags,
                                 std::vector<action>& out) {
  std::vector<std::string> names;
  if (!fs_.list(dir, names)) {
    // Names we cannot see are not deletions: leave the reference's copy
    // of this subtree alone (rsync skips deletions after an I/O error).
    note_unreadable(dir, out);
    return;
  }
  if (!unreadable_.empty())
    unreadable_.remove(dir);
  // Both what is on disk and what the reference holds: names only in the
  // model are checked too, which removes them.
  if (auto* n = model_.find(dir))
    model_.for_each_child(*n, [&](std::string_view name, auto&) {
      names.emplace_back(name);
    });
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  // Push in reverse so the front of the queue is in sorted order: depth
  // first, parents before children.
  for (auto i = names.rbegin(); i != names.rend(); ++i)
    queue_.push_front(change::make_dirty(join_path(dir, *i), flags));
}

void sync_planner::check(const std::string& path, uint8_t flags,
                         std::vector<action>& out) {
  ++stats_.checks;
  if (flags & listing_only) {
    if (auto* n = model_.find(path); n != nullptr && n->meta.kind == entry_kind::dir)
      push_children(path, change_content, out);
    return;
  }
  if (path.empty()) {
    // The root always exists on both sides and is never removed.
    if ((flags & change_deep) || was_unreadable(path))
      push_children(path, change_content | change_deep, out);
    return;
  }
  if (is_within(path, state_folder)) {
    warn_once(std::string{state_folder}, out);
    return;
  }
  if (auto bad = invalid_path_reason(path)) {
    // Deeper or longer than the reference accepts: never sent, and what
    // the reference may hold there is left alone. The rest syncs.
    warn_once(path, out, *bad);
    return;
  }
  auto now = fs_.stat(path);
  auto* node = model_.find(path);
  if (excludes_ != nullptr && !excludes_->empty()) {
    bool is_dir = now.meta.kind == entry_kind::dir
                  || (now.meta.kind == entry_kind::none && node != nullptr
                      && node->meta.kind == entry_kind::dir);
    if (excludes_->excluded(path, is_dir)) {
      ++stats_.excluded;
      return;
    }
  }
  if (now.unknown) {
    // Neither present nor absent. Mostly its parent lacks the search bit,
    // and a chmod of the parent is what makes it visible: note the parent.
    note_unreadable(std::string{parent_of(path)}, out);
    return;
  }
  bool present = now.meta.kind != entry_kind::none || now.unsupported;
  if (present) {
    auto* parent = model_.find(parent_of(path));
    if (parent == nullptr) {
      // The parent is not mirrored yet: mirror it, which includes us.
      queue_.push_front(
        change::make_dirty(std::string{parent_of(path)},
                           change_content | change_deep));
      return;
    }
    if (parent->meta.kind != entry_kind::dir)
      return; // Seen through a parent that is not a directory: not ours.
  }
  if (now.unsupported) {
    warn_once(path, out);
    now.meta.kind = entry_kind::none;
  }
  if (now.meta.kind == entry_kind::none) {
    if (node != nullptr && fs_.stat("").meta.kind != entry_kind::dir) {
      // Everything looks deleted because the root itself is gone: never
      // mirror that as a mass removal.
      ++stats_.root_missing;
      root_missing_ = true;
      queue_.clear();
      return;
    }
    root_missing_ = false;
    if (!links_.empty())
      links_.forget(path);
    if (node != nullptr) {
      emit(make_op(op_kind::remove, path), out);
      model_.erase(path);
    }
    return;
  }
  if (node != nullptr && node->meta.kind == entry_kind::dir
      && now.meta.kind != entry_kind::dir) {
    emit(make_op(op_kind::remove, path), out);
    model_.erase(path);
    node = nullptr;
  }
  switch (now.meta.kind) {
    case entry_kind::dir:
      check_dir(path, now, node, flags, out);
      return;
    case entry_kind::symlink: {
      if (node != nullptr && node->meta.kind == entry_kind::symlink
          && node->meta.target == now.meta.target)
        return;
      auto o = make_op(op_kind::symlink, path, now.meta);
      o.target = now.meta.target;
      emit(std::move(o), out);
      model_.set(path, now.meta);
      return;
    }
    case entry_kind::file: {
      if (now.nlink > 1)
        links_.note(path, now.inode, now.nlink);
      else if (!links_.empty())
        links_.forget(path);
      if (node != nullptr && node->meta.kind == entry_kind::file) {
        auto& was = node->meta;
        bool same_content = was.size == now.meta.size
                            && was.mtime_ns == now.meta.mtime_ns;
        // IN_ATTRIB alone (chmod, touch) never changes content.
        bool attr_only = flags == change_attr && was.size == now.meta.size;
        if (same_content || attr_only) {
          if (was.mode != now.meta.mode || was.mtime_ns != now.meta.mtime_ns) {
            auto o = make_op(op_kind::set_attr, path, now.meta);
            o.offset = now.nlink;
            emit(std::move(o), out);
            model_.set(path, now.meta);
            check_other_names(path, flags);
          }
          return;
        }
      }
      if (auto source = mirrored_name_of_inode(path, now)) {
        // Another name of this inode is on the reference with this very
        // content: a link there, and no byte of content on the wire.
        auto o = make_op(op_kind::link, path, now.meta);
        o.target = std::move(*source);
        emit(std::move(o), out);
        model_.set(path, now.meta);
        check_other_names(path, flags);
        return;
      }
      action a;
      a.kind = action::upload;
      a.path = path;
      a.meta = now.meta;
      a.linked = now.nlink > 1;
      out.push_back(std::move(a));
      check_other_names(path, flags);
      return;
    }
    default:
      return;
  }
}

void sync_planner::check_other_names(const std::string& path, uint8_t flags) {
  if (links_.empty() || (flags & via_link))
    return;
  // Inotify named only this one; the others hold the same new state.
  for (auto& other : links_.others(path))
    queue_.push_back(change::make_dirty(other, change_content | via_link));
}

std::optional<std::string>
sync_planner::mirrored_name_of_inode(const std::string& path,
                                    const fs_stat& now) const {
  if (now.nlink < 2 || links_.empty())
    return std::nullopt;
  for (auto& other : links_.others(path)) {
    auto* n = model_.find(other);
    if (n == nullptr || n->meta.kind != entry_kind::file
        || n->meta.size != now.meta.size
        || n->meta.mtime_ns != now.meta.mtime_ns)
      continue;
    // The index may be a step behind the tree (the other name replaced and
    // not yet checked): the name must still be this inode.
    auto there = fs_.stat(other);
    if (there.meta.kind == entry_kind::file && there.inode == now.inode)
      return other;
  }
  return std::nullopt;
}

void sync_planner::note_links(const std::vector<dir_listing>& walk) {
  for (auto& d : walk)
    for (auto& e : d.entries)
      if (e.linked_inode != 0)
        links_.note(join_path(d.path, e.name), e.linked_inode, 2);
}

void sync_planner::check_dir(const std::string& path, const fs_stat& now,
                             const tree_model::node* node, uint8_t flags,
                             std::vector<action>& out) {
  if (node != nullptr && node->meta.kind != entry_kind::dir) {
    // A file or symlink became a directory: mkdir replaces it on the
    // reference, and the model must not treat it as a directory already.
    model_.erase(path);
    node = nullptr;
  }
  if (node == nullptr) {
    emit(make_op(op_kind::mkdir, path, now.meta), out);
    model_.set(path, now.meta);
    push_children(path, change_content | change_deep, out);
    return;
  }
  if (node->meta.mode != now.meta.mode) {
    emit(make_op(op_kind::set_attr, path, now.meta), out);
    model_.set(path, now.meta);
  }
  if ((flags & change_deep) || was_unreadable(path))
    push_children(path, change_content | change_deep, out);
}

void sync_planner::replay_rename(const std::string& from, const std::string& to,
                                 std::vector<action>& out) {
  auto* node = model_.find(from);
  auto* to_parent = model_.find(parent_of(to));
  if (node == nullptr || to_parent == nullptr
      || to_parent->meta.kind != entry_kind::dir || is_within(to, from)
      || invalid_path_reason(to) || invalid_path_reason(from)) {
    // The reference does not hold the source (it was never sent, or the
    // rename target is not mirrored): compare both ends instead.
    ++stats_.renames_degraded;
    queue_.push_front(change::make_dirty(to, change_content | change_deep));
    queue_.push_front(change::make_dirty(from, change_content));
    return;
  }
  // rename(2) cannot replace a non-empty directory, nor a directory by a
  // non-directory. Locally the rename succeeded, so whatever the reference
  // has at the target is gone here: remove it first.
  // Nor can it put a directory where a non-directory is.
  if (auto* existing = model_.find(to);
      existing != nullptr
      && ((existing->meta.kind == entry_kind::dir
           && (node->meta.kind != entry_kind::dir
               || model_.has_children(*existing)))
          || (existing->meta.kind != entry_kind::dir
              && node->meta.kind == entry_kind::dir))) {
    emit(make_op(op_kind::remove, to), out);
    model_.erase(to);
  }
  auto o = make_op(op_kind::rename, from);
  o.target = to;
  emit(std::move(o), out);
  model_.rename(from, to);
  unreadable_.rename(from, to);
  links_.rename(from, to);
  ++stats_.renames_replayed;
}

} // namespace livesync
