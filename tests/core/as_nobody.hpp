// Runs a stretch of a test as an unprivileged user. Tests run as root here
// and in CI, and root reads, writes and searches through any permission
// bits (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH): a test of what a mode
// denies switches its effective user and group to nobody for that stretch.
#pragma once

#include <caf/test/unit_test.hpp>

#include <cstdlib>
#include <vector>

#include <grp.h>
#include <unistd.h>

namespace livesync::test {

constexpr uid_t nobody = 65534;

/// Switches the effective user and group to nobody while it lives (only
/// under root: another user is unprivileged already). Effective ids only,
/// so the destructor can switch back and the next test runs as root.
class as_nobody {
public:
  as_nobody() {
    if (::geteuid() != 0)
      return;
    groups_.resize(static_cast<size_t>(::getgroups(0, nullptr)));
    ::getgroups(static_cast<int>(groups_.size()), groups_.data());
    if (::setgroups(0, nullptr) != 0 || ::setegid(nobody) != 0
        || ::seteuid(nobody) != 0)
      CAF_FAIL("cannot switch to uid " << nobody);
    switched_ = true;
  }
  ~as_nobody() {
    if (!switched_)
      return;
    // Back to root first: only root may set the group and groups again.
    if (::seteuid(0) != 0 || ::setegid(0) != 0
        || ::setgroups(groups_.size(), groups_.data()) != 0)
      std::abort(); // every later test would run with the wrong ids
  }
  as_nobody(const as_nobody&) = delete;
  as_nobody& operator=(const as_nobody&) = delete;

private:
  bool switched_ = false;
  std::vector<gid_t> groups_;
};

} // namespace livesync::test
