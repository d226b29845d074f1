// The watcher's sender: owns the link to the reference. Consumes settled
// batches from the debouncer; emits operations to the receiver.
//
//   disconnected --connect ok--> reconciling --all acked--> live
//        ^                            |                       |
//        +-------- peer down / request failed ----------------+
//
// On every (re)connect it fetches the reference's manifest into a
// tree_model and runs a full comparison (sync_planner), so an empty, stale
// or up-to-date reference all converge the same way; "in-sync" is logged
// when the comparison's last operation is acknowledged. Live, it pulls one
// batch at a time from the debouncer. Content goes out whole for small
// files and as a chunked transfer for large ones, always through a bounded
// window of bytes in flight (CAF's middleman has no backpressure).
#pragma once

#include "core/wire/batch_codec.hpp"
#include "core/wire/digest_plan.hpp"
#include "core/watcher/file_reader.hpp"
#include "core/watcher/ack_marks.hpp"
#include "core/watcher/file_upload.hpp"
#include "core/watcher/latency_histogram.hpp"
#include "core/watcher/link_counters.hpp"
#include "core/watcher/progress_meter.hpp"
#include "core/watcher/recipe_cache.hpp"
#include "core/watcher/local_tree.hpp"
#include "core/watcher/sync_planner.hpp"
#include "core/watcher/tree_model.hpp"
#include "messages/actors.hpp"

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <vector>

namespace livesync {

/// Flush requests waiting at once, at most (each holds a promise until the
/// reference has acknowledged everything before it).
inline constexpr size_t max_pending_flushes = 32;

struct sender_config {
  std::string root;
  /// Who we are to the reference ("host:root", watcher_identity()).
  std::string identity;
  std::string host = "127.0.0.1";
  uint16_t port = 4242;
  /// Connect with mutual TLS (CAF's openssl module) rather than plain TCP.
  bool tls = false;
  /// Bytes of operations sent and not yet acknowledged, at most.
  uint64_t window_bytes = 16u << 20;
  /// A request carries at most this many bytes / operations.
  uint64_t batch_bytes = 1u << 20;
  size_t batch_ops = 4096;
  /// Files up to this size travel whole in one op (zstd); larger ones
  /// stream as a delta against the recipe of the reference's version.
  uint64_t small_file_bytes = 64u << 10;
  /// Chunking, compression and block size of streamed files.
  upload_settings upload;
  /// Memory for recipes of files the reference holds.
  uint64_t recipe_budget_bytes = uint64_t{256} << 20;
  caf::timespan request_timeout = std::chrono::seconds(60);
  caf::timespan retry_min = std::chrono::milliseconds(250);
  caf::timespan retry_max = std::chrono::seconds(5);
  /// Counters are logged this often while there is activity (no timer
  /// runs while idle); zero logs them only at exit.
  caf::timespan stats_interval = std::chrono::seconds(60);
  /// Paths neither sent nor removed (may be null).
  std::shared_ptr<const ignore_rules> excludes;
  /// Pause before a path whose operation failed is looked at again.
  caf::timespan error_retry = std::chrono::seconds(1);
  /// A comparison in progress logs a progress line this often (0: never).
  caf::timespan progress_interval = std::chrono::seconds(10);
  /// An eventfd the inotify reader polls: each write asks it to drain the
  /// inotify queue and pass a flush barrier down. -1: no reader (tests);
  /// the barrier then goes straight to the debouncer.
  int barrier_fd = -1;
  /// Actor tests (CAF's test coordinator has no network): called at each
  /// connect instead of the middleman, it gives the reference to use; a
  /// null handle is a failed connect. Empty in the programs.
  std::function<receiver_actor()> local_peer;
};

/// The sender's counters (core/watcher/link_counters.hpp).
using sender_stats = link_counters;

/// A `flush` request waiting for its barrier.
struct flush_waiter {
  uint64_t id = 0;
  /// Operation errors and unreadable files counted when the flush was
  /// asked for: what is counted later is what the flush reports.
  uint64_t errors_before = 0;
  uint64_t unreadable_before = 0;
  caf::typed_response_promise<uint64_t> promise;
};

struct sender_state {
  enum class phase { disconnected, connecting, reconciling, live };

  sender_config cfg;
  std::unique_ptr<local_tree> fs;
  tree_model model;
  std::unique_ptr<sync_planner> planner;
  debouncer_actor debouncer;
  receiver_actor peer;
  phase state = phase::disconnected;
  /// Bumped on every link loss: replies from an older link are ignored.
  uint64_t epoch = 0;
  std::vector<op> batch;
  uint64_t batch_bytes = 0;
  uint64_t in_flight_bytes = 0;
  size_t in_flight_requests = 0;
  bool demand_sent = false;
  bool pump_scheduled = false;
  caf::timespan backoff{0};
  std::chrono::steady_clock::time_point reconcile_start;
  /// The reconcile by directory digests (core/wire/digest_plan): our walk (made
  /// while the reference walks its tree), the reference's directories,
  /// the plan, and the listings fetched so far. Cleared once the model is
  /// built.
  std::vector<dir_listing> snapshot;
  bool snapshot_ok = false;
  std::chrono::steady_clock::duration walk_time{};
  std::vector<reference_dir> reference_dirs;
  digest_plan plan;
  std::vector<dir_listing> fetched;
  /// Changes settled while connecting: compared after the reconcile's own
  /// checks (our walk may predate them).
  std::vector<change> held;
  // The file being streamed, if any, and whether it waits for a recipe.
  std::unique_ptr<file_upload> upload;
  bool awaiting_recipe = false;
  uint64_t next_xfer = 1;
  recipe_cache recipes;
  // Paths to re-dirty after an error, and whether the timer runs.
  std::vector<std::string> retry_paths;
  bool retry_armed = false;
  /// Operations refused during the current comparison: it is not in sync
  /// until a comparison completes without any.
  uint64_t round_errors = 0;
  /// The retry timer also restarts the full comparison.
  bool recheck_all = false;
  bool root_missing_logged = false;
  /// When the counters were last logged (at most every stats_interval).
  std::chrono::steady_clock::time_point stats_logged_at{};
  /// The link's zstd stream (flush() packs every batch into it); a new one
  /// for each epoch, as each connection starts with a hello, which starts
  /// the receiver's stream anew.
  std::unique_ptr<batch_packer> packer;
  uint64_t packer_epoch = 0;
  sender_stats stats;
  /// Told whenever what `status` shows may have changed (null: no
  /// --metrics-file).
  watcher_metrics_actor metrics;
  /// Which settled batches the reference has fully acknowledged
  /// (latency, flush barriers).
  ack_marks marks;
  uint64_t barrier_done = 0;
  uint64_t flush_requested = 0;
  std::vector<flush_waiter> flush_waiters;
  latency_histogram latency;
  progress_meter progress;
  /// stats.files and content bytes when the running comparison started.
  uint64_t progress_files_base = 0;
  uint64_t progress_bytes_base = 0;
  /// When the last progress line was logged.
  std::chrono::steady_clock::time_point progress_logged_at{};
  std::chrono::steady_clock::time_point started_at;
  std::chrono::steady_clock::time_point last_in_sync{};
  bool ever_in_sync = false;
  std::string last_error;
  std::chrono::steady_clock::time_point last_error_at{};
  static inline const char* name = "sender";
};

/// `metrics`: the metrics file actor, or null.
sender_actor::behavior_type
sender(sender_actor::stateful_pointer<sender_state> self, sender_config cfg,
       debouncer_actor debouncer, watcher_metrics_actor metrics);

} // namespace livesync
