// The sender's record of which settled batches the reference has fully
// acknowledged: for each batch, the latency from its oldest change to the
// acknowledgement of the last request carrying its operations, and the
// flush barrier it carries. Pure logic: times are parameters (ns on the
// steady clock), requests are numbered here.
//
//   settled()  a batch from the debouncer joins the open mark
//   sent()     a request goes out (numbered)
//   planned()  the planner has turned every batch of the open mark into
//              requests: the mark waits for the last request sent so far
//   acked()    a request is answered; marks whose requests are all
//              answered are done
//   link_lost() what was in flight may or may not be committed: barriers
//              wait for the full comparison after reconnect (take_at_sync)
#pragma once

#include <cstdint>
#include <deque>
#include <set>
#include <vector>

namespace livesync {

class ack_marks {
public:
  /// What acked() or planned() completed.
  struct done {
    /// One sample per completed mark with a known first event.
    std::vector<int64_t> latency_ns;
    /// The highest barrier completed (0: none).
    uint64_t barrier = 0;
  };

  /// A settled batch joins the open mark.
  void settled(int64_t first_event_ns, uint64_t barrier);

  /// A settled batch arrived while no link was up: the comparison after
  /// the next connect covers it, so its barrier waits for that.
  void settled_unlinked(uint64_t barrier);

  /// A request goes out; returns its number.
  uint64_t sent();

  /// The open mark (if any) is fully planned: it waits for the requests
  /// sent so far. Completes it at once when they are all answered.
  void planned(int64_t now_ns, done& out);

  /// Request `seq` was answered.
  void acked(uint64_t seq, int64_t now_ns, done& out);

  /// Takes the open mark's barrier away (a path of its batch must be read
  /// again: the barrier goes back to the debouncer behind it). 0: none.
  uint64_t take_open_barrier();

  /// The link dropped: nothing in flight will be answered.
  void link_lost();

  /// The barrier that waits for the next completed full comparison, and
  /// forgets it (0: none).
  uint64_t take_at_sync();

private:
  struct mark {
    uint64_t seq = 0;
    int64_t first_event_ns = 0;
    uint64_t barrier = 0;
  };

  void settle(int64_t now_ns, done& out);

  uint64_t next_seq_ = 1;
  std::set<uint64_t> outstanding_;
  bool open_ = false;
  mark open_mark_;
  std::deque<mark> marks_;
  uint64_t at_sync_ = 0;
};

} // namespace livesync
