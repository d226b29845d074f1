#include "core/reference/reference_metrics.hpp"

#include "core/common/prometheus_text.hpp"

namespace livesync {

std::string render_prometheus(const reference_counters& c) {
  exposition out;
  metric_labels labels{{"root", c.root}};
  auto gauge = [&](const char* name, const char* help, uint64_t value) {
    out.family(name, metric_type::gauge, help);
    out.sample(name, labels, value);
  };
  auto counter = [&](const char* name, const char* help, uint64_t value) {
    out.family(name, metric_type::counter, help);
    out.sample(name, labels, value);
  };
  gauge("livesync_reference_running",
        "1 while the reference runs; 0 in the file's last write, as it "
        "exits.",
        c.running ? 1 : 0);
  out.family("livesync_reference_start_time_seconds", metric_type::gauge,
             "When the reference started, in seconds since the Unix epoch.");
  out.sample("livesync_reference_start_time_seconds", labels,
             static_cast<double>(c.start_time_s));
  gauge("livesync_reference_watcher_connected",
        "1 while a watcher is connected (its hello accepted), else 0.",
        c.watcher.empty() ? 0 : 1);
  if (!c.watcher.empty()) {
    out.family("livesync_reference_watcher_info", metric_type::gauge,
               "The connected watcher, as it names itself (host:root); "
               "always 1, absent while none is connected.");
    auto info = labels;
    info.push_back({"watcher", c.watcher});
    out.sample("livesync_reference_watcher_info", info, uint64_t{1});
  }
  gauge("livesync_reference_open_transfers",
        "Files being streamed in now (built in staging).", c.open_transfers);
  counter("livesync_reference_connections_total",
          "Watcher hellos accepted (connections and reconnections).",
          c.connections);
  counter("livesync_reference_refused_peers_total",
          "Watcher hellos refused (another watcher's tree, another protocol "
          "version).",
          c.refused_peers);
  counter("livesync_reference_reconciles_total",
          "Comparisons a watcher started (directory digests or the whole "
          "manifest asked for).",
          c.reconciles);
  counter("livesync_reference_batches_total",
          "Batches of operations received (refused ones included).",
          c.batches);
  counter("livesync_reference_refused_batches_total",
          "Batches refused whole (too many operations, a compressed stream "
          "that cannot be unpacked, no hello).",
          c.refused_batches);
  counter("livesync_reference_received_bytes_total",
          "Bytes of batches received (compressed frames as they came).",
          c.received_bytes);
  counter("livesync_reference_ops_total",
          "Operations applied or refused.", c.ops);
  counter("livesync_reference_op_errors_total",
          "Operations refused (each changed nothing).", c.op_errors);
  counter("livesync_reference_files_committed_total",
          "Files committed (whole or streamed).", c.files_committed);
  counter("livesync_reference_written_bytes_total",
          "File content bytes written into the mirror (sent or copied from "
          "what it held).",
          c.written_bytes);
  return out.text();
}

} // namespace livesync
