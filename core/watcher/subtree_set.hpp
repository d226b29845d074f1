// A set of directories by root-relative path, each standing for its whole
// subtree, kept right across renames. The watcher keeps three: the
// directories the inotify watch limit left unwatched (scanned on a timer),
// those it may not read (no watch: retried when an event names them or a
// directory above them), and, in the planner, those it could not list
// (checked deep next time, so a chmod that makes one readable mirrors it).
#pragma once

#include <cstddef>
#include <set>
#include <string>
#include <vector>

namespace livesync {

class subtree_set {
public:
  /// Records `dir` (and so everything beneath it). Entries beneath `dir`
  /// are dropped (covered); nothing changes when an entry already covers
  /// `dir`. True when `dir` was not covered before.
  bool add(const std::string& dir);

  /// Forgets `dir` (watched or readable now, or gone).
  void remove(const std::string& dir);

  /// A rename inside the tree: entries at or beneath `from` move to the same
  /// place beneath `to`. An entry that lands inside another is dropped.
  void rename(const std::string& from, const std::string& to);

  /// True when `path` is an entry or beneath one.
  bool covers(const std::string& path) const { return covered(path); }

  /// True when `dir` itself is an entry.
  bool contains(const std::string& dir) const { return dirs_.count(dir) != 0; }

  /// The entries at or beneath `dir`, sorted.
  std::vector<std::string> within(const std::string& dir) const;

  /// The directories, sorted (a parent before its children).
  std::vector<std::string> list() const;

  bool empty() const noexcept { return dirs_.empty(); }
  size_t size() const noexcept { return dirs_.size(); }

private:
  bool covered(const std::string& dir) const;

  std::set<std::string> dirs_;
};

} // namespace livesync
