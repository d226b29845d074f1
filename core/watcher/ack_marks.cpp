#include "core/watcher/ack_marks.hpp"

#include <algorithm>
#include <utility>

namespace livesync {

void ack_marks::settled(int64_t first_event_ns, uint64_t barrier) {
  open_ = true;
  if (first_event_ns > 0
      && (open_mark_.first_event_ns == 0
          || first_event_ns < open_mark_.first_event_ns))
    open_mark_.first_event_ns = first_event_ns;
  open_mark_.barrier = std::max(open_mark_.barrier, barrier);
}

void ack_marks::settled_unlinked(uint64_t barrier) {
  at_sync_ = std::max(at_sync_, barrier);
}

uint64_t ack_marks::sent() {
  auto seq = next_seq_++;
  outstanding_.insert(seq);
  return seq;
}

void ack_marks::planned(int64_t now_ns, done& out) {
  if (!open_)
    return;
  open_ = false;
  auto m = std::exchange(open_mark_, mark{});
  m.seq = next_seq_ - 1;
  marks_.push_back(m);
  settle(now_ns, out);
}

void ack_marks::acked(uint64_t seq, int64_t now_ns, done& out) {
  outstanding_.erase(seq);
  settle(now_ns, out);
}

void ack_marks::settle(int64_t now_ns, done& out) {
  // Requests are answered in order on one link, but a mark is only done
  // once every request up to its last one is: the lowest still open bounds.
  while (!marks_.empty()
         && (outstanding_.empty()
             || *outstanding_.begin() > marks_.front().seq)) {
    auto m = marks_.front();
    marks_.pop_front();
    if (m.first_event_ns > 0)
      out.latency_ns.push_back(now_ns - m.first_event_ns);
    out.barrier = std::max(out.barrier, m.barrier);
  }
}

uint64_t ack_marks::take_open_barrier() {
  return open_ ? std::exchange(open_mark_.barrier, 0) : 0;
}

void ack_marks::link_lost() {
  for (auto& m : marks_)
    at_sync_ = std::max(at_sync_, m.barrier);
  at_sync_ = std::max(at_sync_, open_mark_.barrier);
  marks_.clear();
  open_ = false;
  open_mark_ = mark{};
  outstanding_.clear();
}

uint64_t ack_marks::take_at_sync() {
  return std::exchange(at_sync_, 0);
}

} // namespace livesync
