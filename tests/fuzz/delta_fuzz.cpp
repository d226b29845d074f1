// Fuzz target: the byte-level half of delta transfers, in memory.
//   mode 0: decompress_exact on arbitrary frames (what a peer's zstd chunk
//           and write_file data go through on the reference);
//   mode 1: compress_if_smaller then decompress_exact round trip;
//   mode 2: chunk a base and a new version (peer-given chunker parameters
//           when valid), encode the new one as a delta against the base and
//           a second file, and rebuild it.
// Checks: a frame is accepted only when it expands to exactly the stated
// size; round trips are exact; chunking is split-independent and within
// bounds; a delta rebuilds the new version, its copies stay inside their
// sources, and adjacent instructions are merged as documented.
#include "byte_reader.hpp"
#include "check.hpp"

#include "core/wire/chunker.hpp"
#include "core/wire/compress.hpp"
#include "core/wire/delta.hpp"

#include <algorithm>
#include <cstdint>
#include <string>
#include <unordered_map>

using namespace livesync;
using namespace livesync::fuzz;

namespace {

/// Largest new version built by mode 2: keeps each input fast.
constexpr size_t max_new_bytes = 64 << 10;

void decompress_arbitrary(byte_reader& in) {
  auto expected = static_cast<size_t>(in.le(2));
  auto frame = in.rest();
  std::vector<char> out;
  auto s = decompress_exact(frame.data(), frame.size(), expected, out);
  if (s)
    FUZZ_CHECK(out.size() == expected);
  else
    FUZZ_CHECK(!s.reason().empty());
}

void compress_round_trip(byte_reader& in) {
  int level = in.u8() % 20;
  auto payload = in.rest();
  std::vector<char> frame;
  if (!compress_if_smaller(payload.data(), payload.size(), level, frame)) {
    FUZZ_CHECK(frame.empty());
    return;
  }
  FUZZ_CHECK(frame.size() < payload.size());
  std::vector<char> out;
  FUZZ_CHECK(decompress_exact(frame.data(), frame.size(), payload.size(), out));
  FUZZ_CHECK(out == payload);
  // A size claim that disagrees with the frame is refused either way.
  FUZZ_CHECK(
    !decompress_exact(frame.data(), frame.size(), payload.size() + 1, out));
  FUZZ_CHECK(
    !decompress_exact(frame.data(), frame.size(), payload.size() - 1, out));
}

/// Chunker parameters: small valid ones derived from one byte, or (odd
/// selector) three raw values as a peer's recipe request would carry.
bool read_params(byte_reader& in, chunker_params& p) {
  auto sel = in.u8();
  if (sel & 1) {
    p.min_size = static_cast<uint32_t>(in.le(2));
    p.avg_size = static_cast<uint32_t>(in.le(2));
    p.max_size = static_cast<uint32_t>(in.le(3));
    return invalid_chunker_params(p) == nullptr;
  }
  p.avg_size = 64u << ((sel >> 1) & 3);
  p.min_size = std::max(1u, p.avg_size >> ((sel >> 3) & 3));
  p.max_size = p.avg_size << ((sel >> 5) & 3);
  FUZZ_CHECK(invalid_chunker_params(p) == nullptr);
  return true;
}

struct chunked {
  recipe r;
  std::vector<std::vector<char>> pieces;
};

/// Chunks `data` fed in the pieces `cuts` says, and checks the result
/// against the whole-buffer recipe and the size bounds.
chunked chunk(const std::vector<char>& data, const chunker_params& p,
              byte_reader& cuts) {
  chunked out;
  uint64_t next = 0;
  chunk_stream cs{p, [&](const char* d, size_t len, uint64_t hash,
                         uint64_t offset) {
                    FUZZ_CHECK(offset == next);
                    next += len;
                    out.r.push_back(
                      chunk_ref{hash, static_cast<uint32_t>(len)});
                    out.pieces.emplace_back(d, d + len);
                  }};
  size_t pos = 0;
  while (pos < data.size()) {
    size_t n = std::min<size_t>(data.size() - pos, 1 + cuts.le(2));
    cs.add(data.data() + pos, n);
    pos += n;
  }
  cs.finish();
  FUZZ_CHECK(out.r == make_recipe(data.data(), data.size(), p));
  FUZZ_CHECK(recipe_size(out.r) == data.size());
  for (size_t i = 0; i < out.r.size(); ++i) {
    FUZZ_CHECK(out.r[i].length > 0 && out.r[i].length <= p.max_size);
    if (i + 1 < out.r.size())
      FUZZ_CHECK(out.r[i].length >= std::min(p.min_size, p.max_size));
  }
  return out;
}

/// Finds chunks in one other file, "other".
class one_file_locator : public chunk_locator {
public:
  explicit one_file_locator(const recipe& r) {
    uint64_t offset = 0;
    for (auto& c : r) {
      map_.emplace(c.hash, std::make_pair(offset, c.length));
      offset += c.length;
    }
  }
  bool locate(uint64_t hash, uint32_t length, std::string& path,
              uint64_t& offset) const override {
    auto i = map_.find(hash);
    if (i == map_.end() || i->second.second != length)
      return false;
    path = "other";
    offset = i->second.first;
    return true;
  }

private:
  std::unordered_map<uint64_t, std::pair<uint64_t, uint32_t>> map_;
};

void delta_round_trip(byte_reader& in) {
  chunker_params p;
  if (!read_params(in, p))
    return;
  uint64_t max_literal = 1 + in.le(2);
  auto base = in.bytes(in.le(2));
  auto other = in.bytes(in.le(2));
  // The new version: pieces of the base, of the other file, and new bytes.
  std::vector<char> next;
  while (!in.empty() && next.size() < max_new_bytes) {
    auto sel = in.u8() % 3;
    const auto& from = sel == 0 ? base : other;
    if (sel < 2 && !from.empty()) {
      size_t off = in.le(2) % from.size();
      size_t len = std::min<size_t>(in.le(2), from.size() - off);
      next.insert(next.end(), from.begin() + off, from.begin() + off + len);
    } else {
      auto lit = in.bytes(in.u8());
      next.insert(next.end(), lit.begin(), lit.end());
    }
  }
  byte_reader cuts{reinterpret_cast<const uint8_t*>(next.data()),
                   next.size()};
  auto base_chunks = chunk(base, p, cuts);
  auto other_chunks = chunk(other, p, cuts);
  auto next_chunks = chunk(next, p, cuts);
  recipe_index index{base_chunks.r};
  one_file_locator locator{other_chunks.r};
  delta_encoder enc{index, max_literal, &locator, 1};
  std::vector<delta_instr> instrs;
  for (size_t i = 0; i < next_chunks.r.size(); ++i)
    enc.add(next_chunks.pieces[i].data(), next_chunks.pieces[i].size(),
            next_chunks.r[i].hash, instrs);
  enc.finish(instrs);
  FUZZ_CHECK(enc.copied() + enc.literal() == next.size());
  FUZZ_CHECK(enc.reused() <= enc.copied());
  // Rebuild, as the reference does with copy_range and chunk ops.
  std::vector<char> rebuilt;
  bool uses_other = false;
  for (size_t i = 0; i < instrs.size(); ++i) {
    const auto& x = instrs[i];
    FUZZ_CHECK(x.length > 0);
    if (x.kind == delta_instr::copy) {
      FUZZ_CHECK(x.source.empty() || x.source == "other");
      const auto& src = x.source.empty() ? base : other;
      uses_other |= !x.source.empty();
      FUZZ_CHECK(x.base_offset <= src.size()
                 && x.length <= src.size() - x.base_offset);
      rebuilt.insert(rebuilt.end(), src.begin() + x.base_offset,
                     src.begin() + x.base_offset + x.length);
    } else {
      FUZZ_CHECK(x.length == x.data.size() && x.length <= max_literal);
      rebuilt.insert(rebuilt.end(), x.data.begin(), x.data.end());
    }
    if (i == 0 || instrs[i - 1].kind != x.kind)
      continue;
    // Adjacent instructions of one kind exist only where they could not
    // be merged.
    const auto& prev = instrs[i - 1];
    if (x.kind == delta_instr::literal)
      FUZZ_CHECK(prev.length == max_literal);
    else
      FUZZ_CHECK(prev.source != x.source
                 || prev.base_offset + prev.length != x.base_offset);
  }
  FUZZ_CHECK(rebuilt == next);
  if (!uses_other)
    FUZZ_CHECK(apply_delta(base, instrs) == next);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  byte_reader in{data, size};
  switch (in.u8() % 3) {
    case 0: decompress_arbitrary(in); break;
    case 1: compress_round_trip(in); break;
    default: delta_round_trip(in); break;
  }
  return 0;
}
