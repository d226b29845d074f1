// The watcher's status in Prometheus' text exposition format:
// `livesync-watcher status --format=prometheus` prints it and
// `--metrics-file` keeps it in a file for node_exporter's textfile
// collector. Every series carries the watched root and the reference
// (host:port) as labels, so several watchers on one host (one file each)
// never collide. Pure: the status and the time are parameters.
#pragma once

#include "core/watcher/watcher_status.hpp"

#include <cstdint>
#include <string>

namespace livesync {

/// The states `livesync_watcher_state` lists, one series each (1 for the
/// current state): the status' four, and "stopped" for the file's last
/// write when the watcher exits.
inline constexpr const char* watcher_states[] = {
  "disconnected", "connecting", "syncing", "in-sync", "stopped"};

/// Renders `s` as of `now_unix_s` (seconds since the Unix epoch), which
/// turns the status' ages into timestamps: a file that is not rewritten
/// while the watcher is idle must not show an age frozen at its last write.
std::string render_prometheus(const watcher_status& s, int64_t now_unix_s);

/// Several references (--references): every family once, with one series
/// per reference (the `reference` label tells them apart).
std::string render_prometheus(const std::vector<watcher_status>& xs,
                              int64_t now_unix_s);

} // namespace livesync
