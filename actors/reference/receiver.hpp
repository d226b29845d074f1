// The reference node's published actor. Consumes hello, manifest and apply
// requests from a watcher; validates each batch and routes its operations
// to the path writers (actors/reference/path_writer) in the order
// core/reference/apply_schedule allows; replies with the operations that
// failed once all of a batch's are done. Has its reads served on a
// writer's thread, after the writes sent before them. Emits its counters
// to the metrics file actor (if any) after each request that changed them.
#pragma once

#include "core/reference/apply_schedule.hpp"
#include "core/wire/batch_codec.hpp"
#include "core/reference/tree_writer.hpp"
#include "messages/actors.hpp"

#include <atomic>
#include <deque>
#include <functional>
#include <map>
#include <memory>

namespace livesync {

/// Bounds on one request, checked before anything is applied.
inline constexpr size_t max_ops_per_batch = 16384;

/// How the receiver runs its path writers.
struct writer_pool_options {
  /// Writers ops are spread over (--writers).
  size_t writers = 4;
  /// A writer unused this long, holding no transfer, retires the next
  /// time the receiver has nothing in flight (no timer: an idle node wakes
  /// no thread; those of the last burst stay, sleeping).
  caf::timespan idle = std::chrono::seconds{5};
  /// Each writer on its own thread (the node); false in actor tests, whose
  /// deterministic scheduler runs everything.
  bool detached = true;
};

/// A read waiting for the writes before it: `run` on a writer's thread,
/// then `answer` on the receiver's.
struct pending_read {
  std::function<void()> run;
  std::function<void()> answer;
};

/// A task handed to a path writer and not yet answered.
struct sent_task {
  std::shared_ptr<const writer_task> task;
  /// The writer's incarnation it went to.
  uint64_t incarnation;
  /// Aborts broadcast before it was sent.
  uint64_t aborts;
  /// A read's answer, delivered once the writer says it ran.
  std::function<void()> answer;
};

/// A batch's answer, owed once the schedule says it is done.
struct owed_answer {
  caf::typed_response_promise<std::vector<op_error>> promise;
  /// Errors known before any op ran.
  std::vector<op_error> early;
};

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
  // -- the path writers --
  writer_pool_options pool;
  std::unique_ptr<apply_schedule> schedule;
  /// Per writer: its handle (null until first needed), incarnation
  /// (bumped when a retired one is replaced), and tasks in flight.
  std::vector<path_writer_actor> writers;
  std::vector<uint64_t> incarnations;
  std::vector<caf::actor_clock::time_point> last_used;
  std::vector<std::deque<sent_task>> sent;
  uint64_t aborts = 0;
  /// Batches not yet answered, oldest first.
  std::deque<owed_answer> answers;
  /// Reads waiting for the writes before them, by token.
  std::map<uint64_t, pending_read> reads;
  uint64_t next_read = 0;
  static inline const char* name = "receiver";
};

/// `counters`: where counting starts (root, start time); `metrics`: the
/// metrics file actor, or null.
receiver_actor::behavior_type
receiver(receiver_actor::stateful_pointer<receiver_state> self,
         std::shared_ptr<tree_writer> writer, bool insecure,
         std::shared_ptr<const std::atomic<bool>> stopping,
         reference_metrics_actor metrics, reference_counters counters,
         writer_pool_options pool = {});

} // namespace livesync
