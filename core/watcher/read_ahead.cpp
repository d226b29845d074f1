#include "core/watcher/read_ahead.hpp"

namespace livesync {

bool read_ahead::has_room_for(uint64_t bytes) const noexcept {
  if (reads_out_ >= limits_.reads || queue_.size() >= limits_.actions)
    return false;
  // One read always fits, however large, so that progress is made.
  return bytes_held_ == 0 || bytes_held_ + bytes <= limits_.bytes;
}

bool read_ahead::has_room_for_scan(uint64_t bytes) const noexcept {
  return scans_out_ < limits_.scans && queue_.size() < limits_.actions
         && scan_bytes_held_ + bytes <= limits_.scan_bytes;
}

bool read_ahead::may_plan_past(const change* next) const noexcept {
  if (next == nullptr || queue_.size() >= limits_.actions)
    return false;
  if (queue_.empty())
    return true;
  if (next->kind == change::rename || linked_uploads_ > 0)
    return false;
  return uploads_.count(next->path) == 0;
}

void read_ahead::count_upload(const action& a, int delta) {
  if (a.kind != action::upload)
    return;
  if (a.linked) {
    if (delta > 0)
      ++linked_uploads_;
    else
      --linked_uploads_;
  }
  if (delta > 0) {
    ++uploads_[a.path];
  } else if (auto i = uploads_.find(a.path); i != uploads_.end()) {
    if (--i->second == 0)
      uploads_.erase(i);
  }
}

void read_ahead::push(action a) {
  count_upload(a, 1);
  queue_.push_back(slot{std::move(a), nullptr, front_id_ + queue_.size(),
                        false});
}

void read_ahead::count_out(const slot& s, int delta) {
  if (s.read->chunks()) {
    scans_out_ = delta > 0 ? scans_out_ + 1 : scans_out_ - 1;
    return;
  }
  auto bytes = s.a.meta.size;
  if (delta > 0) {
    ++reads_out_;
    bytes_out_ += bytes;
  } else {
    --reads_out_;
    bytes_out_ -= bytes;
  }
}

uint64_t read_ahead::push_read(action a, std::shared_ptr<content_read> r,
                               bool done_now) {
  auto id = front_id_ + queue_.size();
  count_upload(a, 1);
  (r->chunks() ? scan_bytes_held_ : bytes_held_) += a.meta.size;
  queue_.push_back(slot{std::move(a), std::move(r), id, !done_now});
  if (!done_now)
    count_out(queue_.back(), 1);
  return id;
}

bool read_ahead::done(uint64_t id) {
  if (id < front_id_ || id >= front_id_ + queue_.size())
    return false;
  auto& s = queue_[id - front_id_];
  if (!s.pending)
    return false;
  s.pending = false;
  count_out(s, -1);
  return true;
}

std::optional<read_ahead::ready> read_ahead::pop_ready() {
  if (queue_.empty() || queue_.front().pending)
    return std::nullopt;
  auto& s = queue_.front();
  count_upload(s.a, -1);
  if (s.read)
    (s.read->chunks() ? scan_bytes_held_ : bytes_held_) -= s.a.meta.size;
  ready out{std::move(s.a), std::move(s.read)};
  queue_.pop_front();
  ++front_id_;
  return out;
}

const action* read_ahead::peek_plain() const noexcept {
  if (queue_.empty() || queue_.front().read)
    return nullptr;
  return &queue_.front().a;
}

void read_ahead::clear() {
  for (auto& s : queue_)
    if (s.pending)
      s.read->cancelled = true; // A worker that has not begun skips it.
  front_id_ += queue_.size();
  queue_.clear();
  uploads_.clear();
  linked_uploads_ = 0;
  reads_out_ = 0;
  bytes_out_ = 0;
  bytes_held_ = 0;
  scans_out_ = 0;
  scan_bytes_held_ = 0;
}

} // namespace livesync
