#include "core/common/error_code.hpp"

#include <cerrno>

namespace livesync {

std::string to_string(ec code) {
  switch (code) {
    case ec::none: return "none";
    case ec::invalid_path: return "invalid_path";
    case ec::limit_exceeded: return "limit_exceeded";
    case ec::not_found: return "not_found";
    case ec::permission_denied: return "permission_denied";
    case ec::no_space: return "no_space";
    case ec::io_error: return "io_error";
    case ec::hash_mismatch: return "hash_mismatch";
    case ec::stale: return "stale";
    case ec::protocol: return "protocol";
    case ec::unknown_transfer: return "unknown_transfer";
    case ec::not_supported: return "not_supported";
    case ec::stopping: return "stopping";
    case ec::conflict: return "conflict";
    case ec::unreachable: return "unreachable";
    case ec::internal: return "internal";
  }
  return "ec(" + std::to_string(static_cast<int>(code)) + ")";
}

std::optional<ec> ec_from_string(std::string_view name) {
  for (int i = 0; i <= static_cast<int>(last_ec); ++i) {
    auto code = static_cast<ec>(i);
    if (to_string(code) == name)
      return code;
  }
  return std::nullopt;
}

ec ec_from_errno(int err) {
  switch (err) {
    case 0:
      return ec::none;
    case ENOENT:
      return ec::not_found;
    case EACCES:
    case EPERM:
    case EROFS:
      return ec::permission_denied;
    case ENOSPC:
    case EDQUOT:
      return ec::no_space;
    // Something of another kind is where the op expects its entry.
    case ENOTDIR:
    case EISDIR:
    case ENOTEMPTY:
    case ELOOP:
    case EEXIST:
      return ec::stale;
    case ENAMETOOLONG:
    case EMFILE:
    case ENFILE:
    case EMLINK:
    case EFBIG:
    case E2BIG:
      return ec::limit_exceeded;
    case EOPNOTSUPP:
    case ENOSYS:
    case EXDEV:
      return ec::not_supported;
    case ECONNREFUSED:
    case EHOSTUNREACH:
    case ENETUNREACH:
    case ETIMEDOUT:
      return ec::unreachable;
    case ENOMEM:
      return ec::internal;
    default:
      return ec::io_error;
  }
}

} // namespace livesync
