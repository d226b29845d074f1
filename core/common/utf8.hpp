// UTF-8 validation for text formats that must be valid UTF-8 (JSON, the
// Prometheus exposition format) while what they carry need not be: a path
// on Linux is any bytes but '/' and NUL.
#pragma once

#include <cstddef>
#include <string_view>

namespace livesync {

/// The length (1-4) of the valid UTF-8 sequence that starts at s[i], or 0
/// when none does (a stray continuation byte, a truncated sequence).
/// Precondition: i < s.size().
size_t utf8_sequence_length(std::string_view s, size_t i) noexcept;

} // namespace livesync
