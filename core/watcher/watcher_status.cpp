#include "core/watcher/watcher_status.hpp"

#include "core/watcher/progress_meter.hpp"
#include "core/common/utf8.hpp"

#include <cstdio>

namespace livesync {

std::string json_escape(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x80) {
      // JSON is UTF-8: a byte that starts no valid sequence (a path need
      // not be UTF-8) becomes U+FFFD rather than invalid output.
      if (auto n = utf8_sequence_length(s, i); n > 1) {
        out.append(s, i, n);
        i += n - 1;
      } else {
        out += "\\ufffd";
      }
      continue;
    }
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out;
}

namespace {

std::string ms(uint64_t us) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f ms", static_cast<double>(us) / 1000.0);
  return buf;
}

std::string age(int64_t s) {
  return s < 0 ? std::string{"never"} : std::to_string(s) + "s ago";
}

} // namespace

std::string render_text(const watcher_status& s) {
  std::string out;
  auto line = [&](const char* key, const std::string& value) {
    out += key;
    out += ": ";
    out += value;
    out += '\n';
  };
  line("state", s.state);
  line("root", s.root);
  line("reference", s.reference + (s.tls ? " (mutual TLS)" : " (plain TCP)"));
  line("uptime", std::to_string(s.uptime_s) + "s");
  line("last in-sync", age(s.since_in_sync_s));
  line("pending", grouped(s.pending_paths) + " paths, "
                    + grouped(s.queued_checks) + " checks queued, "
                    + human_bytes(static_cast<double>(s.in_flight_bytes))
                    + " in flight");
  if (s.unwatched_dirs > 0)
    line("unwatched", grouped(s.unwatched_dirs)
                        + " directories (inotify watch limit; scanned "
                          "periodically, raise fs.inotify.max_user_watches)");
  if (!s.progress.empty())
    line("progress", s.progress);
  line("last error", s.last_error.empty()
                       ? std::string{"none"}
                       : s.last_error + " (" + age(s.last_error_age_s) + ")");
  line("sent", grouped(s.counters.ops) + " ops in " + grouped(s.counters.requests)
                 + " requests, "
                 + human_bytes(static_cast<double>(s.counters.bytes))
                 + " on the wire");
  line("files", grouped(s.counters.files) + " sent: "
                  + human_bytes(static_cast<double>(s.counters.literal_bytes))
                  + " literal ("
                  + human_bytes(static_cast<double>(s.counters.payload_bytes))
                  + " compressed), "
                  + human_bytes(static_cast<double>(s.counters.copied_bytes))
                  + " copied by the reference");
  line("round trips", grouped(s.counters.round_trips) + " (fallbacks "
                        + grouped(s.counters.fallbacks) + ", errors "
                        + grouped(s.counters.errors) + ", unreadable "
                        + grouped(s.counters.unreadable) + ", reconnects "
                        + grouped(s.counters.reconnects) + ")");
  if (s.latency_samples == 0)
    line("latency", "no samples yet");
  else
    line("latency", "p50 " + ms(s.latency_p50_us) + ", p90 "
                      + ms(s.latency_p90_us) + ", p99 "
                      + ms(s.latency_p99_us) + ", max "
                      + ms(s.latency_max_us) + " ("
                      + grouped(s.latency_samples)
                      + " samples, event to commit acknowledged)");
  return out;
}

std::string render_json(const watcher_status& s) {
  std::string out = "{";
  bool first = true;
  auto key = [&](const char* k) {
    if (!first)
      out += ',';
    first = false;
    out += '"';
    out += k;
    out += "\":";
  };
  auto str = [&](const char* k, const std::string& v) {
    key(k);
    out += '"' + json_escape(v) + '"';
  };
  auto num = [&](const char* k, auto v) {
    key(k);
    out += std::to_string(v);
  };
  str("state", s.state);
  str("root", s.root);
  str("reference", s.reference);
  key("tls");
  out += s.tls ? "true" : "false";
  num("uptime_s", s.uptime_s);
  num("since_in_sync_s", s.since_in_sync_s);
  num("pending_paths", s.pending_paths);
  num("queued_checks", s.queued_checks);
  num("in_flight_bytes", s.in_flight_bytes);
  num("unwatched_dirs", s.unwatched_dirs);
  str("last_error", s.last_error);
  str("last_error_code", s.last_error_code);
  num("last_error_age_s", s.last_error_age_s);
  num("ops", s.counters.ops);
  num("requests", s.counters.requests);
  num("wire_bytes", s.counters.bytes);
  num("files", s.counters.files);
  num("literal_bytes", s.counters.literal_bytes);
  num("copied_bytes", s.counters.copied_bytes);
  num("payload_bytes", s.counters.payload_bytes);
  num("round_trips", s.counters.round_trips);
  num("fallbacks", s.counters.fallbacks);
  num("errors", s.counters.errors);
  num("unreadable", s.counters.unreadable);
  num("reconnects", s.counters.reconnects);
  num("chunked_files", s.counters.chunked_files);
  num("shared_chunk_lists", s.counters.shared_chunk_lists);
  num("worker_reads", s.counters.worker_reads);
  num("latency_samples", s.latency_samples);
  num("latency_p50_us", s.latency_p50_us);
  num("latency_p90_us", s.latency_p90_us);
  num("latency_p99_us", s.latency_p99_us);
  num("latency_max_us", s.latency_max_us);
  str("progress", s.progress);
  out += "}\n";
  return out;
}

std::string render_text(const std::vector<watcher_status>& xs) {
  std::string out;
  for (auto& s : xs)
    out += (out.empty() ? "" : "\n") + render_text(s);
  return out;
}

std::string render_json(const std::vector<watcher_status>& xs) {
  if (xs.size() == 1)
    return render_json(xs.front());
  std::string out = "[";
  for (auto& s : xs) {
    auto one = render_json(s);
    while (!one.empty() && one.back() == '\n')
      one.pop_back();
    out += (out.size() > 1 ? "," : "") + one;
  }
  return out + "]\n";
}

} // namespace livesync
