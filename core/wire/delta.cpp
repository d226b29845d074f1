#include "core/wire/delta.hpp"

#include <algorithm>
#include <stdexcept>

namespace livesync {

// -- recipe_index -----------------------------------------------------------------

recipe_index::recipe_index(const recipe& base) {
  if (base.empty() || base.size() >= UINT32_MAX / 2)
    return; // (4 billion chunks: no such file; stay an empty index)
  hashes_.reserve(base.size());
  chunks_.reserve(base.size());
  uint64_t offset = 0;
  for (auto& c : base) {
    hashes_.push_back(c.hash);
    chunks_.push_back(location{offset, c.length});
    offset += c.length;
  }
  size_t slots = 16;
  while (slots < 2 * base.size()) // at most half full: short probes
    slots *= 2;
  table_.assign(slots, 0);
  mask_ = slots - 1;
  for (uint32_t i = 0; i < hashes_.size(); ++i) {
    // The hashes are XXH3: their low bits are already well spread.
    for (auto s = hashes_[i] & mask_;; s = (s + 1) & mask_) {
      if (table_[s] == 0) {
        table_[s] = i + 1;
        break;
      }
      if (hashes_[table_[s] - 1] == hashes_[i])
        break; // The first occurrence wins.
    }
  }
}

const recipe_index::location* recipe_index::find(uint64_t hash,
                                                 uint32_t length) const {
  if (chunks_.empty())
    return nullptr;
  if (next_ < chunks_.size() && hashes_[next_] == hash
      && chunks_[next_].length == length)
    return &chunks_[next_++];
  for (auto s = hash & mask_; table_[s] != 0; s = (s + 1) & mask_) {
    auto i = table_[s] - 1;
    if (hashes_[i] == hash) {
      if (chunks_[i].length != length)
        return nullptr;
      next_ = i + 1;
      return &chunks_[i];
    }
  }
  return nullptr;
}

// -- delta_encoder ----------------------------------------------------------------

delta_encoder::delta_encoder(const recipe_index& base, uint64_t max_literal,
                             const chunk_locator* others, size_t max_sources)
  : base_(base),
    max_literal_(max_literal),
    others_(others),
    max_sources_(max_sources) {
  if (max_literal == 0)
    throw std::invalid_argument("delta_encoder: max_literal must be positive");
}

void delta_encoder::flush(std::vector<delta_instr>& out) {
  if (!has_pending_)
    return;
  // A short literal (an edit) does not keep the room reserved for a long
  // one: batches hold thousands of ops.
  if (pending_.kind == delta_instr::literal
      && pending_.data.size() < pending_.data.capacity() / 2)
    pending_.data.shrink_to_fit();
  out.push_back(std::move(pending_));
  pending_ = delta_instr{};
  has_pending_ = false;
}

void delta_encoder::add(const char* data, size_t len, uint64_t hash,
                        std::vector<delta_instr>& out) {
  if (len == 0)
    return;
  std::string source;
  uint64_t offset = 0;
  if (find_copy(hash, len, source, offset))
    add_copy(source, offset, len, out);
  else
    add_literal(data, len, out);
}

bool delta_encoder::find_copy(uint64_t hash, size_t len, std::string& source,
                              uint64_t& offset) {
  if (len == 0 || len > UINT32_MAX)
    return false;
  if (auto loc = base_.find(hash, static_cast<uint32_t>(len))) {
    source.clear();
    offset = loc->offset;
    return true;
  }
  if (others_ == nullptr
      || !others_->locate(hash, static_cast<uint32_t>(len), source, offset)
      || source.empty())
    return false;
  // The receiver opens each source once per transfer, and only so many.
  bool known = std::find(sources_.begin(), sources_.end(), source)
               != sources_.end();
  if (!known && sources_.size() >= max_sources_)
    return false;
  if (!known)
    sources_.push_back(source);
  return true;
}

void delta_encoder::add_literal(const char* data, size_t len,
                                std::vector<delta_instr>& out) {
  literal_ += len;
  while (len > 0) {
    if (!has_pending_ || pending_.kind != delta_instr::literal) {
      flush(out);
      pending_.kind = delta_instr::literal;
      // Room for the longest literal at once: grown chunk by chunk, a
      // 1 MiB literal was reallocated and copied eight times over.
      pending_.data.reserve(
        static_cast<size_t>(std::min<uint64_t>(max_literal_, 16u << 20)));
      has_pending_ = true;
    }
    auto room = max_literal_ - pending_.data.size();
    auto take = static_cast<size_t>(std::min<uint64_t>(room, len));
    pending_.data.insert(pending_.data.end(), data, data + take);
    pending_.length = pending_.data.size();
    data += take;
    len -= take;
    if (pending_.data.size() >= max_literal_)
      flush(out);
  }
}

void delta_encoder::add_copy(const std::string& source, uint64_t offset,
                             size_t len, std::vector<delta_instr>& out) {
  copied_ += len;
  if (!source.empty())
    reused_ += len;
  if (has_pending_ && pending_.kind == delta_instr::copy
      && pending_.source == source
      && pending_.base_offset + pending_.length == offset) {
    pending_.length += len;
    return;
  }
  flush(out);
  pending_.kind = delta_instr::copy;
  pending_.source = source;
  pending_.base_offset = offset;
  pending_.length = len;
  has_pending_ = true;
}

void delta_encoder::finish(std::vector<delta_instr>& out) {
  flush(out);
}

// -- apply_delta ------------------------------------------------------------------

std::vector<char> apply_delta(const std::vector<char>& base,
                              const std::vector<delta_instr>& instrs) {
  std::vector<char> result;
  for (auto& in : instrs) {
    if (in.kind == delta_instr::copy) {
      if (!in.source.empty())
        throw std::invalid_argument("apply_delta: copies from other files "
                                    "are not supported here");
      if (in.base_offset > base.size()
          || in.length > base.size() - in.base_offset)
        throw std::out_of_range("apply_delta: copy past the end of the base");
      auto first = base.begin() + static_cast<ptrdiff_t>(in.base_offset);
      result.insert(result.end(), first,
                    first + static_cast<ptrdiff_t>(in.length));
    } else {
      if (in.length != in.data.size())
        throw std::invalid_argument("apply_delta: literal length mismatch");
      result.insert(result.end(), in.data.begin(), in.data.end());
    }
  }
  return result;
}

} // namespace livesync
