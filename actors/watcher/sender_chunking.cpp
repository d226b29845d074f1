// Several references: a large file is chunked once for all the senders
// (core/watcher/chunk_list_cache). The sender that asks first for a
// version reads and chunks it (chunk_scan, a bounded slice per pump, so
// that its mailbox is served meanwhile), then gives the list to the
// others; a sender that asks while another chunks it waits to be woken
// (a pump message), then takes the list. Each then streams its own delta
// from the list (file_upload), reading only what its reference lacks.
#include "actors/watcher/sender_detail.hpp"

#include "core/common/path_rules.hpp"

#include <spdlog/spdlog.h>

namespace livesync::sender_detail {

namespace {

// Streams the file from its chunk list, against the base recipe.
void stream_listed(self_ptr self, std::shared_ptr<const chunk_list> list) {
  auto& st = self->state;
  auto ch = std::move(st.chunking);
  auto up = std::make_unique<file_upload>(
    ch->path, st.next_xfer++, ch->has_base ? &ch->base : nullptr,
    st.cfg.upload, &st.recipes, std::move(list));
  op begin;
  std::string reason;
  if (!readable(self, ch->path,
                up->open(st.fs->full_path(ch->path), begin, reason), reason))
    return;
  st.upload = std::move(up);
  append(self, std::move(begin));
}

// Asks the cache for the list of the version on disk now: takes it, waits
// for the sender chunking it, or chunks it.
void ask_for_list(self_ptr self) {
  auto& st = self->state;
  auto& ch = *st.chunking;
  auto scan = std::make_unique<chunk_scan>(st.cfg.upload.chunking);
  std::string reason;
  if (!readable(self, ch.path,
                scan->open(st.fs->full_path(ch.path), reason), reason)) {
    st.chunking.reset();
    return;
  }
  auto version = scan->version();
  caf::weak_actor_ptr weak{self->ctrl()};
  auto wake = [weak] {
    if (auto strong = weak.lock())
      caf::anon_send(caf::actor_cast<sender_actor>(strong), atom::pump_v);
  };
  std::shared_ptr<const chunk_list> list;
  auto& cache = st.cfg.shared_chunks;
  auto& c = st.link->counters();
  switch (cache->take(ch.path, version, self->id(), wake, list)) {
    case chunk_list_cache::answer::hit:
      ++c.shared_chunk_lists;
      stream_listed(self, std::move(list));
      return;
    case chunk_list_cache::answer::wait:
      ch.waiting = true; // Woken by a pump message; the file is closed.
      return;
    case chunk_list_cache::answer::produce:
      ++c.chunked_files;
      ch.waiting = false;
      ch.claim = std::make_unique<chunk_claim>(cache, ch.path, version);
      ch.scan = std::move(scan);
      return;
  }
}

} // namespace

void begin_shared_upload(self_ptr self, const std::string& path,
                         const recipe* base) {
  auto& st = self->state;
  st.chunking = std::make_unique<shared_chunking>();
  st.chunking->path = path;
  if (base != nullptr) {
    st.chunking->has_base = true;
    st.chunking->base = *base;
  }
  ask_for_list(self);
}

bool chunking_step(self_ptr self) {
  auto& st = self->state;
  auto& ch = *st.chunking;
  if (ch.waiting) {
    ask_for_list(self); // Woken, or a pump for other reasons: ask again.
    return st.chunking == nullptr || !st.chunking->waiting;
  }
  std::string reason;
  uint64_t done = 0;
  while (!ch.scan->at_end()) {
    // A slice per pump message (sender_config::chunk_slice_bytes): a few
    // milliseconds, then the mailbox (acks, status, a stop) comes first.
    if (done >= st.cfg.chunk_slice_bytes) {
      if (!st.pump_scheduled) {
        st.pump_scheduled = true;
        self->send(self, atom::pump_v);
      }
      return false;
    }
    auto before = ch.scan->offset();
    auto r = ch.scan->step(st.cfg.upload.block_bytes, reason);
    if (r != read_outcome::ok) {
      auto path = ch.path;
      st.chunking.reset(); // Abandons the claim: a waiter takes over.
      readable(self, path, r, reason);
      return true;
    }
    done += ch.scan->offset() - before;
  }
  auto list = std::make_shared<chunk_list>();
  if (ch.scan->finish(*list) != read_outcome::ok) {
    auto path = ch.path;
    st.chunking.reset();
    retry_read(self, path);
    return true;
  }
  ch.claim->fulfil(list);
  stream_listed(self, std::move(list));
  return true;
}

} // namespace livesync::sender_detail
