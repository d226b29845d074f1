// The watcher's --metrics-file: its status in Prometheus' text format
// (core/watcher/watcher_metrics), for node_exporter's textfile collector. Consumes
// `changed` from the sender, whenever what the file shows may have changed;
// asks the control actor for the status when core/common/metrics_pacer says a
// write is due, and replaces the file atomically. No timer runs unless a
// change waits to be written, so an idle watcher never wakes up for it.
#pragma once

#include "actors/common/metrics_output.hpp"
#include "core/common/metrics_pacer.hpp"
#include "messages/actors.hpp"

#include <string>

namespace livesync {

struct watcher_metrics_state {
  metrics_output out{{}};
  metrics_pacer pacer{std::chrono::seconds(1)};
  /// Where the status comes from; null until main sends it.
  control_actor source;
  /// A write fell due before the source was known.
  bool owed = false;
  /// The last write (as the watcher exits) is done or under way.
  bool final = false;
  static inline const char* name = "metrics-file";
};

watcher_metrics_actor::behavior_type
watcher_metrics_file(
  watcher_metrics_actor::stateful_pointer<watcher_metrics_state> self,
  std::string path, caf::timespan interval);

} // namespace livesync
