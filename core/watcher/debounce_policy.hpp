// The debouncer's logic: coalesces changes per path until they settle, and
// keeps renames in order, with dirty paths named after the renames that
// followed them. Time is a parameter, never read inside.
//
// A path settles when it has been quiet for the quiet window, or at once
// when its last change says the file is complete (change_closed: closed
// after writing, or renamed into place): nothing more is coming, so
// waiting would only add latency. A file still being written (IN_MODIFY
// with no close yet) keeps the quiet window; so does a path whose first
// change came less than a quiet window after it was last handed out (a
// writer that opens, appends and closes in a loop is busy, and is sent as
// often as before, not at every close).
// Settling early is safe however the writer goes on: any later event
// dirties the path again, and the sender reads the tree, not the events
// (a read torn by a concurrent write is retried).
#pragma once

#include "core/watcher/change.hpp"

#include <chrono>
#include <cstddef>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace livesync {

struct debounce_config {
  /// A path is due once it has been quiet this long.
  std::chrono::nanoseconds quiet{std::chrono::milliseconds{5}};
  /// ... or once it has been pending this long, however busy it is.
  std::chrono::nanoseconds max_delay{std::chrono::milliseconds{500}};
  /// At most this many paths per batch (0 counts as 1).
  size_t max_batch = 4096;
};

/// A batch handed to the sender.
struct settled {
  /// Renames in the order they happened; all of them go out with the first
  /// batch after they arrived (the paths in later batches are named after
  /// them, so they must not wait).
  std::vector<change> renames;
  /// Due dirty paths, sorted (a parent sorts before its children), each
  /// with the union of the flags it collected.
  std::vector<change> paths;
  bool rescan = false;
  /// When the oldest change in this batch was first seen (steady clock,
  /// ns since its epoch; 0 when the batch holds no change): the start of
  /// the latency the sender measures up to the reference's acknowledgement.
  int64_t first_event_ns = 0;
  /// A flush barrier (0: none): every change seen before the flush was
  /// requested is in this batch or an earlier one.
  uint64_t barrier = 0;

  bool empty() const noexcept {
    return renames.empty() && paths.empty() && !rescan && barrier == 0;
  }
};

class debounce_policy {
public:
  using time_point = std::chrono::steady_clock::time_point;

  explicit debounce_policy(debounce_config cfg = {});

  /// Records a change at `now`.
  /// - dirty(p, f): merges flags with a pending entry for p; restarts its
  ///   quiet window; keeps its first-seen time. With change_closed in `f`
  ///   (kept out of the entry's flags) the entry is due at once, unless
  ///   pop_due() handed p out less than `quiet` before the entry's first
  ///   change; any dirty without it makes the entry wait for quiet again.
  /// - rename(a, b): appended to the rename list; every pending dirty path
  ///   within `a` is re-keyed to the same place within `b` (merging flags
  ///   with an entry already there, keeping the older first-seen time).
  void add(const change& c, time_point now);

  /// Asks for a full rescan (overflow); the next batch carries it.
  void request_rescan();

  /// Removes and returns what is due at `now`: all pending renames (only
  /// when they have been quiet for `quiet`, or when some path is due), the
  /// due paths (at most max_batch), and a pending rescan. The paths handed
  /// out are remembered for one quiet window (see add()).
  settled pop_due(time_point now);

  /// Removes and returns what is pending whether due or not (at most
  /// max_batch paths, with every rename): a flush must not wait for quiet.
  settled pop_all();

  /// The earliest time something becomes due, if anything is pending: the
  /// minimum over pending paths of min(last seen + quiet, first seen +
  /// max_delay), or last seen for a path settled by a close, and over
  /// pending renames of the last rename + quiet. A pending rescan is due
  /// at once: it yields time_point{} (the clock's epoch, never later than
  /// `now`), so clamp `*next_due() - now` at zero.
  std::optional<time_point> next_due() const;

  bool empty() const noexcept;
  size_t pending_paths() const noexcept { return paths_.size(); }

private:
  struct entry {
    uint8_t flags = 0;
    time_point first_seen;
    time_point last_seen;
    /// The path was not handed out within a quiet window before this
    /// entry's first change: a close may settle it at once.
    bool eager = true;
    /// The last change was a close (or a move into place).
    bool closed = false;
  };

  void add_rename(const change& c, time_point now);
  settled pop(time_point now, bool all);
  /// Adds `e` at `path`, or folds it into the entry already there.
  void merge(const std::string& path, const entry& e);
  bool is_due(const entry& e, time_point now) const;
  /// Whether pop_due() handed `path` out less than `quiet` before `now`.
  bool handed_out_recently(const std::string& path, time_point now) const;
  /// Forgets hand-outs older than one quiet window.
  void forget_handed_out(time_point now);

  debounce_config cfg_;
  std::map<std::string, entry> paths_;
  /// Paths pop_due() handed out within the last quiet window, with when
  /// (the latest), and the same in the order they went (times ascending).
  std::map<std::string, time_point> handed_out_;
  std::deque<std::pair<time_point, std::string>> handed_out_order_;
  std::vector<change> renames_;
  time_point first_rename_;
  time_point last_rename_;
  bool rescan_ = false;
};

} // namespace livesync
