// zstd for literal data on the wire: compress when it helps, decompress
// with a hard bound on the output (a peer's frame header is not trusted).
#pragma once

#include "core/status.hpp"

#include <cstddef>
#include <vector>

namespace livesync {

/// Compresses `len` bytes at `data` at `level` into `out`. Returns false
/// (and leaves `out` empty) when the result would not be smaller: the caller
/// then sends the bytes as they are.
bool compress_if_smaller(const char* data, size_t len, int level,
                         std::vector<char>& out);

/// Decompresses one zstd frame that must expand to exactly `expected`
/// bytes (the sender states the size; anything else is refused).
status decompress_exact(const char* data, size_t len, size_t expected,
                        std::vector<char>& out);

} // namespace livesync
