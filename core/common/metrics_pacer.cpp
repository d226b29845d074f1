#include "core/common/metrics_pacer.hpp"

namespace livesync {

metrics_pacer::decision metrics_pacer::write_at(time_point now) {
  // The write reads the state as of now: a change after this moment
  // needs another write.
  dirty_ = false;
  written_ = true;
  last_write_ = now;
  decision d;
  d.write = true;
  return d;
}

metrics_pacer::decision metrics_pacer::changed(time_point now) {
  if (armed_) {
    // The timer writes it.
    dirty_ = true;
    return {};
  }
  if (!written_ || now - last_write_ >= interval_)
    return write_at(now);
  dirty_ = true;
  armed_ = true;
  decision d;
  d.arm = true;
  d.delay = last_write_ + interval_ - now;
  return d;
}

metrics_pacer::decision metrics_pacer::tick(time_point now) {
  armed_ = false;
  if (!dirty_)
    return {};
  return write_at(now);
}

} // namespace livesync
