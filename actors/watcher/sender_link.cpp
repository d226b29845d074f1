// The sender's link to the reference: connecting (the middleman, or a
// local receiver in actor tests), the handshake, the reconcile by
// directory digests (or by the whole manifest when our own walk failed),
// and the loss of the link.
#include "actors/watcher/sender_detail.hpp"

#include "core/common/tcp_probe.hpp"
#include "core/wire/tree_listing.hpp"

#include <caf/openssl/manager.hpp>

#include <spdlog/spdlog.h>

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <malloc.h>
#include <unistd.h>

namespace livesync::sender_detail {

namespace {

/// How long a reference's address may take to accept a connection before
/// the attempt counts as failed (then the backoff, then again).
constexpr auto connect_probe_timeout = std::chrono::seconds(10);

long long millis(std::chrono::nanoseconds t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t).count();
}

void schedule_connect(self_ptr self, std::chrono::nanoseconds after) {
  self->delayed_send(self, caf::timespan{after}, atom::connect_v);
}

/// Frees what the digest reconcile held (the model has it now).
void drop_round(sender_state& st) {
  bool had_walk = !st.round.snapshot.empty();
  st.round = reconcile_round{};
  // The walk held about as much as the model (a few MB per 100,000
  // entries), all freed at once: give the pages back rather than let the
  // idle watcher keep them.
  if (had_walk)
    ::malloc_trim(0);
}

/// The comparison is set up (model and planner): run it. Changes settled
/// while connecting are compared after it.
void begin_reconcile(self_ptr self) {
  auto& st = self->state;
  for (auto& c : st.held)
    st.planner->push(c);
  st.held.clear();
  st.link->begin_reconcile(self->clock().now());
  enter(self);
  start_progress(self);
  pump(self);
}

/// The reference's whole manifest and a full comparison: when our own
/// walk failed (the root cannot be read), as before digests.
void start_reconcile(self_ptr self, std::vector<manifest_entry>& entries) {
  auto& st = self->state;
  st.link->set_reconcile_start(self->clock().now());
  st.model.reset(entries);
  st.planner->clear();
  st.planner->push_full_check();
  spdlog::info("reconcile-start reference_entries={} reference={}",
               entries.size(), reference_name(st.cfg));
  begin_reconcile(self);
}

/// Every listing is here: the model is the reference's tree, and the
/// planner compares the directories whose digests differ.
void finish_digest_reconcile(self_ptr self) {
  auto& st = self->state;
  auto& r = st.round;
  auto t0 = self->clock().now();
  build_model(st.model, r.reference_dirs, r.plan, r.snapshot, r.fetched);
  st.planner->clear();
  for (auto& dir : r.plan.check)
    st.planner->push_listing_check(dir);
  auto now = self->clock().now();
  // digest_ms: from the hello's answer until here (both walks, the
  // digests, the listings); walk_ms: our own walk, part of it.
  spdlog::info("reconcile-start reference_entries={} reference_dirs={} "
               "matched_dirs={} listed_dirs={} compared_dirs={} "
               "digest_ms={} walk_ms={} model_ms={} reference={}",
               st.model.size(), r.reference_dirs.size(),
               r.reference_dirs.size() - r.plan.fetch.size(),
               r.plan.fetch.size(), r.plan.check.size(),
               millis(now - st.link->reconcile_start()), millis(r.walk_time),
               millis(now - t0), reference_name(st.cfg));
  drop_round(st);
  begin_reconcile(self);
}

/// Asks for the listings of plan.fetch from `from` on, a bounded number
/// per request, one request at a time.
void fetch_listings(self_ptr self, size_t from) {
  auto& fetch = self->state.round.plan.fetch;
  if (from >= fetch.size()) {
    finish_digest_reconcile(self);
    return;
  }
  auto n = std::min(max_listing_dirs, fetch.size() - from);
  std::vector<std::string> asked(fetch.begin() + from,
                                 fetch.begin() + from + n);
  ask<std::vector<dir_listing>>(
    self,
    [=](std::vector<dir_listing>& got) {
      std::string why;
      if (!check_fetched(asked, got, why)) {
        link_lost(self, "bad listings from the reference: " + why);
        return;
      }
      // A prefix when the reply reached its byte bound: the rest next.
      auto received = got.size();
      for (auto& d : got)
        self->state.round.fetched.push_back(std::move(d));
      fetch_listings(self, from + received);
    },
    atom::listings_v, asked);
}

void on_digests(self_ptr self, std::vector<dir_digest>& digests) {
  auto& r = self->state.round;
  if (!r.snapshot_ok) {
    // Our walk failed: compare everything against the whole manifest.
    drop_round(self->state);
    ask<std::vector<manifest_entry>>(
      self,
      [=](std::vector<manifest_entry>& entries) {
        start_reconcile(self, entries);
      },
      atom::manifest_v);
    return;
  }
  std::string why;
  if (!expand_digest_list(digests, r.reference_dirs, why)) {
    link_lost(self, "bad digest list from the reference: " + why);
    return;
  }
  r.plan = plan_by_digests(r.reference_dirs, r.snapshot);
  r.fetched.clear();
  fetch_listings(self, 0);
}

/// Walks the watched tree into round.snapshot (while the reference walks
/// its own). Changes from now on are held and compared after the reconcile.
void take_snapshot(self_ptr self) {
  auto& st = self->state;
  auto& r = st.round;
  r.snapshot.clear();
  r.snapshot_ok = false;
  int fd = ::open(st.cfg.root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    spdlog::warn("walk-failed root={} reason={}", st.cfg.root,
                 std::strerror(errno));
    return;
  }
  walk_options opts;
  opts.excludes = st.cfg.excludes.get();
  auto t0 = self->clock().now();
  auto s = walk_listings(fd, opts, r.snapshot);
  r.walk_time = self->clock().now() - t0;
  ::close(fd);
  if (!s) {
    spdlog::warn("walk-failed root={} reason={}", st.cfg.root, s.reason());
    r.snapshot.clear();
    return;
  }
  r.snapshot_ok = true;
  st.planner->note_links(r.snapshot);
}

void handshake(self_ptr self) {
  auto& st = self->state;
  ask<uint32_t>(
    self,
    [=](uint32_t) {
      self->state.link->set_reconcile_start(self->clock().now());
      ask<std::vector<dir_digest>>(
        self,
        [=](std::vector<dir_digest>& digests) { on_digests(self, digests); },
        atom::dir_digests_v);
      // The request is out: the reference walks its tree while we walk
      // ours.
      take_snapshot(self);
    },
    atom::hello_v, protocol_version, st.cfg.identity);
}

/// The reference answered the connect: the link is this actor.
void adopt_peer(self_ptr self, receiver_actor peer) {
  auto& st = self->state;
  st.peer = std::move(peer);
  self->monitor(st.peer);
  spdlog::info("{} host={} port={} tls={}",
               st.link->connected() ? "peer-connected" : "peer-reconnected",
               st.cfg.host, st.cfg.port, st.cfg.tls);
  if (!st.cfg.tls)
    spdlog::warn("insecure-link when=connection detail=plain TCP, "
                 "neither encrypted nor authenticated");
  handshake(self);
}

void connect_failed(self_ptr self, const std::string& reason) {
  auto& st = self->state;
  spdlog::warn("connect-failed host={} port={} reason={} retry_in={}ms",
               st.cfg.host, st.cfg.port, reason,
               millis(st.link->next_backoff()));
  schedule_connect(self, st.link->connect_failed(self->clock().now(), reason));
  enter(self);
  metrics_changed(self);
}

/// The address answered: CAF's connect (middleman, or openssl manager)
/// and the check that the peer is a livesync reference.
void connect_through_caf(self_ptr self) {
  auto& st = self->state;
  auto mm = st.cfg.tls ? self->system().openssl_manager().actor_handle()
                       : self->system().middleman().actor_handle();
  auto rh = self->request(mm, st.cfg.request_timeout, caf::connect_atom::value,
                          st.cfg.host, st.cfg.port);
  auto id = rh.id();
  rh.then(
    [=](const caf::node_id&, caf::strong_actor_ptr& ptr,
        const std::set<std::string>& ifs) {
      forget_request_timeout(self, id);
      if (!ptr || !self->system().assignable<receiver_actor>(ifs)) {
        link_lost(self, "peer is not a livesync reference");
        return;
      }
      adopt_peer(self, caf::actor_cast<receiver_actor>(std::move(ptr)));
    },
    [=](caf::error& err) {
      connect_failed(self, self->system().render(err));
    });
}

/// Answers one probe of a reference's address (an empty reason: it
/// accepted), then quits. Detached: the probe may wait its whole timeout.
caf::behavior tcp_prober(caf::event_based_actor* self) {
  return {
    [=](atom::connect, const std::string& host, uint16_t port) {
      self->quit();
      auto s = tcp_probe(host, port, connect_probe_timeout);
      return s ? std::string{} : s.reason();
    },
  };
}

} // namespace

