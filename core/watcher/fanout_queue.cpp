#include "core/watcher/fanout_queue.hpp"

#include <algorithm>

namespace livesync {

namespace {

debounce_config everything_due(size_t max_batch) {
  debounce_config cfg;
  cfg.quiet = std::chrono::nanoseconds{0};
  cfg.max_delay = std::chrono::nanoseconds{0};
  cfg.max_batch = std::max<size_t>(max_batch, 1);
  return cfg;
}

} // namespace

fanout_queue::fanout_queue(size_t consumers, size_t max_batch,
                           size_t max_paths)
  : cfg_(everything_due(max_batch)), max_paths_(max_paths) {
  backlogs_.resize(consumers, backlog{debounce_policy{cfg_}});
}

void fanout_queue::add(const settled& b) {
  // The batch's oldest event stands for all of its changes: the latency a
  // sender measures starts no later than it did.
  debounce_policy::time_point seen{std::chrono::nanoseconds{b.first_event_ns}};
  for (auto& q : backlogs_) {
    for (auto& c : b.renames)
      q.policy.add(c, seen);
    for (auto& c : b.paths)
      q.policy.add(c, seen);
    if (b.rescan)
      q.policy.request_rescan();
    q.barrier = std::max(q.barrier, b.barrier);
    if (q.policy.pending_paths() > max_paths_) {
      q.policy = debounce_policy{cfg_};
      q.policy.request_rescan();
      ++q.collapsed;
    }
  }
}

void fanout_queue::demand(size_t i) {
  if (i < backlogs_.size())
    backlogs_[i].waiting = true;
}

std::vector<std::pair<size_t, settled>> fanout_queue::take_ready() {
  std::vector<std::pair<size_t, settled>> out;
  for (size_t i = 0; i < backlogs_.size(); ++i) {
    auto& q = backlogs_[i];
    if (!q.waiting || q.empty())
      continue;
    auto batch = q.policy.pop_all();
    if (q.policy.empty())
      batch.barrier = std::exchange(q.barrier, 0);
    q.waiting = false;
    out.emplace_back(i, std::move(batch));
  }
  return out;
}

bool fanout_queue::wants_more() const {
  return std::any_of(backlogs_.begin(), backlogs_.end(),
                     [](const backlog& q) { return q.waiting && q.empty(); });
}

size_t fanout_queue::backlog_paths(size_t i) const {
  return i < backlogs_.size() ? backlogs_[i].policy.pending_paths() : 0;
}

uint64_t fanout_queue::collapsed(size_t i) const {
  return i < backlogs_.size() ? backlogs_[i].collapsed : 0;
}

} // namespace livesync
