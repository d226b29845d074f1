#include "core/watcher/watcher_metrics.hpp"

#include "core/watcher/latency_histogram.hpp"
#include "core/common/prometheus_text.hpp"

namespace livesync {

namespace {

void render_one(exposition& out, const watcher_status& s,
                int64_t now_unix_s) {
  metric_labels labels{{"root", s.root}, {"reference", s.reference}};
  auto gauge = [&](const char* name, const char* help, auto value) {
    out.family(name, metric_type::gauge, help);
    out.sample(name, labels, value);
  };
  auto counter = [&](const char* name, const char* help, uint64_t value) {
    out.family(name, metric_type::counter, help);
    out.sample(name, labels, value);
  };
  // An age of -1 means never: the series is left out rather than set to a
  // made-up time.
  auto timestamp = [&](const char* name, const char* help, int64_t age_s) {
    if (age_s >= 0)
      gauge(name, help, static_cast<double>(now_unix_s - age_s));
  };

  out.family("livesync_watcher_info", metric_type::gauge,
             "The watcher: its watched root, its reference (host:port) and "
             "the link's transport (tls or tcp); always 1.");
  auto info = labels;
  info.push_back({"transport", s.tls ? "tls" : "tcp"});
  out.sample("livesync_watcher_info", info, uint64_t{1});

  out.family("livesync_watcher_state", metric_type::gauge,
             "1 for the watcher's current state, 0 for the others "
             "(stopped: the watcher has exited).");
  auto state = labels;
  state.push_back({"state", {}});
  bool known = false;
  for (auto name : watcher_states) {
    state.back().value = name;
    known = known || s.state == name;
    out.sample("livesync_watcher_state", state, uint64_t{s.state == name});
  }
  if (!known) {
    state.back().value = s.state;
    out.sample("livesync_watcher_state", state, uint64_t{1});
  }

  timestamp("livesync_watcher_start_time_seconds",
            "When the watcher started, in seconds since the Unix epoch.",
            s.uptime_s);
  timestamp("livesync_watcher_last_in_sync_timestamp_seconds",
            "When the reference last became identical to the watched tree "
            "(after a connect or a rescan), in seconds since the Unix epoch; "
            "absent until it first has.",
            s.since_in_sync_s);
  timestamp("livesync_watcher_last_error_timestamp_seconds",
            "When the last error happened (status shows which), in seconds "
            "since the Unix epoch; absent while there has been none.",
            s.last_error.empty() ? -1 : s.last_error_age_s);

  gauge("livesync_watcher_pending_paths",
        "Changed paths waiting in the debouncer for their changes to settle.",
        s.pending_paths);
  gauge("livesync_watcher_queued_checks",
        "Paths queued for comparison with the reference.", s.queued_checks);
  gauge("livesync_watcher_in_flight_bytes",
        "Bytes of operations sent and not yet acknowledged.",
        s.in_flight_bytes);
  gauge("livesync_watcher_unwatched_directories",
        "Directories the inotify watch limit left unwatched (mirrored by "
        "periodic scans).",
        s.unwatched_dirs);

  auto& c = s.counters;
  counter("livesync_watcher_ops_total",
          "Operations sent to the reference.", c.ops);
  counter("livesync_watcher_requests_total",
          "Requests (batches of operations) sent to the reference.",
          c.requests);
  counter("livesync_watcher_request_bytes_total",
          "Bytes of operations sent, before compression (payload and "
          "per-operation overhead).",
          c.bytes);
  counter("livesync_watcher_payload_bytes_total",
          "Operation payload as it went on the wire (batches after "
          "compression).",
          c.payload_bytes);
  counter("livesync_watcher_files_sent_total",
          "Files whose content was sent, whole or as a delta.", c.files);
  counter("livesync_watcher_literal_bytes_total",
          "File content sent as literal bytes, before compression.",
          c.literal_bytes);
  counter("livesync_watcher_copied_bytes_total",
          "File content the reference copied from data it already held.",
          c.copied_bytes);
  counter("livesync_watcher_round_trips_total",
          "Recipe requests, the only round trips besides connecting.",
          c.round_trips);
  counter("livesync_watcher_delta_fallbacks_total",
          "Deltas that fell back to the full content (no recipe, hash "
          "mismatch).",
          c.fallbacks);
  counter("livesync_watcher_op_errors_total",
          "Operations the reference refused.", c.errors);
  counter("livesync_watcher_unreadable_total",
          "Files and directories the watcher could not read (not sent).",
          c.unreadable);
  counter("livesync_watcher_reconnects_total",
          "Connections to the reference after the first.", c.reconnects);
  counter("livesync_watcher_chunked_files_total",
          "Large files this sender read and chunked (for every reference, "
          "with several).",
          c.chunked_files);
  counter("livesync_watcher_shared_chunk_lists_total",
          "Large files whose chunk list this sender took from another "
          "reference's sender instead of chunking it again.",
          c.shared_chunk_lists);
  counter("livesync_watcher_worker_reads_total",
          "Small files read on a content worker because they were not in "
          "the page cache.",
          c.worker_reads);

  std::vector<std::string> bounds;
  for (auto us : latency_export_bounds_us)
    bounds.push_back(decimal_seconds(us, 6));
  // A status from a build with other bounds: no finite bucket rather than
  // wrong ones (+Inf, _sum and _count still hold).
  std::vector<uint64_t> buckets;
  if (s.latency_buckets.size() == bounds.size())
    buckets = s.latency_buckets;
  out.histogram("livesync_watcher_latency_seconds",
                "Latency of a change, from its first inotify event to the "
                "reference's acknowledgement of its commit.",
                labels, bounds, buckets, s.latency_samples,
                decimal_seconds(s.latency_sum_ns, 9));
}

} // namespace

std::string render_prometheus(const watcher_status& s, int64_t now_unix_s) {
  exposition out;
  render_one(out, s, now_unix_s);
  return out.text();
}

std::string render_prometheus(const std::vector<watcher_status>& xs,
                              int64_t now_unix_s) {
  exposition out;
  for (auto& s : xs)
    render_one(out, s, now_unix_s);
  return out.text();
}

} // namespace livesync
