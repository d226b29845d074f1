// The sender turning an upload action into operations: a small file whole,
// a large one as a file_upload (delta against the cached or fetched
// recipe, reuse through the chunk index), one operation per pump step.
#include "actors/watcher/sender_detail.hpp"

#include "core/common/path_rules.hpp"

#include <spdlog/spdlog.h>

namespace livesync::sender_detail {

namespace {

/// Copy work (bytes of copy_range) handed to the reference at a time.
constexpr uint64_t copy_slice_bytes = 32u << 20;

} // namespace

// What to do with a file that could not be read as a consistent version:
// gone or no longer a file -> look again now; changed while read -> look
// again once settled; unreadable -> say so (the next event retries).
// Returns true when `r` is ok and the caller goes on.
bool readable(self_ptr self, const std::string& path, read_outcome r,
              const std::string& reason) {
  switch (r) {
    case read_outcome::ok:
      return true;
    case read_outcome::vanished:
      self->state.planner->upload_failed(path);
      return false;
    case read_outcome::changed:
      retry_read(self, path);
      return false;
    case read_outcome::failed:
      spdlog::warn("read-failed path={} reason={}", printable(path), reason);
      ++self->state.link->counters().unreadable;
      self->state.link->note_error(self->clock().now(),
                                   "read-failed path=" + printable(path)
                                     + " reason=" + reason);
      return false;
  }
  return false;
}

namespace {

/// Another sender's read of the small file `a` in the planned version
/// (several references), or null.
std::shared_ptr<content_read> take_shared_read(self_ptr self, const action& a) {
  auto* shared = self->state.cfg.shared_reads.get();
  if (shared == nullptr)
    return nullptr;
  auto hit = shared->take(a.path, a.meta);
  if (!hit)
    return nullptr;
  auto r = std::make_shared<content_read>();
  r->path = a.path;
  r->outcome = read_outcome::ok;
  r->data = *hit->data;
  r->hash = hit->hash;
  r->meta = hit->meta;
  return r;
}

} // namespace

std::shared_ptr<content_read> read_small_file(self_ptr self, const action& a,
                                            bool cached_only) {
  if (auto r = take_shared_read(self, a))
    return r;
  auto r = std::make_shared<content_read>();
  r->path = a.path;
  r->full_path = self->state.fs->full_path(a.path);
  r->max_bytes = self->state.cfg.small_file_bytes;
  if (!cached_only)
    r->run();
  else if (!r->run_cached())
    return nullptr;
  share_read(self, a.path, *r);
  return r;
}

void send_small_file(self_ptr self, const action& a,
                     std::shared_ptr<content_read> read) {
  auto& st = self->state;
  if (!read)
    read = read_small_file(self, a, false);
  auto& r = *read;
  if (!readable(self, a.path, r.outcome, r.reason))
    return;
  if (r.meta.size > st.cfg.small_file_bytes) {
    // It grew past the threshold meanwhile: stream it instead.
    st.planner->upload_failed(a.path);
    return;
  }
  op o;
  o.kind = op_kind::write_file;
  o.path = a.path;
  o.hash = r.hash;
  o.mode = r.meta.mode;
  o.mtime_ns = r.meta.mtime_ns;
  o.size = r.meta.size;
  auto& c = st.link->counters();
  c.literal_bytes += r.data.size();
  // Raw: the batch is compressed in the link's zstd stream, where this
  // file is coded against every file sent before it.
  o.data = std::move(r.data);
  ++c.files;
  append(self, std::move(o));
  st.planner->uploaded(a.path, r.meta);
}

void share_read(self_ptr self, const std::string& path, const content_read& r) {
  auto* shared = self->state.cfg.shared_reads.get();
  if (shared != nullptr && r.outcome == read_outcome::ok)
    shared->put(path, {std::make_shared<const std::vector<char>>(r.data),
                       r.hash, r.meta});
}

namespace {

// Starts streaming `path` against `base` (the recipe of the version the
// reference holds, or nullptr), from the content and chunk list a content
// worker made ahead (`ahead`, null: read and chunked here as it streams).
void begin_upload(self_ptr self, const std::string& path, const recipe* base,
                  std::shared_ptr<content_read> ahead) {
  auto& st = self->state;
  if (st.cfg.shared_chunks) {
    begin_shared_upload(self, path, base);
    return;
  }
  ++st.link->counters().chunked_files;
  auto up = std::make_unique<file_upload>(
    path, st.next_xfer++, base, st.cfg.upload, &st.recipes,
    ahead ? ahead->list : nullptr);
  if (ahead)
    up->use_content(std::move(ahead->data), ahead->meta);
  op begin;
  std::string reason;
  if (!readable(self, path, up->open(st.fs->full_path(path), begin, reason),
                reason))
    return;
  st.upload = std::move(up);
  append(self, std::move(begin));
}

// No recipe cached for a file the reference holds: ask for it (the one
// round trip of the delta path), then stream against it. Nothing else is
// sent meanwhile, so the order of operations stays that of the planner.
void fetch_recipe_then_upload(self_ptr self, const std::string& path,
                              std::shared_ptr<content_read> ahead) {
  auto& st = self->state;
  st.awaiting_recipe = true;
  ++st.link->counters().round_trips;
  ask_or<std::vector<chunk_ref>>(
    self,
    [=](std::vector<chunk_ref>& r) {
      auto& st = self->state;
      st.awaiting_recipe = false;
      spdlog::debug("recipe-received path={} chunks={}", printable(path),
                    r.size());
      st.recipes.put(path, r);
      begin_upload(self, path, &r, ahead);
      pump(self);
    },
    [=](caf::error& err) {
      auto& st = self->state;
      if (!ec_of(err)) {
        // Not the reference's answer (a timeout, the link gone): the link
        // is lost, and the reconnect compares again.
        link_lost(self, self->system().render(err));
        return;
      }
      // The reference refused it (the file changed there, say): send the
      // whole content.
      st.awaiting_recipe = false;
      ++st.link->counters().fallbacks;
      spdlog::debug("delta-fallback path={} reason=no-recipe detail={}",
                    printable(path), self->system().render(err));
      begin_upload(self, path, nullptr, ahead);
      pump(self);
    },
    atom::recipe_v, path, st.cfg.upload.chunking);
}

} // namespace

void start_upload(self_ptr self, const action& a,
                  std::shared_ptr<content_read> ahead) {
  auto& st = self->state;
  if (ahead && !ahead->list)
    ahead.reset(); // No list (its worker failed): read here.
  if (a.meta.size <= st.cfg.small_file_bytes && !ahead) {
    send_small_file(self, a, nullptr);
    return;
  }
  auto* node = st.model.find(a.path);
  if (node == nullptr || node->meta.kind != entry_kind::file
      || node->meta.size == 0) {
    begin_upload(self, a.path, nullptr, ahead); // Nothing to build on.
    return;
  }
  auto* base = st.recipes.find(a.path);
  if (base != nullptr && recipe_size(*base) != node->meta.size) {
    st.recipes.erase(a.path); // Not the version the reference holds.
    base = nullptr;
  }
  if (base == nullptr) {
    fetch_recipe_then_upload(self, a.path, ahead);
    return;
  }
  begin_upload(self, a.path, base, ahead);
}

void stream_step(self_ptr self) {
  auto& st = self->state;
  auto& up = *st.upload;
  op o;
  std::string reason;
  switch (up.next(o, reason)) {
    case file_upload::step::op:
      append(self, std::move(o));
      // Copies cost the reference time, not the wire bytes: without this
      // a 1 GiB file with a few edits would go as one batch at the end,
      // and the reference would start copying only then.
      if (up.copies_pending() >= copy_slice_bytes) {
        up.copies_handed_over();
        send_batch(self);
      }
      return;
    case file_upload::step::done: {
      auto path = up.path();
      auto meta = up.meta();
      auto& us = up.stats();
      auto& c = st.link->counters();
      c.literal_bytes += us.literal_bytes;
      c.copied_bytes += us.copied_bytes;
      ++c.files;
      spdlog::debug("file-sent path={} size={} literal={} copied={} "
                    "reused={} payload={}",
                    printable(path), us.file_bytes, us.literal_bytes, us.copied_bytes,
                    us.reused_bytes, us.payload_bytes);
      auto r = up.take_recipe();
      st.upload.reset();
      append(self, std::move(o));
      // A large file's commit goes out at once: its recipe is indexed
      // in steps after it (recipe_cache::index_some, from the pump).
      // Smaller files keep sharing batches.
      if (r.size() >= recipe_cache::index_step_chunks)
        send_batch(self);
      st.recipes.put(path, std::move(r));
      st.planner->uploaded(path, meta);
      return;
    }
    case file_upload::step::failed:
      spdlog::warn("read-failed path={} reason={}", printable(up.path()),
                   reason);
      [[fallthrough]];
    case file_upload::step::torn: {
      auto path = up.path();
      auto abort = up.abort_op();
      st.upload.reset();
      append(self, std::move(abort));
      retry_read(self, path);
      return;
    }
  }
}

} // namespace livesync::sender_detail
