// Progress of a comparison (initial sync, reconnect, rescan): entries
// compared, files and bytes to send and sent, rate and ETA. Totals grow as
// the comparison discovers work, as rsync's incremental recursion does
// ("to-chk"): nothing walks the tree twice just to count it. Pure logic:
// time is a parameter.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace livesync {

struct progress_counts {
  /// Entries compared so far, and known but not compared yet.
  uint64_t checked = 0;
  uint64_t queued = 0;
  /// Files found to differ (to send) and their bytes; files and bytes done.
  uint64_t files_total = 0;
  uint64_t bytes_total = 0;
  uint64_t files_done = 0;
  uint64_t bytes_done = 0;
};

class progress_meter {
public:
  using time_point = std::chrono::steady_clock::time_point;

  /// Starts a new comparison at `now`; counts start at zero.
  void start(time_point now);

  /// A file of `bytes` is to be sent.
  void add_total(uint64_t bytes) noexcept;

  /// Sets what is done (absolute, monotonic within one comparison) and what
  /// the comparison has checked and still has queued.
  void update(uint64_t files_done, uint64_t bytes_done, uint64_t checked,
              uint64_t queued) noexcept;

  const progress_counts& counts() const noexcept { return c_; }

  /// Bytes per second since start (0 before any time has passed).
  double rate(time_point now) const noexcept;

  /// Seconds until the known bytes are sent at the current rate; negative
  /// when unknown (no rate yet).
  double eta_seconds(time_point now) const noexcept;

  /// One line, e.g. "files 120/3,400 bytes 12.0 MiB/1.2 GiB (1%) 40.1
  /// MiB/s eta 29s checked 5,000 (+2,013 queued)".
  std::string render(time_point now) const;

private:
  progress_counts c_;
  time_point start_{};
};

/// "1.5 KiB", "12.0 MiB", "3 B".
std::string human_bytes(double bytes);

/// "1,234,567".
std::string grouped(uint64_t n);

} // namespace livesync
