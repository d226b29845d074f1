#include "core/watcher/file_upload.hpp"

#include <optional>

#include <xxhash.h>

namespace livesync {

file_upload::file_upload(std::string path, uint64_t xfer, const recipe* base,
                         upload_settings settings, const chunk_locator* others,
                         std::shared_ptr<const chunk_list> listed)
  : path_(std::move(path)),
    xfer_(xfer),
    settings_(settings),
    base_(base != nullptr ? recipe_index{*base} : recipe_index{}),
    encoder_(base_, settings.block_bytes, others),
    chunks_(settings.chunking,
            [this](const char* data, size_t len, uint64_t hash, uint64_t) {
              recipe_.push_back(chunk_ref{hash, static_cast<uint32_t>(len)});
              encoder_.add(data, len, hash, scratch_);
              for (auto& i : scratch_)
                pending_.push_back(std::move(i));
              scratch_.clear();
            }),
    listed_(std::move(listed)) {
  // nop
}

void file_upload::move_scratch() {
  for (auto& i : scratch_)
    pending_.push_back(std::move(i));
  scratch_.clear();
}

op file_upload::make(op_kind kind) const {
  op o;
  o.kind = kind;
  o.path = path_;
  o.xfer = xfer_;
  return o;
}

void file_upload::use_content(std::vector<char> content,
                              const entry_meta& meta) {
  uint64_t listed_bytes = 0;
  if (listed_)
    for (auto& c : listed_->chunks)
      listed_bytes += c.length;
  if (!listed_ || content.size() != meta.size || listed_bytes != meta.size)
    return; // Not the list's content: open() then checks the file against
            // the list's version (changed: looked at again).
  held_ = true;
  held_content_ = std::move(content);
  held_meta_ = meta;
}

read_outcome file_upload::open(const std::string& full_path, op& begin,
                               std::string& reason) {
  auto r = read_outcome::ok;
  if (!held_) {
    r = in_.open(full_path, reason);
    if (r != read_outcome::ok)
      return r;
    if (listed_ && version_of(in_.state()) != listed_->version) {
      in_.close();
      return read_outcome::changed; // Not the version that was chunked.
    }
  }
  begin = make(op_kind::begin_file);
  begin.size = meta().size;
  begin.mode = meta().mode;
  begin.mtime_ns = meta().mtime_ns;
  stats_.file_bytes = meta().size;
  return r;
}

op file_upload::to_op(delta_instr& instr) {
  if (instr.kind == delta_instr::copy) {
    auto o = make(op_kind::copy_range);
    o.target = std::move(instr.source);
    o.offset = instr.base_offset;
    o.size = instr.length;
    stats_.copied_bytes += instr.length;
    copies_pending_ += instr.length;
    if (!o.target.empty())
      stats_.reused_bytes += instr.length;
    out_offset_ += instr.length;
    return o;
  }
  auto o = make(op_kind::chunk);
  o.offset = out_offset_;
  o.size = instr.data.size();
  stats_.literal_bytes += instr.data.size();
  out_offset_ += instr.data.size();
  // Raw: the sender compresses whole batches in its link's zstd stream,
  // where a chunk is coded against everything sent before it.
  o.data = std::move(instr.data);
  stats_.payload_bytes += o.data.size();
  return o;
}

file_upload::step file_upload::next(op& out, std::string& reason) {
  if (listed_)
    return next_listed(out, reason);
  for (;;) {
    if (!pending_.empty()) {
      out = to_op(pending_.front());
      pending_.pop_front();
      return step::op;
    }
    if (!in_.at_end()) {
      auto r = in_.next(settings_.block_bytes, block_, reason);
      if (r == read_outcome::failed)
        return step::failed;
      if (r != read_outcome::ok)
        return step::torn;
      chunks_.add(block_.data(), block_.size());
      continue;
    }
    if (!chunking_done_) {
      chunking_done_ = true;
      chunks_.finish();
      encoder_.finish(scratch_);
      for (auto& i : scratch_)
        pending_.push_back(std::move(i));
      scratch_.clear();
      continue;
    }
    if (in_.finish() != read_outcome::ok)
      return step::torn;
    out = make(op_kind::commit_file);
    out.size = meta().size;
    out.hash = in_.digest();
    return step::done;
  }
}

read_outcome file_upload::flush_literals(std::string& reason) {
  if (run_bytes_ == 0)
    return read_outcome::ok;
  if (held_) {
    // The list was made of these very bytes.
    encoder_.add_literal(held_content_.data() + run_offset_,
                         static_cast<size_t>(run_bytes_), scratch_);
    run_bytes_ = 0;
    return read_outcome::ok;
  }
  auto r = in_.read_at(run_offset_, static_cast<size_t>(run_bytes_), block_,
                       reason);
  if (r != read_outcome::ok)
    return r;
  // The bytes must be those the list was made of: the version check at
  // open and finish is by fstat, this one by content.
  const char* p = block_.data();
  for (auto i = run_first_; i < next_chunk_; ++i) {
    auto& c = listed_->chunks[i];
    if (XXH3_64bits(p, c.length) != c.hash)
      return read_outcome::changed;
    p += c.length;
  }
  encoder_.add_literal(block_.data(), block_.size(), scratch_);
  run_bytes_ = 0;
  return read_outcome::ok;
}

file_upload::step file_upload::next_listed(op& out, std::string& reason) {
  auto& chunks = listed_->chunks;
  auto flush = [&] {
    auto r = flush_literals(reason);
    return r == read_outcome::ok       ? std::optional<step>{}
           : r == read_outcome::failed ? std::optional<step>{step::failed}
                                       : std::optional<step>{step::torn};
  };
  for (;;) {
    if (!pending_.empty()) {
      out = to_op(pending_.front());
      pending_.pop_front();
      return step::op;
    }
    if (next_chunk_ < chunks.size()) {
      auto& c = chunks[next_chunk_];
      std::string source;
      uint64_t offset = 0;
      if (encoder_.find_copy(c.hash, c.length, source, offset)) {
        if (auto s = flush())
          return *s;
        encoder_.add_copy(source, offset, c.length, scratch_);
      } else {
        // Literal chunks in a row are read at once, up to a block.
        if (run_bytes_ > 0 && run_bytes_ + c.length > settings_.block_bytes)
          if (auto s = flush())
            return *s;
        if (run_bytes_ == 0) {
          run_first_ = next_chunk_;
          run_offset_ = chunk_offset_;
        }
        run_bytes_ += c.length;
      }
      chunk_offset_ += c.length;
      ++next_chunk_;
      move_scratch();
      continue;
    }
    if (!chunking_done_) {
      chunking_done_ = true;
      if (auto s = flush())
        return *s;
      encoder_.finish(scratch_);
      move_scratch();
      continue;
    }
    if (chunk_offset_ != meta().size
        || (!held_ && in_.finish() != read_outcome::ok))
      return step::torn;
    out = make(op_kind::commit_file);
    out.size = meta().size;
    out.hash = listed_->hash;
    return step::done;
  }
}

op file_upload::abort_op() const {
  return make(op_kind::abort_file);
}

} // namespace livesync
