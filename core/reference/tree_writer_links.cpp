// Hard links on the reference: the link op, the local copy that stands in
// for a link where the filesystem cannot make one, and the copy that keeps
// an attribute change on the one name it was meant for.
#include "core/reference/tree_writer.hpp"
#include "core/reference/writer_support.hpp"

#include <cerrno>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace livesync {

namespace {

/// linkat refused for a reason a copy gets around: another filesystem
/// mounted inside the root (EXDEV), the inode's link limit (EMLINK), a
/// filesystem without hard links (EPERM, EOPNOTSUPP), or a file not ours
/// under fs.protected_hardlinks (EPERM).
bool link_unavailable(int err) {
  return err == EXDEV || err == EMLINK || err == EPERM || err == EOPNOTSUPP;
}

} // namespace

status tree_writer::do_link(const op& x) {
  if (auto s = check_path(x.path); !s)
    return s;
  if (auto s = check_path(x.target); !s)
    return s;
  if (x.path == x.target)
    return status::fail(ec::protocol, x.path + ": a link to itself");
  parent_handle src;
  if (auto s = open_parent(root_fd_, x.target, src, &access_); !s)
    return s;
  struct stat from;
  int err = with_owner_access(&access_, src.fd.get(), owner_search, [&] {
    return stat_at(src.fd.get(), src.leaf, from);
  });
  if (err == ENOENT)
    return status::fail(ec::not_found,
                        x.path + ": link source " + x.target + " missing");
  if (err != 0)
    return errno_status(x.target + ": stat", err);
  // The watcher links what it believes it sent: anything else at the
  // source would give `path` the wrong content, so refuse, and the watcher
  // sends both again.
  if (!S_ISREG(from.st_mode))
    return status::fail(ec::stale, x.path + ": link source " + x.target
                                     + " is not a regular file");
  if (static_cast<uint64_t>(from.st_size) != x.size
      || mtime_ns_of(from) != x.mtime_ns)
    return status::fail(ec::stale,
                        x.path + ": link source " + x.target
                          + " differs from what the watcher sent there");
  parent_handle dst;
  if (auto s = open_parent(root_fd_, x.path, dst, &access_); !s)
    return s;
  struct stat there;
  err = with_owner_access(&access_, dst.fd.get(), owner_search, [&] {
    return stat_at(dst.fd.get(), dst.leaf, there);
  });
  bool linked = err == 0 && there.st_ino == from.st_ino
                && there.st_dev == from.st_dev;
  if (!linked) {
    // Linked in staging under a fresh name, then one rename(2) over
    // whatever `path` is: readers see the old entry or the new one.
    std::string name;
    for (int attempt = 0;; ++attempt) {
      name = next_staging_name();
      err = with_owner_access(&access_, src.fd.get(), owner_search, [&] {
        return ::linkat(src.fd.get(), src.leaf.c_str(), staging_fd_,
                        name.c_str(), 0)
                   == 0
                 ? 0
                 : errno;
      });
      if (err != EEXIST || attempt + 1 == staging_attempts)
        break;
    }
    if (err != 0 && link_unavailable(err))
      return copy_file(src, x.size, dst, x.path, x.mode & limits_.mode_mask,
                       x.mtime_ns);
    if (err != 0)
      return errno_status(x.path + ": link to " + x.target, err);
    staged_entry staged{staging_fd_, name};
    // Only this writer changes the tree, yet check that the name made is
    // the inode checked above before it replaces anything.
    struct stat made;
    if (stat_at(staging_fd_, name, made) != 0 || made.st_ino != from.st_ino
        || made.st_dev != from.st_dev)
      return status::fail(ec::stale, x.path + ": link source " + x.target
                                       + " changed while linking");
    if (auto s = place(staging_fd_, name, dst, x.path, &access_); !s)
      return s;
    staged.committed();
  }
  // One inode: its mode is every name's, as on the watcher.
  auto mode = x.mode & limits_.mode_mask;
  if ((from.st_mode & 07777) != mode)
    if (int err = chmod_at_nofollow(dst.fd.get(), dst.leaf, mode))
      return errno_status(x.path + ": chmod", err);
  return {};
}

status tree_writer::copy_file(const parent_handle& src, uint64_t size,
                              const parent_handle& dst,
                              const std::string& path, uint32_t mode,
                              int64_t mtime_ns) {
  unique_fd in;
  if (int err = open_for_reading(src, &access_, in); err != 0)
    return errno_status(path + ": open copy source", err);
  struct stat st;
  if (::fstat(in.get(), &st) != 0 || !S_ISREG(st.st_mode)
      || static_cast<uint64_t>(st.st_size) != size)
    return status::fail(ec::stale, path + ": copy source changed");
  staged_entry file{staging_fd_, {}};
  if (auto s = create_content_file(dst.fd.get(), file); !s)
    return s.prefixed(path + ": ");
  if (auto s = copy_bytes(in.get(), 0, file.fd(), 0, size, copy_buf_,
                          stopping_.get(), nullptr);
      !s)
    return s.prefixed(path + ": copy: ");
  shared_->bytes_written += size;
  if (auto s = finish_file(file, dst, path, mode, mtime_ns); !s)
    return s;
  ++shared_->files_committed;
  return {};
}

bool tree_writer::unshare_for_attr(const op& x, const parent_handle& parent,
                                   const struct stat& st, status& result) {
  auto mode = x.mode & limits_.mode_mask;
  uint64_t watcher_links = x.offset > 1 ? x.offset : 1;
  if (!S_ISREG(st.st_mode) || static_cast<uint64_t>(st.st_nlink) <= watcher_links
      || ((st.st_mode & 07777) == mode && mtime_ns_of(st) == x.mtime_ns))
    return false;
  // More names share this inode here than on the watcher (links made
  // before a restart, or a snapshot made with cp -al): chmod(2) would
  // change them all. `path` gets its own copy, with the new attributes.
  result = copy_file(parent, static_cast<uint64_t>(st.st_size), parent, x.path,
                     mode, x.mtime_ns);
  return true;
}

} // namespace livesync
