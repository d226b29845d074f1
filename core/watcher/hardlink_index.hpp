// The watcher's names of files with more than one hard link. A write (or a
// chmod, or a touch) through one name raises an event for that name only,
// yet every other name shows the new content and metadata: without this
// index the mirror's copies of the other names would stay stale until the
// next reconnect. The planner records the names it sees with a link count
// above one (and those of the watcher's walk), and checks the other names
// of a file whenever it finds that file changed.
//
// Keyed by inode alone: a name of another filesystem with the same inode
// number costs one needless check, never a wrong result, since the check
// looks at the file itself.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

namespace livesync {

class hardlink_index {
public:
  /// `path` is a name of inode `inode`, which has `nlink` links: recorded
  /// when `nlink` > 1, forgotten otherwise.
  void note(const std::string& path, uint64_t inode, uint64_t nlink);

  /// Forgets `path` (gone, or no longer a file).
  void forget(const std::string& path);

  /// The other recorded names of the inode `path` names (none when `path`
  /// is not recorded).
  std::vector<std::string> others(const std::string& path) const;

  /// A rename inside the tree: names at or beneath `from` move beneath `to`
  /// (and a name recorded at `to` itself is gone: replaced).
  void rename(const std::string& from, const std::string& to);

  bool empty() const noexcept { return inode_of_.empty(); }
  size_t size() const noexcept { return inode_of_.size(); }

private:
  /// Path -> inode, sorted so that a subtree is one range.
  std::map<std::string, uint64_t> inode_of_;
  /// Inode -> its recorded names.
  std::unordered_map<uint64_t, std::vector<std::string>> names_;
};

} // namespace livesync
