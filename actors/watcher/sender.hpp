// The watcher's sender: owns the link to the reference. Consumes settled
// batches from the debouncer; emits operations to the receiver. One
// behavior per phase of its link_session (core/watcher/link_session.hpp):
//
//   unconnected --connect--> connecting --hello, digests--> reconciling
//        ^                       |                          |   ^
//        |                       |            all acked     v   | rescan
//        +--- peer down / a request failed -------------- live -+
//
// On every (re)connect it compares the reference's tree with ours
// (directory digests, then the listings of the directories that differ, a
// sync_planner over the model), so an empty, stale or up-to-date reference
// all converge the same way; "in-sync" is logged when the comparison's
// last operation is acknowledged. Live, it pulls one batch at a time from
// the debouncer. Content goes out whole for small files and as a chunked
// transfer for large ones, always through a bounded window of bytes in
// flight (CAF's middleman has no backpressure).
//
// Files: sender.cpp (the behaviors), sender_link.cpp (connecting and the
// reconcile's requests), sender_pump.cpp (planning into batches, answers,
// status), sender_upload.cpp (file content into operations),
// sender_read_ahead.cpp (files read or chunked on the content workers).
#pragma once

#include "core/wire/batch_codec.hpp"
#include "core/watcher/digest_plan.hpp"
#include "core/watcher/file_reader.hpp"
#include "core/watcher/barrier_signal.hpp"
#include "core/watcher/chunk_list_cache.hpp"
#include "core/watcher/chunk_scan.hpp"
#include "core/watcher/content_cache.hpp"
#include "core/watcher/file_upload.hpp"
#include "core/watcher/latency_histogram.hpp"
#include "core/watcher/link_session.hpp"
#include "core/watcher/progress_meter.hpp"
#include "core/watcher/read_ahead.hpp"
#include "core/watcher/worker_loads.hpp"
#include "core/watcher/recipe_cache.hpp"
#include "core/watcher/local_tree.hpp"
#include "core/watcher/sync_planner.hpp"
#include "core/watcher/tree_model.hpp"
#include "messages/actors.hpp"

#include <chrono>
#include <cstdint>
#include <map>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <vector>

namespace livesync {

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
  /// Numbers flush barriers and signals the inotify reader, which drains
  /// the inotify queue and passes the barrier down (shared by the senders
  /// of several references). Null: numbers only, and the barrier goes
  /// straight to the debouncer (tests).
  std::shared_ptr<barrier_signal> barriers;
  /// Several references: small files read once for all senders (null:
  /// each reads its own).
  std::shared_ptr<content_cache> shared_reads;
  /// Several references: large files chunked once for all senders (null:
  /// each chunks its own, in the same pass as it sends).
  std::shared_ptr<chunk_list_cache> shared_chunks;
  /// Bytes a sender chunks for the others per pump message.
  uint64_t chunk_slice_bytes = 16u << 20;
  /// The content workers that read small files, and chunk larger ones
  /// queued behind other work, ahead of the planner
  /// (core/watcher/read_ahead; empty: the sender reads each file itself,
  /// when it comes to it). Shared by the senders of several references.
  std::vector<content_worker_actor> content_workers;
  /// How far the reads may run ahead of the link.
  read_ahead::limits read_ahead_limits;
  /// Largest file chunked on a worker ahead of its turn (0: none). A
  /// larger one is chunked by the sender as it streams it: chunking it
  /// first would delay its first byte by a whole read of it.
  uint64_t scan_ahead_max_bytes = 16u << 20;
  /// Actions planned behind a larger file before the sender streams it
  /// (0: none), so that the workers read and chunk the next files
  /// meanwhile. A few suffice: they keep the workers busy for as long as
  /// the file streams, and the file's first byte waits only for planning.
  size_t stream_look_ahead = 32;
  /// Reads handed to a worker in one message, at most.
  size_t reads_per_message = 8;
  /// A file the page cache holds is read by the sender at once, not by a
  /// worker (false: every one goes to a worker; tests).
  bool cached_reads_inline = true;
  /// Actor tests (CAF's test coordinator has no network): called at each
  /// connect instead of the middleman, it gives the reference to use; a
  /// null handle is a failed connect. Empty in the programs.
  std::function<receiver_actor()> local_peer;
};

