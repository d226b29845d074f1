#define CAF_SUITE core.rooted_fs
#include <caf/test/unit_test.hpp>

#include "core/rooted_fs.hpp"

#include <cstdint>

using namespace livesync;

namespace {

timespec ts(int64_t sec, long nsec) {
  timespec out{};
  out.tv_sec = static_cast<time_t>(sec);
  out.tv_nsec = nsec;
  return out;
}

} // namespace

// Found by tests/fuzz (fuzz_tree_writer): a peer's set_attr with mtime_ns
// INT64_MIN is stored by tmpfs as -9223372037 s + 145224192 ns, and reading
// it back as tv_sec * 1e9 + tv_nsec overflowed (undefined behaviour) in the
// manifest. The conversion is exact wherever the result fits in int64_t.
CAF_TEST(times far from 1970 convert exactly or saturate) {
  struct row {
    timespec in;
    int64_t out;
  };
  const row rows[] = {
    {ts(0, 0), 0},
    {ts(1600000000, 123456789), 1600000000123456789},
    {ts(-1, 999999999), -1},
    {ts(-2, 0), -2000000000},
    {ts(-1, 1), -999999999},
    // The extremes set_mtime_* can write read back exactly.
    {ts(-9223372037, 145224192), INT64_MIN},
    {ts(9223372036, 854775807), INT64_MAX},
    {ts(-9223372036, 0), -9223372036000000000},
    // Beyond them: saturated, never wrapped.
    {ts(-9223372037, 145224191), INT64_MIN},
    {ts(-9223372037, 0), INT64_MIN},
    {ts(9223372036, 854775808), INT64_MAX},
    {ts(9223372037, 0), INT64_MAX},
    {ts(INT64_MIN, 0), INT64_MIN},
    {ts(INT64_MAX, 999999999), INT64_MAX},
  };
  for (const auto& r : rows) {
    CAF_MESSAGE("tv_sec=" << r.in.tv_sec << " tv_nsec=" << r.in.tv_nsec);
    CAF_CHECK_EQUAL(ns_since_epoch(r.in), r.out);
  }
}

CAF_TEST(mtime_ns_of reads st_mtim through the same conversion) {
  struct stat st {};
  st.st_mtim = ts(-9223372037, 145224192);
  CAF_CHECK_EQUAL(mtime_ns_of(st), INT64_MIN);
  st.st_mtim = ts(1500000000, 987654321);
  CAF_CHECK_EQUAL(mtime_ns_of(st), 1500000000987654321);
}
