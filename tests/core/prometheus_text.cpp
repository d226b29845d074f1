#define CAF_SUITE core.prometheus_text
#include <caf/test/unit_test.hpp>

#include "core/common/prometheus_text.hpp"
#include "core/common/utf8.hpp"

#include <cmath>
#include <limits>
#include <string>
#include <vector>

using namespace livesync;

CAF_TEST(label values escape backslash quote and newline only) {
  struct case_t {
    const char* in;
    const char* out;
  };
  std::vector<case_t> cases{
    {"plain", "plain"},
    {"/srv/data", "/srv/data"},
    {"a\"b", "a\\\"b"},
    {"a\\b", "a\\\\b"},
    {"l1\nl2", "l1\\nl2"},
    // Tabs, braces, commas and '=' need nothing: they are inside quotes.
    {"t\tb{x=1,y}", "t\tb{x=1,y}"},
    {"\\\"\n", "\\\\\\\"\\n"},
    // UTF-8 passes through; other bytes (a path need not be UTF-8) become
    // U+FFFD, which Prometheus' parser accepts.
    {"caf\xc3\xa9", "caf\xc3\xa9"},
    {"bad\xff", "bad\xef\xbf\xbd"},
    {"cut\xe2\x82", "cut\xef\xbf\xbd\xef\xbf\xbd"},
    // An overlong '/' and a UTF-16 surrogate are not UTF-8 either.
    {"\xc0\xaf", "\xef\xbf\xbd\xef\xbf\xbd"},
    {"\xed\xa0\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"},
    {"", ""},
  };
  for (auto& c : cases) {
    CAF_MESSAGE(c.in);
    CAF_CHECK_EQUAL(escape_label_value(c.in), c.out);
  }
}

CAF_TEST(help text escapes backslash and newline but not quotes) {
  CAF_CHECK_EQUAL(escape_help("say \"hi\""), "say \"hi\"");
  CAF_CHECK_EQUAL(escape_help("a\\b\nc"), "a\\\\b\\nc");
}

CAF_TEST(utf8 sequences are checked as RFC 3629 says) {
  struct case_t {
    const char* in;
    size_t len;
  };
  std::vector<case_t> cases{
    {"a", 1},           {"\xc3\xa9", 2},     {"\xe2\x82\xac", 3},
    {"\xf0\x9f\x98\x80", 4}, {"\xc1\xbf", 0}, {"\xe0\x80\xaf", 0},
    {"\xed\xbf\xbf", 0}, {"\xf4\x90\x80\x80", 0}, {"\xf5\x80\x80\x80", 0},
    {"\x80", 0},        {"\xc3", 0},         {"\xe2\x28\xa1", 0},
  };
  for (auto& c : cases)
    CAF_CHECK_EQUAL(utf8_sequence_length(c.in, 0), c.len);
}

CAF_TEST(values are exact integers or shortest doubles) {
  CAF_CHECK_EQUAL(format_value(uint64_t{0}), "0");
  CAF_CHECK_EQUAL(format_value(std::numeric_limits<uint64_t>::max()),
                  "18446744073709551615");
  CAF_CHECK_EQUAL(format_value(0.1), "0.1");
  CAF_CHECK_EQUAL(format_value(1.5e9), "1500000000");
  CAF_CHECK_EQUAL(format_value(-2.0), "-2");
  CAF_CHECK_EQUAL(format_value(0.0), "0");
  CAF_CHECK_EQUAL(format_value(1e300), "1e+300");
  CAF_CHECK_EQUAL(format_value(2.5e-7), "2.5e-07");
  CAF_CHECK_EQUAL(format_value(std::numeric_limits<double>::infinity()),
                  "+Inf");
  CAF_CHECK_EQUAL(format_value(-std::numeric_limits<double>::infinity()),
                  "-Inf");
  CAF_CHECK_EQUAL(format_value(std::nan("")), "NaN");
}

CAF_TEST(decimal seconds are exact) {
  struct case_t {
    uint64_t count;
    int digits;
    const char* out;
  };
  std::vector<case_t> cases{
    {500, 6, "0.0005"},      {2500, 6, "0.0025"},     {1000000, 6, "1"},
    {2500000, 6, "2.5"},     {60000000, 6, "60"},     {0, 9, "0"},
    {1, 9, "0.000000001"},   {1500000000, 9, "1.5"},  {12345678901, 9, "12.345678901"},
    {3, 0, "3"},
  };
  for (auto& c : cases)
    CAF_CHECK_EQUAL(decimal_seconds(c.count, c.digits), c.out);
}

CAF_TEST(names follow the data model) {
  for (auto ok : {"livesync_watcher_ops_total", "a", "_x", "ns:sub_1"})
    CAF_CHECK(valid_metric_name(ok));
  for (auto bad : {"", "1abc", "a-b", "a b", "a.b", "\xc3\xa9"})
    CAF_CHECK(!valid_metric_name(bad));
  for (auto ok : {"root", "le", "_x", "a1"})
    CAF_CHECK(valid_label_name(ok));
  for (auto bad : {"", "__name__", "a:b", "1a", "a-b"})
    CAF_CHECK(!valid_label_name(bad));
}

CAF_TEST(a family is its help and type lines then its samples) {
  exposition out;
  out.family("x_total", metric_type::counter, "Things.\nMore \\ help.");
  out.sample("x_total", {{"root", "/a \"b\""}, {"reference", "h:1"}},
             uint64_t{7});
  out.family("y", metric_type::gauge, "A gauge.");
  out.sample("y", {}, 0.25);
  CAF_CHECK_EQUAL(out.text(), "# HELP x_total Things.\\nMore \\\\ help.\n"
                              "# TYPE x_total counter\n"
                              "x_total{root=\"/a \\\"b\\\"\",reference=\"h:1\"}"
                              " 7\n"
                              "# HELP y A gauge.\n"
                              "# TYPE y gauge\n"
                              "y 0.25\n");
}

CAF_TEST(a histogram has cumulative buckets then Inf sum and count) {
  exposition out;
  out.histogram("lat_seconds", "Latency.", {{"root", "/r"}},
                {"0.001", "0.01", "0.1"}, {1, 1, 4}, 5, "0.75");
  CAF_CHECK_EQUAL(out.text(), "# HELP lat_seconds Latency.\n"
                              "# TYPE lat_seconds histogram\n"
                              "lat_seconds_bucket{root=\"/r\",le=\"0.001\"} 1\n"
                              "lat_seconds_bucket{root=\"/r\",le=\"0.01\"} 1\n"
                              "lat_seconds_bucket{root=\"/r\",le=\"0.1\"} 4\n"
                              "lat_seconds_bucket{root=\"/r\",le=\"+Inf\"} 5\n"
                              "lat_seconds_sum{root=\"/r\"} 0.75\n"
                              "lat_seconds_count{root=\"/r\"} 5\n");
}

CAF_TEST(a histogram without finite buckets still has Inf sum and count) {
  exposition out;
  out.histogram("h_seconds", "H.", {}, {"1", "2"}, {}, 0, "0");
  CAF_CHECK_EQUAL(out.text(), "# HELP h_seconds H.\n"
                              "# TYPE h_seconds histogram\n"
                              "h_seconds_bucket{le=\"+Inf\"} 0\n"
                              "h_seconds_sum 0\n"
                              "h_seconds_count 0\n");
}
