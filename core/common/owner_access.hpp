// The reference owns everything it writes, so it must be able to list,
// fill, rename and delete its own directories (and read its own files)
// whatever permission bits the watcher asked for. A mirrored directory of
// mode 0000, 0311 or 0200 must not stop a reference that runs unprivileged
// (as the containers run it): without CAP_DAC_OVERRIDE, the kernel checks
// the owner bits even for the owner.
//
// `owner_access` adds the owner bits one operation needs, for the time of
// that operation, and puts the wanted mode back when it goes out of scope
// (newest grant first). Nothing is changed unless a call failed with EACCES
// or a walk saw the bits missing, so root and ordinary trees pay nothing.
// A grant holds an O_PATH descriptor of the inode itself, so it is restored
// on that inode even when the operation moved it. Should the process die
// between grant and restore, the directory keeps the added bits: its mode
// then differs from the watcher's, the next digest comparison sees it, and
// a set_attr puts it right.
//
// Scopes that may grant on the same inode at the same time (the reference's
// parallel path writers, each filling its own file in one directory) share
// a `shared_grants` table: the first grant records the wanted mode, later
// ones join it, and the last scope to leave puts the mode back. Without a
// table a scope is alone: two concurrent scopes would restore each other's
// grant as the wanted mode.
#pragma once

#include "core/common/rooted_fs.hpp"

#include <cerrno>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

#include <sys/stat.h>
#include <sys/types.h>

namespace livesync {

/// Owner permission bits, as named in what an operation needs.
constexpr mode_t owner_search = S_IXUSR;             // look a name up in it
constexpr mode_t owner_list = S_IRUSR | S_IXUSR;     // readdir + stat children
constexpr mode_t owner_modify = S_IWUSR | S_IXUSR;   // add, remove, rename names
constexpr mode_t owner_read = S_IRUSR;               // read a file's content

/// The grants every scope bound to it holds, by inode: one wanted mode and
/// a count of holders each. Thread-safe.
class shared_grants {
public:
  /// Adds `bits` to the inode open as `fd` for one more holder, or joins
  /// the grant another scope made. `joined` says whether the caller now
  /// holds a grant on it (it must `release` it once); returns what
  /// owner_access::add returns.
  bool acquire(int fd, mode_t bits, bool already_held, bool& joined,
               dev_t& dev, ino_t& ino);

  /// One holder leaves; the last one puts the wanted mode back. 0 or errno.
  int release(dev_t dev, ino_t ino);

  /// Inodes granted now (tests).
  size_t size() const;

private:
  struct entry {
    unique_fd fd;
    mode_t wanted;
    size_t holders;
  };
  mutable std::mutex mtx_;
  std::map<std::pair<dev_t, ino_t>, entry> entries_;
};

class owner_access {
public:
  owner_access() = default;
  /// Grants go through `table`, shared with other scopes (null: alone).
  explicit owner_access(std::shared_ptr<shared_grants> table)
    : table_(std::move(table)) {}
  owner_access(const owner_access&) = delete;
  owner_access& operator=(const owner_access&) = delete;
  ~owner_access() { restore(); }

  /// Adds the owner bits `bits` to the inode open as `fd` (an O_PATH
  /// descriptor is fine) for the life of this scope. Returns true when
  /// something was added, false when the bits were there already or the
  /// change failed (not our inode, read-only filesystem): a retry of the
  /// failed call cannot help then.
  bool add(int fd, mode_t bits);

  /// Adds `bits` to the entry `name` in `dir_fd`, never following a
  /// symlink (opened O_PATH | O_NOFOLLOW; a symlink is left alone).
  bool add_at(int dir_fd, const char* name, mode_t bits);

  /// Puts back every mode this scope changed, newest grant first. Returns 0
  /// or the first errno; the grants are dropped either way.
  int restore();

  /// Number of grants held (tests).
  size_t held() const noexcept { return grants_.size() + held_.size(); }

private:
  struct grant {
    unique_fd fd;
    dev_t dev;
    ino_t ino;
    mode_t wanted;
  };
  std::vector<grant> grants_;
  /// With a table: the inodes this scope holds there, oldest first.
  std::shared_ptr<shared_grants> table_;
  std::vector<std::pair<dev_t, ino_t>> held_;
};

/// `fchmod` for any descriptor, O_PATH ones included: fchmodat2 with
/// AT_EMPTY_PATH (Linux 6.6), else chmod of /proc/self/fd/N. 0 or errno.
int chmod_fd(int fd, mode_t mode);

/// Runs `call` (returns 0 or an errno); when it fails with EACCES and
/// `access` adds `bits` to `dir_fd`, runs it once more. The common case is
/// one call and no stat.
template <class Call>
int with_owner_access(owner_access* access, int dir_fd, mode_t bits,
                      Call&& call) {
  int err = call();
  if (err == EACCES && access != nullptr && access->add(dir_fd, bits))
    err = call();
  return err;
}

} // namespace livesync
