#include "core/common/rooted_fs.hpp"

#include "core/common/owner_access.hpp"
#include "core/common/path_rules.hpp"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <memory>

#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace livesync {

// -- unique_fd -----------------------------------------------------------------

unique_fd& unique_fd::operator=(unique_fd&& other) noexcept {
  if (this != &other)
    reset(other.release());
  return *this;
}

unique_fd::~unique_fd() {
  reset();
}

int unique_fd::release() noexcept {
  int fd = fd_;
  fd_ = -1;
  return fd;
}

void unique_fd::reset(int fd) noexcept {
  if (fd_ >= 0)
    ::close(fd_);
  fd_ = fd;
}

// -- path walking --------------------------------------------------------------

namespace {

/// Flags for one step of a walk: a directory, never a symlink. O_PATH needs
/// no read permission, so a mirrored 0311 directory can still be traversed.
constexpr int walk_flags = O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;

timespec to_timespec(int64_t ns) {
  // Floor division keeps tv_nsec in [0, 1e9) for pre-1970 times too.
  constexpr int64_t giga = 1000000000;
  int64_t sec = ns / giga;
  int64_t rem = ns % giga;
  if (rem < 0) {
    rem += giga;
    --sec;
  }
  timespec ts{};
  ts.tv_sec = static_cast<time_t>(sec);
  ts.tv_nsec = static_cast<long>(rem);
  return ts;
}

} // namespace

namespace {

/// Cleared once openat2 turns out to be missing (kernel before 5.6) or
/// filtered (seccomp): the component walk then serves alone.
std::atomic<bool> openat2_usable{true};

/// Set by tests (force_component_walk).
std::atomic<bool> component_walk_forced{false};

/// The whole no-follow walk in one openat2 call: RESOLVE_BENEATH keeps it
/// beneath `root_fd`, RESOLVE_NO_SYMLINKS fails it with ELOOP at any
/// symlink, the last component included. Returns an fd, or -1 with `err`
/// set, or -1 with `err` 0 when openat2 cannot answer (walk instead).
int open_dir_in_one_call(int root_fd, const std::string& rel, int& err) {
  err = 0;
  if (!openat2_usable.load(std::memory_order_relaxed)
      || component_walk_forced.load(std::memory_order_relaxed))
    return -1;
  open_how how{};
  how.flags = walk_flags;
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
  // EAGAIN: a rename elsewhere on the filesystem raced the lookup, which
  // the kernel then refuses to vouch for; a few tries, then the walk.
  for (int attempt = 0; attempt < 3; ++attempt) {
    long fd = ::syscall(SYS_openat2, root_fd, rel.c_str(), &how, sizeof(how));
    if (fd >= 0)
      return static_cast<int>(fd);
    if (errno == EAGAIN || errno == EINTR)
      continue;
    if (errno == ENOSYS || errno == EPERM || errno == EINVAL
        || errno == E2BIG) {
      openat2_usable.store(false, std::memory_order_relaxed);
      return -1;
    }
    err = errno;
    return -1;
  }
  return -1;
}

} // namespace

bool force_component_walk(bool on) {
  return component_walk_forced.exchange(on);
}

unique_fd open_dir_beneath(int root_fd, std::string_view rel, int& err,
                           owner_access* access) {
  err = 0;
  if (!rel.empty()) {
    // A file op walks its parent every time (2 syscalls per component by
    // the walk below, 2 in all this way): fresh each time, so a directory
    // swapped for a symlink between two ops is seen by the second.
    unique_fd fd{open_dir_in_one_call(root_fd, std::string{rel}, err)};
    // err 0: openat2 cannot answer. EACCES with `access`: the walk below
    // finds the directory that lacks its search bit and adds it.
    bool walk = err == 0 || (err == EACCES && access != nullptr);
    if (fd.valid() || !walk)
      return fd;
    err = 0;
  }
  // Start from our own descriptor for the root so the caller always owns
  // what it gets back, even for rel == "".
  unique_fd cur{::openat(root_fd, ".", walk_flags)};
  if (!cur.valid()) {
    err = errno;
    return {};
  }
  for (auto name : split_path(rel)) {
    std::string component{name};
    unique_fd next{::openat(cur.get(), component.c_str(), walk_flags)};
    if (!next.valid() && errno == EACCES && access != nullptr
        && access->add(cur.get(), owner_search))
      next.reset(::openat(cur.get(), component.c_str(), walk_flags));
    if (!next.valid()) {
      err = errno;
      return {};
    }
    cur = std::move(next);
  }
  return cur;
}

