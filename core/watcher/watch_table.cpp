#include "core/watcher/watch_table.hpp"

#include "core/common/path_rules.hpp"

#include <utility>

namespace livesync {

namespace {

/// The entries of `by_path` at `prefix` or beneath it, in path order. The
/// scan starts at `prefix` and stops at the first key that does not begin
/// with it: keys such as "a-b" sort between "a" and "a/x", so they are
/// skipped by is_within rather than ending the scan.
std::vector<std::pair<std::string, int32_t>>
subtree_of(const std::map<std::string, int32_t>& by_path,
           const std::string& prefix) {
  std::vector<std::pair<std::string, int32_t>> out;
  for (auto i = by_path.lower_bound(prefix); i != by_path.end(); ++i) {
    if (i->first.compare(0, prefix.size(), prefix) != 0)
      break;
    if (is_within(i->first, prefix))
      out.emplace_back(*i);
  }
  return out;
}

} // namespace

void watch_table::add(int32_t wd, const std::string& path) {
  // Drop both stale entries first: the wd's old path, and the path's old wd
  // (a directory replaced by another one under the same name).
  remove(wd);
  if (auto old = by_path_.find(path); old != by_path_.end()) {
    by_wd_.erase(old->second);
    by_path_.erase(old);
  }
  by_wd_.emplace(wd, path);
  by_path_.emplace(path, wd);
}

std::optional<std::string> watch_table::path_of(int32_t wd) const {
  if (auto i = by_wd_.find(wd); i != by_wd_.end())
    return i->second;
  return std::nullopt;
}

std::optional<int32_t> watch_table::wd_of(const std::string& path) const {
  if (auto i = by_path_.find(path); i != by_path_.end())
    return i->second;
  return std::nullopt;
}

void watch_table::remove(int32_t wd) {
  auto i = by_wd_.find(wd);
  if (i == by_wd_.end())
    return;
  // The path may already belong to a newer wd (a directory renamed over a
  // watched one): only erase it when it is still ours.
  if (auto j = by_path_.find(i->second); j != by_path_.end() && j->second == wd)
    by_path_.erase(j);
  by_wd_.erase(i);
}

std::vector<int32_t> watch_table::remove_subtree(const std::string& path) {
  std::vector<int32_t> out;
  for (auto& [p, wd] : subtree_of(by_path_, path)) {
    by_path_.erase(p);
    by_wd_.erase(wd);
    out.push_back(wd);
  }
  return out;
}

void watch_table::move(const std::string& from, const std::string& to) {
  if (from == to)
    return;
  auto moved = subtree_of(by_path_, from);
  for (auto& [p, wd] : moved)
    by_path_.erase(p);
  for (auto& [p, wd] : moved) {
    auto target = rebase_path(p, from, to);
    // rename(2) may replace an (empty) directory at the target: its watch is
    // stale, the kernel drops it and sends IN_IGNORED later.
    if (auto old = by_path_.find(target); old != by_path_.end()) {
      by_wd_.erase(old->second);
      by_path_.erase(old);
    }
    by_path_.emplace(target, wd);
    by_wd_[wd] = std::move(target);
  }
}

} // namespace livesync
