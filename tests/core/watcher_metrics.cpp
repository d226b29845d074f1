#define CAF_SUITE core.watcher_metrics
#include <caf/test/unit_test.hpp>

#include "core/watcher/latency_histogram.hpp"
#include "core/watcher/watcher_metrics.hpp"
#include "exposition_check.hpp"

#include <chrono>
#include <string>
#include <vector>

using namespace livesync;
using namespace livesync::test;
using namespace std::chrono;

namespace {

constexpr int64_t now_s = 1700000000;

watcher_status sample() {
  watcher_status s;
  s.state = "in-sync";
  s.root = "/data";
  s.reference = "mirror:4242";
  s.tls = true;
  s.uptime_s = 90;
  s.since_in_sync_s = 3;
  s.pending_paths = 2;
  s.queued_checks = 5;
  s.in_flight_bytes = 4096;
  s.counters.ops = 1500;
  s.counters.requests = 12;
  s.counters.bytes = 2048;
  s.counters.files = 7;
  s.counters.literal_bytes = 100;
  s.counters.copied_bytes = 200;
  s.counters.payload_bytes = 50;
  s.counters.round_trips = 1;
  s.counters.fallbacks = 2;
  s.counters.errors = 3;
  s.counters.chunked_files = 6;
  s.counters.shared_chunk_lists = 8;
  s.counters.worker_reads = 9;
  s.counters.unreadable = 4;
  s.counters.reconnects = 5;
  return s;
}

std::vector<parsed_sample> parse_clean(const std::string& text) {
  std::vector<std::string> bad;
  auto xs = parse_exposition(text, bad);
  for (auto& b : bad)
    CAF_ERROR(b);
  CAF_CHECK(bad.empty());
  return xs;
}

const std::map<std::string, std::string> ours{{"root", "/data"},
                                              {"reference", "mirror:4242"}};

} // namespace

CAF_TEST(every counter and gauge is there with its unit and labels) {
  auto xs = parse_clean(render_prometheus(sample(), now_s));
  struct case_t {
    const char* name;
    const char* value;
  };
  std::vector<case_t> cases{
    {"livesync_watcher_ops_total", "1500"},
    {"livesync_watcher_requests_total", "12"},
    {"livesync_watcher_request_bytes_total", "2048"},
    {"livesync_watcher_payload_bytes_total", "50"},
    {"livesync_watcher_files_sent_total", "7"},
    {"livesync_watcher_literal_bytes_total", "100"},
    {"livesync_watcher_copied_bytes_total", "200"},
    {"livesync_watcher_round_trips_total", "1"},
    {"livesync_watcher_delta_fallbacks_total", "2"},
    {"livesync_watcher_op_errors_total", "3"},
    {"livesync_watcher_unreadable_total", "4"},
    {"livesync_watcher_reconnects_total", "5"},
    {"livesync_watcher_chunked_files_total", "6"},
    {"livesync_watcher_shared_chunk_lists_total", "8"},
    {"livesync_watcher_worker_reads_total", "9"},
    {"livesync_watcher_pending_paths", "2"},
    {"livesync_watcher_queued_checks", "5"},
    {"livesync_watcher_in_flight_bytes", "4096"},
    {"livesync_watcher_unwatched_directories", "0"},
    // Ages become timestamps: a file not rewritten while idle stays true.
    {"livesync_watcher_start_time_seconds", "1699999910"},
    {"livesync_watcher_last_in_sync_timestamp_seconds", "1699999997"},
    {"livesync_watcher_latency_seconds_count", "0"},
    {"livesync_watcher_latency_seconds_sum", "0"},
  };
  for (auto& c : cases) {
    CAF_MESSAGE(c.name);
    CAF_CHECK_EQUAL(value_of(xs, c.name, ours), c.value);
  }
  CAF_CHECK_EQUAL(value_of(xs, "livesync_watcher_info", {{"transport", "tls"}}),
                  "1");
  // Every series carries both labels: several watchers on one host write
  // one file each into the same textfile directory.
  for (auto& s : xs) {
    CAF_CHECK_EQUAL(s.labels.count("root"), 1u);
    CAF_CHECK_EQUAL(s.labels.count("reference"), 1u);
  }
}

CAF_TEST(the state is one series per state with a single 1) {
  for (auto state : watcher_states) {
    auto s = sample();
    s.state = state;
    auto xs = parse_clean(render_prometheus(s, now_s));
    for (auto other : watcher_states)
      CAF_CHECK_EQUAL(value_of(xs, "livesync_watcher_state",
                               {{"state", other}}),
                      std::string{other} == state ? "1" : "0");
  }
  // A state this build does not know still shows, as the current one.
  auto s = sample();
  s.state = "resting";
  auto xs = parse_clean(render_prometheus(s, now_s));
  CAF_CHECK_EQUAL(value_of(xs, "livesync_watcher_state", {{"state", "resting"}}),
                  "1");
  CAF_CHECK_EQUAL(value_of(xs, "livesync_watcher_state", {{"state", "in-sync"}}),
                  "0");
}

