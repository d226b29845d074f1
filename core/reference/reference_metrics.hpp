// What the reference counts, and its rendering in Prometheus' text
// exposition format for `livesync-reference --metrics-file` (the reference
// has no control port: the file is its only way to show them). Every
// series carries the mirror's root as a label, so several references on
// one host never collide. Pure: the counters are a parameter.
#pragma once

#include <cstdint>
#include <string>

namespace livesync {

/// A snapshot of the reference's counters since start, sent by the
/// receiver after each request that changed them.
struct reference_counters {
  std::string root;
  /// Seconds since the Unix epoch when the reference started.
  int64_t start_time_s = 0;
  /// False only in the file's last write, as the reference exits.
  bool running = true;
  /// The watcher of the last hello ("host:root"), while it is connected.
  std::string watcher;
  /// Hellos accepted, and refused (another watcher, protocol version).
  uint64_t connections = 0;
  uint64_t refused_peers = 0;
  /// Apply requests received, and those of them refused whole (too many
  /// operations, a stream that cannot be unpacked, no hello).
  uint64_t batches = 0;
  uint64_t refused_batches = 0;
  /// Bytes of apply requests received: packed frames as they came, plain
  /// operations' data.
  uint64_t received_bytes = 0;
  /// Operations applied or refused (tree_writer's writer_stats).
  uint64_t ops = 0;
  uint64_t op_errors = 0;
  uint64_t files_committed = 0;
  uint64_t written_bytes = 0;
  /// Comparisons a watcher started (directory digests or the manifest).
  uint64_t reconciles = 0;
  /// Files being streamed in now.
  uint64_t open_transfers = 0;
};

std::string render_prometheus(const reference_counters& c);

} // namespace livesync
