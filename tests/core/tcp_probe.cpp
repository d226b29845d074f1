#define CAF_SUITE core.tcp_probe
#include <caf/test/unit_test.hpp>

#include "core/common/tcp_probe.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

using namespace livesync;
using namespace std::chrono_literals;

namespace {

/// A loopback socket bound to a free port, listening or not.
struct local_port {
  int fd = -1;
  uint16_t port = 0;

  explicit local_port(bool listening) {
    fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    if (listening)
      ::listen(fd, 4);
    socklen_t len = sizeof a;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    port = ntohs(a.sin_port);
  }

  ~local_port() {
    ::close(fd);
  }
};

} // namespace

CAF_TEST(an address that accepts) {
  local_port p{true};
  auto s = tcp_probe("127.0.0.1", p.port, 1000ms);
  CAF_CHECK(s);
  CAF_CHECK(tcp_probe("localhost", p.port, 1000ms));
}

CAF_TEST(an address that refuses) {
  local_port p{false}; // Bound, not listening: a connect is refused.
  auto s = tcp_probe("127.0.0.1", p.port, 1000ms);
  CAF_CHECK(!s);
  CAF_CHECK(s.reason().find("Connection refused") != std::string::npos);
}

CAF_TEST(a name that does not resolve) {
  auto s = tcp_probe("no-such-host.invalid", 4242, 1000ms);
  CAF_CHECK(!s);
  CAF_CHECK(s.reason().find("cannot resolve no-such-host.invalid")
            != std::string::npos);
}

CAF_TEST(an address that does not answer gives up at the timeout) {
  // TEST-NET-1 (RFC 5737) is never routed: SYNs go unanswered (or the
  // route is missing, which fails at once); either way within the timeout.
  auto t0 = std::chrono::steady_clock::now();
  auto s = tcp_probe("192.0.2.1", 4242, 300ms);
  auto took = std::chrono::steady_clock::now() - t0;
  CAF_CHECK(!s);
  CAF_CHECK_LESS(took, 2s);
}
