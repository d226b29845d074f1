// The wire form of everything the nodes and actors exchange: inspect()
// overloads for the plain core/ structs, the atoms, and ONE type-ID block.
// Both nodes register the same block, so they agree on the type names.
#pragma once

#include "core/watcher/change.hpp"
#include "core/wire/chunker.hpp"
#include "core/watcher/debounce_policy.hpp"
#include "core/wire/dir_digest.hpp"
#include "core/wire/entry.hpp"
#include "core/watcher/event_interpreter.hpp"
#include "core/wire/op.hpp"
#include "core/reference/apply_schedule.hpp"
#include "core/reference/reference_metrics.hpp"
#include "core/watcher/watcher_status.hpp"
#include "core/watcher/watch_walk.hpp"
#include "core/watcher/content_read.hpp"
#include "messages/errors.hpp"

#include <caf/all.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace livesync {

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, hash128& x) {
  return f(caf::meta::type_name("livesync.hash128"), x.lo, x.hi);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, entry_meta& x) {
  return f(caf::meta::type_name("livesync.entry_meta"), x.kind, x.mode, x.size,
           x.mtime_ns, x.target);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, chunk_ref& x) {
  return f(caf::meta::type_name("livesync.chunk_ref"), x.hash, x.length);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, chunker_params& x) {
  return f(caf::meta::type_name("livesync.chunker_params"), x.min_size,
           x.avg_size, x.max_size);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, manifest_entry& x) {
  return f(caf::meta::type_name("livesync.manifest_entry"), x.path, x.meta);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, listed_entry& x) {
  return f(caf::meta::type_name("livesync.listed_entry"), x.name, x.meta);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, dir_listing& x) {
  return f(caf::meta::type_name("livesync.dir_listing"), x.path, x.entries,
           x.complete);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, dir_digest& x) {
  return f(caf::meta::type_name("livesync.dir_digest"), x.parent, x.name,
           x.digest);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, op& x) {
  return f(caf::meta::type_name("livesync.op"), x.kind, x.path, x.target,
           x.mode, x.mtime_ns, x.size, x.xfer, x.offset, x.data, x.encoding,
           x.hash);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, packed_batch& x) {
  return f(caf::meta::type_name("livesync.packed_batch"), x.seq, x.raw_size,
           x.checksum, x.stored_size, x.frame);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, op_error& x) {
  return f(caf::meta::type_name("livesync.op_error"), x.index, x.code,
           x.path, x.detail);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, change& x) {
  return f(caf::meta::type_name("livesync.change"), x.kind, x.path, x.to,
           x.flags);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, settled& x) {
  return f(caf::meta::type_name("livesync.settled"), x.renames, x.paths,
           x.rescan, x.first_event_ns, x.barrier);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, inotify_record& x) {
  return f(caf::meta::type_name("livesync.inotify_record"), x.wd, x.mask,
           x.cookie, x.name);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, walk_task& x) {
  return f(caf::meta::type_name("livesync.walk_task"), x.wd, x.path, x.walk);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, walk_listing& x) {
  return f(caf::meta::type_name("livesync.walk_listing"), x.wd, x.path,
           x.walk, x.error, x.subdirs);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, link_counters& x) {
  return f(caf::meta::type_name("livesync.link_counters"), x.ops, x.requests,
           x.bytes, x.files, x.literal_bytes, x.copied_bytes, x.payload_bytes,
           x.round_trips, x.fallbacks, x.errors, x.unreadable, x.reconnects,
           x.chunked_files, x.shared_chunk_lists, x.worker_reads);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, watcher_status& x) {
  return f(caf::meta::type_name("livesync.watcher_status"), x.state, x.root,
           x.reference, x.tls, x.uptime_s, x.since_in_sync_s,
           x.pending_paths, x.queued_checks, x.in_flight_bytes,
           x.unwatched_dirs, x.last_error, x.last_error_code,
           x.last_error_age_s, x.counters,
           x.latency_samples, x.latency_p50_us, x.latency_p90_us,
           x.latency_p99_us, x.latency_max_us, x.latency_buckets,
           x.latency_sum_ns, x.progress);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, flush_report& x) {
  return f(caf::meta::type_name("livesync.flush_report"), x.refused,
           x.unreachable);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, reference_counters& x) {
  return f(caf::meta::type_name("livesync.reference_counters"), x.root,
           x.start_time_s, x.running, x.watcher, x.connections,
           x.refused_peers, x.batches, x.refused_batches, x.received_bytes,
           x.ops, x.op_errors, x.files_committed, x.written_bytes,
           x.reconciles, x.open_transfers);
}

} // namespace livesync

