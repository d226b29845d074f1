// The watcher's memory of the recipes of file versions the reference holds,
// keyed by path, within a byte budget (least recently used out first), plus
// an index from chunk hash to where the reference holds that chunk, so a
// new file made of known content (a copy inside the tree) is built there
// from those chunks. It follows renames and removals as operations are
// sent, so an entry always names what the reference has at that path; the
// reference's strong hash check catches the rare case where it does not.
#pragma once

#include "core/watcher/chunk_index.hpp"
#include "core/wire/chunker.hpp"
#include "core/wire/delta.hpp"

#include <cstddef>
#include <cstdint>
#include <deque>
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

  /// Recipes of at least this many chunks (about 64 MiB of file) are
  /// indexed a step at a time by index_some(), not by put(): a million
  /// chunks (4 GiB) took the watcher ~1 s, during which it answered
  /// nothing, not even a stop.
  static constexpr size_t index_step_chunks = 16384;

  /// Stores the recipe of what the reference now holds at `path`. A recipe
  /// larger than the whole budget is not kept. A large one is found by
  /// find() at once, its chunks by locate() once index_some() got to them
  /// (until then they are simply not known: sent, not copied).
  void put(const std::string& path, recipe r);

  /// Indexes up to `max_chunks` chunks of large recipes put before;
  /// returns true while some remain.
  bool index_some(size_t max_chunks = index_step_chunks);

  /// True while a large recipe waits for index_some().
  bool indexing() const noexcept { return !pending_.empty(); }

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
  using entry_map = std::map<std::string, entry, std::less<>>;

  /// Memory of one recipe with its index entries.
  static uint64_t cost(const recipe& r) {
    return r.size() * (sizeof(chunk_ref) + 64) + 128;
  }
  void drop(entry_map::iterator i);
  /// Indexes e.chunks[from, to), the first starting at `offset` in the
  /// file; returns the offset after them.
  uint64_t index(const entry& e, size_t from, size_t to, uint64_t offset);
  void unindex(const entry& e);

  /// A large recipe being indexed: its entry's id, the next chunk, and
  /// that chunk's offset. A dropped entry's id is no longer in paths_.
  struct pending_index {
    uint64_t id = 0;
    size_t next = 0;
    uint64_t offset = 0;
  };

  uint64_t budget_;
  uint64_t bytes_ = 0;
  uint64_t evictions_ = 0;
  uint64_t next_id_ = 1;
  entry_map entries_;
  std::list<std::string> lru_; // front: most recent
  chunk_index chunks_;
  std::unordered_map<uint64_t, std::string> paths_; // id -> path
  std::deque<pending_index> pending_;
};

} // namespace livesync
