#define CAF_SUITE core.watcher_status
#include <caf/test/unit_test.hpp>

#include "core/watcher/watcher_status.hpp"

using namespace livesync;

namespace {

watcher_status sample() {
  watcher_status s;
  s.state = "in-sync";
  s.root = "/data";
  s.reference = "mirror:4242";
  s.tls = true;
  s.uptime_s = 90;
  s.since_in_sync_s = 3;
  s.counters.ops = 1500;
  s.counters.bytes = 2048;
  s.latency_samples = 10;
  s.latency_p50_us = 4200;
  s.latency_p90_us = 6000;
  s.latency_p99_us = 9100;
  s.latency_max_us = 12000;
  return s;
}

bool has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

} // namespace

CAF_TEST(json escapes quotes and backslashes and control bytes) {
  CAF_CHECK_EQUAL(json_escape("plain"), "plain");
  CAF_CHECK_EQUAL(json_escape("a\"b\\c"), "a\\\"b\\\\c");
  CAF_CHECK_EQUAL(json_escape("l1\nl2\t\x01"), "l1\\nl2\\t\\u0001");
  // UTF-8 passes through as is; bytes that are not UTF-8 (a path need not
  // be) become U+FFFD, so the output stays valid JSON.
  CAF_CHECK_EQUAL(json_escape("\xc3\xa9"), "\xc3\xa9");
  CAF_CHECK_EQUAL(json_escape("\xf0\x9f\x98\x80"), "\xf0\x9f\x98\x80");
  CAF_CHECK_EQUAL(json_escape("a\xff" "b"), "a\\ufffdb");
  CAF_CHECK_EQUAL(json_escape("\xc3"), "\\ufffd");
  CAF_CHECK_EQUAL(json_escape("\xc3("), "\\ufffd(");
}

CAF_TEST(json has every field once) {
  auto s = sample();
  s.last_error = "op-failed path=\"x\"";
  s.last_error_code = "stale";
  auto j = render_json(s);
  CAF_CHECK(has(j, "\"state\":\"in-sync\""));
  CAF_CHECK(has(j, "\"tls\":true"));
  CAF_CHECK(has(j, "\"ops\":1500"));
  CAF_CHECK(has(j, "\"since_in_sync_s\":3"));
  CAF_CHECK(has(j, "\"latency_p99_us\":9100"));
  CAF_CHECK(has(j, "\"last_error\":\"op-failed path=\\\"x\\\"\""));
  CAF_CHECK(has(j, "\"last_error_code\":\"stale\""));
  CAF_CHECK_EQUAL(j.front(), '{');
  CAF_CHECK_EQUAL(j.substr(j.size() - 2), "}\n");
  // 34 keys, each once.
  size_t keys = 0;
  for (size_t i = 0; (i = j.find("\":", i)) != std::string::npos; ++i)
    ++keys;
  CAF_CHECK_EQUAL(keys, 34u);
}

CAF_TEST(text names the state and the link and the latency) {
  auto t = render_text(sample());
  CAF_CHECK(has(t, "state: in-sync\n"));
  CAF_CHECK(has(t, "reference: mirror:4242 (mutual TLS)\n"));
  CAF_CHECK(has(t, "last in-sync: 3s ago\n"));
  CAF_CHECK(has(t, "last error: none\n"));
  CAF_CHECK(has(t, "sent: 1,500 ops"));
  CAF_CHECK(has(t, "latency: p50 4.2 ms, p90 6.0 ms, p99 9.1 ms, max 12.0 ms"));
  CAF_CHECK(!has(t, "unwatched"));
  CAF_CHECK(!has(t, "progress"));
}

CAF_TEST(text shows unwatched directories and progress and errors when there) {
  auto s = sample();
  s.state = "syncing";
  s.unwatched_dirs = 12;
  s.progress = "files 1/2";
  s.last_error = "peer lost";
  s.last_error_age_s = 5;
  s.since_in_sync_s = -1;
  s.latency_samples = 0;
  auto t = render_text(s);
  CAF_CHECK(has(t, "unwatched: 12 directories"));
  CAF_CHECK(has(t, "fs.inotify.max_user_watches"));
  CAF_CHECK(has(t, "progress: files 1/2\n"));
  CAF_CHECK(has(t, "last error: peer lost (5s ago)\n"));
  CAF_CHECK(has(t, "last in-sync: never\n"));
  CAF_CHECK(has(t, "latency: no samples yet\n"));
}
