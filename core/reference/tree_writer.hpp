// Applies watcher operations to the reference tree, safely and atomically.
// Used by the receiver actor; knows nothing about actors or the network.
//
// Every path is validated (path_rules) and every filesystem call resolves
// beneath the root without following a symlink in any component (an
// O_NOFOLLOW walk from the held root fd). A file sent whole is built as an
// unnamed O_TMPFILE in its target directory and linked in once complete (a
// replaced file: named in staging, then one rename(2) over the old one); a
// streamed file is built in a staging file inside `<root>/.livesync/staging/`
// and committed with one rename(2). Readers never see a half-written file,
// and a crash leaves nothing but staging files, removed at the next open.
// One writer is not thread-safe: one owner. Several writers of one tree
// (sibling()) may apply ops on different paths at the same time, each on
// its own thread: they share the root, the staging folder, the limits on
// the peer, the counters and the owner-access grants (writer_shared), and
// each keeps the transfers opened through it. Which ops may run side by
// side is the caller's business (core/reference/apply_schedule). Its reads
// (digests, listings, recipes, hashes) are core/reference/tree_reader,
// reached as reader().
#pragma once

#include "core/wire/chunker.hpp"
#include "core/wire/entry.hpp"
#include "core/wire/op.hpp"
#include "core/common/owner_access.hpp"
#include "core/common/status.hpp"
#include "core/reference/tree_reader.hpp"

#include <atomic>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <vector>

struct stat;

namespace livesync {

class staged_entry;
struct parent_handle;
struct writer_shared;

/// When committed data is forced to stable storage.
enum class durability : uint8_t {
  /// Never explicitly: a crash of the host (not of the process) may lose
  /// recent commits, but never exposes a torn file. rsync's default.
  none,
  /// fsync each file before its rename, and its directory after: every
  /// acknowledged commit survives a power loss. Slowest.
  file,
  /// syncfs once per received batch, before it is acknowledged.
  batch,
};

/// Parses "none", "file" or "batch".
bool parse_durability(const std::string& text, durability& out);

/// Where a file sent whole (write_file) is built before its commit.
enum class build_site : uint8_t {
  /// An unnamed O_TMPFILE in the target's own directory, linked in when
  /// complete: one create per file, its inode allocated near its directory
  /// (ext4), and nothing to clean up after a crash. Falls back to staging
  /// where the filesystem or kernel has no O_TMPFILE, or no way to link it.
  tmpfile,
  /// A named file in `.livesync/staging`, renamed into place.
  staging,
};

/// How an O_TMPFILE file gets its name (probed by tree_writer::open).
enum class tmpfile_link : uint8_t {
  /// No O_TMPFILE here (or it cannot be linked): staging only.
  none,
  /// linkat(fd, "", AT_EMPTY_PATH): needs CAP_DAC_READ_SEARCH.
  empty_path,
  /// linkat("/proc/self/fd/N", AT_SYMLINK_FOLLOW): needs /proc.
  proc_fd,
};

/// Limits on what one peer may ask of the writer, and how it commits.
struct writer_limits {
  /// Largest `data` in a write_file or chunk op.
  uint64_t max_data_bytes = 8u << 20;
  /// Most transfers open at once.
  size_t max_open_transfers = 64;
  /// Most source files one transfer copies ranges from.
  size_t max_copy_sources = 16;
  /// Most copy sources open across all transfers (each holds a
  /// descriptor): set from the process's descriptor limit.
  uint64_t max_source_fds = 512;
  /// Bytes announced by all open transfers together (begin_file sizes):
  /// a peer cannot reserve more staging space than this.
  uint64_t max_staging_bytes = uint64_t{64} << 30;
  /// Permission bits kept from an op's mode. The default strips setuid and
  /// setgid, so a watcher cannot plant a setuid binary on the reference.
  uint32_t mode_mask = 01777;
  durability sync = durability::none;
  build_site site = build_site::tmpfile;
};

/// Counters for logs and status.
struct writer_stats {
  uint64_t ops = 0;
  uint64_t errors = 0;
  uint64_t files_committed = 0;
  uint64_t bytes_written = 0;
};

class tree_writer {
public:
  /// Opens (creating if missing) `root` and its state folder, and removes
  /// stale staging files left by an earlier run.
  static std::unique_ptr<tree_writer> open(const std::string& root,
                                           writer_limits limits,
                                           status& err);

  /// Another writer of the same tree, for ops on other paths in parallel:
  /// same root, limits, counters and grants; its own transfers.
  std::unique_ptr<tree_writer> sibling() const;

  ~tree_writer();
  tree_writer(const tree_writer&) = delete;
  tree_writer& operator=(const tree_writer&) = delete;

  /// Applies one operation (see op_kind for the semantics of each kind).
  /// A refused or failed op changes nothing that was committed and leaves
  /// the writer usable for the next op.
  status apply(const op& x);

  /// Ends a batch of operations: with durability::batch, forces everything
  /// written so far to stable storage.
  status end_batch();

