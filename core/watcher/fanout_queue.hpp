// One watched tree, several references (--references): the settled changes
// from the one debouncer, kept per reference until that reference's sender
// asks for them. Each backlog is a debounce_policy with everything due:
// changes merge per path, renames stay in order and re-key the paths
// pending before them, so a slow, frozen or absent reference owes one set
// of paths, not a queue of batches, and never holds back the others.
#pragma once

#include "core/watcher/debounce_policy.hpp"

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace livesync {

class fanout_queue {
public:
  /// `max_batch`: paths per batch handed out; `max_paths`: a backlog that
  /// grows past this many paths is replaced by a rescan (the full
  /// comparison covers every path, in bounded memory).
  fanout_queue(size_t consumers, size_t max_batch, size_t max_paths);

  /// A batch from the debouncer joins every backlog.
  void add(const settled& b);

  /// Consumer `i` can take one batch.
  void demand(size_t i);

  /// The batches to hand out now: one to each consumer that asked and has
  /// something waiting. A flush barrier rides on the batch that empties
  /// its backlog, so everything before the barrier goes first.
  std::vector<std::pair<size_t, settled>> take_ready();

  /// Whether to ask the debouncer for more: a consumer waits and has
  /// nothing in its backlog.
  bool wants_more() const;

  size_t consumers() const noexcept { return backlogs_.size(); }
  size_t backlog_paths(size_t i) const;
  /// How often consumer `i`'s backlog was replaced by a rescan.
  uint64_t collapsed(size_t i) const;

private:
  struct backlog {
    debounce_policy policy;
    uint64_t barrier = 0;
    bool waiting = false;
    uint64_t collapsed = 0;

    bool empty() const noexcept { return policy.empty() && barrier == 0; }
  };

  debounce_config cfg_;
  size_t max_paths_;
  std::vector<backlog> backlogs_;
};

} // namespace livesync
