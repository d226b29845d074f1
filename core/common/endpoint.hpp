// A reference's address as the watcher's options give it: "host:port",
// "[v6-address]:port", and the --references list of them, checked once
// with one sentence per mistake.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace livesync {

struct endpoint {
  std::string host;
  uint16_t port = 0;

  /// "host:port", brackets around an IPv6 address: what the options take,
  /// and how logs and `status` name a reference.
  std::string text() const;

  friend bool operator==(const endpoint& a, const endpoint& b) {
    return a.host == b.host && a.port == b.port;
  }
};

/// Parses "host:port" or "[address]:port" (port 1-65535). On failure
/// returns nothing and says why in `why`.
std::optional<endpoint> parse_endpoint(const std::string& text,
                                       std::string& why);

/// Parses the --references list: at least one entry, each well formed,
/// none named twice (host names compare case-insensitively). On failure
/// returns false and puts one sentence in `why`.
bool parse_endpoints(const std::vector<std::string>& texts,
                     std::vector<endpoint>& out, std::string& why);

} // namespace livesync