/// The digest reconcile of one connection (core/watcher/digest_plan): our walk
/// (made while the reference walks its tree), the reference's directories,
/// the plan, and the listings fetched so far. Dropped once the model is
/// built.
struct reconcile_round {
  std::vector<dir_listing> snapshot;
  bool snapshot_ok = false;
  std::chrono::steady_clock::duration walk_time{};
  std::vector<reference_dir> reference_dirs;
  digest_plan plan;
  std::vector<dir_listing> fetched;
};

/// A large file on its way with several references, before it streams:
/// chunked here for every sender, or waiting for the sender that chunks it
/// (actors/watcher/sender_chunking.cpp).
struct shared_chunking {
  std::string path;
  /// The recipe of the version the reference holds, to delta against.
  bool has_base = false;
  recipe base;
  /// Another sender chunks it; a pump message wakes us.
  bool waiting = false;
  /// We chunk it: the read so far, and our claim on it.
  std::unique_ptr<chunk_scan> scan;
  std::unique_ptr<chunk_claim> claim;
};

struct sender_state {
  sender_config cfg;
  /// The link: phase, epoch, window, batches, acks, flushes, retries,
  /// counters (core/watcher/link_session). The actor's behavior follows
  /// its phase.
  std::unique_ptr<link_session> link;
  receiver_actor peer;
  debouncer_actor debouncer;
  /// Told whenever what `status` shows may have changed (null: no
  /// --metrics-file).
  watcher_metrics_actor metrics;

  // What to send: the watched tree, the model of the reference's tree and
  // the comparison between them.
  std::unique_ptr<local_tree> fs;
  tree_model model;
  std::unique_ptr<sync_planner> planner;
  reconcile_round round;
  /// Changes settled while connecting: compared after the reconcile's own
  /// checks (our walk may predate them).
  std::vector<change> held;

  // The content work: the file being streamed, if any, and whether it
  // waits for a recipe; the recipes of files the reference holds.
  std::unique_ptr<file_upload> upload;
  std::unique_ptr<shared_chunking> chunking;
  bool awaiting_recipe = false;
  uint64_t next_xfer = 1;
  recipe_cache recipes;
  /// Planned actions waiting behind files read or chunked on the content
  /// workers.
  read_ahead ahead{read_ahead::limits{}};
  /// Requests out at each worker (dispatch_reads picks the least loaded,
  /// the next in turn on a tie).
  worker_loads worker_load;
  /// Planner steps taken since the front became a file this sender streams
  /// itself (look_ahead() stops after a few).
  size_t look_ahead_steps = 0;
  /// Reads not handed to a worker yet, and their ids in `ahead`: they go
  /// several to a message (dispatch_reads).
  content_reads unsent_reads;
  std::vector<uint64_t> unsent_ids;

  // The pump: a demand is out at the debouncer; a pump message is queued.
  bool demand_sent = false;
  bool pump_scheduled = false;

  /// Flushes waiting for their barrier, by id (link_session::add_flush).
  std::map<uint64_t, caf::typed_response_promise<uint64_t>> flush_promises;

  // Logging: progress of a comparison, counters now and then.
  progress_meter progress;
  /// Files and content bytes counted when the running comparison started.
  uint64_t progress_files_base = 0;
  uint64_t progress_bytes_base = 0;
  std::chrono::steady_clock::time_point progress_logged_at{};
  std::chrono::steady_clock::time_point stats_logged_at{};
  bool root_missing_logged = false;
  static inline const char* name = "sender";
};

/// `metrics`: the metrics file actor, or null.
sender_actor::behavior_type
sender(sender_actor::stateful_pointer<sender_state> self, sender_config cfg,
       debouncer_actor debouncer, watcher_metrics_actor metrics);

} // namespace livesync
