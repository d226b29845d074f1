#include "core/watcher/worker_loads.hpp"

namespace livesync {

size_t worker_loads::pick(size_t n) {
  out_.resize(n);
  size_t best = next_++ % n;
  for (size_t k = 1; k < n; ++k) {
    auto i = (best + k) % n;
    if (out_[i] < out_[best])
      best = i;
  }
  ++out_[best];
  return best;
}

void worker_loads::done(size_t i) {
  if (i < out_.size() && out_[i] > 0)
    --out_[i];
}

} // namespace livesync
