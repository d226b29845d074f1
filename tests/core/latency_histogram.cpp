#define CAF_SUITE core.latency_histogram
#include <caf/test/unit_test.hpp>

#include "core/watcher/latency_histogram.hpp"
#include "core/common/splitmix.hpp"

#include <algorithm>
#include <vector>

using namespace livesync;
using namespace std::chrono;

CAF_TEST(an empty histogram reports zeros) {
  latency_histogram h;
  CAF_CHECK_EQUAL(h.count(), 0u);
  CAF_CHECK_EQUAL(h.quantile(0.5).count(), 0);
  CAF_CHECK_EQUAL(h.min().count(), 0);
  CAF_CHECK_EQUAL(h.max().count(), 0);
  CAF_CHECK_EQUAL(h.mean().count(), 0);
}

CAF_TEST(one sample is every quantile exactly) {
  latency_histogram h;
  h.record(milliseconds(7));
  for (double q : {0.0, 0.5, 0.99, 1.0})
    CAF_CHECK_EQUAL(h.quantile(q), milliseconds(7));
  CAF_CHECK_EQUAL(h.min(), milliseconds(7));
  CAF_CHECK_EQUAL(h.max(), milliseconds(7));
}

CAF_TEST(negative samples count as zero) {
  latency_histogram h;
  h.record(nanoseconds(-5));
  CAF_CHECK_EQUAL(h.count(), 1u);
  CAF_CHECK_EQUAL(h.max().count(), 0);
}

CAF_TEST(quantiles stay within an eighth of the exact value) {
  // Seeded samples spread over six orders of magnitude (1 us .. 1 s).
  uint64_t seed = 42;
  std::vector<int64_t> xs;
  latency_histogram h;
  for (int i = 0; i < 20000; ++i) {
    auto r = splitmix64_next(seed);
    auto exp = static_cast<int>(r % 7);
    int64_t base = 1000;
    for (int e = 0; e < exp; ++e)
      base *= 10;
    auto ns = base + static_cast<int64_t>((r >> 8) % static_cast<uint64_t>(base));
    xs.push_back(ns);
    h.record(nanoseconds(ns));
  }
  std::sort(xs.begin(), xs.end());
  for (double q : {0.01, 0.1, 0.5, 0.9, 0.99, 0.999}) {
    auto rank = static_cast<size_t>(q * static_cast<double>(xs.size()));
    auto exact = static_cast<double>(xs[std::min(rank, xs.size() - 1)]);
    auto got = static_cast<double>(h.quantile(q).count());
    CAF_CHECK_GREATER_OR_EQUAL(got, exact * 0.99);
    CAF_CHECK_LESS_OR_EQUAL(got, exact * 1.125 + 1000);
  }
  CAF_CHECK_EQUAL(h.max().count(), xs.back());
  CAF_CHECK_EQUAL(h.min().count(), xs.front());
  CAF_CHECK_EQUAL(h.count(), xs.size());
}

CAF_TEST(huge samples land in the last bucket and report the max) {
  latency_histogram h;
  h.record(hours(24 * 365));
  h.record(milliseconds(1));
  CAF_CHECK_EQUAL(h.quantile(1.0), duration_cast<nanoseconds>(hours(24 * 365)));
  CAF_CHECK_GREATER_OR_EQUAL(h.quantile(0.5), milliseconds(1));
  CAF_CHECK_LESS_OR_EQUAL(h.quantile(0.5), microseconds(1125));
}

CAF_TEST(export buckets count samples up to each bound exactly) {
  latency_histogram h;
  // On a bound is within it; a nanosecond more is in the next.
  h.record(microseconds(500));
  h.record(microseconds(500) + nanoseconds(1));
  h.record(seconds(60));
  h.record(seconds(61));
  h.record(nanoseconds(-3)); // counts as zero
  auto c = h.export_cumulative();
  CAF_REQUIRE_EQUAL(c.size(), latency_export_bounds_us.size());
  CAF_CHECK_EQUAL(c[0], 2u);  // 0 and 500 us
  CAF_CHECK_EQUAL(c[1], 3u);  // + 500.001 us
  CAF_CHECK_EQUAL(c.back(), 4u); // + 60 s; 61 s only in count()
  CAF_CHECK_EQUAL(h.count(), 5u);
  for (size_t i = 1; i < c.size(); ++i)
    CAF_CHECK(c[i] >= c[i - 1]);
  CAF_CHECK_EQUAL(h.sum_ns(), 121001000001u);
  h.clear();
  CAF_CHECK_EQUAL(h.export_cumulative().back(), 0u);
}
