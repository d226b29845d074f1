#include "core/watcher/link_session.hpp"

#include <algorithm>
#include <set>

namespace livesync {

const char* to_string(link_session::phase p) {
  switch (p) {
    case link_session::phase::disconnected: return "disconnected";
    case link_session::phase::connecting: return "connecting";
    case link_session::phase::reconciling: return "reconciling";
    case link_session::phase::live: return "live";
  }
  return "?";
}

bool delta_fallback(ec code, std::optional<op_kind> kind) {
  if (code != ec::hash_mismatch && code != ec::stale)
    return false;
  return kind == op_kind::copy_range || kind == op_kind::commit_file;
}

std::string link_session::refusal::kind_name() const {
  return kind ? to_string(*kind) : std::string{"?"};
}

link_session::link_session(link_settings s, time_point start)
  : settings_(s), started_at_(start) {
}

int64_t link_session::ns(time_point t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
           t.time_since_epoch())
    .count();
}

// -- the phase ----------------------------------------------------------------

bool link_session::start_connect() {
  if (phase_ != phase::disconnected)
    return false;
  phase_ = phase::connecting;
  return true;
}

bool link_session::connected() {
  return stats_.reconnects++ == 0;
}

link_session::duration link_session::next_backoff() const {
  return backoff_.count() == 0 ? settings_.retry_min
                               : std::min(backoff_ * 2, settings_.retry_max);
}

link_session::duration
link_session::connect_failed(time_point now, const std::string& reason) {
  note_error(now, "connect failed: " + reason);
  phase_ = phase::disconnected;
  backoff_ = next_backoff();
  return backoff_;
}

std::optional<link_session::duration>
link_session::lose(time_point now, const std::string& reason) {
  if (phase_ == phase::disconnected)
    return std::nullopt;
  note_error(now, "peer lost: " + reason);
  ++epoch_;
  // What was in flight may or may not have been committed: barriers wait
  // for the full comparison after the reconnect; latency samples are lost.
  marks_.link_lost();
  phase_ = phase::disconnected;
  batch_.clear();
  batch_bytes_ = 0;
  in_flight_bytes_ = 0;
  in_flight_.clear();
  backoff_ = next_backoff();
  return backoff_;
}

void link_session::begin_reconcile(time_point) {
  phase_ = phase::reconciling;
  round_errors_ = 0;
  recheck_all_ = false;
  backoff_ = duration{0};
}

void link_session::rescan(time_point now) {
  phase_ = phase::reconciling;
  reconcile_start_ = now;
}

// -- batches and the window ---------------------------------------------------

bool link_session::append(op o) {
  ++stats_.ops;
  batch_bytes_ += wire_size(o);
  batch_.push_back(std::move(o));
  return batch_bytes_ >= settings_.batch_bytes
         || batch_.size() >= settings_.batch_ops;
}

std::optional<link_session::outgoing> link_session::take_batch() {
  if (batch_.empty() || !linked())
    return std::nullopt;
  outgoing out;
  out.seq = marks_.sent();
  out.epoch = epoch_;
  auto& sent = in_flight_[out.seq];
  sent.bytes = batch_bytes_;
  sent.kinds.reserve(batch_.size());
  for (auto& o : batch_) {
    if (o.kind == op_kind::rename || o.kind == op_kind::link)
      sent.second_paths.emplace(static_cast<uint32_t>(sent.kinds.size()),
                                o.target);
    sent.kinds.push_back(o.kind);
  }
  in_flight_bytes_ += batch_bytes_;
  ++stats_.requests;
  stats_.bytes += batch_bytes_;
  auto ops = std::move(batch_);
  batch_.clear();
  batch_bytes_ = 0;
  // The whole batch as the next message of the link's zstd stream: each
  // file is coded against everything sent before it on this link.
  if (settings_.zstd_level > 0 && (!packer_ || packer_epoch_ != epoch_)) {
    packer_ = std::make_unique<batch_packer>(settings_.zstd_level);
    packer_epoch_ = epoch_;
  }
  packed_batch packed;
  if (packer_ && packer_->pack(ops, packed)) {
    stats_.payload_bytes += packed.frame.size();
    out.payload = std::move(packed);
    return out;
  }
  // Compression off, or this batch cannot be packed (too large, or the
  // stream failed): as it is.
  for (auto& o : ops)
    stats_.payload_bytes += o.data.size();
  out.payload = std::move(ops);
  return out;
}

std::optional<link_session::ack_result>
link_session::acked(uint64_t seq, uint64_t epoch,
                    const std::vector<op_error>& errors, time_point now) {
  if (epoch != epoch_)
    return std::nullopt;
  ack_result out;
  auto i = in_flight_.find(seq);
  if (i == in_flight_.end())
    return out; // Answered twice: nothing left to settle.
  auto sent = std::move(i->second);
  in_flight_.erase(i);
  in_flight_bytes_ -= sent.bytes;
  std::set<std::string> seen;
  for (auto& e : errors) {
    ++stats_.errors;
    if (phase_ == phase::reconciling)
      ++round_errors_;
    refusal r;
    if (e.index < sent.kinds.size())
      r.kind = sent.kinds[e.index];
    r.code = e.code;
    r.path = e.path;
    r.detail = e.detail;
    r.first_of_path = seen.insert(e.path).second;
    if (!e.path.empty()) {
      if (auto j = sent.second_paths.find(e.index);
          j != sent.second_paths.end())
        r.second_path = j->second;
      if (delta_fallback(r.code, r.kind)) {
        r.fallback = true;
        ++stats_.fallbacks;
      }
    }
    out.refusals.push_back(std::move(r));
  }
  ack_marks::done d;
  marks_.acked(seq, ns(now), d);
  complete(d, out.flushes);
  return out;
}

