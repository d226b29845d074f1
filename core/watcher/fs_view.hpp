// A read-only view of the watched tree, as the sender's planner needs it:
// lstat one path, list one directory. The real one (local_tree) reads the
// disk; tests give the planner an in-memory one.
#pragma once

#include "core/wire/entry.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace livesync {

/// The result of looking at one path.
struct fs_stat {
  /// kind == none when the path does not exist (or cannot be seen).
  entry_meta meta;
  /// The path exists but is a fifo, socket or device: never mirrored.
  bool unsupported = false;
  /// The path could not be looked at (a parent the watcher may not search,
  /// an I/O error): neither present nor absent. Whatever the reference
  /// holds there is left alone, never removed for being unseen.
  bool unknown = false;
  /// Change time, to detect a file that changed while it was read.
  int64_t ctime_ns = 0;
  uint64_t inode = 0;
  /// Hard links to the inode: above one, the file has other names whose
  /// mirror copies change with it (hardlink_index).
  uint64_t nlink = 1;
};

class fs_view {
public:
  virtual ~fs_view() = default;

  /// Looks at `path` ("" is the root) without following a final symlink.
  virtual fs_stat stat(std::string_view path) const = 0;

  /// The names in directory `path` (no "." or ".."), sorted, into `out`.
  /// False when the directory is there but cannot be listed (no read
  /// permission, an I/O error): its entries are unknown, not absent. A
  /// directory that is gone lists as empty.
  virtual bool list(std::string_view path,
                    std::vector<std::string>& out) const = 0;
};

} // namespace livesync
