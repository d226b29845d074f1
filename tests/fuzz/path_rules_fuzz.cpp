// Fuzz target: the path rules every op path passes through on the
// reference (core/common/path_rules), and printable(), which makes a peer's path
// safe for one log line.
//
// Input: one byte (the printable() bound / 2), then the path bytes.
// Checks: invalid_path_reason agrees with an independent oracle; the path
// algebra (split, parent, leaf, join, is_within, rebase) is consistent on
// every accepted path; printable() matches its contract, emits no control
// byte and stays bounded.
#include "byte_reader.hpp"
#include "check.hpp"
#include "path_oracle.hpp"

#include "core/common/path_rules.hpp"

#include <cstdint>
#include <string>

using namespace livesync;
using namespace livesync::fuzz;

namespace {

/// printable() written again from its contract: backslash and newline
/// escaped as \\ and \n, other control bytes as \xNN, and once `max`
/// bytes are out, the rest replaced by "...(+N bytes)".
std::string expected_printable(const std::string& s, size_t max) {
  static const char* hex = "0123456789abcdef";
  std::string out;
  size_t i = 0;
  for (; i < s.size() && out.size() < max; ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c == '\\')
      out += "\\\\";
    else if (c == '\n')
      out += "\\n";
    else if (c < 0x20 || c == 0x7f)
      out += std::string{"\\x"} + hex[c / 16] + hex[c % 16];
    else
      out += static_cast<char>(c);
  }
  if (i < s.size())
    out += "...(+" + std::to_string(s.size() - i) + " bytes)";
  return out;
}

void check_printable(const std::string& s, size_t max) {
  auto out = printable(s, max);
  FUZZ_CHECK(out == expected_printable(s, max));
  // What the contract is for: one log line, bounded.
  for (unsigned char c : out)
    FUZZ_CHECK(c >= 0x20 && c != 0x7f);
  FUZZ_CHECK(out.size() <= max + 3 + 32);
}

void check_algebra(const std::string& p) {
  auto parts = split_path(p);
  std::string joined;
  for (auto part : parts)
    joined = join_path(joined, part);
  FUZZ_CHECK(joined == p);
  auto parent = std::string{parent_of(p)};
  auto leaf = std::string{leaf_of(p)};
  FUZZ_CHECK(!leaf.empty() && leaf.find('/') == std::string::npos);
  FUZZ_CHECK(leaf == parts.back());
  FUZZ_CHECK(join_path(parent, leaf) == p);
  FUZZ_CHECK(parent.empty() ? parts.size() == 1 : path_allowed(parent));
  FUZZ_CHECK(is_within(p, p) && is_within(p, "") && is_within(p, parent));
  FUZZ_CHECK(!is_within(parent, p));
  FUZZ_CHECK(is_within(p + "/x", p) && !is_within(p + "x", p));
  FUZZ_CHECK(rebase_path(p, p, "n") == "n");
  FUZZ_CHECK(rebase_path(p, parent, "n") == "n/" + leaf);
  FUZZ_CHECK(rebase_path(p, "", "n") == "n/" + p);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  byte_reader in{data, size};
  size_t max = size_t{in.u8()} * 2;
  auto raw = in.rest();
  std::string p{raw.begin(), raw.end()};
  auto why = invalid_path_reason(p);
  FUZZ_CHECK(why.has_value() != path_allowed(p));
  FUZZ_CHECK(!why || !why->empty());
  if (!why)
    check_algebra(p);
  else
    split_path(p); // Must not crash on any input either.
  check_printable(p, max);
  return 0;
}