// -- settled batches, marks and flushes ---------------------------------------

void link_session::settled(int64_t first_event_ns, uint64_t barrier) {
  if (linked())
    marks_.settled(first_event_ns, barrier);
  else
    marks_.settled_unlinked(barrier);
}

link_session::ack_result link_session::planned(time_point now) {
  ack_result out;
  ack_marks::done d;
  marks_.planned(ns(now), d);
  complete(d, out.flushes);
  return out;
}

void link_session::complete(const ack_marks::done& d,
                            std::vector<flush_answer>& out) {
  for (auto x : d.latency_ns)
    latency_.record(std::chrono::nanoseconds{x});
  if (d.barrier > 0)
    complete_barrier(d.barrier, out);
}

void link_session::complete_barrier(uint64_t id,
                                    std::vector<flush_answer>& out) {
  barrier_done_ = std::max(barrier_done_, id);
  auto done = [&](const waiting_flush& w) {
    if (w.id > barrier_done_)
      return false;
    out.push_back({w.id, problems() - w.problems_before});
    return true;
  };
  flushes_.erase(std::remove_if(flushes_.begin(), flushes_.end(), done),
                 flushes_.end());
}

bool link_session::add_flush(uint64_t id) {
  if (flushes_.size() >= max_pending_flushes)
    return false;
  flushes_.push_back({id, problems()});
  return true;
}

// -- retries and the end of a comparison --------------------------------------

bool link_session::retry_later(std::string path) {
  retry_paths_.push_back(std::move(path));
  if (retry_armed_)
    return false;
  retry_armed_ = true;
  return true;
}

std::vector<std::string> link_session::take_retry_paths() {
  return std::exchange(retry_paths_, {});
}

link_session::retry_plan link_session::retry_fired() {
  retry_armed_ = false;
  retry_plan out;
  if (recheck_all_) {
    // The full comparison covers the paths that waited.
    recheck_all_ = false;
    retry_paths_.clear();
    out.full_check = phase_ == phase::reconciling;
    return out;
  }
  out.paths = take_retry_paths();
  return out;
}

link_session::sync_result link_session::comparison_done(time_point now) {
  sync_result out;
  if (phase_ != phase::reconciling || !batch_.empty() || !in_flight_.empty()
      || recheck_all_)
    return out;
  if (round_errors_ > 0) {
    // Some operations were refused: the reference is not identical.
    // Compare the whole tree again after a pause. The comparison covered
    // what barriers lost with a link were for: their flushes end now,
    // reporting the refusals.
    out.outcome = sync_outcome::incomplete;
    out.round_errors = round_errors_;
    if (auto b = marks_.take_at_sync(); b > 0)
      complete_barrier(b, out.flushes);
    round_errors_ = 0;
    recheck_all_ = true;
    out.arm_retry = !retry_armed_;
    retry_armed_ = true;
    return out;
  }
  out.outcome = sync_outcome::in_sync;
  phase_ = phase::live;
  ever_in_sync_ = true;
  last_in_sync_ = now;
  if (auto b = marks_.take_at_sync(); b > 0)
    complete_barrier(b, out.flushes);
  return out;
}

// -- what status shows ----------------------------------------------------------

void link_session::note_error(time_point now, std::string what, ec code) {
  last_error_ = std::move(what);
  last_error_code_ = code;
  last_error_at_ = now;
}

void link_session::fill_status(watcher_status& out, time_point now,
                               bool busy) const {
  auto secs = [&](time_point t) {
    return static_cast<int64_t>(
      std::chrono::duration_cast<std::chrono::seconds>(now - t).count());
  };
  switch (phase_) {
    case phase::disconnected: out.state = "disconnected"; break;
    case phase::connecting: out.state = "connecting"; break;
    case phase::reconciling: out.state = "syncing"; break;
    case phase::live:
      out.state = busy || !batch_.empty() || !in_flight_.empty() ? "syncing"
                                                                 : "in-sync";
      break;
  }
  out.uptime_s = secs(started_at_);
  out.since_in_sync_s = ever_in_sync_ ? secs(last_in_sync_) : -1;
  out.in_flight_bytes = in_flight_bytes_;
  out.last_error = last_error_;
  out.last_error_code = last_error_code_ == ec::none
                          ? std::string{}
                          : to_string(last_error_code_);
  out.last_error_age_s = last_error_.empty() ? -1 : secs(last_error_at_);
  out.counters = stats_;
  // Connections after the first.
  out.counters.reconnects = stats_.reconnects > 0 ? stats_.reconnects - 1 : 0;
  auto us = [](std::chrono::nanoseconds d) {
    return static_cast<uint64_t>(d.count() / 1000);
  };
  out.latency_samples = latency_.count();
  out.latency_p50_us = us(latency_.quantile(0.50));
  out.latency_p90_us = us(latency_.quantile(0.90));
  out.latency_p99_us = us(latency_.quantile(0.99));
  out.latency_max_us = us(latency_.max());
  out.latency_buckets = latency_.export_cumulative();
  out.latency_sum_ns = latency_.sum_ns();
}

} // namespace livesync
