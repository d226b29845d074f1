#include "core/wire/entry.hpp"

namespace livesync {

std::string to_string(entry_kind k) {
  switch (k) {
    case entry_kind::none: return "none";
    case entry_kind::file: return "file";
    case entry_kind::dir: return "dir";
    case entry_kind::symlink: return "symlink";
  }
  return "invalid";
}

bool operator==(const entry_meta& x, const entry_meta& y) {
  if (x.kind != y.kind || x.mode != y.mode)
    return false;
  switch (x.kind) {
    case entry_kind::file:
      return x.size == y.size && x.mtime_ns == y.mtime_ns;
    case entry_kind::symlink:
      return x.target == y.target;
    default:
      // Directory mtimes change with every child and are mirrored best
      // effort only; they never make two directories different.
      return true;
  }
}

} // namespace livesync
