// The strong content hash livesync uses end to end: XXH3-128 of a file's
// whole content. The watcher hashes what it sends, the reference hashes what
// it built, and a file is committed only when the two agree.
#pragma once

#include "core/wire/op.hpp"

#include <cstddef>

// The xxhash state type, so this header does not pull in <xxhash.h>.
struct XXH3_state_s;

namespace livesync {

/// Hashes a byte stream given in pieces: any split of the same bytes gives
/// the same digest as hash_bytes() over all of them.
class content_hasher {
public:
  /// Starts an empty stream. Throws std::bad_alloc when out of memory.
  content_hasher();
  content_hasher(const content_hasher&) = delete;
  content_hasher& operator=(const content_hasher&) = delete;
  ~content_hasher();

  /// Appends `n` bytes at `data` (`data` may be null when `n` is 0).
  void update(const void* data, size_t n);

  /// Starts over, as if newly constructed.
  void reset();

  /// The hash of everything appended so far; the stream may continue.
  hash128 digest() const;

private:
  XXH3_state_s* state_;
};

/// XXH3-128 of `n` bytes at `data` in one call.
hash128 hash_bytes(const void* data, size_t n);

} // namespace livesync
