#include "core/watcher/rescan_backoff.hpp"

#include <algorithm>

namespace livesync {

rescan_backoff::rescan_backoff(rescan_backoff_config cfg) : cfg_(cfg) {
  // A zero first pause would never grow by doubling.
  cfg_.first_pause = std::max(cfg_.first_pause, std::chrono::nanoseconds{1});
  cfg_.max_pause = std::max(cfg_.max_pause, cfg_.first_pause);
}

void rescan_backoff::overflow(time_point now) {
  if (seen_overflow_ && now - last_overflow_ >= cfg_.quiet_reset) {
    // The storm is over: this overflow is news, rescan at once.
    pause_ = std::chrono::nanoseconds{0};
    not_before_ = time_point{};
  }
  seen_overflow_ = true;
  last_overflow_ = now;
  pending_ = true;
  ++overflows_;
}

bool rescan_backoff::due(time_point now) const noexcept {
  return pending_ && !running_ && now >= not_before_;
}

std::optional<rescan_backoff::time_point>
rescan_backoff::next_due() const noexcept {
  if (!pending_ || running_)
    return std::nullopt;
  return not_before_;
}

void rescan_backoff::started(time_point now) {
  pending_ = false;
  running_ = true;
  ++rescans_;
  pause_ = pause_.count() == 0 ? cfg_.first_pause
                               : std::min(pause_ * 2, cfg_.max_pause);
  // Until finished() says otherwise, nothing starts before the pause.
  not_before_ = now + pause_;
}

void rescan_backoff::finished(time_point now) {
  if (!running_)
    return;
  running_ = false;
  // The pause counts from the end: a rescan that takes longer than the
  // pause must not be followed by another at once.
  not_before_ = now + pause_;
}

} // namespace livesync
