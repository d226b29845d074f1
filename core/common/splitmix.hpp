// splitmix64: a tiny, fast, well-mixed generator with a fixed output for a
// given seed on every machine. The chunker's gear table (part of the wire
// format) is built from it at compile time; tests and benchmarks use it for
// reproducible data.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

namespace livesync {

/// Advances `state` and returns the next value.
constexpr uint64_t splitmix64_next(uint64_t& state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

/// `n` reproducible pseudo-random bytes.
inline std::vector<char> splitmix_bytes(size_t n, uint64_t seed) {
  std::vector<char> out(n);
  for (size_t i = 0; i < n; i += 8) {
    uint64_t x = splitmix64_next(seed);
    std::memcpy(out.data() + i, &x, std::min<size_t>(8, n - i));
  }
  return out;
}

} // namespace livesync
