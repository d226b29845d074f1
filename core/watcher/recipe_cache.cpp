#include "core/watcher/recipe_cache.hpp"

#include "core/common/path_rules.hpp"

#include <algorithm>
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

uint64_t recipe_cache::index(const entry& e, size_t from, size_t to,
                             uint64_t offset) {
  for (auto i = from; i < to; ++i) {
    auto& c = e.chunks[i];
    // First holder wins: it stays valid until that file changes.
    chunks_.emplace(c.hash, chunk_index::home{e.id, offset, c.length});
    offset += c.length;
  }
  return offset;
}

bool recipe_cache::index_some(size_t max_chunks) {
  while (!pending_.empty() && max_chunks > 0) {
    auto& p = pending_.front();
    auto path = paths_.find(p.id);
    if (path == paths_.end()) { // Dropped (replaced, erased, evicted).
      pending_.pop_front();
      continue;
    }
    auto& e = entries_.find(path->second)->second;
    auto to = std::min(e.chunks.size(), p.next + max_chunks);
    max_chunks -= to - p.next;
    p.offset = index(e, p.next, to, p.offset);
    p.next = to;
    if (p.next == e.chunks.size())
      pending_.pop_front();
  }
  return !pending_.empty();
}

void recipe_cache::unindex(const entry& e) {
  for (auto& c : e.chunks)
    chunks_.erase(c.hash, e.id);
}

void recipe_cache::drop(entry_map::iterator i) {
  bytes_ -= cost(i->second.chunks);
  unindex(i->second);
  paths_.erase(i->second.id);
  lru_.erase(i->second.lru);
  entries_.erase(i);
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
  auto id = next_id_++;
  auto& e = entries_.emplace(path, entry{id, std::move(r), lru_.begin()})
              .first->second;
  paths_.emplace(id, path);
  if (e.chunks.size() < index_step_chunks)
    index(e, 0, e.chunks.size(), 0);
  else
    pending_.push_back(pending_index{id, 0, 0});
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

void recipe_cache::rename(std::string_view from, std::string_view to) {
  // Re-key the entries in place: ids, and so the chunk index, stay valid.
  std::vector<entry_map::node_type> moved;
  if (auto i = entries_.find(from); i != entries_.end())
    moved.push_back(entries_.extract(i));
  std::string lo{from};
  lo.push_back('/');
  std::string hi{from};
  hi.push_back('0');
  for (auto i = entries_.lower_bound(lo);
       i != entries_.end() && i->first < hi;)
    moved.push_back(entries_.extract(i++));
  erase(to);
  for (auto& node : moved) {
    auto path = rebase_path(node.key(), from, to);
    *node.mapped().lru = path;
    paths_[node.mapped().id] = path;
    node.key() = std::move(path);
    entries_.insert(std::move(node));
  }
}

void recipe_cache::clear() {
  entries_.clear();
  lru_.clear();
  chunks_.clear();
  paths_.clear();
  pending_.clear();
  bytes_ = 0;
}

bool recipe_cache::locate(uint64_t hash, uint32_t length, std::string& path,
                          uint64_t& offset) const {
  auto h = chunks_.find(hash);
  if (h == nullptr || h->length != length)
    return false;
  auto p = paths_.find(h->id);
  if (p == paths_.end())
    return false;
  path = p->second;
  offset = h->offset;
  return true;
}

} // namespace livesync
