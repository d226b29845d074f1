#include "core/wire/chunker.hpp"

#include "core/common/splitmix.hpp"

#include <algorithm>
#include <array>
#include <cstring>
#include <stdexcept>

#include <xxhash.h>

namespace livesync {

namespace {

// -- gear table ----------------------------------------------------------------

// The gear table is part of the wire format: both nodes must cut at the same
// places, so it is generated at compile time by splitmix64 from a fixed seed,
// 0x6c69766573796e63 ("livesync" in ASCII), and never from a runtime source.
constexpr uint64_t gear_seed = 0x6c69766573796e63ULL;

constexpr std::array<uint64_t, 256> make_gear_table() {
  std::array<uint64_t, 256> table{};
  uint64_t state = gear_seed;
  for (size_t i = 0; i < table.size(); ++i)
    table[i] = splitmix64_next(state);
  return table;
}

constexpr std::array<uint64_t, 256> gear = make_gear_table();

// Pin two entries: a change of the generator is a change of the format.
static_assert(gear[0] == 0xe66b75d8ba06d250ULL, "gear table changed");
static_assert(gear[255] == 0xa6886b17d0aa8505ULL, "gear table changed");

constexpr uint32_t max_chunk_limit = 16u << 20; // 16 MiB

// Smallest average we accept: the large mask keeps log2(avg) - 2 bits, and
// below 64 bytes chunking costs more than it saves anyway.
constexpr uint32_t min_avg_size = 64;

// The hash is warmed up over this many bytes before the first position where
// a cut may occur, so whether a position is a cut candidate depends only on
// the 64 bytes before it (a shift-add gear hash forgets a byte after 64
// steps), not on where the chunk started. (With min_size < 64 the hash starts
// at the chunk start.)
constexpr uint32_t warmup = 64;

unsigned log2_exact(uint32_t x) {
  unsigned n = 0;
  while ((x >>= 1) != 0)
    ++n;
  return n;
}

// A mask with the `bits` highest bits of a 64-bit word set. The high bits of
// a shift-add gear hash depend on the last 64 bytes, the low bits only on
// the last few.
uint64_t high_bits(unsigned bits) {
  if (bits == 0)
    return 0;
  if (bits >= 64)
    return ~uint64_t{0};
  return ~uint64_t{0} << (64 - bits);
}

} // namespace

const char* invalid_chunker_params(const chunker_params& p) {
  if (p.min_size == 0)
    return "chunker min_size must be positive";
  if (p.avg_size == 0 || (p.avg_size & (p.avg_size - 1)) != 0)
    return "chunker avg_size must be a power of two";
  if (p.avg_size < min_avg_size)
    return "chunker avg_size must be at least 64";
  if (p.min_size > p.avg_size)
    return "chunker min_size must not exceed avg_size";
  if (p.avg_size > p.max_size)
    return "chunker avg_size must not exceed max_size";
  if (p.max_size > max_chunk_limit)
    return "chunker max_size must not exceed 16 MiB";
  return nullptr;
}

const char* invalid_link_chunker_params(const chunker_params& p) {
  if (auto why = invalid_chunker_params(p))
    return why;
  if (p.min_size < link_min_chunk)
    return "chunker min_size must be at least 512 on the link";
  if (p.avg_size < link_min_avg_chunk)
    return "chunker avg_size must be at least 1024 on the link";
  return nullptr;
}

chunker::chunker(chunker_params p) : params_(p) {
  if (auto why = invalid_chunker_params(p))
    throw std::invalid_argument(why);
  auto bits = log2_exact(p.avg_size);
  // Normalized chunking, level 2.
  mask_small_ = high_bits(bits + 2);
  mask_large_ = high_bits(bits - 2);
}

size_t chunker::cut(const uint8_t* data, size_t len, bool eof) const {
  const size_t min_size = params_.min_size;
  const size_t max_size = params_.max_size;
  if (len <= min_size) // no cut point yet (min_size == max_size cuts here)
    return eof || len >= max_size ? len : 0;
  // Positions i (0-based byte index) in [min_size, n) are tested; a match at
  // byte i cuts after it, i.e. a chunk of length i + 1.
  const size_t n = std::min(len, max_size);
  const size_t normal = std::min(n, static_cast<size_t>(params_.avg_size));
  const uint64_t mask_small = mask_small_;
  const uint64_t mask_large = mask_large_;
  const uint64_t* g = gear.data();
  uint64_t h = 0;
  size_t i = min_size > warmup ? min_size - warmup : 0;
  for (; i < min_size; ++i)
    h = (h << 1) + g[data[i]];
  // Two bytes per iteration while both are below the bound; the test after
  // each byte stays, so the cut points are exactly those of the plain loop.
  for (; i + 2 <= normal; i += 2) {
    h = (h << 1) + g[data[i]];
    if ((h & mask_small) == 0)
      return i + 1;
    h = (h << 1) + g[data[i + 1]];
    if ((h & mask_small) == 0)
      return i + 2;
  }
  for (; i < normal; ++i) {
    h = (h << 1) + g[data[i]];
    if ((h & mask_small) == 0)
      return i + 1;
  }
  for (; i + 2 <= n; i += 2) {
    h = (h << 1) + g[data[i]];
    if ((h & mask_large) == 0)
      return i + 1;
    h = (h << 1) + g[data[i + 1]];
    if ((h & mask_large) == 0)
      return i + 2;
  }
  for (; i < n; ++i) {
    h = (h << 1) + g[data[i]];
    if ((h & mask_large) == 0)
      return i + 1;
  }
  // No content-defined cut in the first n bytes.
  if (n == max_size || eof)
    return n;
  return 0;
}

uint64_t recipe_size(const recipe& r) {
  uint64_t total = 0;
  for (auto& c : r)
    total += c.length;
  return total;
}

// -- chunk_stream -----------------------------------------------------------------

// Strategy: bytes of a piece are cut in place, without copying, as long as
// cut points are found; the rest (no cut point, fewer than max_size bytes)
// waits in carry_. The carry-over is only searched again once it holds
// max_size bytes (or at finish), so a stream fed in tiny pieces costs no
// repeated scans: every byte is scanned at most twice. Since a cut depends
// only on the bytes of its chunk, every path finds the same cut points.

chunk_stream::chunk_stream(chunker_params p, callback cb)
  : chunker_(p), cb_(std::move(cb)) {
  carry_.reserve(p.max_size);
}

void chunk_stream::emit(const char* data, size_t len) {
  auto hash = XXH3_64bits(data, len);
  cb_(data, len, hash, offset_);
  offset_ += len;
}

void chunk_stream::add(const char* data, size_t len) {
  const size_t max_size = chunker_.params().max_size;
  auto cut_at = [this](const char* p, size_t n, bool eof) {
    return chunker_.cut(reinterpret_cast<const uint8_t*>(p), n, eof);
  };
  // 1. Complete the carry-over first.
  while (!carry_.empty() && len > 0) {
    size_t old = carry_.size();
    size_t take = std::min(len, max_size - old);
    carry_.insert(carry_.end(), data, data + take);
    if (carry_.size() < max_size)
      return; // all of `data` is in carry_, nothing to cut yet
    size_t c = cut_at(carry_.data(), carry_.size(), false); // 0 < c <= max
    emit(carry_.data(), c);
    if (c >= old) {
      // The chunk ends inside `data`: drop the copied bytes and go on
      // from there, in place.
      size_t used = c - old;
      carry_.clear();
      data += used;
      len -= used;
    } else {
      // The chunk ended within the old carry-over; keep the rest (which
      // includes everything taken from `data`) and top up again.
      carry_.erase(carry_.begin(), carry_.begin() + static_cast<ptrdiff_t>(c));
      data += take;
      len -= take;
    }
  }
  if (len == 0)
    return;
  // 2. Cut in place while a cut point is found (always the case while
  //    max_size bytes are available).
  while (len > 0) {
    size_t c = cut_at(data, len, false);
    if (c == 0)
      break;
    emit(data, c);
    data += c;
    len -= c;
  }
  // 3. Fewer than max_size bytes left, with no cut point among them: wait
  //    for more. (So the carry-over never holds a whole chunk, and step 1
  //    always ends the chunk inside the new bytes.)
  carry_.insert(carry_.end(), data, data + len);
}

void chunk_stream::finish() {
  size_t pos = 0;
  while (pos < carry_.size()) {
    size_t c = chunker_.cut(reinterpret_cast<const uint8_t*>(carry_.data()) + pos,
                            carry_.size() - pos, true);
    emit(carry_.data() + pos, c);
    pos += c;
  }
  carry_.clear();
}

recipe make_recipe(const char* data, size_t len, chunker_params p) {
  recipe r;
  chunk_stream s(p, [&r](const char*, size_t n, uint64_t hash, uint64_t) {
    r.push_back(chunk_ref{hash, static_cast<uint32_t>(n)});
  });
  s.add(data, len);
  s.finish();
  return r;
}

} // namespace livesync
