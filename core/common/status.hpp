// A success-or-reason value for core/ functions. core/ never logs and never
// throws across its API: it says what went wrong in one line of text that
// the caller logs or sends back to the peer.
#pragma once

#include <string>
#include <utility>

namespace livesync {

class status {
public:
  status() = default;

  /// A failure with a one-line, human-readable reason (never empty).
  static status fail(std::string reason) {
    status s;
    s.reason_ = reason.empty() ? std::string{"unknown error"} : std::move(reason);
    return s;
  }

  bool ok() const noexcept { return reason_.empty(); }
  explicit operator bool() const noexcept { return ok(); }
  const std::string& reason() const noexcept { return reason_; }

private:
  std::string reason_;
};

/// `what: strerror(err)`.
status errno_status(const std::string& what, int err);

} // namespace livesync
