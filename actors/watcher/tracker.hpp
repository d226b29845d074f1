// The watcher's tracker: owns the watch table and sets up the watches (the
// start-up walk, asked for by main). Consumes decoded inotify events from
// the reader, interprets them (event_interpreter), removes the watches of
// directories moved out, and emits changes to the debouncer.
//
// Directories are walked on demand by short-lived walker actors (walker.hpp),
// spawned per few directories while a walk has work, at most max_walkers at
// a time, and gone when it is done: the start-up walk, a new directory, the
// re-walk after an overflow, an unwatched or unreadable directory tried
// again. The tracker adds each watch itself before the directory is handed
// to a walker to list (so a wd is in the table before any of its events is
// interpreted, and nothing created before the watch is missed), merges the
// listings (core/watcher/watch_walk) and stays the one writer of the table.
//
// Three faults are handled here (the first two on the tracker's own
// timer, resync):
// - IN_Q_OVERFLOW: the tree is walked again for missing watches, then the
//   debouncer is told to have everything compared. Overflows are coalesced
//   and the walks paced by a rescan_backoff, here only: the debouncer
//   forwards each resync into its next batch.
// - The inotify watch limit: directories that could not be watched (and
//   their subtrees) are kept in `unwatched`; while there are any, every
//   `unwatched_scan_interval` their watches are tried again and each is
//   sent as a deep dirty path (a stat-only comparison of its subtree).
// - A directory the watcher may not read (a watch needs read permission):
//   kept in `unreadable`, without a timer. Making it readable changes its
//   mode or owner, which is an event in a directory above it: the watches
//   at or beneath an event's path are tried again, and each one that
//   succeeds is sent as a deep dirty path.
//
// DESIGN.md sketches one tracker actor per directory. Here the per-directory
// actors (walkers) live only while their directory has work; the watch
// table stays one structure in this actor: a directory rename must re-point
// every watch beneath it, which is one table update here but a message to
// every descendant actor there, and 1.2 KB per idle actor would exceed the
// per-file memory budget on trees with many small directories.
#pragma once

#include "core/watcher/event_interpreter.hpp"
#include "core/common/ignore_rules.hpp"
#include "core/watcher/rescan_backoff.hpp"
#include "core/watcher/subtree_set.hpp"
#include "core/watcher/watch_table.hpp"
#include "core/watcher/watch_walk.hpp"
#include "messages/actors.hpp"

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace livesync {

struct tracker_config {
  /// How often unwatched directories are compared and their watches tried
  /// again (only while there are any).
  caf::timespan unwatched_scan_interval = std::chrono::seconds{2};
  /// Pacing of the re-walks after IN_Q_OVERFLOW.
  rescan_backoff_config rewalk;
  /// Walkers in flight at most (main: twice the scheduler's threads).
  size_t max_walkers = 4;
};

struct tracker_state {
  // -- set at spawn ---------------------------------------------------------

  int inotify_fd = -1;
  std::string root;
  watch_table table;
  event_interpreter interpreter;
  debouncer_actor debouncer;
  /// Excluded directories get no watch (may be null).
  std::shared_ptr<const ignore_rules> excludes;
  caf::timespan unwatched_scan_interval{0};

  // -- walks ----------------------------------------------------------------

  /// The walks in progress and the directories they still have to list.
  watch_walks walks;
  /// Walkers in flight, and at most.
  size_t walkers = 0;
  size_t max_walkers = 4;
  /// Main's request for the start-up walk, answered once it is done.
  caf::typed_response_promise<uint64_t> start_reply;
  /// Walks of the current unwatched scan not done yet, and the number of
  /// unwatched directories before it (logged once it is done).
  size_t scan_open = 0;
  size_t scan_before = 0;
  /// A flush barrier held until the walks started before it are done
  /// (they may send changes it must follow); 0: none.
  uint64_t held_barrier = 0;
  uint64_t held_barrier_walks = 0;

  // -- faults (read by status) ----------------------------------------------

  /// Directories left unwatched by the watch limit, each for its subtree.
  /// Status: unwatched.size() is the count to report.
  subtree_set unwatched;
  /// Directories the watcher may not read, each for its subtree.
  subtree_set unreadable;
  /// Periodic scans of the unwatched directories done so far.
  uint64_t unwatched_scans = 0;
  /// Overflows seen and re-walks done (overflows(), rescans()).
  rescan_backoff rewalk;

  // -- timers ---------------------------------------------------------------

  /// The move-pairing tick is in flight.
  bool tick_armed = false;
  /// The next scan of `unwatched` (set while it is not empty).
  std::optional<caf::actor_clock::time_point> next_unwatched_scan;
  /// The earliest resync timer in flight.
  std::optional<caf::actor_clock::time_point> resync_at;

  static inline const char* name = "tracker";
};

/// How long an IN_MOVED_FROM waits for its partner before it counts as a
/// move out of the tree.
inline constexpr auto move_pairing_window = std::chrono::milliseconds(5);

/// Watches nothing until asked (atom::watch: the start-up walk, whose
/// reply main waits for before it starts the reader and the senders, so the
/// watches are in place before any comparison). `stop_fd` is signalled
/// when the tracker terminates, to stop the reader.
tracker_actor::behavior_type
tracker(tracker_actor::stateful_pointer<tracker_state> self, int inotify_fd,
        std::string root, debouncer_actor debouncer, int stop_fd,
        std::shared_ptr<const ignore_rules> excludes, tracker_config cfg);

} // namespace livesync
