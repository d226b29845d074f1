#include "core/common/utf8.hpp"

namespace livesync {

size_t utf8_sequence_length(std::string_view s, size_t i) noexcept {
  auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  auto c = b(i);
  if (c < 0x80)
    return 1;
  // RFC 3629's table: the second byte's range depends on the first, which
  // rules out overlong forms, surrogates and code points past U+10FFFF
  // (Go's utf8.ValidString, which Prometheus' parser uses, and Python's
  // decoder both refuse them).
  size_t n = 0;
  unsigned char lo = 0x80, hi = 0xbf;
  if (c >= 0xc2 && c <= 0xdf) {
    n = 2;
  } else if (c >= 0xe0 && c <= 0xef) {
    n = 3;
    if (c == 0xe0)
      lo = 0xa0;
    else if (c == 0xed)
      hi = 0x9f;
  } else if (c >= 0xf0 && c <= 0xf4) {
    n = 4;
    if (c == 0xf0)
      lo = 0x90;
    else if (c == 0xf4)
      hi = 0x8f;
  } else {
    return 0;
  }
  if (i + n > s.size() || b(i + 1) < lo || b(i + 1) > hi)
    return 0;
  for (size_t k = 2; k < n; ++k)
    if ((b(i + k) & 0xc0) != 0x80)
      return 0;
  return n;
}

} // namespace livesync
