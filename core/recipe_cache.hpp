// The watcher's memory of the recipes of file versions the reference holds,
// keyed by path, within a byte budget (least recently used out first), plus
// an index from chunk hash to where the reference holds that chunk, so a
// new file made of known content (a copy inside the tree) is built there
// from those chunks. It follows renames and removals as operations are
// sent, so an entry always names what the reference has at that path; the
// reference's strong hash check catches the rare case where it does not.
#pragma once

#include "core/chunker.hpp"
#include "core/delta.hpp"

#include <cstddef>
#include <cstdint>
#include <list>
#include <map>
#include <string>
#include <string_view>
#include <unordered_map>

namespace livesync {

class recipe_cache : public chunk_locator {
public:
  explicit recipe_cache(uint64_t budget_bytes = uint64_t{256} << 20);

  recipe_cache(recipe_cache&&) = default;
  recipe_cache& operator=(recipe_cache&&) = default;

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

  bool locate(uint64_t hash, uint32_t length, std::string& path,
              uint64_t& offset) const override;

  size_t size() const noexcept { return entries_.size(); }
  uint64_t bytes() const noexcept { return bytes_; }
  uint64_t evictions() const noexcept { return evictions_; }

private:
  struct entry {
    uint64_t id = 0;
    recipe chunks;
    std::list<std::string>::iterator lru;
  };
  struct chunk_home {
    uint64_t id = 0;
    uint64_t offset = 0;
    uint32_t length = 0;
  };
  using entry_map = std::map<std::string, entry, std::less<>>;

  /// Memory of one recipe with its index entries.
  static uint64_t cost(const recipe& r) {
    return r.size() * (sizeof(chunk_ref) + 64) + 128;
  }
  void drop(entry_map::iterator i);
  void index(const entry& e);
  void unindex(const entry& e);

  uint64_t budget_;
  uint64_t bytes_ = 0;
  uint64_t evictions_ = 0;
  uint64_t next_id_ = 1;
  entry_map entries_;
  std::list<std::string> lru_; // front: most recent
  std::unordered_map<uint64_t, chunk_home> chunks_;
  std::unordered_map<uint64_t, std::string> paths_; // id -> path
};

} // namespace livesync
