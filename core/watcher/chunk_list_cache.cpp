#include "core/watcher/chunk_list_cache.hpp"

namespace livesync {

bool operator==(const file_version& x, const file_version& y) {
  return x.size == y.size && x.mtime_ns == y.mtime_ns && x.mode == y.mode
         && x.ctime_ns == y.ctime_ns && x.inode == y.inode;
}

file_version version_of(const fs_stat& st) {
  return {st.meta.size, st.meta.mtime_ns, st.meta.mode, st.ctime_ns,
          st.inode};
}

chunk_list_cache::chunk_list_cache(uint64_t budget_bytes, size_t sharers)
  : budget_(budget_bytes), sharers_(sharers) {
}

uint64_t chunk_list_cache::cost(const std::string& path,
                                const chunk_list& x) {
  return sizeof(chunk_list) + x.chunks.size() * sizeof(chunk_ref)
         + path.size();
}

chunk_list_cache::answer
chunk_list_cache::take(const std::string& path, const file_version& version,
                       uint64_t taker, wake_fn wake,
                       std::shared_ptr<const chunk_list>& out) {
  std::lock_guard<std::mutex> guard{mtx_};
  if (sharers_ < 2) {
    ++stats_.misses;
    return answer::produce;
  }
  if (auto i = entries_.find(path); i != entries_.end()) {
    if (i->second.list->version == version) {
      ++stats_.hits;
      out = i->second.list;
      if (--i->second.takers_left == 0)
        erase(i);
      return answer::hit;
    }
    erase(i); // Another version: of no use to anyone asking now.
  }
  if (auto i = claims_.find(path); i != claims_.end()) {
    if (i->second.version == version) {
      ++stats_.waits;
      i->second.waiters[taker] = std::move(wake);
      return answer::wait;
    }
    // The file changed since that claim: the caller chunks what it sees,
    // unclaimed (the claim's waiters stay with it, and learn of the change
    // when they ask again).
    ++stats_.misses;
    return answer::produce;
  }
  claims_.emplace(path, claim{version, {}});
  ++stats_.misses;
  return answer::produce;
}

std::map<uint64_t, chunk_list_cache::wake_fn>
chunk_list_cache::resolve(const std::string& path,
                          const file_version& version) {
  std::map<uint64_t, wake_fn> out;
  auto i = claims_.find(path);
  if (i == claims_.end() || i->second.version != version)
    return out;
  out = std::move(i->second.waiters);
  claims_.erase(i);
  return out;
}

void chunk_list_cache::put(const std::string& path,
                           std::shared_ptr<const chunk_list> list) {
  if (!list)
    return;
  std::map<uint64_t, wake_fn> waiters;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    waiters = resolve(path, list->version);
    auto size = cost(path, *list);
    if (sharers_ >= 2 && size <= budget_) {
      if (auto i = entries_.find(path); i != entries_.end())
        erase(i); // An older version: this list replaces it.
      while (bytes_ + size > budget_ && !ages_.empty()) {
        ++stats_.evicted;
        erase(entries_.find(ages_.front()));
      }
      ages_.push_back(path);
      bytes_ += size;
      entries_.emplace(path, entry{std::move(list), sharers_ - 1,
                                   std::prev(ages_.end())});
    }
  }
  // Outside the lock: a wake-up may well ask again at once.
  for (auto& w : waiters)
    if (w.second)
      w.second();
}

void chunk_list_cache::abandon(const std::string& path,
                               const file_version& version) {
  std::map<uint64_t, wake_fn> waiters;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    waiters = resolve(path, version);
  }
  for (auto& w : waiters)
    if (w.second)
      w.second();
}

void chunk_list_cache::erase(
  std::unordered_map<std::string, entry>::iterator i) {
  bytes_ -= cost(i->first, *i->second.list);
  ages_.erase(i->second.age);
  entries_.erase(i);
}

chunk_list_cache::counters chunk_list_cache::stats() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return stats_;
}

uint64_t chunk_list_cache::bytes() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return bytes_;
}

// -- chunk_claim --------------------------------------------------------------

chunk_claim::chunk_claim(std::shared_ptr<chunk_list_cache> cache,
                         std::string path, file_version version)
  : cache_(std::move(cache)), path_(std::move(path)), version_(version) {
  // nop
}

chunk_claim::~chunk_claim() {
  if (!done_ && cache_)
    cache_->abandon(path_, version_);
}

void chunk_claim::fulfil(std::shared_ptr<const chunk_list> list) {
  done_ = true;
  if (cache_)
    cache_->put(path_, std::move(list));
}

} // namespace livesync