CAF_BEGIN_TYPE_ID_BLOCK(livesync, caf::first_custom_type_id)
  CAF_ADD_TYPE_ID(livesync, (livesync::hash128))
  CAF_ADD_TYPE_ID(livesync, (livesync::entry_meta))
  CAF_ADD_TYPE_ID(livesync, (livesync::manifest_entry))
  CAF_ADD_TYPE_ID(livesync, (std::vector<livesync::manifest_entry>))
  CAF_ADD_TYPE_ID(livesync, (livesync::chunk_ref))
  CAF_ADD_TYPE_ID(livesync, (std::vector<livesync::chunk_ref>))
  CAF_ADD_TYPE_ID(livesync, (livesync::chunker_params))
  CAF_ADD_TYPE_ID(livesync, (livesync::op))
  CAF_ADD_TYPE_ID(livesync, (std::vector<livesync::op>))
  CAF_ADD_TYPE_ID(livesync, (livesync::packed_batch))
  CAF_ADD_TYPE_ID(livesync, (livesync::op_error))
  CAF_ADD_TYPE_ID(livesync, (std::vector<livesync::op_error>))
  CAF_ADD_TYPE_ID(livesync, (livesync::change))
  CAF_ADD_TYPE_ID(livesync, (std::vector<livesync::change>))
  CAF_ADD_TYPE_ID(livesync, (livesync::settled))
  CAF_ADD_TYPE_ID(livesync, (livesync::inotify_record))
  CAF_ADD_TYPE_ID(livesync, (std::vector<livesync::inotify_record>))
  CAF_ADD_TYPE_ID(livesync, (livesync::walk_task))
  CAF_ADD_TYPE_ID(livesync, (std::vector<livesync::walk_task>))
  CAF_ADD_TYPE_ID(livesync, (livesync::walk_listing))
  CAF_ADD_TYPE_ID(livesync, (std::vector<livesync::walk_listing>))
  CAF_ADD_TYPE_ID(livesync, (std::vector<livesync::hash128>))
  CAF_ADD_TYPE_ID(livesync, (livesync::watcher_status))
  CAF_ADD_TYPE_ID(livesync, (std::vector<livesync::watcher_status>))
  CAF_ADD_TYPE_ID(livesync, (livesync::flush_report))
  CAF_ADD_TYPE_ID(livesync, (livesync::listed_entry))
  CAF_ADD_TYPE_ID(livesync, (livesync::dir_listing))
  CAF_ADD_TYPE_ID(livesync, (std::vector<livesync::dir_listing>))
  CAF_ADD_TYPE_ID(livesync, (livesync::dir_digest))
  CAF_ADD_TYPE_ID(livesync, (std::vector<livesync::dir_digest>))
  CAF_ADD_TYPE_ID(livesync, (livesync::reference_counters))
  CAF_ADD_ATOM(livesync, livesync::atom, apply, "apply")
  CAF_ADD_ATOM(livesync, livesync::atom, manifest, "manifest")
  CAF_ADD_ATOM(livesync, livesync::atom, hello, "hello")
  CAF_ADD_ATOM(livesync, livesync::atom, demand, "demand")
  CAF_ADD_ATOM(livesync, livesync::atom, events, "events")
  CAF_ADD_ATOM(livesync, livesync::atom, tick, "tick")
  CAF_ADD_ATOM(livesync, livesync::atom, pump, "pump")
  CAF_ADD_ATOM(livesync, livesync::atom, connect, "lsconnect")
  CAF_ADD_ATOM(livesync, livesync::atom, resync, "resync")
  CAF_ADD_ATOM(livesync, livesync::atom, recipe, "recipe")
  CAF_ADD_ATOM(livesync, livesync::atom, digest, "digest")
  CAF_ADD_ATOM(livesync, livesync::atom, flush, "lsflush")
  CAF_ADD_ATOM(livesync, livesync::atom, status, "lsstatus")
  CAF_ADD_ATOM(livesync, livesync::atom, barrier, "barrier")
  CAF_ADD_ATOM(livesync, livesync::atom, dir_digests, "dirdigests")
  CAF_ADD_ATOM(livesync, livesync::atom, listings, "listings")
  CAF_ADD_ATOM(livesync, livesync::atom, changed, "changed")
  CAF_ADD_ATOM(livesync, livesync::atom, final_write, "finalwrite")
  CAF_ADD_ATOM(livesync, livesync::atom, watch, "lswatch")
  CAF_ADD_ATOM(livesync, livesync::atom, listed, "listed")
  CAF_ADD_ATOM(livesync, livesync::atom, abort, "lsabort")
  // The receiver's task for one of its path writers: in-process only (a
  // shared pointer, so a task bounced by a writer that just retired is
  // sent again without a copy).
  CAF_ADD_TYPE_ID(livesync, (std::shared_ptr<const livesync::writer_task>))
  // A small file read on one of the watcher's content workers: in-process
  // only (the sender owns it; one worker fills it at a time).
  CAF_ADD_ATOM(livesync, livesync::atom, read, "lsread")
  CAF_ADD_TYPE_ID(livesync, (livesync::content_reads))
CAF_END_TYPE_ID_BLOCK(livesync)

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::shared_ptr<const livesync::writer_task>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(livesync::content_reads)
