#include "core/watcher/content_cache.hpp"

namespace livesync {

content_cache::content_cache(uint64_t budget_bytes, size_t sharers)
  : budget_(budget_bytes), sharers_(sharers) {
}

std::optional<content_cache::item>
content_cache::take(const std::string& path, const entry_meta& meta) {
  std::lock_guard<std::mutex> guard{mtx_};
  auto i = entries_.find(path);
  if (i == entries_.end() || i->second.value.meta.size != meta.size
      || i->second.value.meta.mtime_ns != meta.mtime_ns
      || i->second.value.meta.mode != meta.mode) {
    ++stats_.misses;
    return std::nullopt;
  }
  ++stats_.hits;
  auto out = i->second.value;
  if (--i->second.takers_left == 0)
    erase(i);
  return out;
}

void content_cache::put(const std::string& path, item x) {
  if (sharers_ < 2 || !x.data)
    return;
  auto size = x.data->size() + path.size();
  if (size > budget_)
    return;
  std::lock_guard<std::mutex> guard{mtx_};
  if (auto i = entries_.find(path); i != entries_.end())
    erase(i); // An older version: this read replaces it.
  while (bytes_ + size > budget_ && !ages_.empty()) {
    ++stats_.evicted;
    erase(entries_.find(ages_.front()));
  }
  ages_.push_back(path);
  bytes_ += size;
  entries_.emplace(path, entry{std::move(x), sharers_ - 1,
                               std::prev(ages_.end())});
}

void content_cache::erase(std::unordered_map<std::string, entry>::iterator i) {
  bytes_ -= i->second.value.data->size() + i->first.size();
  ages_.erase(i->second.age);
  entries_.erase(i);
}

content_cache::counters content_cache::stats() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return stats_;
}

uint64_t content_cache::bytes() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return bytes_;
}

} // namespace livesync
