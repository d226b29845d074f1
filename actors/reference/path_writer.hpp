// One of the reference's path writers: applies, in order, the tasks the
// receiver routes to it (core/reference/apply_schedule: the ops on the
// paths it owns, or one op that runs alone), through its own tree_writer,
// a sibling of the receiver's. Spawned when the receiver first needs it,
// detached in the node (a long copy, a file's fsync or a syncfs blocks
// only this writer's own thread), and retired by the receiver (no timer of
// its own: an idle node wakes no thread).
#pragma once

#include "core/reference/tree_writer.hpp"
#include "messages/actors.hpp"

#include <atomic>
#include <memory>

namespace livesync {

struct path_writer_state {
  std::unique_ptr<tree_writer> writer;
  /// Set by main on SIGINT/SIGTERM (may be null): the rest of a task is
  /// refused as "the reference is stopping".
  std::shared_ptr<const std::atomic<bool>> stopping;
  static inline const char* name = "path_writer";
};

path_writer_actor::behavior_type
path_writer(path_writer_actor::stateful_pointer<path_writer_state> self,
            std::unique_ptr<tree_writer> writer,
            std::shared_ptr<const std::atomic<bool>> stopping);

} // namespace livesync
