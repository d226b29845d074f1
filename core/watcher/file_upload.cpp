#include "core/watcher/file_upload.hpp"

namespace livesync {

file_upload::file_upload(std::string path, uint64_t xfer, const recipe* base,
                         upload_settings settings, const chunk_locator* others)
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
            }) {
  // nop
}

op file_upload::make(op_kind kind) const {
  op o;
  o.kind = kind;
  o.path = path_;
  o.xfer = xfer_;
  return o;
}

read_outcome file_upload::open(const std::string& full_path, op& begin,
                               std::string& reason) {
  auto r = in_.open(full_path, reason);
  if (r != read_outcome::ok)
    return r;
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

op file_upload::abort_op() const {
  return make(op_kind::abort_file);
}

} // namespace livesync
