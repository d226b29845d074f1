// One watcher-to-reference link as pure state: the phase, the epoch that
// tells replies of an old connection from the current one, the batch being
// filled, the window of bytes in flight, the requests awaiting an answer,
// the acknowledgement marks (latency, flush barriers), the flush waiters,
// the reconnect backoff, the paths to retry after a refusal, the in-sync
// decision, and what `status` shows of it. No actor, no clock: time is a
// parameter, so a table test replays a transcript of events in
// microseconds (tests/core/link_session.cpp).
//
//   disconnected --start_connect--> connecting --begin_reconcile--> reconciling
//        ^                               |                            |   ^
//        |                               |           comparison_done  |   | rescan
//        +--- connect_failed / lose -----+-------------------------- live-+
//
// The sender actor (actors/watcher/sender.cpp) owns one, and switches its
// behavior when the phase changes; the planner, the model and the content
// work stay in the actor: they decide *what* to send, this decides *when*
// and what came of it.
#pragma once

#include "core/watcher/ack_marks.hpp"
#include "core/watcher/latency_histogram.hpp"
#include "core/watcher/link_counters.hpp"
#include "core/watcher/watcher_status.hpp"
#include "core/wire/batch_codec.hpp"
#include "core/wire/op.hpp"

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace livesync {

/// Flush requests waiting at once, at most (each holds a promise until the
/// reference has acknowledged everything before it).
inline constexpr size_t max_pending_flushes = 32;

struct link_settings {
  /// Bytes of operations sent and not yet acknowledged, at most.
  uint64_t window_bytes = 16u << 20;
  /// A request carries at most this many bytes / operations.
  uint64_t batch_bytes = 1u << 20;
  size_t batch_ops = 4096;
  /// zstd level of the link's stream of packed batches (0: send ops as
  /// they are).
  int zstd_level = 3;
  /// Reconnect backoff: doubles from min up to max.
  std::chrono::nanoseconds retry_min = std::chrono::milliseconds(250);
  std::chrono::nanoseconds retry_max = std::chrono::seconds(5);
};

class link_session {
public:
  using time_point = std::chrono::steady_clock::time_point;
  using duration = std::chrono::nanoseconds;

  enum class phase { disconnected, connecting, reconciling, live };

  /// A request to send: the next batch, packed into the link's zstd
  /// stream when it can be.
  struct outgoing {
    uint64_t seq = 0;
    uint64_t epoch = 0;
    std::variant<packed_batch, std::vector<op>> payload;
  };

  /// An operation the reference refused, as the sender must act on it.
  struct refusal {
    /// The refused op's kind; nothing when the error's index names no op
    /// of the batch (a batch refused whole).
    std::optional<op_kind> kind;
    /// The class of the failure, as the reference said it.
    ec code = ec::internal;
    std::string path;   // empty: the error names no path
    /// The second path of a refused rename (its target) or link (its
    /// source): the model is wrong about it too.
    std::string second_path;
    /// The reference's human-readable detail, for the logs.
    std::string detail;
    /// The first refusal of this path in the reply: warn once, not once
    /// per echoing op of a failed transfer.
    bool first_of_path = true;
    /// A delta the reference could not build from what it holds: the
    /// file's content goes again whole (see delta_fallback).
    bool fallback = false;

    /// The op kind's name, "?" when unknown (for the logs).
    std::string kind_name() const;
  };

  /// A flush whose barrier is done, and the refusals and unreadable files
  /// counted since it was asked for.
  struct flush_answer {
    uint64_t id = 0;
    uint64_t problems = 0;
  };

  /// What an acknowledgement (or the end of planning) completed.
  struct ack_result {
    std::vector<refusal> refusals;
    std::vector<flush_answer> flushes;
  };

  /// The end of a comparison with no work left.
  enum class sync_outcome {
    not_done,   // not reconciling, or requests still in flight
    incomplete, // some operations were refused: compare again later
    in_sync,    // phase is now live
  };

  struct sync_result {
    sync_outcome outcome = sync_outcome::not_done;
    /// incomplete: the refusals of the round; the retry timer must be
    /// armed when `arm_retry`.
    uint64_t round_errors = 0;
    bool arm_retry = false;
    std::vector<flush_answer> flushes;
  };

  /// What the retry timer does when it fires.
  struct retry_plan {
    /// Compare the whole tree again (a comparison was incomplete).
    bool full_check = false;
    /// Else: paths to hand to the debouncer again.
    std::vector<std::string> paths;
  };

  link_session(link_settings s, time_point start);

  // -- the phase ------------------------------------------------------------

  phase state() const noexcept { return phase_; }
  /// Reconciling or live: operations may be sent.
  bool linked() const noexcept {
    return phase_ == phase::reconciling || phase_ == phase::live;
  }
  uint64_t epoch() const noexcept { return epoch_; }
  /// Whether a reply of the link of `epoch` still concerns this one.
  bool current(uint64_t epoch) const noexcept { return epoch == epoch_; }

  /// Disconnected -> connecting. False (nothing changes) otherwise.
  bool start_connect();

  /// The reference answered the connect. Returns whether it is the first
  /// connection since start.
  bool connected();

  /// A connect attempt failed: disconnected, the error noted. Returns the
  /// pause before the next attempt.
  duration connect_failed(time_point now, const std::string& reason);

  /// The pause the next connect_failed or lose would return.
  duration next_backoff() const;

  /// The link dropped (peer down, a failed request, a bad reply): a new
  /// epoch, nothing in flight, the batch dropped (the comparison after the
  /// reconnect covers it). Returns the pause before reconnecting, or
  /// nothing when already disconnected.
  std::optional<duration> lose(time_point now, const std::string& reason);

  /// The comparison is set up: reconciling, with a fresh round.
  void begin_reconcile(time_point now);

  /// A live link compares the whole tree again (an overflow rescan).
  void rescan(time_point now);

  /// When the running comparison started (digest or manifest request).
  time_point reconcile_start() const noexcept { return reconcile_start_; }
  void set_reconcile_start(time_point t) noexcept { reconcile_start_ = t; }

  // -- batches and the window -------------------------------------------------

  /// Whether the window has room for more operations.
  bool window_open() const noexcept {
    return in_flight_bytes_ + batch_bytes_ < settings_.window_bytes;
  }
  bool batch_empty() const noexcept { return batch_.empty(); }
  uint64_t in_flight_bytes() const noexcept { return in_flight_bytes_; }
  size_t in_flight_requests() const noexcept { return in_flight_.size(); }

  /// Queues one operation. Returns true when the batch is full and should
  /// go out now (take_batch).
  bool append(op o);

  /// Takes the queued batch as the next request (nothing when empty or not
  /// linked).
  std::optional<outgoing> take_batch();

  /// The answer to request `seq` of link `epoch`, with the operations the
  /// reference refused. Returns nothing when the answer belongs to an older
  /// link (ignore it).
  std::optional<ack_result> acked(uint64_t seq, uint64_t epoch,
                                  const std::vector<op_error>& errors,
                                  time_point now);

  // -- settled batches, marks and flushes -------------------------------------

  /// A settled batch from the debouncer (first_event_ns: its oldest
  /// change; barrier: the flush it carries, 0: none).
  void settled(int64_t first_event_ns, uint64_t barrier);

  /// Everything settled so far is planned: the open mark waits for the
  /// requests sent so far.
  ack_result planned(time_point now);

  /// Takes the barrier of the batch being planned (a path of it goes back
  /// to the debouncer, and the barrier behind it). 0: none.
  uint64_t take_open_barrier() { return marks_.take_open_barrier(); }

  /// A flush waits for barrier `id` (barrier_signal numbers them). False
  /// when max_pending_flushes wait already.
  bool add_flush(uint64_t id);
  size_t flushes_waiting() const noexcept { return flushes_.size(); }

  // -- retries and the end of a comparison ------------------------------------

  /// `path` is compared again after a pause. Returns true when the retry
  /// timer must be armed (it is not running).
  bool retry_later(std::string path);

  /// Paths waiting for the retry timer, taken now (a flush hands them to
  /// the debouncer ahead of its barrier).
  std::vector<std::string> take_retry_paths();

  /// The retry timer fired.
  retry_plan retry_fired();

  /// Whether a full comparison is due when the retry timer fires.
  bool recheck_pending() const noexcept { return recheck_all_; }

  /// The planner and the content work have nothing left: decides whether
  /// the comparison is done, and how.
  sync_result comparison_done(time_point now);

  // -- what status shows --------------------------------------------------------

  link_counters& counters() noexcept { return stats_; }
  const link_counters& counters() const noexcept { return stats_; }
  latency_histogram& latency() noexcept { return latency_; }
  const latency_histogram& latency() const noexcept { return latency_; }

  /// The last error status shows: `what` happened now, of class `code`
  /// (ec::none: not one the reference classed, e.g. a lost link).
  void note_error(time_point now, std::string what, ec code = ec::none);

  /// Fills the link's part of `out`: state ("syncing" for a live link with
  /// work queued here or `busy` in the caller), ages, in-flight bytes, the last error, the counters and
  /// the latency histogram.
  void fill_status(watcher_status& out, time_point now, bool busy) const;

private:
  /// What an error reply needs of a sent batch: an error names its op by
  /// index, so keep each op's kind and second path, not its content.
  struct sent_batch {
    uint64_t bytes = 0;
    std::vector<op_kind> kinds;
    std::map<uint32_t, std::string> second_paths;
  };

  struct waiting_flush {
    uint64_t id = 0;
    uint64_t problems_before = 0;
  };

  uint64_t problems() const noexcept {
    return stats_.errors + stats_.unreadable;
  }
  void complete(const ack_marks::done& d, std::vector<flush_answer>& out);
  void complete_barrier(uint64_t id, std::vector<flush_answer>& out);
  static int64_t ns(time_point t);

  link_settings settings_;
  phase phase_ = phase::disconnected;
  uint64_t epoch_ = 0;
  duration backoff_{0};

  std::vector<op> batch_;
  uint64_t batch_bytes_ = 0;
  uint64_t in_flight_bytes_ = 0;
  std::map<uint64_t, sent_batch> in_flight_;
  /// The link's zstd stream: a new one for each epoch, as each connection
  /// starts with a hello, which starts the receiver's stream anew.
  std::unique_ptr<batch_packer> packer_;
  uint64_t packer_epoch_ = 0;

  ack_marks marks_;
  uint64_t barrier_done_ = 0;
  std::vector<waiting_flush> flushes_;

  std::vector<std::string> retry_paths_;
  bool retry_armed_ = false;
  /// Refusals during the running comparison: it is not in sync until one
  /// completes without any.
  uint64_t round_errors_ = 0;
  bool recheck_all_ = false;

  link_counters stats_;
  latency_histogram latency_;
  time_point started_at_;
  time_point reconcile_start_{};
  time_point last_in_sync_{};
  bool ever_in_sync_ = false;
  std::string last_error_;
  ec last_error_code_ = ec::none;
  time_point last_error_at_{};
};

const char* to_string(link_session::phase p);

/// Whether the refusal of an op of `kind` with `code` means a delta could
/// not be built from what the reference holds, so the file's content goes
/// again whole: a copy source was not what the watcher believed (stale) or
/// the assembled file did not hash right (hash_mismatch), on an op that
/// builds a streamed file (copy_range, commit_file). Other failures of
/// those ops (a full disk, a limit) are not the delta's doing.
bool delta_fallback(ec code, std::optional<op_kind> kind);

} // namespace livesync
