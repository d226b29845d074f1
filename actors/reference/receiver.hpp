// The reference node's published actor. Consumes hello, manifest and apply
// requests from a watcher; validates and applies every operation through a
// tree_writer; replies with the operations that failed. Emits its counters
// to the metrics file actor (if any) after each request that changed them.
#pragma once

#include "core/wire/batch_codec.hpp"
#include "core/reference/tree_writer.hpp"
#include "messages/actors.hpp"

#include <atomic>
#include <memory>

namespace livesync {

/// Bounds on one request, checked before anything is applied.
inline constexpr size_t max_ops_per_batch = 16384;

struct receiver_state {
  std::shared_ptr<tree_writer> writer;
  /// The watcher whose transfers are open; they die with it.
  caf::actor_addr peer;
  /// Its identity ("host:root"): another watcher is refused while it is
  /// connected; the same one (a restart) takes over.
  std::string peer_identity;
  /// The peer's compression stream (packed batches); restarts at hello.
  batch_unpacker unpacker;
  /// Plain TCP: say so loudly on every connection.
  bool insecure = false;
  /// Set by main on SIGINT/SIGTERM (may be null): a batch being applied
  /// stops between two operations, so the node exits promptly however much
  /// is queued; what was not applied is reported as failed and the watcher
  /// compares again after it reconnects.
  std::shared_ptr<const std::atomic<bool>> stopping;
  /// Counters since start (the writer's are copied in when sent), and who
  /// gets them (null: no --metrics-file).
  reference_counters counters;
  reference_metrics_actor metrics;
  static inline const char* name = "receiver";
};

/// `counters`: where counting starts (root, start time); `metrics`: the
/// metrics file actor, or null.
receiver_actor::behavior_type
receiver(receiver_actor::stateful_pointer<receiver_state> self,
         std::shared_ptr<tree_writer> writer, bool insecure,
         std::shared_ptr<const std::atomic<bool>> stopping,
         reference_metrics_actor metrics, reference_counters counters);

} // namespace livesync
