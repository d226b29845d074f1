// Delta encoding against a recipe: given the recipe of the version the
// reference holds and the chunks of the new version, produce instructions
// "copy this range of the base" and "insert these bytes", with adjacent
// copies and adjacent literals merged. No round trip: the watcher keeps the
// recipe of what it sent last.
#pragma once

#include "core/chunker.hpp"

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

namespace livesync {

/// One step of building the new file from the base file and literal bytes.
struct delta_instr {
  enum kind_t : uint8_t { copy, literal } kind = literal;
  /// copy: offset in the base; literal: unused.
  uint64_t base_offset = 0;
  /// copy: length; literal: data.size().
  uint64_t length = 0;
  std::vector<char> data;
};

/// Index of a base recipe: chunk hash -> (offset, length) of its first
/// occurrence.
class recipe_index {
public:
  recipe_index() = default;
  explicit recipe_index(const recipe& base);

  struct location {
    uint64_t offset = 0;
    uint32_t length = 0;
  };

  /// Where a chunk with this hash and length sits in the base, if anywhere.
  const location* find(uint64_t hash, uint32_t length) const;

  bool empty() const noexcept { return map_.empty(); }

private:
  std::unordered_map<uint64_t, location> map_;
};

/// Turns the chunks of a new version, fed in order, into instructions.
class delta_encoder {
public:
  /// `base` must outlive the encoder. `max_literal` bounds one literal
  /// instruction (it is split beyond), so instructions fit in a message.
  explicit delta_encoder(const recipe_index& base,
                         uint64_t max_literal = 1u << 20);

  /// Feeds one chunk of the new version; may append finished instructions
  /// to `out`.
  void add(const char* data, size_t len, uint64_t hash,
           std::vector<delta_instr>& out);

  /// Flushes the pending instruction into `out`.
  void finish(std::vector<delta_instr>& out);

  /// Bytes covered by copies / literals so far.
  uint64_t copied() const noexcept { return copied_; }
  uint64_t literal() const noexcept { return literal_; }

private:
  void flush(std::vector<delta_instr>& out);

  const recipe_index& base_;
  uint64_t max_literal_;
  delta_instr pending_;
  bool has_pending_ = false;
  uint64_t copied_ = 0;
  uint64_t literal_ = 0;
};

/// Applies instructions to a base buffer (tests; the reference applies them
/// to files with copy_file_range).
std::vector<char> apply_delta(const std::vector<char>& base,
                              const std::vector<delta_instr>& instrs);

} // namespace livesync
