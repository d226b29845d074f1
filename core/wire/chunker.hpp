// Content-defined chunking (FastCDC: gear rolling hash, normalized
// chunking) and the per-file "recipe" built from it: the list of (chunk
// hash, length) that describes a file's content. A cut point depends only on
// the bytes just before it, so an insert or a delete shifts no other cut:
// this is what lets a modified file travel as a few literal chunks plus
// copies of ranges the reference already holds.
//
// Both nodes must chunk identically (the reference computes recipes of its
// copies on request), so the gear table is generated from a fixed seed and
// the parameters travel with every recipe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <vector>

namespace livesync {

/// Chunk size bounds. avg_size must be a power of two; min <= avg <= max.
struct chunker_params {
  uint32_t min_size = 1024;
  uint32_t avg_size = 4096;
  uint32_t max_size = 32768;
};

/// Returns why `p` is unusable, or nullptr when it is fine.
const char* invalid_chunker_params(const chunker_params& p);

/// Smallest chunk sizes a watcher may use on the link: a recipe costs 12
/// bytes per chunk on both nodes, so min_size bounds its memory to 2.3 %
/// of the file (a peer asking for min=1 would make the reference spend a
/// quarter of the file's size on one reply).
inline constexpr uint32_t link_min_chunk = 512;
inline constexpr uint32_t link_min_avg_chunk = 1024;

/// invalid_chunker_params, and below the link's minimum sizes: what the
/// watcher's options and the reference's recipe requests accept.
const char* invalid_link_chunker_params(const chunker_params& p);

/// Finds cut points. Stateless between calls: each call looks for the
/// first cut point of the chunk that starts at `data`.
class chunker {
public:
  explicit chunker(chunker_params p = {});

  /// The length of the chunk starting at `data`, given `len` available
  /// bytes. Returns 0 when `len < max_size`, no cut point was found and
  /// `eof` is false: call again with more bytes. With `eof`, returns
  /// min(len, cut) and never 0 unless len is 0.
  size_t cut(const uint8_t* data, size_t len, bool eof) const;

  const chunker_params& params() const noexcept { return params_; }

private:
  chunker_params params_;
  uint64_t mask_small_; // used before avg_size: harder to match
  uint64_t mask_large_; // used after avg_size: easier to match
};

/// One chunk of a recipe: XXH3-64 of its bytes, and its length.
struct chunk_ref {
  uint64_t hash = 0;
  uint32_t length = 0;
};

inline bool operator==(const chunk_ref& x, const chunk_ref& y) {
  return x.hash == y.hash && x.length == y.length;
}

/// A file's content as a list of chunks, in order.
using recipe = std::vector<chunk_ref>;

/// The sum of the chunk lengths.
uint64_t recipe_size(const recipe& r);

/// Streams bytes through a chunker and reports each chunk as it completes,
/// with its bytes (valid only during the callback), hash and offset.
/// Memory: at most max_size bytes of carry-over, whatever the stream size.
class chunk_stream {
public:
  using callback = std::function<void(const char* data, size_t len,
                                      uint64_t hash, uint64_t offset)>;

  chunk_stream(chunker_params p, callback cb);

  /// Feeds the next `len` bytes of the stream.
  void add(const char* data, size_t len);

  /// Ends the stream: the remaining bytes become the last chunk.
  void finish();

private:
  void emit(const char* data, size_t len);

  chunker chunker_;
  callback cb_;
  std::vector<char> carry_;
  uint64_t offset_ = 0;
};

/// The recipe of a whole buffer (tests and small files).
recipe make_recipe(const char* data, size_t len, chunker_params p = {});

} // namespace livesync
