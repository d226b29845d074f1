// What the watcher's sender counts on its link to the reference, since
// start: logged periodically and at exit, and part of `status`.
#pragma once

#include <cstdint>

namespace livesync {

struct link_counters {
  uint64_t ops = 0;
  uint64_t requests = 0;
  /// Bytes of operations sent (payload plus per-op overhead).
  uint64_t bytes = 0;
  uint64_t files = 0;
  /// Bytes of file content sent as literals (before compression).
  uint64_t literal_bytes = 0;
  /// Bytes of file content the reference copied from what it held.
  uint64_t copied_bytes = 0;
  /// Op payload as it went on the wire: packed batches after compression
  /// (their op fields included), else the ops' data.
  uint64_t payload_bytes = 0;
  /// Recipe requests: the only round trips besides connecting.
  uint64_t round_trips = 0;
  /// Deltas that fell back to full content (no recipe, hash mismatch).
  uint64_t fallbacks = 0;
  uint64_t errors = 0;
  /// Files that could not be read (permissions, I/O errors): not sent.
  uint64_t unreadable = 0;
  /// Connections made (the first one included).
  uint64_t reconnects = 0;
  /// Large files chunked for this sender (by it, for every reference with
  /// several, or ahead by a content worker), and those it took the chunk
  /// list of from another sender.
  uint64_t chunked_files = 0;
  uint64_t shared_chunk_lists = 0;
  /// Files read on a content worker (small ones not in the page cache) or
  /// chunked on one (larger ones queued behind other work), of `files`.
  uint64_t worker_reads = 0;
};

} // namespace livesync
