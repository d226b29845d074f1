// The directories inotify could not watch (the watch limit was reached), by
// root-relative path, kept right across renames. Each one stands for its
// whole subtree: the walk that failed on it never went beneath it. The
// tracker scans them periodically instead; status reports their count.
#pragma once

#include <cstddef>
#include <set>
#include <string>
#include <vector>

namespace livesync {

class unwatched_dirs {
public:
  /// Records that `dir` and everything beneath it is unwatched. Entries
  /// beneath `dir` are dropped (covered); nothing changes when an entry
  /// already covers `dir`.
  void add(const std::string& dir);

  /// Forgets `dir` (now watched, or gone).
  void remove(const std::string& dir);

  /// A rename inside the tree: entries at or beneath `from` move to the same
  /// place beneath `to`. An entry that lands inside another is dropped.
  void rename(const std::string& from, const std::string& to);

  /// The directories, sorted (a parent before its children).
  std::vector<std::string> list() const;

  bool empty() const noexcept { return dirs_.empty(); }
  size_t size() const noexcept { return dirs_.size(); }

private:
  bool covered(const std::string& dir) const;

  std::set<std::string> dirs_;
};

} // namespace livesync
