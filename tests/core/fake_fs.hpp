// An in-memory fs_view for planner tests: a map from root-relative path to
// what lstat would say, with listings derived from the keys. The root ("")
// is always a directory. Setters do not check that parents exist, so a test
// can build an inconsistent tree on purpose; the helpers below never do.
#pragma once

#include "core/watcher/fs_view.hpp"
#include "core/common/path_rules.hpp"

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace livesync {

class fake_fs : public fs_view {
public:
  /// Simulates a watched root that was unmounted or deleted.
  bool root_missing = false;

  fs_stat stat(std::string_view path) const override {
    if (path.empty()) {
      if (root_missing)
        return {};
      fs_stat root;
      root.meta.kind = entry_kind::dir;
      root.meta.mode = 0755;
      return root;
    }
    for (auto& dir : unsearchable_)
      if (path != dir && is_within(path, dir)) {
        fs_stat unknown;
        unknown.unknown = true;
        return unknown;
      }
    auto i = entries_.find(path);
    return i == entries_.end() ? fs_stat{} : i->second;
  }

  bool list(std::string_view path,
            std::vector<std::string>& out) const override {
    out.clear();
    if (unlistable_.count(path) != 0)
      return false;
    if (stat(path).meta.kind != entry_kind::dir)
      return true;
    // Keys are sorted, so the children come out sorted too.
    for (auto& kv : entries_)
      if (kv.first != path && parent_of(kv.first) == path)
        out.emplace_back(leaf_of(kv.first));
    return true;
  }

  /// Directory `dir` as mode 0000 is to a watcher that is not root:
  /// nothing beneath it can be looked at, and it cannot be listed either,
  /// unless `listable` (mode 0444: names, but no stat of them).
  fake_fs& lock(const std::string& dir, bool listable = false) {
    unsearchable_.insert(dir);
    if (!listable)
      unlistable_.insert(dir);
    return *this;
  }

  /// Readable again (a chmod).
  fake_fs& unlock(const std::string& dir) {
    unsearchable_.erase(dir);
    unlistable_.erase(dir);
    return *this;
  }

  fake_fs& file(const std::string& path, uint64_t size, int64_t mtime,
                uint32_t mode = 0644) {
    entry_meta m;
    m.kind = entry_kind::file;
    m.mode = mode;
    m.size = size;
    m.mtime_ns = mtime;
    return put(path, std::move(m));
  }

  fake_fs& dir(const std::string& path, uint32_t mode = 0755) {
    entry_meta m;
    m.kind = entry_kind::dir;
    m.mode = mode;
    return put(path, std::move(m));
  }

  fake_fs& link(const std::string& path, const std::string& target) {
    entry_meta m;
    m.kind = entry_kind::symlink;
    m.mode = 0777;
    m.size = target.size();
    m.target = target;
    return put(path, std::move(m));
  }

  /// The files `paths` as names of one inode (hard links): each gets
  /// `inode` and the link count. A test changing "the file" sets the same
  /// metadata on every name, as the kernel shows it.
  fake_fs& linked(const std::vector<std::string>& paths, uint64_t inode) {
    for (auto& p : paths) {
      auto& st = entries_.at(p);
      st.inode = inode;
      st.nlink = paths.size();
    }
    return *this;
  }

  /// A fifo, socket or device: present, never mirrored.
  fake_fs& unsupported(const std::string& path) {
    erase(path);
    fs_stat st;
    st.unsupported = true;
    entries_.emplace(path, std::move(st));
    return *this;
  }

  /// Removes `path` and everything beneath it.
  fake_fs& erase(const std::string& path) {
    for (auto i = entries_.begin(); i != entries_.end();)
      i = is_within(i->first, path) ? entries_.erase(i) : std::next(i);
    return *this;
  }

  /// rename(2): moves `from` and its subtree to `to`, replacing `to`.
  fake_fs& move(const std::string& from, const std::string& to) {
    erase(to);
    std::map<std::string, fs_stat, std::less<>> moved;
    for (auto i = entries_.begin(); i != entries_.end();) {
      if (is_within(i->first, from)) {
        moved.emplace(rebase_path(i->first, from, to), std::move(i->second));
        i = entries_.erase(i);
      } else {
        ++i;
      }
    }
    entries_.merge(moved);
    return *this;
  }

  /// The mirrored entries as a reference would list them: sorted, hence
  /// parents before children; unsupported entries left out.
  std::vector<manifest_entry> manifest() const {
    std::vector<manifest_entry> out;
    for (auto& kv : entries_)
      if (!kv.second.unsupported)
        out.push_back(manifest_entry{kv.first, kv.second.meta});
    return out;
  }

  const entry_meta& meta(const std::string& path) const {
    return entries_.at(path).meta;
  }

private:
  fake_fs& put(const std::string& path, entry_meta m) {
    // A new kind replaces the whole subtree, as on a real filesystem.
    auto i = entries_.find(path);
    if (i != entries_.end() && m.kind != entry_kind::dir)
      erase(path);
    fs_stat st;
    st.meta = std::move(m);
    entries_[path] = std::move(st);
    return *this;
  }

  std::map<std::string, fs_stat, std::less<>> entries_;
  std::set<std::string, std::less<>> unlistable_;
  std::set<std::string, std::less<>> unsearchable_;
};

} // namespace livesync
