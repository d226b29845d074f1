// What one path in a mirrored tree is: kind, permission bits, size, mtime and
// symlink target. Shared by the watcher's model and the reference's manifest.
#pragma once

#include <cstdint>
#include <string>

namespace livesync {

/// The kinds of filesystem entry livesync mirrors. `none` means "nothing
/// there"; fifos, sockets and devices are never represented.
enum class entry_kind : uint8_t { none, file, dir, symlink };

std::string to_string(entry_kind k);

/// The mirrored state of one entry. `mode` holds permission bits only
/// (07777). `size` is the file length (0 for directories; the target length
/// for symlinks). `mtime_ns` is nanoseconds since the epoch. `target` is the
/// symlink text, verbatim, empty for other kinds.
struct entry_meta {
  entry_kind kind = entry_kind::none;
  uint32_t mode = 0;
  uint64_t size = 0;
  int64_t mtime_ns = 0;
  std::string target;
};

bool operator==(const entry_meta& x, const entry_meta& y);
inline bool operator!=(const entry_meta& x, const entry_meta& y) {
  return !(x == y);
}

/// One line of a manifest: a root-relative, '/'-separated path and its state.
struct manifest_entry {
  std::string path;
  entry_meta meta;
};

} // namespace livesync