  /// Drops every open transfer and its staging file (on peer loss).
  void abort_all();

  /// True when transfer `xfer` was closed by an earlier failure (its later
  /// chunks and commit fail as an echo of that one error).
  bool was_dropped(uint64_t xfer) const;

  /// Counters of all the writers of this tree.
  writer_stats stats() const noexcept;
  /// Transfers open in all the writers of this tree.
  size_t open_transfers() const noexcept;
  /// Transfers open in this writer.
  size_t own_transfers() const noexcept { return transfers_.size(); }
  const std::string& root() const noexcept { return root_; }
  /// The reads of the same tree (digests, listings, recipes, hashes).
  const tree_reader& reader() const noexcept { return reader_; }

  /// How whole files are linked in: `none` when they are built in staging.
  tmpfile_link linking() const noexcept { return link_; }

  /// When commits are forced to stable storage.
  durability sync() const noexcept { return limits_.sync; }

  /// Once `*flag` is set, long loops (a copy of gigabytes a few bytes of
  /// copy_range asked for, a recipe or hash of a large file) stop between
  /// two blocks and fail, so the node exits promptly.
  void stop_when(std::shared_ptr<const std::atomic<bool>> flag) {
    reader_.stop_when(flag);
    stopping_ = std::move(flag);
  }

private:
  struct transfer;
  explicit tree_writer(std::shared_ptr<writer_shared> shared);

  status apply_impl(const op& x);

  // One handler per op_kind; each validates its own fields first.
  status do_mkdir(const op& x);
  status do_symlink(const op& x);
  status do_remove(const op& x);
  status do_rename(const op& x);
  status do_set_attr(const op& x);
  status do_write_file(const op& x);
  status do_begin_file(const op& x);
  status do_chunk(const op& x);
  status do_commit_file(const op& x);
  status do_abort_file(const op& x);
  status do_copy_range(const op& x);
  status do_link(const op& x);
  /// Makes `dst`/leaf (`path`) a new file holding a copy of the `size`
  /// bytes of the regular file `src`/leaf, with `mode` and `mtime_ns`,
  /// atomically replacing what is there. Stands in for a link the
  /// filesystem cannot make, and gives a name its own inode.
  status copy_file(const parent_handle& src, uint64_t size,
                   const parent_handle& dst, const std::string& path,
                   uint32_t mode, int64_t mtime_ns);
  /// set_attr `x` of the file `st` at `parent`/leaf: when more names share
  /// its inode here than on the watcher, gives `x.path` its own copy with
  /// the new attributes (into `result`) and returns true.
  bool unshare_for_attr(const op& x, const parent_handle& parent,
                        const struct stat& st, status& result);
  /// Appends `len` bytes at `offset` of `src_fd` to transfer `t` and hashes
  /// them.
  status copy_into(int src_fd, uint64_t offset, uint64_t len, transfer& t);
  void forget_transfer(std::map<uint64_t, std::unique_ptr<transfer>>::iterator i);
  /// Decodes zstd `data` into `out` (exactly `size` bytes); raw data is
  /// left where it is (`out` stays empty).
  static status decode(const op& x, std::vector<char>& out);

  /// A fresh name in the staging folder ("<id>.tmp"); callers create it
  /// with O_EXCL and retry on EEXIST.
  std::string next_staging_name();

  /// Creates an empty staging file (mode 0600); sets `name` and `fd`.
  status create_staging_file(std::string& name, int& fd);

  /// Creates the empty file (mode 0600) a whole file is built in: unnamed
  /// in `dir_fd` (the target's directory) when O_TMPFILE works, else in
  /// staging. `out` takes charge of it.
  status create_content_file(int dir_fd, staged_entry& out);

  /// Gives the built file its mode and mtime, then commits it to `path`.
  status finish_file(staged_entry& file, const parent_handle& parent,
                     const std::string& path, uint32_t mode,
                     int64_t mtime_ns);

  /// Names the unnamed `file` at `parent`/leaf: linkat when nothing is
  /// there, else linkat into staging and rename(2) over what is there.
  status link_into_place(staged_entry& file, const parent_handle& parent,
                         const std::string& path);

  /// First: outlives the transfers, whose guards unlink through it.
  std::shared_ptr<writer_shared> shared_;
  std::string root_;
  int root_fd_;
  int staging_fd_;
  writer_limits limits_;
  tmpfile_link link_ = tmpfile_link::none;
  std::map<uint64_t, std::unique_ptr<transfer>> transfers_;
  std::deque<uint64_t> dropped_;
  std::vector<char> copy_buf_;
  std::shared_ptr<const std::atomic<bool>> stopping_;
  tree_reader reader_;
  /// True once stop_when's flag is set.
  bool stopping() const noexcept {
    return stopping_ && stopping_->load(std::memory_order_relaxed);
  }
  /// Owner bits the op being applied added to directories (and files) it
  /// could not otherwise use; apply() restores them after each op.
  owner_access access_;
};

} // namespace livesync
