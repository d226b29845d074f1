#include "core/common/owner_access.hpp"

#include <algorithm>
#include <atomic>
#include <string>

#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef SYS_fchmodat2
#define SYS_fchmodat2 452 // the same number on every architecture
#endif

namespace livesync {

namespace {

/// Cleared once fchmodat2 turns out to be missing (before Linux 6.6) or
/// filtered (seccomp): /proc serves alone then.
std::atomic<bool> fchmodat2_usable{true};

} // namespace

int chmod_fd(int fd, mode_t mode) {
  if (fchmodat2_usable.load(std::memory_order_relaxed)) {
    if (::syscall(SYS_fchmodat2, fd, "", mode, AT_EMPTY_PATH) == 0)
      return 0;
    if (errno == ENOSYS || errno == EINVAL)
      fchmodat2_usable.store(false, std::memory_order_relaxed);
    else if (errno != EPERM) // EPERM: maybe a seccomp filter; try /proc.
      return errno;
  }
  // The magic link names the inode the descriptor holds, wherever it is
  // now; chmod follows it to exactly that inode.
  auto proc = "/proc/self/fd/" + std::to_string(fd);
  return ::chmod(proc.c_str(), mode) == 0 ? 0 : errno;
}

bool owner_access::add(int fd, mode_t bits) {
  if (table_) {
    struct stat st;
    if (::fstat(fd, &st) != 0)
      return false;
    auto key = std::make_pair(st.st_dev, st.st_ino);
    bool mine = std::find(held_.begin(), held_.end(), key) != held_.end();
    bool joined = false;
    dev_t dev;
    ino_t ino;
    bool added = table_->acquire(fd, bits, mine, joined, dev, ino);
    if (joined)
      held_.emplace_back(dev, ino);
    return added;
  }
  struct stat st;
  if (::fstat(fd, &st) != 0)
    return false;
  auto have = static_cast<mode_t>(st.st_mode & 07777);
  if ((have & bits) == bits)
    return false;
  // A second grant on the same inode keeps the first one's wanted mode.
  bool known = std::any_of(grants_.begin(), grants_.end(), [&](const grant& g) {
    return g.dev == st.st_dev && g.ino == st.st_ino;
  });
  if (!known) {
    unique_fd own{::fcntl(fd, F_DUPFD_CLOEXEC, 0)};
    if (!own.valid())
      return false;
    grants_.push_back(grant{std::move(own), st.st_dev, st.st_ino, have});
  }
  if (chmod_fd(fd, have | bits) != 0) {
    if (!known)
      grants_.pop_back();
    return false;
  }
  return true;
}

bool owner_access::add_at(int dir_fd, const char* name, mode_t bits) {
  unique_fd fd{::openat(dir_fd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC)};
  if (!fd.valid())
    return false;
  struct stat st;
  if (::fstat(fd.get(), &st) != 0 || S_ISLNK(st.st_mode))
    return false; // A symlink has no permission bits that matter.
  return add(fd.get(), bits);
}

int owner_access::restore() {
  int first = 0;
  for (auto i = held_.rbegin(); i != held_.rend(); ++i)
    if (int err = table_->release(i->first, i->second); err != 0 && first == 0)
      first = err;
  held_.clear();
  for (auto i = grants_.rbegin(); i != grants_.rend(); ++i)
    if (int err = chmod_fd(i->fd.get(), i->wanted); err != 0 && first == 0)
      first = err;
  grants_.clear();
  return first;
}

bool shared_grants::acquire(int fd, mode_t bits, bool already_held,
                            bool& joined, dev_t& dev, ino_t& ino) {
  joined = false;
  std::lock_guard<std::mutex> guard{mtx_};
  // Under the lock: another scope's grant or restore cannot come between
  // what we see here and what we change.
  struct stat st;
  if (::fstat(fd, &st) != 0)
    return false;
  dev = st.st_dev;
  ino = st.st_ino;
  auto have = static_cast<mode_t>(st.st_mode & 07777);
  auto i = entries_.find({dev, ino});
  if ((have & bits) == bits) {
    // Present: another scope's grant made them so (our call failed before
    // it came), or the inode never lacked them. Joining keeps that grant
    // alive while we retry.
    if (i == entries_.end() || already_held)
      return false;
    ++i->second.holders;
    joined = true;
    return true;
  }
  if (i == entries_.end()) {
    unique_fd own{::fcntl(fd, F_DUPFD_CLOEXEC, 0)};
    if (!own.valid())
      return false;
    if (chmod_fd(fd, have | bits) != 0)
      return false;
    entries_.emplace(std::make_pair(dev, ino), entry{std::move(own), have, 1});
    joined = true;
    return true;
  }
  if (chmod_fd(fd, have | bits) != 0)
    return false;
  if (!already_held) {
    ++i->second.holders;
    joined = true;
  }
  return true;
}

int shared_grants::release(dev_t dev, ino_t ino) {
  std::lock_guard<std::mutex> guard{mtx_};
  auto i = entries_.find({dev, ino});
  if (i == entries_.end() || --i->second.holders > 0)
    return 0;
  int err = chmod_fd(i->second.fd.get(), i->second.wanted);
  entries_.erase(i);
  return err;
}

size_t shared_grants::size() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return entries_.size();
}

} // namespace livesync
