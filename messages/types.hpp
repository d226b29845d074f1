// The wire form of everything the nodes and actors exchange: inspect()
// overloads for the plain core/ structs, the atoms, and ONE type-ID block.
// Both nodes register the same block, so they agree on the type names.
#pragma once

#include "core/entry.hpp"
#include "core/op.hpp"

#include <caf/all.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace livesync {

/// A path the watcher must look at again, and what kind of look it needs.
struct dirty_path {
  std::string path;
  /// Bit set of dirty_flags.
  uint8_t flags = 0;
};

/// The kinds of change an event announced for a path.
enum dirty_flags : uint8_t {
  /// Content or existence may have changed: compare and maybe resend.
  dirty_content = 1,
  /// Only mode or mtime changed (IN_ATTRIB): content is unchanged.
  dirty_attr = 2,
  /// A directory whose whole subtree must be compared (new, moved in,
  /// renamed, rescanned).
  dirty_deep = 4,
};

/// A rename seen within the watched tree (paired IN_MOVED_FROM/IN_MOVED_TO).
struct rename_event {
  std::string from;
  std::string to;
};

/// What the debouncer hands the sender: the renames in the order they
/// happened, then the paths that settled, named after those renames.
struct change_batch {
  std::vector<rename_event> renames;
  std::vector<dirty_path> paths;
  /// True when the batch asks for a full comparison (inotify overflow).
  bool rescan = false;
};

/// One inotify event, decoded from the kernel's buffer.
struct raw_event {
  int32_t wd = 0;
  uint32_t mask = 0;
  uint32_t cookie = 0;
  std::string name;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, hash128& x) {
  return f(caf::meta::type_name("livesync.hash128"), x.lo, x.hi);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, entry_meta& x) {
  return f(caf::meta::type_name("livesync.entry_meta"), x.kind, x.mode, x.size,
           x.mtime_ns, x.target);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, manifest_entry& x) {
  return f(caf::meta::type_name("livesync.manifest_entry"), x.path, x.meta);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, op& x) {
  return f(caf::meta::type_name("livesync.op"), x.kind, x.path, x.target,
           x.mode, x.mtime_ns, x.size, x.xfer, x.offset, x.data, x.hash);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, op_error& x) {
  return f(caf::meta::type_name("livesync.op_error"), x.index, x.path,
           x.reason);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, dirty_path& x) {
  return f(caf::meta::type_name("livesync.dirty_path"), x.path, x.flags);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, rename_event& x) {
  return f(caf::meta::type_name("livesync.rename_event"), x.from, x.to);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, change_batch& x) {
  return f(caf::meta::type_name("livesync.change_batch"), x.renames, x.paths,
           x.rescan);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, raw_event& x) {
  return f(caf::meta::type_name("livesync.raw_event"), x.wd, x.mask, x.cookie,
           x.name);
}

} // namespace livesync

CAF_BEGIN_TYPE_ID_BLOCK(livesync, caf::first_custom_type_id)
  CAF_ADD_TYPE_ID(livesync, (livesync::hash128))
  CAF_ADD_TYPE_ID(livesync, (livesync::entry_meta))
  CAF_ADD_TYPE_ID(livesync, (livesync::manifest_entry))
  CAF_ADD_TYPE_ID(livesync, (std::vector<livesync::manifest_entry>))
  CAF_ADD_TYPE_ID(livesync, (livesync::op))
  CAF_ADD_TYPE_ID(livesync, (std::vector<livesync::op>))
  CAF_ADD_TYPE_ID(livesync, (livesync::op_error))
  CAF_ADD_TYPE_ID(livesync, (std::vector<livesync::op_error>))
  CAF_ADD_TYPE_ID(livesync, (livesync::dirty_path))
  CAF_ADD_TYPE_ID(livesync, (livesync::rename_event))
  CAF_ADD_TYPE_ID(livesync, (livesync::change_batch))
  CAF_ADD_TYPE_ID(livesync, (livesync::raw_event))
  CAF_ADD_TYPE_ID(livesync, (std::vector<livesync::raw_event>))
  CAF_ADD_ATOM(livesync, livesync::atom, apply, "apply")
  CAF_ADD_ATOM(livesync, livesync::atom, manifest, "manifest")
  CAF_ADD_ATOM(livesync, livesync::atom, hello, "hello")
  CAF_ADD_ATOM(livesync, livesync::atom, demand, "demand")
  CAF_ADD_ATOM(livesync, livesync::atom, events, "events")
  CAF_ADD_ATOM(livesync, livesync::atom, tick, "tick")
  CAF_ADD_ATOM(livesync, livesync::atom, pump, "pump")
  CAF_ADD_ATOM(livesync, livesync::atom, connect, "lsconnect")
  CAF_ADD_ATOM(livesync, livesync::atom, resync, "resync")
  CAF_ADD_ATOM(livesync, livesync::atom, stats, "lsstats")
CAF_END_TYPE_ID_BLOCK(livesync)
