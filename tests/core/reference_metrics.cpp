#define CAF_SUITE core.reference_metrics
#include <caf/test/unit_test.hpp>

#include "core/reference/reference_metrics.hpp"
#include "exposition_check.hpp"

#include <string>
#include <vector>

using namespace livesync;
using namespace livesync::test;

namespace {

reference_counters sample() {
  reference_counters c;
  c.root = "/srv/mirror";
  c.start_time_s = 1700000000;
  c.watcher = "host-a:/data";
  c.connections = 2;
  c.refused_peers = 1;
  c.batches = 40;
  c.refused_batches = 3;
  c.received_bytes = 123456;
  c.ops = 900;
  c.op_errors = 4;
  c.files_committed = 300;
  c.written_bytes = 1 << 20;
  c.reconciles = 2;
  c.open_transfers = 1;
  return c;
}

std::vector<parsed_sample> parse_clean(const std::string& text) {
  std::vector<std::string> bad;
  auto xs = parse_exposition(text, bad);
  for (auto& b : bad)
    CAF_ERROR(b);
  CAF_CHECK(bad.empty());
  return xs;
}

} // namespace

CAF_TEST(every counter and gauge is there with the root label) {
  auto xs = parse_clean(render_prometheus(sample()));
  struct case_t {
    const char* name;
    const char* value;
  };
  std::vector<case_t> cases{
    {"livesync_reference_running", "1"},
    {"livesync_reference_start_time_seconds", "1700000000"},
    {"livesync_reference_watcher_connected", "1"},
    {"livesync_reference_open_transfers", "1"},
    {"livesync_reference_connections_total", "2"},
    {"livesync_reference_refused_peers_total", "1"},
    {"livesync_reference_reconciles_total", "2"},
    {"livesync_reference_batches_total", "40"},
    {"livesync_reference_refused_batches_total", "3"},
    {"livesync_reference_received_bytes_total", "123456"},
    {"livesync_reference_ops_total", "900"},
    {"livesync_reference_op_errors_total", "4"},
    {"livesync_reference_files_committed_total", "300"},
    {"livesync_reference_written_bytes_total", "1048576"},
  };
  for (auto& c : cases) {
    CAF_MESSAGE(c.name);
    CAF_CHECK_EQUAL(value_of(xs, c.name, {{"root", "/srv/mirror"}}), c.value);
  }
  CAF_CHECK_EQUAL(value_of(xs, "livesync_reference_watcher_info",
                           {{"watcher", "host-a:/data"}}),
                  "1");
  for (auto& s : xs)
    CAF_CHECK_EQUAL(s.labels.count("root"), 1u);
}

CAF_TEST(no watcher and the last write at exit) {
  auto c = sample();
  c.watcher.clear();
  c.running = false;
  auto text = render_prometheus(c);
  auto xs = parse_clean(text);
  CAF_CHECK_EQUAL(value_of(xs, "livesync_reference_running"), "0");
  CAF_CHECK_EQUAL(value_of(xs, "livesync_reference_watcher_connected"), "0");
  CAF_CHECK(text.find("watcher_info") == std::string::npos);
}

CAF_TEST(the watcher identity and the root are escaped) {
  auto c = sample();
  c.root = "/srv/\"m\"";
  c.watcher = "h:/a\\b\n";
  auto text = render_prometheus(c);
  parse_clean(text);
  CAF_CHECK(text.find("root=\"/srv/\\\"m\\\"\"") != std::string::npos);
  CAF_CHECK(text.find("watcher=\"h:/a\\\\b\\n\"") != std::string::npos);
}
