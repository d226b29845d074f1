#include "core/watcher/hardlink_index.hpp"

#include "core/common/path_rules.hpp"

#include <algorithm>

namespace livesync {

void hardlink_index::note(const std::string& path, uint64_t inode,
                          uint64_t nlink) {
  if (nlink <= 1) {
    forget(path);
    return;
  }
  auto i = inode_of_.find(path);
  if (i != inode_of_.end()) {
    if (i->second == inode)
      return;
    forget(path); // the name now holds another file
  }
  inode_of_.emplace(path, inode);
  names_[inode].push_back(path);
}

void hardlink_index::forget(const std::string& path) {
  auto i = inode_of_.find(path);
  if (i == inode_of_.end())
    return;
  auto j = names_.find(i->second);
  if (j != names_.end()) {
    auto& v = j->second;
    v.erase(std::remove(v.begin(), v.end(), path), v.end());
    if (v.empty())
      names_.erase(j);
  }
  inode_of_.erase(i);
}

std::vector<std::string> hardlink_index::others(const std::string& path) const {
  std::vector<std::string> out;
  auto i = inode_of_.find(path);
  if (i == inode_of_.end())
    return out;
  auto j = names_.find(i->second);
  if (j == names_.end())
    return out;
  for (auto& p : j->second)
    if (p != path)
      out.push_back(p);
  return out;
}

void hardlink_index::rename(const std::string& from, const std::string& to) {
  if (inode_of_.empty())
    return;
  forget(to);
  // "from" itself, then "from/..." (one range: '0' follows '/').
  std::vector<std::pair<std::string, uint64_t>> moved;
  auto take = [&](std::map<std::string, uint64_t>::iterator first,
                  std::map<std::string, uint64_t>::iterator last) {
    for (auto i = first; i != last; ++i)
      moved.emplace_back(i->first, i->second);
  };
  if (auto i = inode_of_.find(from); i != inode_of_.end())
    take(i, std::next(i));
  take(inode_of_.lower_bound(from + "/"), inode_of_.lower_bound(from + "0"));
  for (auto& [path, inode] : moved) {
    forget(path);
    note(rebase_path(path, from, to), inode, 2);
  }
}

} // namespace livesync
