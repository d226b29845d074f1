#include "core/watcher/subtree_set.hpp"

#include "core/common/path_rules.hpp"

namespace livesync {

namespace {

/// The entries of `dirs` strictly beneath `dir`: one ordered range, since
/// every such path starts with "dir/" ('0' follows '/'). The root ("")
/// holds everything else.
std::pair<std::set<std::string>::const_iterator,
          std::set<std::string>::const_iterator>
beneath(const std::set<std::string>& dirs, const std::string& dir) {
  if (dir.empty())
    return {dirs.upper_bound(dir), dirs.end()};
  return {dirs.lower_bound(dir + "/"), dirs.lower_bound(dir + "0")};
}

} // namespace

bool subtree_set::covered(const std::string& dir) const {
  // `dir` itself or one of its ancestors: depth lookups, not a scan.
  std::string_view p = dir;
  for (;;) {
    if (dirs_.count(std::string{p}) != 0)
      return true;
    if (p.empty())
      return false;
    p = parent_of(p);
  }
}

bool subtree_set::add(const std::string& dir) {
  if (covered(dir))
    return false;
  auto [first, last] = beneath(dirs_, dir);
  dirs_.erase(first, last);
  dirs_.insert(dir);
  return true;
}

void subtree_set::remove(const std::string& dir) {
  dirs_.erase(dir);
}

void subtree_set::rename(const std::string& from, const std::string& to) {
  std::vector<std::string> moved;
  if (auto i = dirs_.find(from); i != dirs_.end()) {
    moved.push_back(to);
    dirs_.erase(i);
  }
  auto [first, last] = beneath(dirs_, from);
  for (auto i = first; i != last; ++i)
    moved.push_back(rebase_path(*i, from, to));
  dirs_.erase(first, last);
  for (auto& d : moved)
    add(d);
}

std::vector<std::string> subtree_set::within(const std::string& dir) const {
  std::vector<std::string> out;
  if (contains(dir))
    out.push_back(dir);
  auto [first, last] = beneath(dirs_, dir);
  out.insert(out.end(), first, last);
  return out;
}

std::vector<std::string> subtree_set::list() const {
  return {dirs_.begin(), dirs_.end()};
}

} // namespace livesync
