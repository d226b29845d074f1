// Small files read once for several references (--references). The first
// sender that needs a version of a file reads and hashes it; the others
// take that read while their planner sees the same version (size, mtime,
// mode: the state the planner compares, so a hit is exactly what a read
// would have given). An entry leaves once every other sender has taken
// it, or when the byte budget needs its room (least recently added
// first): a reference that is away does not pin memory. Thread-safe: the
// senders run on the scheduler's threads.
#pragma once

#include "core/wire/op.hpp"
#include "core/wire/entry.hpp"

#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace livesync {

class content_cache {
public:
  struct item {
    std::shared_ptr<const std::vector<char>> data;
    hash128 hash;
    entry_meta meta;
  };

  /// `sharers`: the senders that read through it (an entry is taken by at
  /// most sharers - 1 others).
  content_cache(uint64_t budget_bytes, size_t sharers);

  /// The cached read of `path` in state `meta`, if there is one.
  std::optional<item> take(const std::string& path, const entry_meta& meta);

  /// A read of `path` the other senders may take.
  void put(const std::string& path, item x);

  struct counters {
    uint64_t hits = 0;
    uint64_t misses = 0;
    uint64_t evicted = 0;
  };
  counters stats() const;
  uint64_t bytes() const;

private:
  struct entry {
    item value;
    size_t takers_left = 0;
    std::list<std::string>::iterator age;
  };

  void erase(std::unordered_map<std::string, entry>::iterator i);

  mutable std::mutex mtx_;
  uint64_t budget_;
  size_t sharers_;
  uint64_t bytes_ = 0;
  std::unordered_map<std::string, entry> entries_;
  /// Paths, oldest first.
  std::list<std::string> ages_;
  counters stats_;
};

} // namespace livesync
