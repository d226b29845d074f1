// Delta encoding against a recipe: given the recipe of the version the
// reference holds and the chunks of the new version, produce instructions
// "copy this range of the base" and "insert these bytes", with adjacent
// copies and adjacent literals merged. No round trip: the watcher keeps the
// recipe of what it sent last.
#pragma once

#include "core/wire/chunker.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace livesync {

/// One step of building the new file from the base file and literal bytes.
struct delta_instr {
  enum kind_t : uint8_t { copy, literal } kind = literal;
  /// copy: the file to copy from; empty means the base (the version being
  /// replaced), anything else another file the reference holds.
  std::string source;
  /// copy: offset in the source; literal: unused.
  uint64_t base_offset = 0;
  /// copy: length; literal: data.size().
  uint64_t length = 0;
  std::vector<char> data;
};

/// Index of a base recipe: chunk hash -> (offset, length) of an
/// occurrence. A flat open-addressing table (one allocation, no node per
/// chunk: a 1 GiB file has ~260,000 chunks), and a fast path for the usual
/// case of a new version that follows the base: after a hit at chunk i,
/// chunk i + 1 is tried first, without touching the table.
class recipe_index {
public:
  recipe_index() = default;
  explicit recipe_index(const recipe& base);

  struct location {
    uint64_t offset = 0;
    uint32_t length = 0;
  };

  /// Where a chunk with this hash and length sits in the base, if anywhere:
  /// the chunk after the previous hit when it matches, else the first
  /// occurrence.
  const location* find(uint64_t hash, uint32_t length) const;

  bool empty() const noexcept { return chunks_.empty(); }

private:
  std::vector<uint64_t> hashes_;  // of base chunk i
  std::vector<location> chunks_;  // of base chunk i
  std::vector<uint32_t> table_;   // i + 1 of a chunk; 0 = empty slot
  uint64_t mask_ = 0;
  /// The chunk after the last hit (a hint only; find() stays logically
  /// const).
  mutable size_t next_ = 0;
};

/// Where else the reference holds a chunk: other files, for reuse (a copy
/// of a large file inside the tree travels as a few copy instructions).
class chunk_locator {
public:
  virtual ~chunk_locator() = default;

  /// A file the reference holds with this chunk at `offset`, if any.
  virtual bool locate(uint64_t hash, uint32_t length, std::string& path,
                      uint64_t& offset) const = 0;
};

/// Turns the chunks of a new version, fed in order, into instructions.
class delta_encoder {
public:
  /// `base` (and `others`, when given) must outlive the encoder.
  /// `max_literal` bounds one literal instruction (it is split beyond), so
  /// instructions fit in a message. Chunks not in the base are looked up in
  /// `others`, from at most `max_sources` distinct files.
  explicit delta_encoder(const recipe_index& base,
                         uint64_t max_literal = 1u << 20,
                         const chunk_locator* others = nullptr,
                         size_t max_sources = 15);

  /// Feeds one chunk of the new version; may append finished instructions
  /// to `out`. The same as find_copy, then add_copy or add_literal.
  void add(const char* data, size_t len, uint64_t hash,
           std::vector<delta_instr>& out);

  /// Where the reference already holds the next chunk: the base (`source`
  /// empty) or another file (it then counts against max_sources). False:
  /// it travels as a literal. Lets a caller that knows the chunks of the
  /// new version read only the bytes of its literals.
  bool find_copy(uint64_t hash, size_t len, std::string& source,
                 uint64_t& offset);

  /// Feeds the next chunk as a copy that find_copy found.
  void add_copy(const std::string& source, uint64_t offset, size_t len,
                std::vector<delta_instr>& out);

  /// Feeds the next chunk (or several) as literal bytes.
  void add_literal(const char* data, size_t len,
                   std::vector<delta_instr>& out);

  /// Flushes the pending instruction into `out`.
  void finish(std::vector<delta_instr>& out);

  /// Bytes covered by copies / literals so far.
  uint64_t copied() const noexcept { return copied_; }
  /// Bytes of copies from files other than the base.
  uint64_t reused() const noexcept { return reused_; }
  uint64_t literal() const noexcept { return literal_; }

private:
  void flush(std::vector<delta_instr>& out);

  const recipe_index& base_;
  uint64_t max_literal_;
  const chunk_locator* others_;
  size_t max_sources_;
  std::vector<std::string> sources_;
  uint64_t reused_ = 0;
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