int stat_at(int dir_fd, const std::string& name, struct stat& st) {
  return ::fstatat(dir_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0
           ? 0
           : errno;
}

int list_dir(int dir_fd, std::vector<std::string>& names) {
  // Reopen "." for reading: dir_fd may be O_PATH, and fdopendir takes
  // ownership of (and moves the offset of) the descriptor it is given.
  int fd = ::openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return errno;
  DIR* dir = ::fdopendir(fd);
  if (dir == nullptr) {
    int err = errno;
    ::close(fd);
    return err;
  }
  int err = 0;
  for (;;) {
    errno = 0;
    auto* ent = ::readdir(dir);
    if (ent == nullptr) {
      err = errno;
      break;
    }
    if (std::strcmp(ent->d_name, ".") == 0 || std::strcmp(ent->d_name, "..") == 0)
      continue;
    names.emplace_back(ent->d_name);
  }
  ::closedir(dir);
  std::sort(names.begin(), names.end());
  return err;
}

int remove_tree_at(int dir_fd, const std::string& name) {
  struct stat st;
  if (int err = stat_at(dir_fd, name, st); err != 0)
    return err == ENOENT ? 0 : err;
  if (!S_ISDIR(st.st_mode)) {
    // Files, symlinks, fifos...: unlink the entry itself.
    if (::unlinkat(dir_fd, name.c_str(), 0) != 0 && errno != ENOENT)
      return errno;
    return 0;
  }
  // Depth first without recursion, holding one descriptor whatever the
  // depth: each level keeps the names it has left, and the walk climbs
  // back through "..". (The reference is this tree's only writer.)
  struct level {
    std::string name;
    std::vector<std::string> left;
  };
  std::vector<level> path; // from `name` down to the current directory
  unique_fd cur;           // the current directory, O_PATH
  // Enters directory `n` of `parent`. Listing needs r-x and unlinking its
  // children -wx: a mirrored 0500 directory must still be removable.
  auto enter = [&](int parent, const std::string& n, mode_t mode) {
    if ((mode & S_IRWXU) != S_IRWXU)
      chmod_at_nofollow(parent, n, (mode & 07777) | S_IRWXU);
    unique_fd d{::openat(parent, n.c_str(), walk_flags)};
    if (!d.valid())
      return errno;
    level l{n, {}};
    if (int err = list_dir(d.get(), l.left); err != 0)
      return err;
    path.push_back(std::move(l));
    cur = std::move(d);
    return 0;
  };
  if (int err = enter(dir_fd, name, st.st_mode); err != 0)
    return err == ENOENT ? 0 : err;
  while (!path.empty()) {
    auto& top = path.back();
    if (!top.left.empty()) {
      auto child = std::move(top.left.back());
      top.left.pop_back();
      int err = stat_at(cur.get(), child, st);
      if (err == 0 && !S_ISDIR(st.st_mode))
        err = ::unlinkat(cur.get(), child.c_str(), 0) == 0 ? 0 : errno;
      else if (err == 0)
        err = enter(cur.get(), child, st.st_mode);
      if (err != 0 && err != ENOENT)
        return err;
      continue;
    }
    // Empty now: remove it from its parent, the given one at the top.
    unique_fd up;
    if (path.size() > 1) {
      up.reset(::openat(cur.get(), "..", walk_flags));
      if (!up.valid())
        return errno;
    }
    int parent = path.size() > 1 ? up.get() : dir_fd;
    if (::unlinkat(parent, top.name.c_str(), AT_REMOVEDIR) != 0
        && errno != ENOENT)
      return errno;
    path.pop_back();
    cur = std::move(up);
  }
  return 0;
}

int subtree_within(int dir_fd, const std::string& name, size_t depth,
                   size_t length) {
  struct level {
    /// Owner bits this directory got to be listed (mirrored modes may lack
    /// them), given back once its subtree is done: declared first, so the
    /// descriptor below is closed before.
    std::unique_ptr<owner_access> access;
    unique_fd fd;
    size_t length; // bytes of the path below `name` so far
    std::vector<std::string> left;
  };
  std::vector<level> stack;
  auto enter = [&](int parent, const std::string& n, size_t len) {
    level l{std::make_unique<owner_access>(), {}, len, {}};
    int err = 0;
    l.fd = open_dir_beneath(parent, n, err, l.access.get());
    if (!l.fd.valid())
      return err;
    l.access->add(l.fd.get(), owner_list);
    if ((err = list_dir(l.fd.get(), l.left)) != 0)
      return err;
    stack.push_back(std::move(l));
    return 0;
  };
  if (int err = enter(dir_fd, name, 0); err != 0)
    return err;
  while (!stack.empty()) {
    auto& top = stack.back();
    if (top.left.empty()) {
      stack.pop_back();
      continue;
    }
    auto child = std::move(top.left.back());
    top.left.pop_back();
    auto len = top.length + 1 + child.size();
    if (stack.size() > depth || len > length)
      return E2BIG;
    struct stat st;
    if (int err = stat_at(top.fd.get(), child, st); err != 0) {
      if (err == ENOENT)
        continue;
      return err;
    }
    if (!S_ISDIR(st.st_mode))
      continue;
    if (int err = enter(top.fd.get(), child, len); err != 0 && err != ENOENT)
      return err;
  }
  return 0;
}

int chmod_at_nofollow(int dir_fd, const std::string& name, uint32_t mode) {
  // glibc implements AT_SYMLINK_NOFOLLOW by opening the entry with O_PATH |
  // O_NOFOLLOW and refusing symlinks before it changes anything, so the
  // check and the change apply to the same inode (no lstat/chmod race).
  if (::fchmodat(dir_fd, name.c_str(), static_cast<mode_t>(mode),
                 AT_SYMLINK_NOFOLLOW)
      != 0)
    return errno;
  return 0;
}

int set_mtime_at_nofollow(int dir_fd, const std::string& name,
                          int64_t mtime_ns) {
  timespec ts[2];
  ts[0].tv_sec = 0;
  ts[0].tv_nsec = UTIME_OMIT;
  ts[1] = to_timespec(mtime_ns);
  if (::utimensat(dir_fd, name.c_str(), ts, AT_SYMLINK_NOFOLLOW) != 0)
    return errno;
  return 0;
}

int set_mtime_fd(int fd, int64_t mtime_ns) {
  timespec ts[2];
  ts[0].tv_sec = 0;
  ts[0].tv_nsec = UTIME_OMIT;
  ts[1] = to_timespec(mtime_ns);
  return ::futimens(fd, ts) == 0 ? 0 : errno;
}

int write_all(int fd, const void* data, size_t n) {
  auto* p = static_cast<const char*>(data);
  while (n > 0) {
    auto got = ::write(fd, p, n);
    if (got < 0) {
      if (errno == EINTR)
        continue;
      return errno;
    }
    p += got;
    n -= static_cast<size_t>(got);
  }
  return 0;
}

int64_t ns_since_epoch(const timespec& ts) {
  // A filesystem may hold times more than 292 years from 1970 (tmpfs keeps
  // the mtime_ns INT64_MIN a peer sets as -9223372037 s + 145224192 ns),
  // where tv_sec * 1e9 overflows. Exact whenever the result fits, so every
  // int64_t that set_mtime_* wrote reads back the same; saturated beyond.
  constexpr int64_t giga = 1000000000;
  int64_t sec = ts.tv_sec;
  int64_t nsec = ts.tv_nsec;
  if (sec < 0 && nsec > 0) {
    // Same sign for both parts: the product may then be one second less
    // negative than the result, which keeps INT64_MIN reachable.
    ++sec;
    nsec -= giga;
  }
  int64_t out = 0;
  if (__builtin_mul_overflow(sec, giga, &out)
      || __builtin_add_overflow(out, nsec, &out))
    return sec < 0 ? INT64_MIN : INT64_MAX;
  return out;
}

int64_t mtime_ns_of(const struct stat& st) {
  return ns_since_epoch(st.st_mtim);
}

} // namespace livesync
