// When to run a full stat-only rescan after inotify lost events
// (IN_Q_OVERFLOW): overflows that arrive while a rescan is pending or
// running are coalesced into at most one more, and rescans within one storm
// of overflows are spaced by a pause that doubles up to a cap and resets
// after a quiet period. Time is a parameter, never read inside.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>

namespace livesync {

struct rescan_backoff_config {
  /// The pause after the first rescan of a storm before the next may start.
  std::chrono::nanoseconds first_pause{std::chrono::milliseconds{500}};
  /// The pause doubles with every rescan of the storm, up to this.
  std::chrono::nanoseconds max_pause{std::chrono::seconds{30}};
  /// A storm ends after this long without an overflow: the next overflow
  /// rescans at once, and its pause starts again at first_pause.
  std::chrono::nanoseconds quiet_reset{std::chrono::seconds{60}};
};

class rescan_backoff {
public:
  using time_point = std::chrono::steady_clock::time_point;

  explicit rescan_backoff(rescan_backoff_config cfg = {});

  /// Events were lost at `now`: a rescan is pending. Merges with a rescan
  /// already pending; one that arrives while a rescan runs leaves one more
  /// pending for after it (the running one may have passed the lost path).
  void overflow(time_point now);

  /// True when a pending rescan may start at `now`: none runs and the pause
  /// after the last one has elapsed.
  bool due(time_point now) const noexcept;

  /// When the pending rescan may start; nothing when none is pending or one
  /// is running (its end decides).
  std::optional<time_point> next_due() const noexcept;

  /// The pending rescan starts at `now` (precondition: due(now)). The pause
  /// that will follow it grows: first_pause, then doubled up to max_pause.
  void started(time_point now);

  /// The running rescan ended at `now`; the next may start once the pause
  /// has elapsed.
  void finished(time_point now);

  bool pending() const noexcept { return pending_; }
  bool running() const noexcept { return running_; }
  /// The pause that follows the current (or last) rescan.
  std::chrono::nanoseconds pause() const noexcept { return pause_; }
  /// Counters (for logs and status): overflows seen, rescans started.
  uint64_t overflows() const noexcept { return overflows_; }
  uint64_t rescans() const noexcept { return rescans_; }

private:
  rescan_backoff_config cfg_;
  bool pending_ = false;
  bool running_ = false;
  bool seen_overflow_ = false;
  time_point last_overflow_;
  /// The earliest start of the next rescan.
  time_point not_before_;
  std::chrono::nanoseconds pause_{0};
  uint64_t overflows_ = 0;
  uint64_t rescans_ = 0;
};

} // namespace livesync
