#include "core/watcher/latency_histogram.hpp"

#include <algorithm>
#include <cmath>

namespace livesync {

namespace {

int floor_log2(uint64_t x) noexcept {
  return 63 - __builtin_clzll(x);
}

} // namespace

size_t latency_histogram::bucket_of(uint64_t us) noexcept {
  if (us < sub_count)
    return static_cast<size_t>(us);
  auto e = floor_log2(us); // >= sub_bits
  if (e > max_exponent)
    return regular_buckets;
  auto sub = (us >> (e - sub_bits)) & (sub_count - 1);
  return static_cast<size_t>((e - sub_bits + 1) * sub_count) + sub;
}

uint64_t latency_histogram::upper_bound_of(size_t i) noexcept {
  if (i < sub_count)
    return i;
  auto e = static_cast<int>(i / sub_count) + sub_bits - 1;
  auto sub = i % sub_count;
  auto width = uint64_t{1} << (e - sub_bits);
  return (uint64_t{1} << e) + (sub + 1) * width - 1;
}

void latency_histogram::record(duration d) noexcept {
  auto ns = std::max<int64_t>(d.count(), 0);
  ++buckets_[bucket_of(static_cast<uint64_t>(ns) / 1000)];
  // The first export bound b with ns <= b.
  auto e = std::lower_bound(latency_export_bounds_us.begin(),
                            latency_export_bounds_us.end(),
                            static_cast<uint64_t>(ns),
                            [](uint64_t bound_us, uint64_t x) {
                              return bound_us * 1000 < x;
                            });
  ++export_[static_cast<size_t>(e - latency_export_bounds_us.begin())];
  ++count_;
  sum_ns_ += static_cast<uint64_t>(ns);
  min_ns_ = std::min(min_ns_, ns);
  max_ns_ = std::max(max_ns_, ns);
}

latency_histogram::duration latency_histogram::min() const noexcept {
  return duration{count_ == 0 ? 0 : min_ns_};
}

std::vector<uint64_t> latency_histogram::export_cumulative() const {
  std::vector<uint64_t> out(latency_export_bounds_us.size());
  uint64_t seen = 0;
  for (size_t i = 0; i < out.size(); ++i)
    out[i] = seen += export_[i];
  return out;
}

latency_histogram::duration latency_histogram::mean() const noexcept {
  return duration{count_ == 0 ? 0 : static_cast<int64_t>(sum_ns_ / count_)};
}

latency_histogram::duration latency_histogram::quantile(double q) const
  noexcept {
  if (count_ == 0)
    return duration{0};
  q = std::clamp(q, 0.0, 1.0);
  auto rank = static_cast<uint64_t>(std::ceil(q * static_cast<double>(count_)));
  rank = std::clamp<uint64_t>(rank, 1, count_);
  uint64_t seen = 0;
  for (size_t i = 0; i < bucket_count; ++i) {
    seen += buckets_[i];
    if (seen >= rank && i == regular_buckets)
      return duration{max_ns_};
    if (seen >= rank) {
      // The bucket's upper bound, in ns (the +999 covers the sub-microsecond
      // part dropped when bucketing), never outside what was recorded.
      auto bound = static_cast<int64_t>(upper_bound_of(i) * 1000 + 999);
      return duration{std::clamp(bound, min_ns_, max_ns_)};
    }
  }
  return duration{max_ns_};
}

} // namespace livesync
