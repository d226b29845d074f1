// Turns decoded inotify events into changes, in order: which paths are
// dirty, which renames happened, which directories need a new watch and
// which watches must go. Pairs IN_MOVED_FROM/IN_MOVED_TO by cookie.
// Keeps the watch_table right as it goes. No I/O, no clock: testable by
// tables of synthetic events.
#pragma once

#include "core/watcher/change.hpp"
#include "core/watcher/watch_table.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace livesync {

/// One inotify event as read from the kernel (name is empty for events on
/// the watched directory itself).
struct inotify_record {
  int32_t wd = 0;
  uint32_t mask = 0;
  uint32_t cookie = 0;
  std::string name;
};

/// What the caller must do after feeding events.
struct interpretation {
  /// Changes for the debouncer, in the order they happened.
  std::vector<change> changes;
  /// New directories (root-relative) to watch recursively: the caller adds a
  /// watch, records it in the table, then scans for subdirectories, so that
  /// nothing created before the watch existed is missed.
  std::vector<std::string> watch;
  /// Watch descriptors to inotify_rm_watch (already gone from the table).
  std::vector<int32_t> unwatch;
  /// IN_Q_OVERFLOW was seen: events were lost, a full rescan is needed.
  bool overflow = false;
};

class event_interpreter {
public:
  /// Interprets one read()'s worth of events against `table`.
  ///
  /// Rules:
  /// - Events for unknown wds are ignored; IN_IGNORED forgets the wd.
  /// - A name equal to the state folder (".livesync") at the root is ignored.
  /// - IN_CREATE, IN_MODIFY, IN_DELETE -> dirty(content). IN_ATTRIB ->
  ///   dirty(attr). IN_CLOSE_WRITE -> dirty(attr|closed) (every write
  ///   raises IN_MODIFY; a close alone, as in touch, changes no content;
  ///   `closed`: the writer is done, see change_closed). A directory
  ///   (IN_ISDIR) created -> dirty(content|deep) and listed in `watch`.
  /// - IN_MOVED_FROM is held until its IN_MOVED_TO (same cookie): the pair
  ///   is rename(from, to) followed by dirty(to, content|deep) for a
  ///   directory (its subtree is compared) or dirty(to, content|closed)
  ///   for a file (renamed into place: whole); a directory's watches are
  ///   moved in the table.
  /// - IN_MOVED_TO without a held IN_MOVED_FROM (moved in from outside) is
  ///   dirty(content|closed) for a file, dirty(content|deep) and `watch`
  ///   for a directory.
  /// - An IN_MOVED_FROM still unpaired at the end of a batch stays held (its
  ///   partner may start the next read). At the start of the next feed(),
  ///   every held event whose partner is not in that batch is resolved as
  ///   moved out, before the batch's own changes; expire() resolves all.
  /// - A held IN_MOVED_FROM is also resolved as moved out, right away, when
  ///   a later event reuses its name (created or moved in at or above it)
  ///   or renames a directory containing it: the kernel queues a rename's
  ///   two halves back to back, so such a held event has no partner, and
  ///   resolving it late would remove the watches of the new occupant.
  /// - Moved out means dirty(from, content) and, for a directory, its
  ///   watches removed (remove_subtree) and listed in `unwatch`.
  /// - Events with an empty name (on a watched directory itself, such as
  ///   IN_DELETE_SELF, IN_MOVE_SELF, IN_ATTRIB) are ignored: its parent
  ///   reports the same change under the directory's name.
  /// - IN_Q_OVERFLOW sets `overflow`.
  interpretation feed(const std::vector<inotify_record>& batch,
                      watch_table& table);

  /// Resolves every held IN_MOVED_FROM as moved out of the tree.
  interpretation expire(watch_table& table);

  /// True while an IN_MOVED_FROM waits for its partner.
  bool has_pending() const noexcept { return !pending_.empty(); }

private:
  struct held_move {
    uint32_t cookie = 0;
    std::string path;
    bool is_dir = false;
    bool from_earlier_batch = false;
  };

  // -- steps of feed() ------------------------------------------------------

  void resolve_unpartnered(const std::vector<inotify_record>& batch,
                           watch_table& table, interpretation& out);
  void handle(const inotify_record& ev, watch_table& table,
              interpretation& out);
  void handle_moved_to(const inotify_record& ev, watch_table& table,
                       interpretation& out);
  /// Resolves as moved out every held event within `path`.
  void resolve_within(const std::string& path, watch_table& table,
                      interpretation& out);
  static void moved_out(const held_move& h, watch_table& table,
                        interpretation& out);

  std::vector<held_move> pending_;
};

} // namespace livesync
