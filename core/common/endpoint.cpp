#include "core/common/endpoint.hpp"

#include <algorithm>
#include <cctype>

namespace livesync {

std::string endpoint::text() const {
  auto h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  return h + ":" + std::to_string(port);
}

namespace {

std::string quoted(const std::string& s) {
  return "\"" + s + "\"";
}

bool parse_port(const std::string& digits, uint16_t& port) {
  if (digits.empty() || digits.size() > 5
      || !std::all_of(digits.begin(), digits.end(),
                      [](unsigned char c) { return std::isdigit(c); }))
    return false;
  auto n = std::stoul(digits);
  if (n == 0 || n > 65535)
    return false;
  port = static_cast<uint16_t>(n);
  return true;
}

std::string lowered(std::string s) {
  for (auto& c : s)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

} // namespace

std::optional<endpoint> parse_endpoint(const std::string& text,
                                       std::string& why) {
  endpoint out;
  std::string port;
  if (!text.empty() && text.front() == '[') {
    auto close = text.find(']');
    if (close == std::string::npos || close + 1 >= text.size()
        || text[close + 1] != ':') {
      why = quoted(text) + " is not [address]:port";
      return std::nullopt;
    }
    out.host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    auto colon = text.rfind(':');
    if (colon == std::string::npos) {
      why = quoted(text) + " has no port (expected host:port)";
      return std::nullopt;
    }
    out.host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (out.host.find(':') != std::string::npos) {
      why = quoted(text) + ": write an IPv6 address in brackets, "
                           "[address]:port";
      return std::nullopt;
    }
  }
  if (out.host.empty()) {
    why = quoted(text) + " has no host (expected host:port)";
    return std::nullopt;
  }
  if (std::any_of(out.host.begin(), out.host.end(), [](unsigned char c) {
        return std::isspace(c) || c == '/' || c < 0x20;
      })) {
    why = quoted(text) + " is not a host name or address";
    return std::nullopt;
  }
  if (!parse_port(port, out.port)) {
    why = quoted(text) + ": the port must be a number from 1 to 65535";
    return std::nullopt;
  }
  return out;
}

bool parse_endpoints(const std::vector<std::string>& texts,
                     std::vector<endpoint>& out, std::string& why) {
  out.clear();
  if (texts.empty()) {
    why = "the list is empty (name at least one host:port)";
    return false;
  }
  for (auto& t : texts) {
    auto e = parse_endpoint(t, why);
    if (!e)
      return false;
    for (auto& seen : out)
      if (lowered(seen.host) == lowered(e->host) && seen.port == e->port) {
        why = quoted(t) + " is named twice";
        return false;
      }
    out.push_back(std::move(*e));
  }
  return true;
}

} // namespace livesync
