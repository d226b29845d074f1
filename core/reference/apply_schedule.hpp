// Which path writer applies each operation the receiver is given, and when
// it may start. The reference applies ops on different paths in parallel,
// yet the tree must end exactly as if every op had run in the order sent:
//
// - Ops on one path go to one writer (chosen by the path's hash), whose
//   mailbox keeps them in order. A transfer lives in the writer its
//   begin_file went to: its later ops follow its id there (the wire does
//   not require them to name the path).
// - Ops that touch more than their own leaf run alone: a directory op
//   (mkdir, remove, rename, set_attr: each may be on a directory, whose
//   subtree other writers may be filling), a hard link or a copy from
//   another file (they read what another writer may be writing). One
//   starts once every op sent before it is done, and nothing after it
//   starts until it is done. So are the receiver's reads (digests,
//   listings, recipes, hashes): they see every op sent before them.
// - A file written whole, a streamed file, a symlink: the leaf's own
//   business. Two of these on paths where one is beneath the other end in
//   the same tree in either order (the later one replaces the other's
//   parent, or fails because the earlier one did).
//
// A batch is answered when all of its ops are applied or refused, in the
// order the batches came; with --fsync=batch its last step is a syncfs that
// runs alone. Pure: the receiver feeds it batches and completions and sends
// what it hands out.
#pragma once

#include "core/wire/op.hpp"

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace livesync {

/// True when `x` must run with no other op in flight (see above).
bool runs_alone(const op& x);

/// One op as a writer gets it.
struct scheduled_op {
  op x;
  /// Not an op but the batch's closing syncfs (--fsync=batch).
  bool sync = false;
};

/// What one writer is handed at once, applied in order.
struct writer_task {
  size_t writer = 0;
  std::vector<scheduled_op> ops;
  /// Instead of ops: a read of the receiver's to serve (it runs alone, so
  /// it may run on a writer's thread; the receiver's stays free).
  std::function<void()> read;
};

class apply_schedule {
public:
  /// `writers`: how many writers ops are spread over (at least 1).
  /// `sync_batches`: end each batch with a syncfs step.
  apply_schedule(size_t writers, bool sync_batches);

  /// Queues a batch; its answer comes out of take_done() in batch order.
  void add_batch(std::vector<op> ops);

  /// Queues a read the receiver serves itself once it may (next().read):
  /// after every op queued before it, before any queued after it.
  void add_read(uint64_t token);

  /// What may start now.
  struct step {
    /// At most one per writer.
    std::vector<writer_task> tasks;
    /// A read to serve now; call read_done() after.
    std::optional<uint64_t> read;
  };
  step next();

  /// Writer `writer` finished its oldest task; `failures` are indexes into
  /// that task's ops with why.
  void task_done(size_t writer, const std::vector<op_error>& failures);

  /// The read handed out by next() was served.
  void read_done();

  /// A batch whose every op is applied or refused.
  struct done_batch {
    std::vector<op_error> errors;
  };
  /// The batches done, oldest first; a later batch waits for an earlier.
  std::vector<done_batch> take_done();

  /// Ops handed out and not yet done.
  size_t in_flight() const noexcept { return in_flight_; }
  /// Ops and reads queued and not yet handed out.
  size_t queued() const noexcept { return queue_.size(); }

  /// The writer ops on `path` go to.
  size_t writer_of(const std::string& path) const;

  /// The peer's transfers are gone (peer lost or replaced): their ids mean
  /// nothing any more.
  void forget_transfers();

  /// True when a transfer begun at writer `w` is not known to be over.
  bool holds_transfers(size_t w) const;

  /// Transfers whose writer is remembered (bounded by max_known_transfers).
  size_t known_transfers() const noexcept { return xfer_writer_.size(); }
  static constexpr size_t max_known_transfers = 4096;

private:
  /// Where an op handed out came from.
  struct origin {
    uint64_t batch;
    uint32_t index;
    bool alone;
    bool sync;
  };
  struct item {
    uint64_t batch = 0;
    uint32_t index = 0;
    bool alone = false;
    bool sync = false;
    bool is_read = false;
    uint64_t token = 0;
    op x;
  };
  struct batch_state {
    uint64_t id;
    size_t outstanding;
    std::vector<op_error> errors;
    /// Paths of its ops, kept for a failed syncfs (it fails them all).
    std::vector<std::string> paths;
  };

  batch_state* find_batch(uint64_t id);
  /// The writer `x` goes to; remembers or forgets its transfer.
  size_t route(const op& x);

  bool sync_batches_;
  uint64_t next_batch_ = 0;
  std::deque<item> queue_;
  std::deque<batch_state> batches_;
  /// Per writer, the tasks handed out, oldest first.
  std::vector<std::deque<std::vector<origin>>> running_;
  size_t in_flight_ = 0;
  /// An op or read that runs alone is in flight.
  bool alone_running_ = false;
  /// Open transfers' writers, by id, and the ids oldest first (a peer that
  /// never commits cannot grow it past max_known_transfers).
  std::unordered_map<uint64_t, size_t> xfer_writer_;
  std::deque<uint64_t> xfer_order_;
};

} // namespace livesync
