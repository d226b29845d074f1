#include "core/watcher/progress_meter.hpp"

#include <algorithm>
#include <cstdio>

namespace livesync {

void progress_meter::start(time_point now) {
  c_ = progress_counts{};
  start_ = now;
}

void progress_meter::add_total(uint64_t bytes) noexcept {
  ++c_.files_total;
  c_.bytes_total += bytes;
}

void progress_meter::update(uint64_t files_done, uint64_t bytes_done,
                            uint64_t checked, uint64_t queued) noexcept {
  c_.files_done = files_done;
  c_.bytes_done = bytes_done;
  c_.checked = checked;
  c_.queued = queued;
  // A file may grow between the comparison and its upload: never show more
  // done than the total.
  c_.files_total = std::max(c_.files_total, c_.files_done);
  c_.bytes_total = std::max(c_.bytes_total, c_.bytes_done);
}

double progress_meter::rate(time_point now) const noexcept {
  auto secs = std::chrono::duration<double>(now - start_).count();
  return secs > 0 ? static_cast<double>(c_.bytes_done) / secs : 0.0;
}

double progress_meter::eta_seconds(time_point now) const noexcept {
  auto r = rate(now);
  if (r <= 0)
    return c_.bytes_done >= c_.bytes_total && c_.queued == 0 ? 0.0 : -1.0;
  return static_cast<double>(c_.bytes_total - c_.bytes_done) / r;
}

std::string human_bytes(double bytes) {
  static constexpr const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  size_t u = 0;
  while (bytes >= 1024 && u + 1 < std::size(units)) {
    bytes /= 1024;
    ++u;
  }
  char buf[32];
  if (u == 0)
    std::snprintf(buf, sizeof buf, "%.0f %s", bytes, units[u]);
  else
    std::snprintf(buf, sizeof buf, "%.1f %s", bytes, units[u]);
  return buf;
}

std::string grouped(uint64_t n) {
  auto digits = std::to_string(n);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0)
      out += ',';
    out += digits[i];
  }
  return out;
}

namespace {

std::string human_seconds(double s) {
  char buf[32];
  auto total = static_cast<long long>(s + 0.5);
  if (total < 60)
    std::snprintf(buf, sizeof buf, "%llds", total);
  else if (total < 3600)
    std::snprintf(buf, sizeof buf, "%lldm%02llds", total / 60, total % 60);
  else
    std::snprintf(buf, sizeof buf, "%lldh%02lldm", total / 3600,
                  (total % 3600) / 60);
  return buf;
}

} // namespace

std::string progress_meter::render(time_point now) const {
  std::string out = "files " + grouped(c_.files_done) + "/"
                    + grouped(c_.files_total) + " bytes "
                    + human_bytes(static_cast<double>(c_.bytes_done)) + "/"
                    + human_bytes(static_cast<double>(c_.bytes_total));
  if (c_.bytes_total > 0) {
    auto pct = static_cast<unsigned>(100.0 * static_cast<double>(c_.bytes_done)
                                     / static_cast<double>(c_.bytes_total));
    out += " (" + std::to_string(pct) + "%)";
  }
  out += " " + human_bytes(rate(now)) + "/s";
  auto eta = eta_seconds(now);
  out += eta < 0 ? std::string{" eta ?"} : " eta " + human_seconds(eta);
  out += " checked " + grouped(c_.checked);
  if (c_.queued > 0)
    out += " (+" + grouped(c_.queued) + " queued)";
  return out;
}

} // namespace livesync
