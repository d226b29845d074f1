#include "core/common/tcp_probe.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace livesync {

namespace {

using clock_type = std::chrono::steady_clock;

/// One address: 0 when it accepted, else the errno of the attempt
/// (ETIMEDOUT when `deadline` passed first).
int try_address(const addrinfo& ai, clock_type::time_point deadline) {
  int fd = ::socket(ai.ai_family, ai.ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                    ai.ai_protocol);
  if (fd < 0)
    return errno;
  int err = 0;
  if (::connect(fd, ai.ai_addr, ai.ai_addrlen) != 0) {
    err = errno;
    while (err == EINPROGRESS || err == EINTR) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                    deadline - clock_type::now())
                    .count();
      if (left <= 0) {
        err = ETIMEDOUT;
        break;
      }
      pollfd p{fd, POLLOUT, 0};
      auto rc = ::poll(&p, 1, static_cast<int>(left));
      if (rc < 0 && errno == EINTR)
        continue;
      if (rc <= 0) {
        err = rc == 0 ? ETIMEDOUT : errno;
        break;
      }
      socklen_t len = sizeof err;
      if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
        err = errno;
      break;
    }
  }
  ::close(fd);
  return err;
}

} // namespace

status tcp_probe(const std::string& host, uint16_t port,
                 std::chrono::milliseconds timeout) {
  auto deadline = clock_type::now() + timeout;
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  auto service = std::to_string(port);
  if (auto rc = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &found);
      rc != 0)
    return status::fail(ec::unreachable,
                        "cannot resolve " + host + ": " + ::gai_strerror(rc));
  int err = ENOENT;
  for (auto* ai = found; ai != nullptr; ai = ai->ai_next) {
    err = try_address(*ai, deadline);
    if (err == 0 || err == ETIMEDOUT)
      break;
  }
  ::freeaddrinfo(found);
  if (err == 0)
    return {};
  if (err == ETIMEDOUT)
    return status::fail(ec::unreachable, "no answer from " + host + ":"
                                           + service + " within "
                                           + std::to_string(timeout.count())
                                           + " ms");
  return status::fail(ec::unreachable, "cannot connect to " + host + ":"
                                         + service + ": "
                                         + std::strerror(err));
}

} // namespace livesync
