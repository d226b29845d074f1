// The watcher's tracker: owns the watch table. Consumes decoded inotify
// events from the reader, interprets them (event_interpreter), adds watches
// for new directories (watching before listing) and removes those of
// directories moved out, and emits changes to the debouncer.
//
// DESIGN.md sketches one tracker actor per directory. One actor over a
// watch_table is used instead: a directory rename must re-point every
// watch beneath it, which is one table update here but a message to every
// descendant actor there, and 1.2 KB per idle actor would exceed the
// per-file memory budget on trees with many small directories.
#pragma once

#include "core/event_interpreter.hpp"
#include "core/ignore_rules.hpp"
#include "core/watch_table.hpp"
#include "messages/actors.hpp"

#include <memory>
#include <string>

namespace livesync {

struct tracker_state {
  int inotify_fd = -1;
  std::string root;
  watch_table table;
  event_interpreter interpreter;
  debouncer_actor debouncer;
  /// Excluded directories get no watch (may be null).
  std::shared_ptr<const ignore_rules> excludes;
  bool tick_armed = false;
  static inline const char* name = "tracker";
};

/// How long an IN_MOVED_FROM waits for its partner before it counts as a
/// move out of the tree.
inline constexpr auto move_pairing_window = std::chrono::milliseconds(5);

/// `table` holds the watches already added for the whole tree. `stop_fd`
/// is signalled when the tracker terminates, to stop the reader.
tracker_actor::behavior_type
tracker(tracker_actor::stateful_pointer<tracker_state> self, int inotify_fd,
        std::string root, watch_table table, debouncer_actor debouncer,
        int stop_fd, std::shared_ptr<const ignore_rules> excludes);

} // namespace livesync
