// The recipe cache's index from chunk hash to where the reference holds
// that chunk: a flat open-addressing table (linear probing, backward-shift
// deletion) instead of std::unordered_map. A bulk sync looks up every
// chunk of every new file (nearly all misses) and indexes it after: with a
// node per chunk that was ~6 % of the watcher's CPU (the lookups' cache
// misses, one allocation per chunk, and freeing them all at exit).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace livesync {

class chunk_index {
public:
  /// Where one chunk is: the recipe cache's id of the file (never 0), the
  /// chunk's offset in it and its length.
  struct home {
    uint64_t id = 0;
    uint64_t offset = 0;
    uint32_t length = 0;
  };

  /// Adds `hash` -> `h` unless `hash` is there already (the first holder
  /// wins). `h.id` must not be 0.
  void emplace(uint64_t hash, const home& h);

  /// The home of `hash`, or nullptr. Valid until the next change.
  const home* find(uint64_t hash) const;

  /// Removes `hash` if its holder is file `id`.
  void erase(uint64_t hash, uint64_t id);

  void clear();

  size_t size() const noexcept { return size_; }

  /// Bytes of the table (for tests and budgets).
  size_t bytes() const noexcept { return slots_.capacity() * sizeof(slot); }

private:
  struct slot {
    uint64_t hash = 0;
    home at; // at.id == 0: empty
  };

  size_t ideal(uint64_t hash) const noexcept {
    // Fibonacci hashing: the top bits of a multiplication, so that keys
    // differing only in high bits (or crafted low bits) still spread.
    return static_cast<size_t>((hash * 0x9e3779b97f4a7c15ULL) >> shift_);
  }
  void grow();

  std::vector<slot> slots_;
  size_t size_ = 0;
  unsigned shift_ = 64;
};

} // namespace livesync
