// The reconcile after a (re)connect, by directory digests: the watcher,
// which walked its own tree while the reference walked its, matches the
// reference's digests (core/wire/dir_digest.hpp) against its listings. A
// directory whose digests agree is known equal without a byte more; only
// the others are listed over the wire (for the model of the reference)
// and compared entry by entry (by the planner).
#pragma once

#include "core/wire/dir_digest.hpp"
#include "core/watcher/tree_model.hpp"

#include <string>
#include <vector>

namespace livesync {

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
