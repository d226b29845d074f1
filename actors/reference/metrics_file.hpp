// The reference's --metrics-file: its counters in Prometheus' text format
// (core/reference/reference_metrics), for node_exporter's textfile collector.
// Consumes the counters the receiver sends after each request that changed
// them; writes the latest when core/common/metrics_pacer says a write is due,
// atomically. No timer runs unless a change waits to be written, so an
// idle reference never wakes up for it.
#pragma once

#include "actors/common/metrics_output.hpp"
#include "core/common/metrics_pacer.hpp"
#include "messages/actors.hpp"

#include <string>

namespace livesync {

struct reference_metrics_state {
  metrics_output out{{}};
  metrics_pacer pacer{std::chrono::seconds(1)};
  reference_counters latest;
  static inline const char* name = "metrics-file";
};

/// `initial`: the counters at start (root, start time).
reference_metrics_actor::behavior_type reference_metrics_file(
  reference_metrics_actor::stateful_pointer<reference_metrics_state> self,
  std::string path, caf::timespan interval, reference_counters initial);

} // namespace livesync
