// What both nodes agree on for the reconcile by directory digests: the
// reference sends one digest per directory (names relative to their
// parent), and the listings the watcher then asks for; the watcher checks
// both before it trusts them. The matching is the watcher's
// (core/watcher/digest_plan.hpp).
#pragma once

#include "core/wire/tree_listing.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace livesync {

/// One directory of the reference, as sent: its parent's index in the same
/// list (the root, first, names itself: index 0, name ""), its name, and
/// the digest of its listing.
struct dir_digest {
  uint32_t parent = 0;
  std::string name;
  hash128 digest;
};

/// The digest list of a walk (parents before children, as walk_listings
/// gives them).
std::vector<dir_digest> make_digest_list(const std::vector<dir_listing>& dirs);

/// A received digest list with full paths.
struct reference_dir {
  std::string path;
  hash128 digest;
};

/// Expands a received list; false (with `why`) when it is malformed: the
/// root missing or not first, a parent index not before its child, a name
/// that is not one valid path component, a path too long or too deep.
bool expand_digest_list(const std::vector<dir_digest>& in,
                        std::vector<reference_dir>& out, std::string& why);

/// Checks the listings the reference sent for the directories `asked`:
/// one per directory, in order, for all of them or a prefix (a reply is
/// bounded in bytes; the caller asks again for the rest), never none; each
/// complete, every name one valid path component (at most once), no
/// unsupported kind. False with `why`.
bool check_fetched(const std::vector<std::string>& asked,
                   const std::vector<dir_listing>& got, std::string& why);

} // namespace livesync
