// The watcher's memory of the recipes of file versions the reference holds,
// keyed by path, within a byte budget (least recently used out first). It
// follows renames and removals as operations are sent, so a cached recipe
// always names what the reference has at that path (the reference's strong
// hash check catches the rare case where it does not).
#pragma once

#include "core/chunker.hpp"

#include <cstddef>
#include <cstdint>
#include <list>
#include <map>
#include <string>
#include <string_view>

namespace livesync {

class recipe_cache {
public:
  explicit recipe_cache(uint64_t budget_bytes = uint64_t{256} << 20);

  /// The recipe for `path`, or nullptr; marks it recently used.
  const recipe* find(const std::string& path);

  /// Stores the recipe of what the reference now holds at `path`. A recipe
  /// larger than the whole budget is not kept.
  void put(const std::string& path, recipe r);

  /// Forgets `path` and everything beneath it.
  void erase(std::string_view path);

  /// Moves `from` and everything beneath it to `to` (replacing `to`).
  void rename(std::string_view from, std::string_view to);

  void clear();

  size_t size() const noexcept { return entries_.size(); }
  uint64_t bytes() const noexcept { return bytes_; }
  uint64_t evictions() const noexcept { return evictions_; }

private:
  struct entry {
    recipe chunks;
    std::list<std::string>::iterator lru;
  };
  static uint64_t cost(const recipe& r) {
    return r.size() * sizeof(chunk_ref) + 64;
  }
  void drop(std::map<std::string, entry, std::less<>>::iterator i);
  recipe take(std::map<std::string, entry, std::less<>>::iterator i);

  uint64_t budget_;
  uint64_t bytes_ = 0;
  uint64_t evictions_ = 0;
  std::map<std::string, entry, std::less<>> entries_;
  std::list<std::string> lru_; // front: most recent
};

} // namespace livesync
