// Every typed actor interface of livesync, one comment per handler. The
// receiver's interface is the wire contract between the two nodes: both
// programs and the hostile-client tests speak exactly this.
#pragma once

#include "messages/types.hpp"

#include <cstdint>
#include <vector>

namespace livesync {

/// The protocol version exchanged in the hello; bump on any wire change.
/// 8: op_error carries an ec code; errors are of the "livesync" category.
inline constexpr uint32_t protocol_version = 8;

/// The reference node's one published actor.
using receiver_actor = caf::typed_actor<
  // Handshake: the watcher's protocol version -> the receiver's. Also makes
  // the caller the receiver's current peer (its open transfers are dropped
  // when it goes away).
  // Protocol version, and the watcher's identity ("host:root"): a
  // reference mirrors one watched tree; a second one is refused, the same
  // one restarted takes over.
  caf::replies_to<atom::hello, uint32_t, std::string>::with<uint32_t>,
  // Everything the reference holds, parents before children (verify).
  caf::replies_to<atom::manifest>::with<std::vector<manifest_entry>>,
  // The reconcile's first look: one digest of each directory's listing,
  // parents before children (core/wire/dir_digest.hpp).
  caf::replies_to<atom::dir_digests>::with<std::vector<dir_digest>>,
  // The listings of these directories (at most max_listing_dirs), in order:
  // all, or a prefix once the reply reaches max_listing_reply_bytes (the
  // watcher asks again for the rest). A directory that cannot be listed
  // fails the request.
  caf::replies_to<atom::listings, std::vector<std::string>>::with<
    std::vector<dir_listing>>,
  // The recipe of the file the reference holds at a path, chunked with the
  // given parameters (the watcher has none cached: one round trip).
  caf::replies_to<atom::recipe, std::string, chunker_params>::with<
    std::vector<chunk_ref>>,
  // Applies a batch in order; replies with the ops that failed (empty when
  // all succeeded). A failed op changes nothing and does not stop the batch.
  caf::replies_to<atom::apply, std::vector<op>>::with<std::vector<op_error>>,
  // The same, as the next message of the link's zstd stream (see
  // core/wire/batch_codec.hpp; the stream starts at each hello). A message that
  // cannot be unpacked is an error reply, and so is every later one until
  // the next hello: the watcher reconnects.
  caf::replies_to<atom::apply, packed_batch>::with<std::vector<op_error>>,
  // The content hashes (XXH3-128) of the regular files at these paths, in
  // order (`livesync-watcher verify`); at most max_digest_paths per request.
  // A path that is not a readable regular file fails the request.
  caf::replies_to<atom::digest, std::vector<std::string>>::with<
    std::vector<hash128>>>;

/// Paths per digest request, at most.
inline constexpr size_t max_digest_paths = 1024;

/// Directories per listings request, at most.
inline constexpr size_t max_listing_dirs = 1024;

/// A listings reply ends after the directory that takes it to this many
/// bytes (core/wire/tree_listing's wire_size): 1,024 directories of 10,000
/// entries each would otherwise be one message of about half a GiB.
inline constexpr uint64_t max_listing_reply_bytes = uint64_t{16} << 20;

/// The watcher's tracker: owns the watch table and the watch setup,
/// interprets raw events.
using tracker_actor = caf::typed_actor<
  // From main, once at start: watch the whole tree; replies with the number
  // of directories watched once they all are, or an error (already logged)
  // when the root itself cannot be watched.
  caf::replies_to<atom::watch>::with<uint64_t>,
  // From a walker it spawned: the subdirectories of the directories it
  // was given (core/watcher/watch_walk).
  caf::reacts_to<atom::listed, std::vector<walk_listing>>,
  // One read()'s worth of decoded inotify events.
  caf::reacts_to<atom::events, std::vector<inotify_record>>,
  // Resolves IN_MOVED_FROM events still waiting for a partner.
  caf::reacts_to<atom::tick>,
  // From the reader: every event queued before flush barrier N was read
  // and sent before this message.
  caf::reacts_to<atom::barrier, uint64_t>,
  // Timer: a paced re-walk after IN_Q_OVERFLOW, and the periodic scan of
  // directories the watch limit left unwatched.
  caf::reacts_to<atom::resync>,
  // The number of directories the watch limit left unwatched.
  caf::replies_to<atom::status>::with<uint64_t>>;

/// The sender's inbound interface.
using sender_actor = caf::typed_actor<
  // A settled batch from the debouncer (answers one demand).
  caf::reacts_to<settled>,
  // Timer: try to (re)connect to the reference.
  caf::reacts_to<atom::connect>,
  // Timer: re-dirty paths whose operations failed, after a pause.
  caf::reacts_to<atom::resync>,
  // Continue work that was split to keep the mailbox responsive.
  caf::reacts_to<atom::pump>,
  // Replies once every change made before the request is committed on the
  // reference, with the number of operations the reference refused
  // meanwhile (0: all committed). `true`: wait while the reference is
  // away (one reference); `false`: a link that is not up is an error
  // reply at once (several references: the others must not wait).
  caf::replies_to<atom::flush, bool>::with<uint64_t>,
  // The sender's part of the status.
  caf::replies_to<atom::status>::with<watcher_status>>;

/// The debouncer: coalesces changes until they settle.
using debouncer_actor = caf::typed_actor<
  // Changes from the tracker (or paths to look at again, from the sender).
  caf::reacts_to<std::vector<change>>,
  // Events were lost (IN_Q_OVERFLOW): the next batch asks for a rescan.
  caf::reacts_to<atom::resync>,
  // The sender (the message's sender) can take one more batch.
  caf::reacts_to<atom::demand>,
  // Timer: something may be due.
  caf::reacts_to<atom::tick>,
  // Flush barrier N (from the tracker): hand out everything pending now,
  // quiet or not, and mark the last batch with N.
  caf::reacts_to<atom::barrier, uint64_t>,
  // The number of dirty paths held.
  caf::replies_to<atom::status>::with<uint64_t>>;

/// Between the debouncer and the senders of several references
/// (--references): to each sender it is its debouncer; to the debouncer,
/// its one consumer (core/watcher/fanout_queue.hpp).
using fanout_actor = debouncer_actor::extend<
  // A batch from the debouncer (answers the fanout's demand).
  caf::reacts_to<settled>,
  // The paths this sender's reference still owes (its backlog; 0 before
  // its first demand).
  caf::replies_to<atom::status, caf::actor_addr>::with<uint64_t>>;

/// The reference's metrics file writer (--metrics-file).
/// One of the reference's path writers (actors/reference/path_writer).
using path_writer_actor = caf::typed_actor<
  // Applies the task's ops in order; replies with the ones that failed,
  // indexed within the task.
  caf::replies_to<atom::apply, std::shared_ptr<const writer_task>>::with<
    std::vector<op_error>>,
  // The peer is gone (or replaced): drop every open transfer.
  caf::reacts_to<atom::abort>,
  // Retire (the receiver has no task of it in flight, and it holds no
  // transfer).
  caf::reacts_to<atom::tick>>;

/// One of the watcher's content workers (actors/watcher/content_worker):
/// reads small files whole, or chunks larger ones, for a sender, off the
/// sender's thread.
using content_worker_actor = caf::typed_actor<
  // Fills in the reads (core/watcher/content_read), in order, and hands
  // them back (several small reads per message: a message per file cost
  // more than the read).
  caf::replies_to<atom::read, content_reads>::with<content_reads>>;

using reference_metrics_actor = caf::typed_actor<
  // The receiver's counters after a request that changed them.
  caf::reacts_to<reference_counters>,
  // Timer: a write the pacer held back is due.
  caf::reacts_to<atom::tick>,
  // The reference exits: one last write, running 0; true when written.
  caf::replies_to<atom::final_write>::with<bool>>;

/// The watcher's control interface, published on a loopback port for
/// `livesync-watcher status|flush`.
using control_actor = caf::typed_actor<
  // As the senders' flush, for every reference or the one named
  // ("host:port"; empty: all).
  caf::replies_to<atom::flush, std::string>::with<flush_report>,
  // Everything `status` shows, one element per reference.
  caf::replies_to<atom::status>::with<std::vector<watcher_status>>>;

/// The watcher's metrics file writer (--metrics-file).
using watcher_metrics_actor = caf::typed_actor<
  // Where the status comes from (sent once, after the control actor is
  // spawned: the sender needs this actor's handle before that).
  caf::reacts_to<control_actor>,
  // Something the file shows has changed (from the sender): write it now
  // or, at most one interval later, at the next tick.
  caf::reacts_to<atom::changed>,
  // Timer: a write the pacer held back is due.
  caf::reacts_to<atom::tick>,
  // The watcher exits: one last write, state "stopped"; true when written.
  // Nothing is written after it.
  caf::replies_to<atom::final_write>::with<bool>>;

} // namespace livesync
