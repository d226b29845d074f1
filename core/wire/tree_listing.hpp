// Directory listings and their digests, the currency of a cheap reconcile:
// both nodes walk their tree (at the same time), the reference sends one
// digest per directory instead of its whole manifest, and only directories
// whose digests differ are listed over the wire and compared entry by entry.
//
// A digest covers exactly what the sender's planner compares for each child
// (name, kind; files: mode, size, mtime; directories: mode; symlinks: the
// target), so equal digests mean the planner would find nothing to do in
// that directory, and any difference it would act on changes the digest.
#pragma once

#include "core/wire/entry.hpp"
#include "core/common/ignore_rules.hpp"
#include "core/wire/op.hpp"
#include "core/common/status.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace livesync {

/// One child of a directory. kind none: a fifo, socket or device (the
/// watcher lists them so that its digest differs; never mirrored).
struct listed_entry {
  std::string name;
  entry_meta meta;
  /// A regular file with more than one hard link: its inode (else 0). The
  /// watcher records these names (hardlink_index); never sent.
  uint64_t linked_inode = 0;
};

/// A directory and its children, sorted by name (bytewise).
struct dir_listing {
  std::string path;
  std::vector<listed_entry> entries;
  /// False when the directory could not be listed (its entries are then
  /// unknown: it never matches a digest).
  bool complete = true;
};

/// XXH3-128 of a canonical encoding of `entries` (sorted by name).
hash128 listing_digest(const std::vector<listed_entry>& entries);

struct walk_options {
  /// Leave the reference's state folder at the root out (the reference).
  bool skip_state_folder = false;
  /// Directories these rules exclude are listed in their parent but not
  /// walked into (the watcher; may be null).
  const ignore_rules* excludes = nullptr;
  /// A directory that cannot be opened or listed fails the walk (the
  /// reference, as its manifest did); otherwise it is recorded as
  /// incomplete and the walk goes on (the watcher: the planner then
  /// compares it entry by entry, as before).
  bool strict = false;
  /// A directory that lacks the owner's read or search bit gets them for
  /// the time it is walked, then its mode back (the reference, which owns
  /// its tree: see owner_access). The listing shows the mode it had.
  bool grant_owner_access = false;
};

/// How the reference walks its own tree: strict, without its state
/// folder, granting itself access to directories whatever their mode.
walk_options reference_walk();

/// Every directory beneath `root_fd` (itself included, path ""), parents
/// before children, without following any symlink. Entries that vanish
/// meanwhile are left out.
status walk_listings(int root_fd, const walk_options& opts,
                     std::vector<dir_listing>& out);

/// The listing of the one directory `path` beneath `root_fd`, reached
/// without following a symlink in any component (rooted_fs).
status list_directory(int root_fd, const std::string& path,
                      const walk_options& opts, dir_listing& out);

/// About the bytes `d` takes in a message (names, symlink targets and a
/// fixed cost per entry): what a reply of listings is bounded by.
uint64_t wire_size(const dir_listing& d);

/// The listings of `dirs`, in order, into `out`: all of them, or a prefix
/// (never empty) whose last listing took the total past `max_bytes`, so
/// that one reply stays bounded however many large directories are asked
/// for (one directory still comes whole). The first directory that cannot
/// be listed fails the call, naming it in `failed`.
status list_directories(int root_fd, const std::vector<std::string>& dirs,
                        const walk_options& opts, uint64_t max_bytes,
                        std::vector<dir_listing>& out, std::string& failed);

} // namespace livesync
