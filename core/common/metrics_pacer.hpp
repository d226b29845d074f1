// When a metrics file (--metrics-file) is rewritten: at once on a change
// after a quiet spell, then at most once per interval while changes keep
// coming, and a last time at most one interval after the last change, so
// the file never lags by more than an interval. It asks for a timer only
// while a change waits to be written: an idle node never wakes up for its
// metrics (README: 0 wake-ups while idle). Pure logic: time is a parameter.
#pragma once

#include <chrono>

namespace livesync {

class metrics_pacer {
public:
  using clock = std::chrono::steady_clock;
  using time_point = clock::time_point;
  using duration = clock::duration;

  struct decision {
    /// Write the file now.
    bool write = false;
    /// Arm a one-shot timer this far ahead and call tick() when it fires.
    bool arm = false;
    duration delay{0};
  };

  explicit metrics_pacer(duration interval) : interval_(interval) {}

  /// Something the file shows changed at `now`.
  decision changed(time_point now);

  /// The timer armed by an earlier decision fired.
  decision tick(time_point now);

  /// True while a change waits for the timer.
  bool pending() const noexcept { return dirty_; }

private:
  decision write_at(time_point now);

  duration interval_;
  time_point last_write_{};
  bool written_ = false;
  bool dirty_ = false;
  bool armed_ = false;
};

} // namespace livesync
