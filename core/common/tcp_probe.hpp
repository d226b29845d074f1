// Whether a TCP address answers: a connection opened and closed at once,
// within a timeout. CAF 0.17's connect (the middleman's, and the openssl
// manager's) blocks the one actor that makes every connection of the
// process, for as long as the kernel retries SYNs (about 2 minutes) when
// an address drops packets: one black-holed reference would hold back the
// reconnect of every other one, and a single one would wait 2 minutes
// before its backoff. A sender probes first, on its own thread, and asks
// CAF only once the address has answered.
#pragma once

#include "core/common/status.hpp"

#include <chrono>
#include <cstdint>
#include <string>

namespace livesync {

/// OK once some address of `host` accepted a connection on `port` within
/// `timeout` (name resolution included); else why not.
status tcp_probe(const std::string& host, uint16_t port,
                 std::chrono::milliseconds timeout);

} // namespace livesync
