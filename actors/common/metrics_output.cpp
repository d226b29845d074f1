#include "actors/common/metrics_output.hpp"

#include "core/common/atomic_file.hpp"

#include <spdlog/spdlog.h>

namespace livesync {

bool metrics_output::write(const std::string& text) {
  auto st = replace_file(path_, text);
  if (!st) {
    if (st.reason() != failure_)
      spdlog::warn("metrics-file-failed path={} reason={} (retried at the "
                   "next change)",
                   path_, st.reason());
    failure_ = st.reason();
    return false;
  }
  if (!failure_.empty())
    spdlog::info("metrics-file-ok path={}", path_);
  failure_.clear();
  spdlog::debug("metrics-written path={} bytes={}", path_, text.size());
  return true;
}

} // namespace livesync
