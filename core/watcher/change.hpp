// A change the watcher noticed, in the order it happened: either "look at
// this path again" (dirty) or "this path was renamed" (rename). Produced by
// the event_interpreter, coalesced by the debounce_policy.
#pragma once

#include <cstdint>
#include <string>

namespace livesync {

/// Bits saying what kind of look a dirty path needs.
enum change_flags : uint8_t {
  /// Content or existence may have changed: compare and maybe resend.
  change_content = 1,
  /// Only mode or mtime changed (IN_ATTRIB): the content is unchanged.
  change_attr = 2,
  /// A directory whose whole subtree must be compared (created, moved in,
  /// renamed, rescanned).
  change_deep = 4,
  /// The event says a regular file is complete: closed after writing
  /// (IN_CLOSE_WRITE) or moved into place (IN_MOVED_TO). A hint for the
  /// debounce_policy only, which settles such a path without waiting for
  /// its quiet window and never hands this bit on (the planner's checks do
  /// not depend on it).
  change_closed = 8,
};

struct change {
  enum kind_t : uint8_t { dirty, rename } kind = dirty;
  /// The dirty path, or the rename's source. Root-relative; "" is the root.
  std::string path;
  /// The rename's target; empty for dirty.
  std::string to;
  /// change_flags for dirty; unused for rename.
  uint8_t flags = 0;

  static change make_dirty(std::string p, uint8_t f) {
    return change{dirty, std::move(p), {}, f};
  }
  static change make_rename(std::string from, std::string to) {
    return change{rename, std::move(from), std::move(to), 0};
  }
};

inline bool operator==(const change& x, const change& y) {
  return x.kind == y.kind && x.path == y.path && x.to == y.to
         && x.flags == y.flags;
}

} // namespace livesync
