// A success-or-failure value for core/ functions. core/ never logs and never
// throws across its API: a failure says what class it is (an ec code, which
// the caller and the peer act on) and what went wrong in one line of text
// (the detail, which the caller logs or sends back to the peer).
#pragma once

#include "core/common/error_code.hpp"

#include <string>
#include <utility>

namespace livesync {

class status {
public:
  status() = default;

  /// A failure of class `code` with a one-line, human-readable detail.
  /// ec::none is not a failure class: it is taken as ec::internal. An
  /// empty detail becomes the code's name.
  static status fail(ec code, std::string detail) {
    status s;
    s.code_ = code == ec::none ? ec::internal : code;
    s.reason_ = detail.empty() ? to_string(s.code_) : std::move(detail);
    return s;
  }

  bool ok() const noexcept { return code_ == ec::none; }
  explicit operator bool() const noexcept { return ok(); }
  /// ec::none when ok.
  ec code() const noexcept { return code_; }
  /// The detail (empty when ok): what the logs and the peer show.
  const std::string& reason() const noexcept { return reason_; }

  /// The same failure, its detail behind `prefix` (context added on the
  /// way up: "path: "). Success stays success.
  status prefixed(const std::string& prefix) const {
    return ok() ? status{} : fail(code_, prefix + reason_);
  }

private:
  ec code_ = ec::none;
  std::string reason_;
};

/// `what: strerror(err)`, of the class ec_from_errno(err) (err != 0).
status errno_status(const std::string& what, int err);

} // namespace livesync
