// What the parts of tree_writer share: the guard of a file being built,
// the parent directory an op's path resolves to, and the few steps every
// op is made of (resolve the parent, place an entry, open a source, copy
// bytes). Internal to core/reference/tree_writer*.cpp.
#pragma once

#include "core/wire/content_hash.hpp"
#include "core/common/owner_access.hpp"
#include "core/common/rooted_fs.hpp"
#include "core/common/status.hpp"
#include "core/reference/tree_writer.hpp"

#include <atomic>
#include <map>
#include <cstdint>
#include <string>
#include <vector>

#include <unistd.h>

namespace livesync {

/// How often a staging name is retried when it already exists (only a
/// second writer on the same root, or a stale file, can cause that).
inline constexpr int staging_attempts = 16;

/// A file being built, and its name in the staging folder if it has one
/// (an O_TMPFILE file has none until it is linked): the name is unlinked
/// when this guard goes away, unless the file was moved into the tree.
/// Makes every failure path leave no staging debris behind.
class staged_entry {
public:
  staged_entry(int staging_fd, std::string name, int fd = -1)
    : staging_fd_(staging_fd), name_(std::move(name)), fd_(fd) {}
  staged_entry(const staged_entry&) = delete;
  staged_entry& operator=(const staged_entry&) = delete;
  ~staged_entry() {
    fd_.reset();
    if (!name_.empty())
      ::unlinkat(staging_fd_, name_.c_str(), 0);
  }

  const std::string& name() const noexcept { return name_; }
  int fd() const noexcept { return fd_.get(); }

  /// Takes charge of a file created after this guard (`name` empty: an
  /// unnamed O_TMPFILE file).
  void adopt(std::string name, int fd) {
    name_ = std::move(name);
    fd_.reset(fd);
  }

  /// The file has just been linked into staging as `name`.
  void named(std::string name) { name_ = std::move(name); }

  /// The entry now lives in the tree: nothing to clean up.
  void committed() {
    fd_.reset();
    name_.clear();
  }

private:
  int staging_fd_;
  std::string name_;
  unique_fd fd_;
};

/// What the writers of one tree share (tree_writer::sibling): the root and
/// staging folder (closed with the last writer), the limits on the peer
/// and what is taken of them, the counters, the owner-access grants.
struct writer_shared {
  writer_shared(std::string root, int root_fd, int staging_fd,
                writer_limits limits, tmpfile_link link)
    : root(std::move(root)),
      root_fd(root_fd),
      staging_fd(staging_fd),
      limits(limits),
      link(link) {}
  ~writer_shared() {
    ::close(staging_fd);
    ::close(root_fd);
  }
  writer_shared(const writer_shared&) = delete;
  writer_shared& operator=(const writer_shared&) = delete;

  const std::string root;
  const int root_fd;
  const int staging_fd;
  const writer_limits limits;
  const tmpfile_link link;
  std::atomic<uint64_t> next_staging_id{0};
  // Counters (writer_stats).
  std::atomic<uint64_t> ops{0};
  std::atomic<uint64_t> errors{0};
  std::atomic<uint64_t> files_committed{0};
  std::atomic<uint64_t> bytes_written{0};
  // Taken of the limits by the open transfers of all writers.
  std::atomic<uint64_t> open_transfers{0};
  std::atomic<uint64_t> staging_bytes{0};
  std::atomic<uint64_t> open_sources{0};
  std::shared_ptr<shared_grants> grants = std::make_shared<shared_grants>();
};

/// Adds `n` to `taken` unless that would pass `limit`: true when added.
/// Exact under concurrency (a compare-exchange loop).
inline bool take_within(std::atomic<uint64_t>& taken, uint64_t n,
                        uint64_t limit) {
  auto now = taken.load(std::memory_order_relaxed);
  do {
    if (n > limit || now > limit - n)
      return false;
  } while (!taken.compare_exchange_weak(now, now + n,
                                        std::memory_order_relaxed));
  return true;
}

/// The parent directory of an op's path, opened beneath the root.
struct parent_handle {
  unique_fd fd;
  std::string leaf;
};

/// One streaming file transfer: its target, announced metadata, and the
/// staging file being filled.
struct tree_writer::transfer {
  explicit transfer(int staging_fd) : file(staging_fd, {}) {}
  transfer(const transfer&) = delete;
  transfer& operator=(const transfer&) = delete;
  /// Gives back what it took of the shared limits, however it ends.
  ~transfer() {
    if (taken == nullptr)
      return;
    taken->open_transfers -= 1;
    taken->staging_bytes -= size;
    taken->open_sources -= sources.size();
  }

  /// Where its slot, its `size` and one per source are counted (set once
  /// they are taken).
  writer_shared* taken = nullptr;
  std::string path;
  uint64_t size = 0;
  uint32_t mode = 0;
  int64_t mtime_ns = 0;
  uint64_t written = 0;
  content_hasher hasher;
  staged_entry file;
  /// Files ranges are copied from, opened once: source path -> (fd, size).
  std::map<std::string, std::pair<unique_fd, uint64_t>> sources;
};

/// Gives the unnamed (O_TMPFILE) file `fd` the name `name` in `dir_fd`:
/// 0 or errno (EEXIST when `name` is taken: linkat never replaces).
int link_tmpfile(int fd, tmpfile_link how, int dir_fd, const char* name);

/// Opens the parent of the (validated) `path` with a no-follow walk and
/// explains a failure in words: a symlink or file in a parent position is
/// the case that matters for security, so it gets its own message. A
/// directory on the way that lacks its search bit gets it from `access`.
status open_parent(int root_fd, const std::string& path, parent_handle& out,
                   owner_access* access, int* walk_err = nullptr);

/// `s` as one bounded line of text: a status reason goes into logs and
/// replies, yet paths may hold any byte but '/' and be 4 KiB long.
status one_line(const status& s);

/// Refuses a path that path_rules rejects, naming the path.
status check_path(const std::string& path);

/// Moves the staged entry `staged` to `leaf` in `parent` with one rename(2).
/// A directory in the way is removed first (rename cannot replace a
/// directory by a non-directory); a file or symlink is replaced atomically.
status place(int staging_fd, const std::string& staged,
             const parent_handle& parent, const std::string& path,
             owner_access* access);

/// Opens the regular file `parent`/leaf for reading, never following a
/// symlink: a parent without its search bit or a file without its read bit
/// gets it from `access`. 0 or errno.
int open_for_reading(const parent_handle& parent, owner_access* access,
                     unique_fd& out);

/// Appends `len` bytes at `offset` of `src_fd` to `dst_fd`, whose file
/// position is `dst_pos`: copy_file_range inside the kernel (sharing
/// extents where the filesystem can), else read + write through `buf`.
/// Feeds the bytes to `hasher` in file order when given (read back from the
/// page cache after a kernel copy). Stops between two blocks once `*stop`
/// is set.
status copy_bytes(int src_fd, uint64_t offset, int dst_fd, uint64_t dst_pos,
                  uint64_t len, std::vector<char>& buf,
                  const std::atomic<bool>* stop, content_hasher* hasher);

} // namespace livesync
