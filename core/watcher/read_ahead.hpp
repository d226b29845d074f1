// The sender's read-ahead: the planner's actions in the order it made them,
// where the content of a file to send is made ready on a content worker
// (core/watcher/content_read) while the planner goes on to the next paths:
// a small file that is not in the page cache is read whole, a larger one
// queued behind other work is chunked. A small file the page cache holds
// is read at once by the sender: handing it to a worker cost more than the
// read (measured), and only a read that waits for the disk, or a chunking
// that runs beside the sender's packing and sending, gains from a worker.
// Actions leave strictly in the order they came in, each only once
// everything before it has left, so the operations on the wire are exactly
// those of a sender that reads every file itself, in turn.
//
// What makes going on safe is what the planner may do meanwhile. It plans
// in order, and each decision changes its model of the reference at once,
// except an upload's: the model learns of a file once its content is sent
// (sync_planner::uploaded). So the planner must not decide anything about a
// file whose upload still waits here, nor move the model beneath it:
// may_plan_past() stops it at a check of such a path (it would plan the
// same upload twice, or an operation the model would then see out of
// order), at any rename, and at anything while an upload of a file with
// other names (hard links) waits (another name planned meanwhile would be
// sent as a copy of its own, not linked to it). Every other check goes
// on, and what it emits waits behind the reads.
#pragma once

#include "core/watcher/change.hpp"
#include "core/watcher/content_read.hpp"
#include "core/watcher/sync_planner.hpp"

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace livesync {

class read_ahead {
public:
  struct limits {
    /// Reads out at once (the workers' queues hold at most this many).
    size_t reads = 32;
    /// Bytes of the small files read or being read that wait here (as
    /// planned), at most: a cached file read at once waits, content and
    /// all, behind a read still out.
    uint64_t bytes = 4u << 20;
    /// Actions waiting behind reads, at most (the planner stops here).
    size_t actions = 4096;
    /// Files being chunked at once (counted apart from the reads: a
    /// chunking takes far longer than a small read).
    size_t scans = 2;
    /// Bytes of the files chunked or being chunked that wait here (as
    /// planned), at most: their content waits in memory until it leaves.
    uint64_t scan_bytes = 64u << 20;
  };

  /// The front action, ready to run: `read` holds its content (or chunk
  /// list) for an upload that was read ahead (null for the others).
  struct ready {
    action a;
    std::shared_ptr<content_read> read;
  };

  explicit read_ahead(limits l) : limits_(l) {}

  /// Whether a read of `bytes` more fits now (one always fits while no
  /// small file's content waits here).
  bool has_room_for(uint64_t bytes) const noexcept;

  /// Whether a file of `bytes` may be chunked ahead now.
  bool has_room_for_scan(uint64_t bytes) const noexcept;

  /// Whether the planner may take more work: the queue of actions is not
  /// full, and its next change `next` (null: none) may be planned while
  /// the actions queued here wait (see the top of this file).
  bool may_plan_past(const change* next) const noexcept;

  /// Queues an action that needs no read.
  void push(action a);

  /// Queues an upload whose file `r` is read or chunked by a worker;
  /// returns the id that done() names. `r` may already be done (another
  /// sender's read of it): then pass `done_now`.
  uint64_t push_read(action a, std::shared_ptr<content_read> r,
                     bool done_now = false);

  /// The read `id` is done (false: an id this queue no longer holds,
  /// after clear()).
  bool done(uint64_t id);

  /// The front action once it is ready, removing it.
  std::optional<ready> pop_ready();

  /// The front action if it is ready and has no read (the sender does its
  /// content work itself), else null.
  const action* peek_plain() const noexcept;

  /// Drops everything (the link is lost; its ids are never reused, so late
  /// answers are told apart); reads still out are cancelled.
  void clear();

  bool empty() const noexcept { return queue_.empty(); }
  size_t size() const noexcept { return queue_.size(); }
  size_t reads_out() const noexcept { return reads_out_; }
  uint64_t bytes_out() const noexcept { return bytes_out_; }
  /// Bytes of the small files queued with a read, out or done.
  uint64_t bytes_held() const noexcept { return bytes_held_; }
  size_t scans_out() const noexcept { return scans_out_; }
  /// Bytes of the files chunked on a worker that wait here, out or done.
  uint64_t scan_bytes_held() const noexcept { return scan_bytes_held_; }

private:
  struct slot {
    action a;
    std::shared_ptr<content_read> read;
    uint64_t id = 0;
    bool pending = false;
  };

  void count_upload(const action& a, int delta);
  /// Counts a read or chunking out (+1) or done (-1).
  void count_out(const slot& s, int delta);

  limits limits_;
  std::deque<slot> queue_;
  /// Paths of the uploads queued (how many each), and how many of them
  /// are of files with other names.
  std::unordered_map<std::string, size_t> uploads_;
  size_t linked_uploads_ = 0;
  /// Id of queue_.front() (ids are consecutive along the queue).
  uint64_t front_id_ = 1;
  size_t reads_out_ = 0;
  uint64_t bytes_out_ = 0;
  uint64_t bytes_held_ = 0;
  size_t scans_out_ = 0;
  uint64_t scan_bytes_held_ = 0;
};

} // namespace livesync
