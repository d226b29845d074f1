#include "actors/reference/receiver_detail.hpp"

#include "core/wire/dir_digest.hpp"
#include "core/common/path_rules.hpp"
#include "core/wire/tree_listing.hpp"

#include <spdlog/spdlog.h>

#include <optional>
#include <set>
#include <string_view>

namespace livesync {

using namespace receiver_detail;

namespace {

/// Runs one request handler; an exception (std::bad_alloc, in practice)
/// becomes an ec::internal error reply instead of the receiver's death,
/// which would leave a reference that listens but serves nothing.
template <class F>
auto guarded(const char* request, F&& handler) -> decltype(handler()) {
  try {
    return handler();
  } catch (const std::exception& e) {
    auto reason = printable(e.what(), 1024);
    spdlog::error("request-failed request={} reason={}", request, reason);
    return make_error(ec::internal, std::string{request} + ": " + reason);
  }
}

/// A refused read request: logged and answered with the same one line,
/// under the failure's code. Reasons name peer-supplied paths, so they are
/// escaped like any path.
caf::error refuse(const char* event, const std::string& path,
                  const status& why) {
  auto reason = printable(why.reason(), 1024);
  if (path.empty())
    spdlog::warn("{} reason={}", event, reason);
  else
    spdlog::warn("{} path={} reason={}", event, printable(path), reason);
  return make_error(why.code(), reason);
}

/// One digest per directory of the whole tree (a reconcile's first step).
caf::expected<std::vector<dir_digest>> serve_dir_digests(self_ptr self) {
  std::vector<dir_listing> dirs;
  auto t0 = self->clock().now();
  if (auto err = self->state.writer->reader().walk(dirs);
      !err)
    return refuse("dir-digests-failed", {}, err);
  auto out = make_digest_list(dirs);
  size_t entries = 0;
  for (auto& d : dirs)
    entries += d.entries.size();
  spdlog::info("dir-digests-sent dirs={} entries={} walk_ms={}", out.size(),
               entries,
               std::chrono::duration_cast<std::chrono::milliseconds>(
                 self->clock().now() - t0)
                 .count());
  return out;
}

/// Refuses a read request of more than `max` paths, or one that names a
/// path twice: a watcher never does, and each repeat would cost a whole
/// listing or hash for a few bytes asked.
std::optional<caf::error> refuse_oversized(const char* event,
                                           const std::vector<std::string>& xs,
                                           size_t max, const char* what) {
  if (xs.size() > max)
    return refuse(event, {},
                  status::fail(ec::limit_exceeded, "more than "
                                                     + std::to_string(max)
                                                     + " " + what));
  std::set<std::string_view> seen;
  for (auto& x : xs)
    if (!seen.insert(x).second)
      return refuse(event, x,
                    status::fail(ec::protocol, "named twice in one request"));
  return std::nullopt;
}

/// The listings of the directories a reconcile found different.
caf::expected<std::vector<dir_listing>>
serve_listings(self_ptr self, const std::vector<std::string>& dirs) {
  if (auto bad = refuse_oversized("listings-refused", dirs, max_listing_dirs,
                                  "directories in one listings request"))
    return *bad;
  for (auto& p : dirs)
    if (!p.empty())
      if (auto bad = invalid_path_reason(p))
        return refuse("listings-refused", p,
                      status::fail(ec::invalid_path, *bad));
  std::vector<dir_listing> out;
  std::string failed;
  if (auto err = self->state.writer->reader().listings(
        dirs, max_listing_reply_bytes, out, failed);
      !err)
    return refuse("listings-refused", failed, err);
  size_t entries = 0;
  for (auto& d : out)
    entries += d.entries.size();
  spdlog::info("listings-sent dirs={} of={} entries={}", out.size(),
               dirs.size(), entries);
  return out;
}

/// The content hashes of files (verify, and a watcher that lost its cache).
caf::expected<std::vector<hash128>>
serve_digest(self_ptr self, const std::vector<std::string>& paths) {
  if (auto bad = refuse_oversized("digest-refused", paths, max_digest_paths,
                                  "paths in one digest request"))
    return *bad;
  std::vector<hash128> out;
  out.reserve(paths.size());
  for (auto& p : paths) {
    if (self->state.stopping && self->state.stopping->load())
      return make_error(ec::stopping, "the reference is stopping");
    status err;
    out.push_back(self->state.writer->reader().content_hash(p, err));
    if (!err)
      return refuse("digest-refused", p, err);
  }
  spdlog::debug("digest-sent paths={}", paths.size());
  return out;
}

/// A batch for the writers; one too large is refused whole (in its turn,
/// so the answers keep the batches' order).
caf::result<std::vector<op_error>> route_batch(self_ptr self,
                                               std::vector<op> ops) {
  if (ops.size() > max_ops_per_batch) {
    ++self->state.counters.refused_batches;
    spdlog::warn("batch-refused ops={} max={}", ops.size(),
                 max_ops_per_batch);
    std::vector<op_error> refused{
      {0, ec::limit_exceeded, {},
       "batch larger than " + std::to_string(max_ops_per_batch)
         + " operations"}};
    return queue_batch(self, {}, std::move(refused));
  }
  return queue_batch(self, std::move(ops));
}

} // namespace

receiver_actor::behavior_type
receiver(receiver_actor::stateful_pointer<receiver_state> self,
         std::shared_ptr<tree_writer> writer, bool insecure,
         std::shared_ptr<const std::atomic<bool>> stopping,
         reference_metrics_actor metrics, reference_counters counters,
         writer_pool_options pool) {
  auto& st = self->state;
  st.writer = std::move(writer);
  st.metrics = std::move(metrics);
  st.counters = std::move(counters);
  st.insecure = insecure;
  st.stopping = std::move(stopping);
  pool.writers = std::max<size_t>(pool.writers, 1);
  st.pool = pool;
  st.schedule = std::make_unique<apply_schedule>(
    pool.writers, st.writer->sync() == durability::batch);
  st.writers.resize(pool.writers);
  st.incarnations.resize(pool.writers);
  st.last_used.resize(pool.writers);
  st.sent.resize(pool.writers);
  self->set_down_handler([=](const caf::down_msg& msg) {
    if (msg.source != self->state.peer)
      return;
    auto open = self->state.writer->open_transfers();
    abort_transfers(self);
    self->state.peer = nullptr;
    self->state.peer_identity.clear();
    spdlog::warn("peer-lost reason={} aborted_transfers={}",
                 caf::to_string(msg.reason), open);
    report(self);
  });
  return {
    [=](atom::hello, uint32_t version,
        const std::string& identity) -> caf::result<uint32_t> {
      if (version != protocol_version) {
        ++self->state.counters.refused_peers;
        report(self);
        spdlog::warn("peer-refused reason=protocol-version theirs={} ours={}",
                     version, protocol_version);
        return make_error(ec::protocol, "protocol version mismatch");
      }
      auto& st = self->state;
      auto peer = caf::actor_cast<caf::actor_addr>(self->current_sender());
      if (peer != st.peer) {
        if (st.peer && identity != st.peer_identity) {
          // Two trees into one mirror would make it flip between them.
          ++st.counters.refused_peers;
          report(self);
          spdlog::warn("peer-refused reason=another-watcher theirs={} "
                       "connected={}",
                       printable(identity, 300),
                       printable(st.peer_identity, 300));
          return make_error(
            ec::conflict,
            "another watcher mirrors into this reference ("
              + printable(st.peer_identity, 300)
              + "); stop it, or give each watcher its own reference");
        }
        // New, or the same watcher restarted (its old connection not yet
        // seen to close): it takes over, and the old transfers cannot
        // finish.
        abort_transfers(self);
        if (st.peer)
          self->demonitor(st.peer);
        st.peer = peer;
        st.peer_identity = identity;
        self->monitor(peer);
      }
      // Every hello starts a new compression stream: the watcher's packer
      // is new for each connection.
      self->state.unpacker.reset();
      ++st.counters.connections;
      report(self);
      spdlog::info("peer-connected protocol={} tls={}", version,
                   !self->state.insecure);
      if (self->state.insecure)
        spdlog::warn("insecure-link when=connection detail=plain TCP, "
                     "neither encrypted nor authenticated");
      return protocol_version;
    },
    [=](atom::manifest) -> caf::result<std::vector<manifest_entry>> {
      ++self->state.counters.reconciles;
      report(self);
      using reply = std::vector<manifest_entry>;
      return after_writes<reply>(self, [self] {
        return guarded("manifest", [&]() -> caf::expected<reply> {
          status err;
          auto entries = self->state.writer->reader().manifest(err);
          if (!err)
            return refuse("manifest-failed", {}, err);
          spdlog::info("manifest-sent entries={}", entries.size());
          return entries;
        });
      });
    },
    [=](atom::dir_digests) -> caf::result<std::vector<dir_digest>> {
      ++self->state.counters.reconciles;
      report(self);
      return after_writes<std::vector<dir_digest>>(self, [self] {
        return guarded("dir_digests", [&] { return serve_dir_digests(self); });
      });
    },
    [=](atom::listings, const std::vector<std::string>& dirs)
      -> caf::result<std::vector<dir_listing>> {
      return after_writes<std::vector<dir_listing>>(self, [self, dirs] {
        return guarded("listings",
                       [&] { return serve_listings(self, dirs); });
      });
    },
    [=](atom::recipe, const std::string& path, const chunker_params& params)
      -> caf::result<std::vector<chunk_ref>> {
      using reply = std::vector<chunk_ref>;
      return after_writes<reply>(self, [self, path, params] {
        return guarded("recipe", [&]() -> caf::expected<reply> {
          status err;
          auto r = self->state.writer->reader().recipe_of(path, params, err);
          if (!err)
            return refuse("recipe-refused", path, err);
          spdlog::debug("recipe-sent path={} chunks={}", printable(path),
                        r.size());
          return r;
        });
      });
    },
    [=](atom::digest, const std::vector<std::string>& paths)
      -> caf::result<std::vector<hash128>> {
      return after_writes<std::vector<hash128>>(self, [self, paths] {
        return guarded("digest", [&] { return serve_digest(self, paths); });
      });
    },
    [=](atom::apply, std::vector<op>& ops)
      -> caf::result<std::vector<op_error>> {
      // Transfers belong to the peer of the last hello and die with it: a
      // stranger must not open any.
      auto& st = self->state;
      ++st.counters.batches;
      for (auto& o : ops)
        st.counters.received_bytes += o.data.size();
      if (caf::actor_cast<caf::actor_addr>(self->current_sender())
          != st.peer) {
        ++st.counters.refused_batches;
        report(self);
        return make_error(ec::protocol, "batch without a hello");
      }
      return guarded("apply", [&]() -> caf::result<std::vector<op_error>> {
        return route_batch(self, std::move(ops));
      });
    },
    [=](atom::apply, const packed_batch& batch)
      -> caf::result<std::vector<op_error>> {
      auto& st = self->state;
      ++st.counters.batches;
      st.counters.received_bytes += batch.frame.size();
      if (caf::actor_cast<caf::actor_addr>(self->current_sender())
          != st.peer) {
        // The stream belongs to the peer of the last hello.
        ++st.counters.refused_batches;
        report(self);
        return make_error(ec::protocol, "packed batch without a hello");
      }
      return guarded("apply", [&]() -> caf::result<std::vector<op_error>> {
        std::vector<op> ops;
        if (auto err = st.unpacker.unpack(batch, max_ops_per_batch, ops);
            !err) {
          ++st.counters.refused_batches;
          report(self);
          spdlog::warn("batch-refused packed=true seq={} bytes={} "
                       "reason={}",
                       batch.seq, batch.frame.size(),
                       printable(err.reason(), 1024));
          return make_error(err);
        }
        return route_batch(self, std::move(ops));
      });
    },
  };
}

} // namespace livesync
