#include "core/unwatched_dirs.hpp"

#include "core/path_rules.hpp"

namespace livesync {

bool unwatched_dirs::covered(const std::string& dir) const {
  for (auto& d : dirs_)
    if (is_within(dir, d))
      return true;
  return false;
}

void unwatched_dirs::add(const std::string& dir) {
  if (covered(dir))
    return;
  for (auto i = dirs_.begin(); i != dirs_.end();)
    i = is_within(*i, dir) ? dirs_.erase(i) : std::next(i);
  dirs_.insert(dir);
}

void unwatched_dirs::remove(const std::string& dir) {
  dirs_.erase(dir);
}

void unwatched_dirs::rename(const std::string& from, const std::string& to) {
  std::vector<std::string> moved;
  for (auto i = dirs_.begin(); i != dirs_.end();) {
    if (is_within(*i, from)) {
      moved.push_back(rebase_path(*i, from, to));
      i = dirs_.erase(i);
    } else {
      ++i;
    }
  }
  for (auto& d : moved)
    add(d);
}

std::vector<std::string> unwatched_dirs::list() const {
  return {dirs_.begin(), dirs_.end()};
}

} // namespace livesync