void link_lost(self_ptr self, const std::string& reason) {
  auto& st = self->state;
  auto was = st.link->state();
  auto pause = st.link->next_backoff();
  auto after = st.link->lose(self->clock().now(), reason);
  if (!after)
    return;
  spdlog::warn("peer-lost phase={} reason={} retry_in={}ms reference={}",
               to_string(was), reason, millis(pause), reference_name(st.cfg));
  if (st.peer)
    self->demonitor(st.peer.address());
  st.peer = nullptr;
  st.upload.reset();
  st.chunking.reset(); // Abandons a claim: another sender chunks it.
  st.awaiting_recipe = false;
  st.ahead.clear(); // Reads out are answered into nothing.
  st.look_ahead_steps = 0;
  st.unsent_reads.clear();
  st.unsent_ids.clear();
  // Everything queued is covered by the full comparison after reconnect.
  st.planner->clear();
  st.held.clear();
  drop_round(st);
  schedule_connect(self, *after);
  enter(self);
  metrics_changed(self);
}

void connect(self_ptr self) {
  auto& st = self->state;
  if (!st.link->start_connect())
    return;
  enter(self);
  metrics_changed(self);
  if (st.cfg.local_peer) {
    // An actor test: the reference lives in this actor system.
    if (auto peer = st.cfg.local_peer())
      adopt_peer(self, std::move(peer));
    else
      connect_failed(self, "no local reference");
    return;
  }
  // Probe the address on a thread of its own first: CAF's connect blocks
  // the one actor that makes every connection of the process for as long
  // as the kernel retries SYNs (core/common/tcp_probe.hpp).
  auto prober = self->spawn<caf::detached>(tcp_prober);
  auto ph = self->request(prober, st.cfg.request_timeout, atom::connect_v,
                          st.cfg.host, st.cfg.port);
  auto pid = ph.id();
  ph.then(
    [=](std::string& why) {
      forget_request_timeout(self, pid);
      if (!why.empty()) {
        connect_failed(self, why);
        return;
      }
      connect_through_caf(self);
    },
    [=](caf::error& err) {
      connect_failed(self, self->system().render(err));
    });
}

} // namespace livesync::sender_detail
