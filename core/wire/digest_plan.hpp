// The reconcile after a (re)connect, by directory digests: the reference
// sends one digest per directory (names relative to their parent); the
// watcher, which walked its own tree meanwhile, matches them against its
// listings. A directory whose digests agree is known equal without a byte
// more; only the others are listed over the wire (for the model of the
// reference) and compared entry by entry (by the planner).
#pragma once

#include "core/wire/tree_listing.hpp"
#include "core/watcher/tree_model.hpp"

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

struct digest_plan {
  /// Per reference directory (same order): its listing equals ours.
  std::vector<bool> matched;
  /// Reference directories whose listing the model needs from the wire
  /// (the unmatched ones), parents before children.
  std::vector<std::string> fetch;
  /// Our directories whose children the planner must compare (walked, not
  /// matched), sorted: parents before children.
  std::vector<std::string> check;
};

/// Matches the reference's directories against our walk.
digest_plan plan_by_digests(const std::vector<reference_dir>& reference,
                            const std::vector<dir_listing>& local);

/// Rebuilds `model` as the reference's tree: each directory's children
/// from our walk where it matched, from `fetched` (the listings of
/// `plan.fetch`, same order) where not.
void build_model(tree_model& model, const std::vector<reference_dir>& reference,
                 const digest_plan& plan,
                 const std::vector<dir_listing>& local,
                 const std::vector<dir_listing>& fetched);

} // namespace livesync
