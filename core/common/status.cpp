#include "core/common/status.hpp"

#include <cstring>

namespace livesync {

status errno_status(const std::string& what, int err) {
  return status::fail(ec_from_errno(err), what + ": " + std::strerror(err));
}

} // namespace livesync
