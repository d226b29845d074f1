#include "core/watcher/debounce_policy.hpp"

#include "core/common/path_rules.hpp"

#include <algorithm>
#include <utility>

namespace livesync {

debounce_policy::debounce_policy(debounce_config cfg) : cfg_(cfg) {
  // A cap of zero would keep due paths pending for ever.
  cfg_.max_batch = std::max<size_t>(cfg_.max_batch, 1);
}

void debounce_policy::add(const change& c, time_point now) {
  if (c.kind == change::rename) {
    add_rename(c, now);
    return;
  }
  // A close is the writer saying it is done; any other event (a write
  // after the close, a second writer) makes the path wait for quiet again.
  auto closed = (c.flags & change_closed) != 0;
  auto flags = static_cast<uint8_t>(c.flags & ~change_closed);
  auto i = paths_.find(c.path);
  if (i == paths_.end()) {
    forget_handed_out(now);
    // Dirtied again right after it went out: a busy path, which waits for
    // quiet even when closed (a loop of open, append, close).
    paths_.emplace(c.path, entry{flags, now, now,
                                 !handed_out_recently(c.path, now), closed});
  } else {
    // Restart the quiet window, but keep the first-seen time: it bounds
    // how long a busy path can wait.
    i->second.flags |= flags;
    i->second.last_seen = now;
    i->second.closed = closed;
  }
}

bool debounce_policy::handed_out_recently(const std::string& path,
                                          time_point now) const {
  auto i = handed_out_.find(path);
  return i != handed_out_.end() && now - i->second < cfg_.quiet;
}

void debounce_policy::forget_handed_out(time_point now) {
  while (!handed_out_order_.empty()
         && now - handed_out_order_.front().first >= cfg_.quiet) {
    auto& [t, path] = handed_out_order_.front();
    // A later hand-out of the same path is further back in the queue.
    if (auto i = handed_out_.find(path);
        i != handed_out_.end() && i->second == t)
      handed_out_.erase(i);
    handed_out_order_.pop_front();
  }
}

void debounce_policy::add_rename(const change& c, time_point now) {
  if (renames_.empty())
    first_rename_ = now;
  renames_.push_back(c);
  last_rename_ = now;
  // The sender applies every rename before it looks at a dirty path, so a
  // dirty path must carry its post-rename name. Collect first, then insert:
  // a target may sort among the sources.
  std::vector<std::pair<std::string, entry>> moved;
  for (auto i = paths_.lower_bound(c.path); i != paths_.end();) {
    if (i->first.compare(0, c.path.size(), c.path) != 0)
      break;
    // "a-b" sorts between "a" and "a/x" but is not within "a".
    if (is_within(i->first, c.path)) {
      moved.emplace_back(rebase_path(i->first, c.path, c.to), i->second);
      i = paths_.erase(i);
    } else {
      ++i;
    }
  }
  for (auto& [path, e] : moved)
    merge(path, e);
}

void debounce_policy::merge(const std::string& path, const entry& e) {
  auto [i, added] = paths_.try_emplace(path, e);
  if (added)
    return;
  auto& x = i->second;
  x.flags |= e.flags;
  x.first_seen = std::min(x.first_seen, e.first_seen);
  x.last_seen = std::max(x.last_seen, e.last_seen);
  // Early only if both halves are done (a file renamed into place is
  // followed by its own closed dirty anyway).
  x.eager = x.eager && e.eager;
  x.closed = x.closed && e.closed;
}

void debounce_policy::request_rescan() {
  rescan_ = true;
}

bool debounce_policy::is_due(const entry& e, time_point now) const {
  return (e.eager && e.closed && now >= e.last_seen)
         || now - e.last_seen >= cfg_.quiet
         || now - e.first_seen >= cfg_.max_delay;
}

settled debounce_policy::pop_due(time_point now) {
  return pop(now, false);
}

settled debounce_policy::pop_all() {
  return pop(time_point{}, true);
}

settled debounce_policy::pop(time_point now, bool all) {
  if (!all)
    forget_handed_out(now);
  settled out;
  std::optional<time_point> first;
  auto seen = [&](time_point t) {
    if (!first || t < *first)
      first = t;
  };
  // The map is ordered, and a parent's path is a prefix of its children's,
  // so the batch is sorted with parents first.
  for (auto i = paths_.begin();
       i != paths_.end() && out.paths.size() < cfg_.max_batch;) {
    if (all || is_due(i->second, now)) {
      out.paths.push_back(change::make_dirty(i->first, i->second.flags));
      seen(i->second.first_seen);
      if (!all) {
        handed_out_[i->first] = now;
        handed_out_order_.emplace_back(now, i->first);
      }
      i = paths_.erase(i);
    } else {
      ++i;
    }
  }
  // Due paths are named after all renames recorded so far, so the renames
  // must go with them, whether or not they are quiet yet.
  if (!renames_.empty()
      && (all || !out.paths.empty() || now - last_rename_ >= cfg_.quiet)) {
    seen(first_rename_);
    out.renames = std::exchange(renames_, {});
  }
  out.rescan = std::exchange(rescan_, false);
  if (first)
    out.first_event_ns = std::max<int64_t>(
      1, std::chrono::duration_cast<std::chrono::nanoseconds>(
           first->time_since_epoch())
           .count());
  return out;
}

std::optional<debounce_policy::time_point> debounce_policy::next_due() const {
  std::optional<time_point> out;
  auto earliest = [&](time_point t) {
    if (!out || t < *out)
      out = t;
  };
  // A pending rescan is due at once: the clock's epoch is never in the
  // future, and subtracting `now` from it cannot overflow.
  if (rescan_)
    earliest(time_point{});
  if (!renames_.empty())
    earliest(last_rename_ + cfg_.quiet);
  for (auto& [path, e] : paths_)
    earliest(e.eager && e.closed ? e.last_seen
                      : std::min(e.last_seen + cfg_.quiet,
                                 e.first_seen + cfg_.max_delay));
  return out;
}

bool debounce_policy::empty() const noexcept {
  return paths_.empty() && renames_.empty() && !rescan_;
}

} // namespace livesync
