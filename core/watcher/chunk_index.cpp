#include "core/watcher/chunk_index.hpp"

namespace livesync {

void chunk_index::grow() {
  auto old = std::move(slots_);
  size_t cap = old.empty() ? 1024 : old.size() * 2;
  slots_.assign(cap, slot{});
  shift_ = 64;
  for (size_t c = cap; c > 1; c >>= 1)
    --shift_;
  size_ = 0;
  for (auto& s : old)
    if (s.at.id != 0)
      emplace(s.hash, s.at);
}

void chunk_index::emplace(uint64_t hash, const home& h) {
  // At most 3/4 full: probes stay short, misses included.
  if ((size_ + 1) * 4 > slots_.size() * 3)
    grow();
  auto mask = slots_.size() - 1;
  for (auto i = ideal(hash);; i = (i + 1) & mask) {
    auto& s = slots_[i];
    if (s.at.id == 0) {
      s.hash = hash;
      s.at = h;
      ++size_;
      return;
    }
    if (s.hash == hash)
      return;
  }
}

const chunk_index::home* chunk_index::find(uint64_t hash) const {
  if (size_ == 0)
    return nullptr;
  auto mask = slots_.size() - 1;
  for (auto i = ideal(hash);; i = (i + 1) & mask) {
    auto& s = slots_[i];
    if (s.at.id == 0)
      return nullptr;
    if (s.hash == hash)
      return &s.at;
  }
}

void chunk_index::erase(uint64_t hash, uint64_t id) {
  if (size_ == 0)
    return;
  auto mask = slots_.size() - 1;
  auto i = ideal(hash);
  for (;; i = (i + 1) & mask) {
    auto& s = slots_[i];
    if (s.at.id == 0)
      return;
    if (s.hash == hash)
      break;
  }
  if (slots_[i].at.id != id)
    return;
  // Backward shift: pull later entries of the run back over the hole,
  // unless their ideal slot lies cyclically in (hole, their slot].
  for (auto j = (i + 1) & mask;; j = (j + 1) & mask) {
    auto& s = slots_[j];
    if (s.at.id == 0)
      break;
    auto k = ideal(s.hash);
    bool stays = i <= j ? (i < k && k <= j) : (i < k || k <= j);
    if (stays)
      continue;
    slots_[i] = s;
    i = j;
  }
  slots_[i] = slot{};
  --size_;
}

void chunk_index::clear() {
  std::vector<slot>{}.swap(slots_);
  size_ = 0;
  shift_ = 64;
}

} // namespace livesync