CAF_TEST(never in sync and no error leave their timestamps out) {
  auto s = sample();
  s.since_in_sync_s = -1;
  auto text = render_prometheus(s, now_s);
  CAF_CHECK(text.find("last_in_sync") == std::string::npos);
  CAF_CHECK(text.find("last_error") == std::string::npos);
  s.last_error = "peer lost: timeout";
  s.last_error_age_s = 20;
  auto xs = parse_clean(render_prometheus(s, now_s));
  CAF_CHECK_EQUAL(value_of(xs, "livesync_watcher_last_error_timestamp_seconds"),
                  "1699999980");
  // The error's text is no label: its values are unbounded.
  CAF_CHECK(render_prometheus(s, now_s).find("peer lost")
            == std::string::npos);
}

CAF_TEST(label values from paths are escaped) {
  struct case_t {
    const char* root;
    const char* in_text;
  };
  std::vector<case_t> cases{
    {"/srv/a \"quoted\" dir", "root=\"/srv/a \\\"quoted\\\" dir\""},
    {"/srv/back\\slash", "root=\"/srv/back\\\\slash\""},
    {"/srv/new\nline", "root=\"/srv/new\\nline\""},
    {"/srv/latin1-\xe9", "root=\"/srv/latin1-\xef\xbf\xbd\""},
  };
  for (auto& c : cases) {
    auto s = sample();
    s.root = c.root;
    auto text = render_prometheus(s, now_s);
    CAF_CHECK(text.find(c.in_text) != std::string::npos);
    auto xs = parse_clean(text);
    // Read back, the label is the root (invalid UTF-8 replaced).
    CAF_CHECK_EQUAL(xs.front().labels.at("root").substr(0, 5), "/srv/");
  }
}

CAF_TEST(the latency histogram has exact cumulative buckets up to Inf) {
  latency_histogram h;
  // 0.4 ms, exactly 1 ms (le="0.001" includes it), 3 ms, 70 ms, 2 min.
  for (auto d : {microseconds(400), microseconds(1000), microseconds(3000),
                 microseconds(70000), microseconds(120000000)})
    h.record(d);
  auto s = sample();
  s.latency_samples = h.count();
  s.latency_buckets = h.export_cumulative();
  s.latency_sum_ns = h.sum_ns();
  auto xs = parse_clean(render_prometheus(s, now_s));
  struct case_t {
    const char* le;
    const char* count;
  };
  std::vector<case_t> cases{
    {"0.0005", "1"}, {"0.001", "2"}, {"0.0025", "2"}, {"0.005", "3"},
    {"0.01", "3"},   {"0.025", "3"}, {"0.05", "3"},   {"0.1", "4"},
    {"0.25", "4"},   {"0.5", "4"},   {"1", "4"},      {"2.5", "4"},
    {"5", "4"},      {"10", "4"},    {"30", "4"},     {"60", "4"},
    {"+Inf", "5"},
  };
  size_t buckets = 0;
  for (auto& x : xs)
    buckets += x.name == "livesync_watcher_latency_seconds_bucket";
  CAF_CHECK_EQUAL(buckets, cases.size());
  for (auto& c : cases) {
    auto labels = ours;
    labels["le"] = c.le;
    CAF_MESSAGE("le=" << c.le);
    CAF_CHECK_EQUAL(value_of(xs, "livesync_watcher_latency_seconds_bucket",
                             labels),
                    c.count);
  }
  CAF_CHECK_EQUAL(value_of(xs, "livesync_watcher_latency_seconds_count", ours),
                  "5");
  CAF_CHECK_EQUAL(value_of(xs, "livesync_watcher_latency_seconds_sum", ours),
                  "120.0744");
}

CAF_TEST(buckets of another shape are left out rather than misread) {
  auto s = sample();
  s.latency_samples = 3;
  s.latency_buckets = {1, 2};
  auto xs = parse_clean(render_prometheus(s, now_s));
  size_t buckets = 0;
  for (auto& x : xs)
    buckets += x.name == "livesync_watcher_latency_seconds_bucket";
  CAF_CHECK_EQUAL(buckets, 1u);
  CAF_CHECK_EQUAL(value_of(xs, "livesync_watcher_latency_seconds_bucket",
                           {{"le", "+Inf"}}),
                  "3");
}
