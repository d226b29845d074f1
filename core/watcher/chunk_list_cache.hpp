// Large files chunked once for several references (--references). The
// first sender that needs the chunk list of a version of a file (its
// chunk hashes and lengths, and its whole-file hash) reads and chunks it;
// the others take that list and read only the bytes their reference
// lacks. A sender that asks while another is chunking the same version
// waits for it (it is woken), instead of chunking it too: the senders of
// a fan-out start a changed file at about the same time.
//
// Keyed by path and the version as fstat shows it (size, mtime, mode,
// ctime, inode: what a read checks before and after, so a list is only
// ever used for the version it describes). An entry leaves once every
// other sender has taken it, or when the byte budget needs its room (least
// recently added first): a reference that is away does not pin memory.
// Thread-safe: the senders run on the scheduler's threads. Wake-ups run
// on the thread of the put() or abandon(), outside the lock.
#pragma once

#include "core/wire/chunker.hpp"
#include "core/wire/content_hash.hpp"
#include "core/watcher/fs_view.hpp"

#include <cstdint>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

namespace livesync {

/// A version of a file as fstat shows it.
struct file_version {
  uint64_t size = 0;
  int64_t mtime_ns = 0;
  uint32_t mode = 0;
  int64_t ctime_ns = 0;
  uint64_t inode = 0;
};

bool operator==(const file_version& x, const file_version& y);
inline bool operator!=(const file_version& x, const file_version& y) {
  return !(x == y);
}

file_version version_of(const fs_stat& st);

/// The chunks of one version of a file and the hash of its content.
struct chunk_list {
  file_version version;
  recipe chunks;
  hash128 hash;
};

class chunk_list_cache {
public:
  /// `sharers`: the senders that chunk through it (a list is taken by at
  /// most sharers - 1 others).
  chunk_list_cache(uint64_t budget_bytes, size_t sharers);

  enum class answer {
    /// `out` is the list of that version.
    hit,
    /// Nobody has it or is making it: the caller chunks the file and must
    /// then put() the list or abandon() (see chunk_claim).
    produce,
    /// Another sender is chunking that version: `wake` will be called
    /// once, when it put or abandoned it; ask again then.
    wait,
  };

  using wake_fn = std::function<void()>;

  /// The list of `path` in `version`. `taker` names the caller among the
  /// waiters (one wake-up per taker, however often it asks).
  answer take(const std::string& path, const file_version& version,
              uint64_t taker, wake_fn wake,
              std::shared_ptr<const chunk_list>& out);

  /// The list a produce answer asked for (or any list: it replaces an
  /// older version's); wakes who waits for it.
  void put(const std::string& path, std::shared_ptr<const chunk_list> list);

  /// The producer of `version` gave up (a torn read, a lost link, an
  /// exit): wakes who waits for it, and the first to ask again produces.
  void abandon(const std::string& path, const file_version& version);

  struct counters {
    /// Lists taken from another sender.
    uint64_t hits = 0;
    /// Produce answers: files chunked.
    uint64_t misses = 0;
    /// Wait answers.
    uint64_t waits = 0;
    uint64_t evicted = 0;
  };
  counters stats() const;
  uint64_t bytes() const;

private:
  struct entry {
    std::shared_ptr<const chunk_list> list;
    size_t takers_left = 0;
    std::list<std::string>::iterator age;
  };
  struct claim {
    file_version version;
    std::map<uint64_t, wake_fn> waiters;
  };

  static uint64_t cost(const std::string& path, const chunk_list& x);
  void erase(std::unordered_map<std::string, entry>::iterator i);
  /// Ends the claim on `path` if it is for `version`; returns its waiters.
  std::map<uint64_t, wake_fn> resolve(const std::string& path,
                                      const file_version& version);

  mutable std::mutex mtx_;
  uint64_t budget_;
  size_t sharers_;
  uint64_t bytes_ = 0;
  std::unordered_map<std::string, entry> entries_;
  /// Paths, oldest first.
  std::list<std::string> ages_;
  /// Versions being chunked, by path.
  std::unordered_map<std::string, claim> claims_;
  counters stats_;
};

/// Held by the sender that chunks a version for the others: abandons it
/// when dropped unfulfilled (a torn read, a lost link, an exit), so that a
/// waiter takes over rather than waiting for ever.
class chunk_claim {
public:
  chunk_claim(std::shared_ptr<chunk_list_cache> cache, std::string path,
              file_version version);
  ~chunk_claim();
  chunk_claim(const chunk_claim&) = delete;
  chunk_claim& operator=(const chunk_claim&) = delete;

  /// Gives the list to the cache.
  void fulfil(std::shared_ptr<const chunk_list> list);

private:
  std::shared_ptr<chunk_list_cache> cache_;
  std::string path_;
  file_version version_;
  bool done_ = false;
};

} // namespace livesync
