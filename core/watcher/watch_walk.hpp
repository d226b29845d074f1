// The tracker's walks for watches, planned without touching the kernel or
// the disk: which directories to list next, what a listing adds to the
// watch table, and when a walk is done. The tracker adds each watch itself
// (through `add_watch`, so that a wd is in the table before any of its
// events is interpreted) and hands the listings to short-lived walker
// actors; their results come back through merge(). Consumes walk starts and
// listings; emits listing tasks and finished walks.
#pragma once

#include "core/common/ignore_rules.hpp"
#include "core/watcher/watch_setup.hpp"
#include "core/watcher/watch_table.hpp"

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

namespace livesync {

/// Why a walk runs: the tracker decides by it what a finished walk means.
enum class walk_kind : uint8_t {
  /// The start-up walk of the whole tree (main waits for it).
  start,
  /// A directory created or moved in, or one listed again after a rename
  /// raced its listing: compared (deep) once its subtree is watched.
  created,
  /// After IN_Q_OVERFLOW: the whole tree again, for missing watches.
  rewalk,
  /// A directory the watch limit left unwatched, tried again.
  unwatched,
  /// A directory the watcher could not read, tried again.
  unreadable,
};

/// One directory for a walker to list. `wd` already watches it, under the
/// root-relative `path` the table had when the task was made.
struct walk_task {
  int32_t wd = -1;
  std::string path;
  uint64_t walk = 0;
};

/// What a walker found in one directory: the names of its subdirectories,
/// or in `error` the errno that kept it from listing them.
struct walk_listing {
  int32_t wd = -1;
  std::string path;
  uint64_t walk = 0;
  int32_t error = 0;
  std::vector<std::string> subdirs;
};

/// A walk whose every directory was watched (or failed) and listed.
struct walk_result {
  uint64_t id = 0;
  walk_kind kind = walk_kind::start;
  /// Where the walk started, under the name it has now (a rename during
  /// the walk is followed through the watch of that directory).
  std::string root;
  /// True when the start directory itself got a watch.
  bool root_watched = false;
  /// As add_watch_tree's: watches added, errors (the limit's line last),
  /// unwatched and unreadable directories (sorted).
  watch_report report;
};

/// Adds (or finds) the watch of root-relative `path`: the wd, or -errno.
using add_watch_fn = std::function<int32_t(const std::string& path)>;

class watch_walks {
public:
  /// `root` (absolute) names directories in error lines; `excludes` may
  /// be null (nothing excluded).
  watch_walks(std::string root, add_watch_fn add_watch,
              std::shared_ptr<const ignore_rules> excludes);

  watch_walks() = default;

  /// Starts a walk at root-relative `rel` ("" is the root): watches it,
  /// recording it in `table`, and queues its listing. Returns the walk's
  /// id; a walk that watched nothing is done at once (take_done()).
  uint64_t start(walk_kind kind, const std::string& rel, watch_table& table);

  /// Up to `max` queued directories to list, the most recently queued
  /// first: depth first, so the queue holds about depth x fan-out
  /// directories, not the tree's widest level (as the synchronous walk's
  /// stack did). They count as in flight until merged.
  std::vector<walk_task> next(size_t max);

  /// Merges a walker's listing: watches each subdirectory (a new wd is in
  /// `table` before the subdirectory is listed) and queues its listing. A
  /// directory whose wd names another path now (renamed meanwhile) is
  /// listed again under that name; one whose wd is gone (deleted, moved
  /// out) is dropped.
  void merge(const walk_listing& listing, watch_table& table);

  /// To call after the tracker applied events to `table`: a directory whose
  /// listing, or one of whose subdirectories, vanished by name while its wd
  /// stayed, may have been renamed by an event not interpreted then. Once
  /// its wd names another path it is walked again there (walk_kind::created);
  /// once its wd is gone it is forgotten.
  void recheck(watch_table& table);

  /// The walks finished since the last call, in the order they finished.
  std::vector<walk_result> take_done();

  /// The id the next walk gets: walks started before now have lower ids.
  uint64_t next_id() const noexcept { return next_id_; }

  /// True when every walk with an id below `id` is done.
  bool done_below(uint64_t id) const noexcept;

  /// Directories waiting for a walker.
  size_t queued() const noexcept { return queue_.size(); }

  /// Walks not done yet.
  size_t open() const noexcept { return walks_.size(); }

  /// Directories kept for recheck() (normally none).
  size_t suspects() const noexcept { return suspects_.size(); }

private:
  struct open_walk {
    walk_kind kind = walk_kind::start;
    std::string root;
    int32_t root_wd = -1;
    watch_report report;
    /// Directories queued or being listed.
    size_t outstanding = 0;
  };

  /// Watches `path` for walk `w` and queues its listing; false when it
  /// could not be watched (recorded in the walk's report).
  bool watch(open_walk& w, uint64_t id, const std::string& path,
             watch_table& table, int32_t* wd_out, bool* vanished);
  void queue(open_walk& w, uint64_t id, int32_t wd, std::string path);
  /// Counts one directory of walk `id` as done; finishes the walk at zero.
  void settle(uint64_t id, const watch_table& table);
  void finish(uint64_t id, const watch_table& table);
  bool wanted(const std::string& path) const;

  std::string root_;
  add_watch_fn add_watch_;
  std::shared_ptr<const ignore_rules> excludes_;
  uint64_t next_id_ = 1;
  std::map<uint64_t, open_walk> walks_;
  std::vector<walk_task> queue_;
  std::vector<walk_result> done_;
  /// wd -> the path under which something vanished during a walk.
  std::unordered_map<int32_t, std::string> suspects_;
};

/// How many directories to give the next walker: the queue shared among
/// the free walker slots, 1 to 64 each (fewer, larger messages when the
/// frontier is wide; all the slots busy when it is narrow).
size_t walker_batch(size_t queued, size_t free_slots);

} // namespace livesync
