#include "core/common/path_rules.hpp"

#include <algorithm>

namespace livesync {

std::optional<std::string> invalid_path_reason(std::string_view p) {
  if (p.empty())
    return "empty path";
  if (p.size() > max_path_bytes)
    return "path longer than " + std::to_string(max_path_bytes) + " bytes";
  if (p.find('\0') != std::string_view::npos)
    return "path contains NUL";
  if (p.front() == '/')
    return "absolute path";
  size_t depth = 0;
  size_t start = 0;
  while (start <= p.size()) {
    auto end = p.find('/', start);
    if (end == std::string_view::npos)
      end = p.size();
    auto name = p.substr(start, end - start);
    if (name.empty())
      return "empty path component";
    if (name == "." || name == "..")
      return "'" + std::string{name} + "' component";
    if (name.size() > max_name_bytes)
      return "path component longer than " + std::to_string(max_name_bytes)
             + " bytes";
    if (depth == 0 && name == state_folder)
      return "path inside the state folder";
    if (++depth > max_path_depth)
      return "path deeper than " + std::to_string(max_path_depth);
    start = end + 1;
  }
  return std::nullopt;
}

std::string printable(std::string_view s, size_t max) {
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  out.reserve(std::min(s.size(), max) + 16);
  size_t i = 0;
  for (; i < s.size() && out.size() < max; ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c < 0x20 || c == 0x7f) {
      out += "\\x";
      out.push_back(hex[c >> 4]);
      out.push_back(hex[c & 0xf]);
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  if (i < s.size())
    out += "...(+" + std::to_string(s.size() - i) + " bytes)";
  return out;
}

std::vector<std::string_view> split_path(std::string_view p) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (start < p.size()) {
    auto end = p.find('/', start);
    if (end == std::string_view::npos)
      end = p.size();
    if (end > start)
      out.push_back(p.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

std::string_view parent_of(std::string_view p) {
  auto pos = p.rfind('/');
  return pos == std::string_view::npos ? std::string_view{} : p.substr(0, pos);
}

std::string_view leaf_of(std::string_view p) {
  auto pos = p.rfind('/');
  return pos == std::string_view::npos ? p : p.substr(pos + 1);
}

std::string join_path(std::string_view dir, std::string_view name) {
  std::string out;
  out.reserve(dir.size() + 1 + name.size());
  out.append(dir);
  if (!dir.empty())
    out.push_back('/');
  out.append(name);
  return out;
}

bool is_within(std::string_view p, std::string_view prefix) {
  if (prefix.empty())
    return true;
  if (p.size() < prefix.size() || p.compare(0, prefix.size(), prefix) != 0)
    return false;
  return p.size() == prefix.size() || p[prefix.size()] == '/';
}

std::string rebase_path(std::string_view p, std::string_view from,
                        std::string_view to) {
  auto rest = p.substr(from.size());
  if (!rest.empty() && rest.front() == '/')
    rest.remove_prefix(1);
  if (from.empty() && !rest.empty() && rest.front() == '/')
    rest.remove_prefix(1);
  return rest.empty() ? std::string{to} : join_path(to, rest);
}

} // namespace livesync
