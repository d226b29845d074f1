#include "core/watcher/event_interpreter.hpp"

#include "core/common/path_rules.hpp"

#include <algorithm>
#include <optional>

#include <sys/inotify.h>

namespace livesync {

namespace {

bool has(uint32_t mask, uint32_t bits) {
  return (mask & bits) != 0;
}

/// The state folder is only special at the root: "sub/.livesync" is an
/// ordinary name and is mirrored.
bool ignored_name(const std::string& dir, const std::string& name) {
  return dir.empty() && name == state_folder;
}

/// The root-relative path an event names, or nothing when the event must be
/// ignored (unknown wd, state folder).
std::optional<std::string> path_of(const inotify_record& ev,
                                   const watch_table& table) {
  auto dir = table.path_of(ev.wd);
  if (!dir || ignored_name(*dir, ev.name))
    return std::nullopt;
  return join_path(*dir, ev.name);
}

/// A path that appeared (created or moved in from outside): a directory
/// needs its whole subtree compared and a watch of its own. A file moved in
/// (`complete`) is whole already; a file just created is about to be
/// written.
void appeared(const std::string& path, bool is_dir, bool complete,
              interpretation& out) {
  if (is_dir) {
    out.changes.push_back(
      change::make_dirty(path, change_content | change_deep));
    out.watch.push_back(path);
  } else {
    out.changes.push_back(change::make_dirty(
      path, complete ? change_content | change_closed : change_content));
  }
}

} // namespace

interpretation event_interpreter::feed(const std::vector<inotify_record>& batch,
                                       watch_table& table) {
  interpretation out;
  resolve_unpartnered(batch, table, out);
  for (auto& ev : batch)
    handle(ev, table, out);
  // Safety net: a held event kept for a partner in this batch that never
  // paired (e.g. the partner was malformed) must not linger for ever.
  for (size_t i = 0; i < pending_.size();) {
    if (pending_[i].from_earlier_batch) {
      auto h = std::move(pending_[i]);
      pending_.erase(pending_.begin() + i);
      moved_out(h, table, out);
    } else {
      pending_[i++].from_earlier_batch = true;
    }
  }
  return out;
}

interpretation event_interpreter::expire(watch_table& table) {
  interpretation out;
  auto held = std::move(pending_);
  pending_.clear();
  for (auto& h : held)
    moved_out(h, table, out);
  return out;
}

void event_interpreter::resolve_unpartnered(
  const std::vector<inotify_record>& batch, watch_table& table,
  interpretation& out) {
  // A rename split across two reads has its IN_MOVED_TO in this batch; any
  // other held event left the tree, and did so before this batch happened.
  auto has_partner = [&](const held_move& h) {
    return std::any_of(batch.begin(), batch.end(), [&](auto& ev) {
      return has(ev.mask, IN_MOVED_TO) && ev.cookie == h.cookie;
    });
  };
  std::vector<held_move> keep;
  for (auto& h : pending_) {
    if (has_partner(h))
      keep.push_back(std::move(h));
    else
      moved_out(h, table, out);
  }
  pending_ = std::move(keep);
}

void event_interpreter::handle(const inotify_record& ev, watch_table& table,
                               interpretation& out) {
  // IN_Q_OVERFLOW comes with wd -1 and IN_IGNORED without a name: both are
  // handled before the filters below.
  if (has(ev.mask, IN_Q_OVERFLOW)) {
    out.overflow = true;
    return;
  }
  if (has(ev.mask, IN_IGNORED)) {
    table.remove(ev.wd);
    return;
  }
  if (ev.name.empty())
    return;
  if (has(ev.mask, IN_MOVED_TO)) {
    handle_moved_to(ev, table, out);
    return;
  }
  auto path = path_of(ev, table);
  if (!path)
    return;
  auto is_dir = has(ev.mask, IN_ISDIR);
  if (has(ev.mask, IN_MOVED_FROM)) {
    pending_.push_back(held_move{ev.cookie, std::move(*path), is_dir, false});
  } else if (has(ev.mask, IN_CREATE)) {
    resolve_within(*path, table, out);
    appeared(*path, is_dir, false, out);
  } else if (has(ev.mask, IN_MODIFY | IN_DELETE)) {
    out.changes.push_back(change::make_dirty(std::move(*path), change_content));
  } else if (has(ev.mask, IN_CLOSE_WRITE)) {
    // A close after writing follows an IN_MODIFY for every write(2); a
    // close alone (touch opens for writing, then sets times) changes no
    // content. Limit: writes through a shared mapping raise no IN_MODIFY.
    // Either way the writer is done: the path may settle at once.
    out.changes.push_back(
      change::make_dirty(std::move(*path), change_attr | change_closed));
  } else if (has(ev.mask, IN_ATTRIB)) {
    out.changes.push_back(change::make_dirty(std::move(*path), change_attr));
  }
}

void event_interpreter::handle_moved_to(const inotify_record& ev,
                                        watch_table& table,
                                        interpretation& out) {
  std::optional<held_move> from;
  auto i = std::find_if(pending_.begin(), pending_.end(),
                        [&](auto& h) { return h.cookie == ev.cookie; });
  if (i != pending_.end()) {
    from = std::move(*i);
    pending_.erase(i);
  }
  auto to = path_of(ev, table);
  if (!to) {
    // Moved to a place we do not mirror: for us, the source left the tree.
    if (from)
      moved_out(*from, table, out);
    return;
  }
  auto is_dir = has(ev.mask, IN_ISDIR);
  if (!from) {
    resolve_within(*to, table, out);
    appeared(*to, is_dir, true, out);
    return;
  }
  // Held events beneath the source or the target happened before this
  // rename: resolve them first, in the namespace they were named in.
  resolve_within(from->path, table, out);
  resolve_within(*to, table, out);
  if (is_dir)
    table.move(from->path, *to);
  out.changes.push_back(change::make_rename(from->path, *to));
  // A file renamed into place (an editor's save, a download finished) is
  // whole; a directory's subtree may still be filling.
  out.changes.push_back(change::make_dirty(
    *to, is_dir ? change_content | change_deep
                : change_content | change_closed));
}

void event_interpreter::resolve_within(const std::string& path,
                                       watch_table& table,
                                       interpretation& out) {
  for (size_t i = 0; i < pending_.size();) {
    if (is_within(pending_[i].path, path)) {
      auto h = std::move(pending_[i]);
      pending_.erase(pending_.begin() + i);
      moved_out(h, table, out);
    } else {
      ++i;
    }
  }
}

void event_interpreter::moved_out(const held_move& h, watch_table& table,
                                  interpretation& out) {
  out.changes.push_back(change::make_dirty(h.path, change_content));
  if (h.is_dir) {
    auto wds = table.remove_subtree(h.path);
    out.unwatch.insert(out.unwatch.end(), wds.begin(), wds.end());
  }
}

} // namespace livesync
