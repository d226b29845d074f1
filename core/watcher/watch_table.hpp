// The watcher's map between inotify watch descriptors and the directories
// they watch, kept right across directory renames. Pure bookkeeping: the
// caller does the inotify_add_watch / inotify_rm_watch calls.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace livesync {

class watch_table {
public:
  /// Records that `wd` watches the directory at root-relative `path` ("" is
  /// the root). A wd already known is re-pointed to `path` (the kernel
  /// returns the same wd when an inode is watched twice); a path already
  /// watched by another wd drops that older entry.
  void add(int32_t wd, const std::string& path);

  /// The directory `wd` watches, if known.
  std::optional<std::string> path_of(int32_t wd) const;

  /// The wd watching `path`, if any.
  std::optional<int32_t> wd_of(const std::string& path) const;

  /// Forgets `wd` (IN_IGNORED: the kernel already dropped it).
  void remove(int32_t wd);

  /// Forgets the watches of `path` and everything beneath it and returns
  /// their wds, for the caller to inotify_rm_watch (a directory moved out
  /// of the tree keeps its watches otherwise, and its events would be
  /// attributed to the old path).
  std::vector<int32_t> remove_subtree(const std::string& path);

  /// Renames `from` (and everything beneath it) to `to`.
  void move(const std::string& from, const std::string& to);

  size_t size() const noexcept { return by_wd_.size(); }

private:
  std::unordered_map<int32_t, std::string> by_wd_;
  std::map<std::string, int32_t> by_path_;
};

} // namespace livesync
