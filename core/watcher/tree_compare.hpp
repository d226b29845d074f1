// `livesync-watcher verify`: compares the watched tree with the reference's
// manifest and content hashes, and lists every difference. Pure logic over
// listings; the caller walks, fetches and hashes.
#pragma once

#include "core/wire/entry.hpp"
#include "core/watcher/fs_view.hpp"
#include "core/common/ignore_rules.hpp"
#include "core/wire/op.hpp"

#include <string>
#include <vector>

namespace livesync {

/// Everything the watcher would mirror beneath `fs`'s root, parents before
/// children: excluded paths, the state folder at the root, and fifos,
/// sockets and devices (named in `skipped`, may be null) left out.
/// Directories that could not be listed or looked into are named in
/// `unreadable` (may be null): what is beneath them is unknown.
std::vector<manifest_entry>
list_tree(const fs_view& fs, const ignore_rules* excludes,
          std::vector<std::string>* skipped,
          std::vector<std::string>* unreadable = nullptr);

struct tree_difference {
  std::string path;
  /// "only on watcher", "only on reference", "type file/dir", "mode
  /// 0644/0600", "size 10/12", "mtime", "symlink target", "content".
  std::string what;
};

struct tree_comparison {
  std::vector<tree_difference> differences;
  /// Regular files equal in every listed attribute: their content must be
  /// compared by hash (add_content_differences).
  std::vector<std::string> to_hash;
};

/// Compares the watcher's listing with the reference's manifest. `mode_mask`
/// is the reference's (permission bits it keeps); directory mtimes are not
/// mirrored, so not compared; paths the excludes name on the reference side
/// are not differences (excluded paths are neither sent nor removed).
/// Beneath a directory in `unreadable` (may be null) nothing is compared:
/// the directory is one difference, "unreadable on the watcher".
tree_comparison
compare_listings(const std::vector<manifest_entry>& watcher,
                 const std::vector<manifest_entry>& reference,
                 uint32_t mode_mask, const ignore_rules* excludes,
                 const std::vector<std::string>* unreadable = nullptr);

/// Adds a "content" difference for each `paths[i]` whose hashes differ.
/// The three vectors have the same length.
void add_content_differences(tree_comparison& c,
                             const std::vector<std::string>& paths,
                             const std::vector<hash128>& watcher,
                             const std::vector<hash128>& reference);

} // namespace livesync
