// Turns decoded inotify events into changes, in order: which paths are
// dirty, which renames happened, which directories need a new watch and
// which watches must go. Pairs IN_MOVED_FROM/IN_MOVED_TO by cookie.
// Keeps the watch_table right as it goes. No I/O, no clock: testable by
// tables of synthetic events.
#pragma once

#include "core/change.hpp"
#include "core/watch_table.hpp"

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
  /// - IN_CREATE, IN_MODIFY, IN_CLOSE_WRITE, IN_DELETE -> dirty(content).
  ///   IN_ATTRIB -> dirty(attr). A directory (IN_ISDIR) created -> dirty(
  ///   content|deep) and listed in `watch`.
  /// - IN_MOVED_FROM is held until its IN_MOVED_TO (same cookie): the pair
  ///   is rename(from, to) followed by dirty(to, content|deep) for a
  ///   directory (its subtree is compared) or dirty(to, content) for a file;
  ///   a directory's watches are moved in the table.
  /// - IN_MOVED_TO without a held IN_MOVED_FROM (moved in from outside) is
  ///   dirty(content) (plus deep and `watch` for a directory).
  /// - An IN_MOVED_FROM still unpaired at the end of a batch stays held (its
  ///   partner may start the next read), unless an older one: every held
  ///   event from an earlier batch is resolved as moved out at the start of
  ///   the next feed() or by expire().
  /// - Moved out means dirty(from, content) and, for a directory, its
  ///   watches removed (remove_subtree) and listed in `unwatch`.
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
  std::vector<held_move> pending_;
};

} // namespace livesync
