// Reads fuzzer input front to back as small typed fields. Past the end it
// yields zeros and empty strings, so every input decodes to something and
// a seed can be written by hand (tests/fuzz/seeds.py) in field order.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace livesync::fuzz {

class byte_reader {
public:
  byte_reader(const uint8_t* data, size_t size) : data_(data), size_(size) {}

  bool empty() const noexcept { return pos_ >= size_; }
  size_t remaining() const noexcept { return empty() ? 0 : size_ - pos_; }

  uint8_t u8() { return empty() ? 0 : data_[pos_++]; }

  /// Little-endian, `n` bytes (1..8).
  uint64_t le(size_t n) {
    uint64_t x = 0;
    for (size_t i = 0; i < n; ++i)
      x |= uint64_t{u8()} << (8 * i);
    return x;
  }

  /// The next `len` bytes (fewer at the end of the input).
  std::vector<char> bytes(size_t len) {
    len = std::min(len, remaining());
    std::vector<char> out(len);
    if (len > 0)
      std::memcpy(out.data(), data_ + pos_, len);
    pos_ += len;
    return out;
  }

  std::string text(size_t len) {
    auto b = bytes(len);
    return {b.begin(), b.end()};
  }

  /// Everything left.
  std::vector<char> rest() { return bytes(remaining()); }

private:
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
};

} // namespace livesync::fuzz
