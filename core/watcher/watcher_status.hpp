// What `livesync-watcher status` shows: a snapshot of a running watcher,
// gathered by its control actor, and its text and JSON renderings. Plain
// data, so the wire form (messages/types.hpp) and the tests see one struct.
#pragma once

#include "core/watcher/link_counters.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace livesync {

struct watcher_status {
  /// "disconnected", "connecting", "syncing" or "in-sync"; "live" with
  /// work pending is reported as "syncing". The metrics file's last write,
  /// as the watcher exits, says "stopped".
  std::string state;
  std::string root;
  std::string reference; // host:port
  bool tls = false;
  /// Seconds since the watcher started, and since the last in-sync (-1:
  /// never in sync).
  int64_t uptime_s = 0;
  int64_t since_in_sync_s = -1;
  /// Dirty paths the debouncer holds, and items the planner has queued.
  uint64_t pending_paths = 0;
  uint64_t queued_checks = 0;
  /// Bytes sent and not yet acknowledged.
  uint64_t in_flight_bytes = 0;
  /// Directories mirrored by periodic scans because inotify could not watch
  /// them (the watch limit was reached).
  uint64_t unwatched_dirs = 0;
  std::string last_error; // empty: none since start
  /// The ec code of the last error when the reference classed it (a
  /// refused op: "stale", "no_space", ...); empty otherwise.
  std::string last_error_code;
  int64_t last_error_age_s = -1;
  /// Counters since start (reconnects: connections after the first).
  link_counters counters;
  // Latency from the first event on a path to the reference's
  // acknowledgement of its commit, in microseconds.
  uint64_t latency_samples = 0;
  uint64_t latency_p50_us = 0;
  uint64_t latency_p90_us = 0;
  uint64_t latency_p99_us = 0;
  uint64_t latency_max_us = 0;
  /// The samples <= each bound of latency_export_bounds_us
  /// (core/watcher/latency_histogram.hpp), cumulative; and the sum of all samples.
  std::vector<uint64_t> latency_buckets;
  uint64_t latency_sum_ns = 0;
  /// The running comparison's progress line; empty when none runs.
  std::string progress;
};

/// What `livesync-watcher flush` learns: the operations the references
/// refused meanwhile, and the references it did not wait for because they
/// were not connected (with several references; one is waited for).
struct flush_report {
  uint64_t refused = 0;
  std::vector<std::string> unreachable;
};

/// Human-readable, one "key: value" per line.
std::string render_text(const watcher_status& s);

/// One JSON object (keys as the struct members), for scripts.
std::string render_json(const watcher_status& s);

/// Several references: the text of each, a blank line between them; JSON
/// as one object for one reference (as before --references) and an array
/// of them for several.
std::string render_text(const std::vector<watcher_status>& xs);
std::string render_json(const std::vector<watcher_status>& xs);

/// Escapes `s` as the contents of a JSON string (quotes not included).
std::string json_escape(const std::string& s);

} // namespace livesync
