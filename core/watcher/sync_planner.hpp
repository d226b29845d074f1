// The sender's brain: turns settled changes into the operations that make
// the reference (as the tree_model remembers it) equal to the watched tree
// (as the fs_view shows it now). Events are hints and the tree is the truth:
// every decision looks at the filesystem at the moment it is made, which is
// what makes coalescing always correct.
//
// Work is a queue of items processed one at a time by step(); a deep check
// of a directory pushes its children to the front (depth first), so memory
// stays bounded by the tree's shape, not by its content.
#pragma once

#include "core/watcher/change.hpp"
#include "core/watcher/fs_view.hpp"
#include "core/common/ignore_rules.hpp"
#include "core/wire/op.hpp"
#include "core/watcher/hardlink_index.hpp"
#include "core/watcher/subtree_set.hpp"
#include "core/wire/tree_listing.hpp"
#include "core/watcher/tree_model.hpp"

#include <cstddef>
#include <deque>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace livesync {

/// One thing step() asks the sender to do, in order.
struct action {
  enum kind_t : uint8_t {
    /// Send `operation` as is.
    send,
    /// Send the content of file `path` (expected state `meta`), then call
    /// uploaded() or upload_failed().
    upload,
    /// `path` is a fifo, socket, device or the state folder, or (with a
    /// `reason`) a path no operation may name: say so once.
    warn_skipped,
    /// Directory `path` cannot be listed, or a name in it looked at (the
    /// watcher lacks read or search permission): what the reference holds
    /// beneath it stays as it is until it can be read. Said once.
    warn_unreadable,
  } kind = send;
  op operation;
  std::string path;
  entry_meta meta;
  /// warn_skipped: why, when it is not the kind of the entry.
  std::string reason;
  /// upload: the file has other names (hard links). Until its content is
  /// sent they cannot be linked to it (the model does not hold it yet),
  /// so nothing may be planned past it (core/watcher/read_ahead).
  bool linked = false;
};

/// Counters for logs and status.
struct planner_stats {
  uint64_t checks = 0;
  /// Checks skipped because the path is excluded.
  uint64_t excluded = 0;
  /// Removals not sent because the watched root itself was gone.
  uint64_t root_missing = 0;
  uint64_t renames_replayed = 0;
  uint64_t renames_degraded = 0;
};

class sync_planner {
public:
  /// `excludes` (may be nullptr, must outlive the planner): paths it
  /// excludes are neither sent nor removed on the reference (as rsync's
  /// --exclude without --delete-excluded).
  sync_planner(const fs_view& fs, tree_model& model,
               const ignore_rules* excludes = nullptr);

  /// Queues a change (a dirty path or a rename) at the back.
  void push(const change& c);

  /// Queues a full comparison of the tree (after connect or overflow).
  void push_full_check();

  /// Queues a comparison of the children of directory `dir` (not of `dir`
  /// itself, and not deep: directories among them are compared only by
  /// their own entry, unless new). After a digest reconcile, one per
  /// directory whose listing differs (core/watcher/digest_plan), parents first.
  /// Nothing is done when the model no longer holds `dir` as a directory
  /// (an earlier check removed or replaced it, and covered its children).
  void push_listing_check(const std::string& dir);

  /// Drops all queued work (on disconnect; reconnect does a full check).
  void clear();

  /// Records the names of files with more than one link in a walk of the
  /// watched tree (a write through one name is then mirrored to all).
  void note_links(const std::vector<dir_listing>& walk);

  bool idle() const noexcept { return queue_.empty(); }
  size_t queued() const noexcept { return queue_.size(); }

  /// The change step() takes next (null when idle).
  const change* next() const noexcept {
    return queue_.empty() ? nullptr : &queue_.front();
  }

  /// Processes the next queued item; returns what to do, possibly nothing.
  std::vector<action> step();

  /// The sender sent the content of `path`, in state `meta` as read.
  void uploaded(const std::string& path, const entry_meta& meta);

  /// The file at `path` could not be read as planned (gone, changed type):
  /// look at it again first thing.
  void upload_failed(const std::string& path);

  /// The reference refused or failed an operation on `path`: forget what
  /// the model believes of it and return the operations that reset it on
  /// the reference (a remove); the caller re-dirties `path` later.
  std::vector<op> invalidate(const std::string& path);

  const planner_stats& stats() const noexcept { return stats_; }

  /// True once a removal was refused because the watched root itself was
  /// missing (unmounted, deleted): the queue was dropped, nothing removed.
  bool root_missing() const noexcept { return root_missing_; }

private:
  struct item {
    change c;
  };

  void check(const std::string& path, uint8_t flags, std::vector<action>& out);
  void check_dir(const std::string& path, const fs_stat& now,
                 const tree_model::node* node, uint8_t flags,
                 std::vector<action>& out);
  void replay_rename(const std::string& from, const std::string& to,
                     std::vector<action>& out);
  void push_children(const std::string& dir, uint8_t flags,
                     std::vector<action>& out);
  void emit(op o, std::vector<action>& out);
  void warn_once(const std::string& path, std::vector<action>& out,
                 std::string reason = {});
  /// Records that `dir` could not be read (warned once per path): its next
  /// check is deep, so a chmod that makes it readable (one IN_ATTRIB)
  /// mirrors it.
  void note_unreadable(const std::string& dir, std::vector<action>& out);
  /// Queues a deep check of each unreadable directory beneath `dir` (a
  /// chmod of `dir` may have made them visible); true when `dir` itself is
  /// one, so its own check must be deep.
  bool was_unreadable(const std::string& dir);
  /// Queues checks of the other names of the file `path` (hard links),
  /// unless this check was one of those.
  void check_other_names(const std::string& path, uint8_t flags);
  /// Another name of the inode `path` names (`now`) that the reference
  /// holds with the content `now` has (as far as the model knows): the
  /// reference can link it instead of receiving the content again.
  std::optional<std::string> mirrored_name_of_inode(const std::string& path,
                                                    const fs_stat& now) const;

  const fs_view& fs_;
  tree_model& model_;
  const ignore_rules* excludes_;
  std::deque<change> queue_;
  std::set<std::string> warned_;
  /// Directories that could not be read, kept right across renames.
  subtree_set unreadable_;
  /// Names of files with more than one link.
  hardlink_index links_;
  planner_stats stats_;
  bool root_missing_ = false;
};

} // namespace livesync
