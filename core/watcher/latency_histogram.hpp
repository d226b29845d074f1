// A histogram of latencies (event seen -> commit acknowledged) with bounded
// relative error and constant memory: values are bucketed with eight
// sub-buckets per power of two (HDR-histogram style), so a percentile read
// back is within 12.5 % of the true value, whatever the range (1 us .. hours).
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <vector>

namespace livesync {

/// The upper bounds, in microseconds, of the cumulative buckets exported
/// to Prometheus (`status --format=prometheus`, `--metrics-file`): the
/// usual decimal steps, from half a millisecond (a small file on loopback
/// takes 5-15 ms) to a minute.
inline constexpr std::array<uint64_t, 16> latency_export_bounds_us = {
  500,    1000,    2500,    5000,    10000,   25000,    50000,    100000,
  250000, 500000, 1000000, 2500000, 5000000, 10000000, 30000000, 60000000};

class latency_histogram {
public:
  using duration = std::chrono::nanoseconds;

  /// Records one sample (negative values count as zero).
  void record(duration d) noexcept;

  uint64_t count() const noexcept { return count_; }
  duration min() const noexcept;
  duration max() const noexcept { return duration{max_ns_}; }
  duration mean() const noexcept;

  /// The smallest recorded bucket bound b such that at least `q` (0..1) of
  /// the samples are <= b; clamped to [min, max] so it never claims more
  /// than was seen. Zero when empty.
  duration quantile(double q) const noexcept;

  /// The samples <= each bound of latency_export_bounds_us, cumulative
  /// (as Prometheus' buckets). Exact: counted as they are recorded, not
  /// read back from the log buckets, whose edges are not decimal.
  std::vector<uint64_t> export_cumulative() const;

  /// The sum of all samples (negative ones as zero), in nanoseconds.
  uint64_t sum_ns() const noexcept { return sum_ns_; }

  void clear() noexcept { *this = latency_histogram{}; }

private:
  static constexpr int sub_bits = 3;
  static constexpr int sub_count = 1 << sub_bits;
  // Regular buckets cover microseconds below 2^41 (about 25 days); one
  // more bucket takes everything beyond, and reports the max.
  static constexpr int max_exponent = 40;
  static constexpr size_t regular_buckets
    = (max_exponent - sub_bits + 2) * sub_count;
  static constexpr size_t bucket_count = regular_buckets + 1;

  static size_t bucket_of(uint64_t us) noexcept;
  /// The largest value (in us) that falls into bucket `i`.
  static uint64_t upper_bound_of(size_t i) noexcept;

  std::array<uint64_t, bucket_count> buckets_{};
  // Samples per export bound (the last: beyond every bound).
  std::array<uint64_t, latency_export_bounds_us.size() + 1> export_{};
  uint64_t count_ = 0;
  uint64_t sum_ns_ = 0;
  int64_t min_ns_ = INT64_MAX;
  int64_t max_ns_ = 0;
};

} // namespace livesync
