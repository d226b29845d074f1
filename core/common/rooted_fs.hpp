// Filesystem calls confined beneath a held directory fd, never following a
// symlink. The reference applies operations from an untrusted peer; a
// symlink in the mirror (which the peer itself may have created) must never
// carry a read or write outside the root. Every function here resolves one
// component at a time with O_NOFOLLOW, so a symlink or a non-directory in a
// parent position fails the call with ELOOP or ENOTDIR instead.
//
// Functions report errors as errno values (0 on success): callers add the
// path and turn them into a status.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <sys/stat.h>

namespace livesync {

class owner_access;

/// Owns one file descriptor and closes it on destruction. -1 means none.
class unique_fd {
public:
  unique_fd() noexcept = default;
  explicit unique_fd(int fd) noexcept : fd_(fd) {}
  unique_fd(unique_fd&& other) noexcept : fd_(other.release()) {}
  unique_fd& operator=(unique_fd&& other) noexcept;
  unique_fd(const unique_fd&) = delete;
  unique_fd& operator=(const unique_fd&) = delete;
  ~unique_fd();

  int get() const noexcept { return fd_; }
  bool valid() const noexcept { return fd_ >= 0; }

  /// Gives up ownership without closing.
  int release() noexcept;

  /// Closes the held descriptor (if any) and takes `fd`.
  void reset(int fd = -1) noexcept;

private:
  int fd_ = -1;
};

/// Opens the directory `rel` beneath `root_fd`. `rel` is a valid
/// root-relative path (see path_rules) or "" for the root itself. Each
/// component is opened with O_PATH | O_DIRECTORY | O_NOFOLLOW, so a symlink
/// anywhere in `rel` fails with ELOOP or ENOTDIR. The result is an O_PATH
/// descriptor: usable as the dirfd of *at() calls, not for reading.
/// On failure returns an invalid fd and sets `err`. With `access`, a
/// directory on the way that lacks the owner's search bit gets it for the
/// life of `access` (see owner_access), instead of failing with EACCES.
unique_fd open_dir_beneath(int root_fd, std::string_view rel, int& err,
                           owner_access* access = nullptr);

/// With `on`, open_dir_beneath walks component by component, as where
/// openat2 is missing (before Linux 5.6) or filtered by seccomp: tests
/// run both ways. Returns the previous setting.
bool force_component_walk(bool on);

/// `fstatat(dir_fd, name, AT_SYMLINK_NOFOLLOW)`: 0 or errno.
int stat_at(int dir_fd, const std::string& name, struct stat& st);

/// Names in the directory `dir_fd` (which may be an O_PATH descriptor),
/// without "." and "..", sorted bytewise so walks are deterministic.
int list_dir(int dir_fd, std::vector<std::string>& names);

/// Removes `name` in `dir_fd` and, for a directory, everything beneath it,
/// at any depth with two descriptors. A symlink is unlinked, never
/// followed. Directories lacking owner rwx are made accessible first (a
/// mirrored 0500 directory must still be removable). A missing `name` is
/// success.
int remove_tree_at(int dir_fd, const std::string& name);

/// Whether every path beneath directory `name` of `dir_fd` stays within
/// `depth` more components and `length` more bytes (its own name not
/// counted): a rename must not nest a subtree past what any operation may
/// name (path_rules). Walks the directories only as deep as the budget,
/// one descriptor per level, giving itself the owner bits a mirrored mode
/// lacks while it lists (owner_access). 0 when it fits, E2BIG when not, or
/// the errno of the walk.
int subtree_within(int dir_fd, const std::string& name, size_t depth,
                   size_t length);

/// Sets the permission bits of `name` in `dir_fd`, refusing (EOPNOTSUPP)
/// rather than following when `name` is a symlink.
int chmod_at_nofollow(int dir_fd, const std::string& name, uint32_t mode);

/// Sets the mtime of `name` in `dir_fd` (a symlink itself, never its
/// target) to `mtime_ns` since the epoch; atime is left unchanged.
int set_mtime_at_nofollow(int dir_fd, const std::string& name,
                          int64_t mtime_ns);

/// Sets the mtime of the open file `fd`; atime is left unchanged.
int set_mtime_fd(int fd, int64_t mtime_ns);

/// Writes all of `data`, looping on short writes and EINTR.
int write_all(int fd, const void* data, size_t n);

/// `ts` as nanoseconds since the epoch: exact when that fits in int64_t,
/// saturated to INT64_MIN / INT64_MAX beyond.
int64_t ns_since_epoch(const timespec& ts);

/// st_mtim as nanoseconds since the epoch (see ns_since_epoch).
int64_t mtime_ns_of(const struct stat& st);

} // namespace livesync
