// The documented path rules (README "Security", core/common/path_rules.hpp),
// written again independently of core/common/path_rules.cpp: the fuzz targets
// compare the two, and check every path an op was accepted with.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace livesync::fuzz {

/// Relative, non-empty, at most 4096 bytes, no NUL, every '/'-separated
/// component non-empty, not "." or "..", at most 255 bytes, at most 256
/// components, and the first component is not the state folder.
inline bool path_allowed(std::string_view p) {
  if (p.empty() || p.size() > 4096)
    return false;
  std::vector<std::string> components{std::string{}};
  for (char c : p) {
    if (c == '\0')
      return false;
    if (c == '/')
      components.emplace_back();
    else
      components.back().push_back(c);
  }
  if (components.size() > 256 || components.front() == ".livesync")
    return false;
  for (const auto& c : components)
    if (c.empty() || c == "." || c == ".." || c.size() > 255)
      return false;
  return true;
}

} // namespace livesync::fuzz
