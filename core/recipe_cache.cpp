#include "core/recipe_cache.hpp"

#include "core/path_rules.hpp"

#include <vector>

namespace livesync {

recipe_cache::recipe_cache(uint64_t budget_bytes) : budget_(budget_bytes) {
  // nop
}

const recipe* recipe_cache::find(const std::string& path) {
  auto i = entries_.find(path);
  if (i == entries_.end())
    return nullptr;
  lru_.splice(lru_.begin(), lru_, i->second.lru);
  return &i->second.chunks;
}

void recipe_cache::drop(std::map<std::string, entry, std::less<>>::iterator i) {
  take(i);
}

void recipe_cache::put(const std::string& path, recipe r) {
  erase(path);
  auto c = cost(r);
  if (c > budget_)
    return;
  while (bytes_ + c > budget_ && !lru_.empty()) {
    ++evictions_;
    drop(entries_.find(lru_.back()));
  }
  lru_.push_front(path);
  entries_.emplace(path, entry{std::move(r), lru_.begin()});
  bytes_ += c;
}

void recipe_cache::erase(std::string_view path) {
  // `path` itself, then everything in [path + "/", path + "0"): '0' is the
  // character after '/', so that range is exactly the paths beneath.
  if (auto i = entries_.find(path); i != entries_.end())
    drop(i);
  std::string lo{path};
  lo.push_back('/');
  std::string hi{path};
  hi.push_back('0');
  auto i = entries_.lower_bound(lo);
  while (i != entries_.end() && i->first < hi)
    drop(i++);
}

recipe recipe_cache::take(std::map<std::string, entry, std::less<>>::iterator i) {
  bytes_ -= cost(i->second.chunks);
  lru_.erase(i->second.lru);
  auto r = std::move(i->second.chunks);
  entries_.erase(i);
  return r;
}

void recipe_cache::rename(std::string_view from, std::string_view to) {
  std::vector<std::pair<std::string, recipe>> moved;
  if (auto i = entries_.find(from); i != entries_.end())
    moved.emplace_back(std::string{to}, take(i));
  std::string lo{from};
  lo.push_back('/');
  std::string hi{from};
  hi.push_back('0');
  for (auto i = entries_.lower_bound(lo);
       i != entries_.end() && i->first < hi;) {
    auto path = rebase_path(i->first, from, to);
    moved.emplace_back(std::move(path), take(i++));
  }
  erase(to);
  for (auto& [path, r] : moved)
    put(path, std::move(r));
}

void recipe_cache::clear() {
  entries_.clear();
  lru_.clear();
  bytes_ = 0;
}

} // namespace livesync
