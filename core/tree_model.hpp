// The watcher's picture of what the reference holds: a tree of entry_meta
// built from the reference's manifest at (re)connect and updated as each
// operation is sent. The sender compares the filesystem against it to decide
// what to send; a rename moves a subtree in O(depth).
#pragma once

#include "core/entry.hpp"

#include <cstddef>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace livesync {

class tree_model {
public:
  struct node {
    entry_meta meta;
    /// Children by name; only directories have any.
    std::map<std::string, std::unique_ptr<node>, std::less<>> children;
  };

  tree_model();

  /// Replaces the whole model by a manifest (parents before children).
  /// Entries whose parent is missing or not a directory are dropped.
  void reset(const std::vector<manifest_entry>& manifest);

  /// The node at `path` ("" is the root directory), or nullptr.
  const node* find(std::string_view path) const;

  /// Sets the meta of `path`, whose parent must be a directory in the model
  /// (returns false otherwise). Turning a directory into something else
  /// drops its children.
  bool set(std::string_view path, const entry_meta& meta);

  /// Removes `path` and everything beneath it; returns the number of nodes
  /// removed.
  size_t erase(std::string_view path);

  /// Moves the subtree at `from` to `to`, replacing whatever was at `to`.
  /// False (and no change) when `from` is missing, `to`'s parent is not a
  /// directory, or `to` lies within `from`.
  bool rename(std::string_view from, std::string_view to);

  /// Number of entries, the root excluded.
  size_t size() const noexcept { return size_; }

private:
  node* find_mut(std::string_view path);
  static size_t count(const node& n);

  node root_;
  size_t size_ = 0;
};

} // namespace livesync
