// Whole files on the reference: a file sent in one op (write_file) is built
// unnamed in its directory (O_TMPFILE) or named in staging, given its mode
// and mtime, and committed in one step; streamed transfers end the same way.
#include "core/reference/tree_writer.hpp"
#include "core/reference/writer_support.hpp"

#include "core/wire/compress.hpp"
#include "core/wire/content_hash.hpp"
#include "core/common/rooted_fs.hpp"

#include <algorithm>
#include <cerrno>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace livesync {

namespace {

/// O_TMPFILE refused because the filesystem (EOPNOTSUPP) or the kernel
/// (EISDIR, EINVAL: older ones) lacks it: worth building in staging.
bool tmpfile_unsupported(int err) {
  return err == EOPNOTSUPP || err == EISDIR || err == EINVAL;
}

} // namespace

std::string tree_writer::next_staging_name() {
  return std::to_string(shared_->next_staging_id++) + ".tmp";
}

status tree_writer::create_staging_file(std::string& name, int& fd) {
  for (int attempt = 0;; ++attempt) {
    name = next_staging_name();
    // Read-write: ranges copied in by the kernel are read back for the hash.
    fd = ::openat(staging_fd_, name.c_str(),
                  O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd >= 0)
      return {};
    if (errno != EEXIST || attempt + 1 == staging_attempts)
      return errno_status("create staging file", errno);
  }
}

status tree_writer::create_content_file(int dir_fd, staged_entry& out) {
  if (link_ != tmpfile_link::none) {
    // Unnamed until complete, in the target's directory: ext4 allocates
    // the inode near its directory's (one staging dir put every new inode
    // in one group, where scanning past recently deleted inodes cost most
    // of the reference's CPU in a bulk sync). "." never follows a symlink.
    int fd = -1;
    int err = with_owner_access(&access_, dir_fd, owner_modify, [&] {
      fd = ::openat(dir_fd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
      return fd >= 0 ? 0 : errno;
    });
    if (fd >= 0) {
      out.adopt({}, fd);
      return {};
    }
    if (!tmpfile_unsupported(err))
      return errno_status("create file", err);
    // A filesystem mounted inside the root may lack O_TMPFILE: staging.
  }
  std::string name;
  int fd = -1;
  if (auto s = create_staging_file(name, fd); !s)
    return s;
  out.adopt(std::move(name), fd);
  return {};
}

status tree_writer::link_into_place(staged_entry& file,
                                    const parent_handle& parent,
                                    const std::string& path) {
  // Nothing there (every file of an initial sync): the complete file
  // appears under its name in one step.
  int err = with_owner_access(&access_, parent.fd.get(), owner_modify, [&] {
    return link_tmpfile(file.fd(), link_, parent.fd.get(), parent.leaf.c_str());
  });
  if (err == 0)
    return {};
  if (err != EEXIST)
    return errno_status(path + ": link into place", err);
  // linkat cannot replace: name the file in staging (a crash now leaves
  // it there, removed at the next open), then one rename(2) over the old
  // entry, which readers see switch from old to new.
  for (int attempt = 0;; ++attempt) {
    auto name = next_staging_name();
    err = link_tmpfile(file.fd(), link_, staging_fd_, name.c_str());
    if (err == 0) {
      file.named(std::move(name));
      break;
    }
    if (err != EEXIST || attempt + 1 == staging_attempts)
      return errno_status(path + ": link into staging", err);
  }
  return place(staging_fd_, file.name(), parent, path, &access_);
}

status tree_writer::finish_file(staged_entry& file,
                                const parent_handle& parent,
                                const std::string& path, uint32_t mode,
                                int64_t mtime_ns) {
  // fchmod on our own descriptor: the umask never applies, and no path is
  // resolved, so nothing can redirect it.
  if (::fchmod(file.fd(), static_cast<mode_t>(mode)) != 0)
    return errno_status(path + ": chmod new file", errno);
  // Last: any write would move the mtime again.
  if (int err = set_mtime_fd(file.fd(), mtime_ns); err != 0)
    return errno_status(path + ": set mtime", err);
  // fsync before the link or rename, or a crash can leave the new name
  // pointing at an empty or partial file; the directory after, or the
  // new name itself may be lost.
  bool sync = limits_.sync == durability::file;
  if (sync && ::fsync(file.fd()) != 0)
    return errno_status(path + ": fsync", errno);
  if (file.name().empty()) {
    if (auto s = link_into_place(file, parent, path); !s)
      return s;
  } else if (auto s = place(staging_fd_, file.name(), parent, path, &access_);
             !s) {
    return s;
  }
  file.committed();
  if (sync) {
    // The walk holds O_PATH descriptors, which fsync refuses: open the
    // directory itself (".", never a symlink) for that.
    unique_fd dir;
    int err = with_owner_access(&access_, parent.fd.get(), owner_list, [&] {
      dir.reset(::openat(parent.fd.get(), ".",
                         O_RDONLY | O_DIRECTORY | O_CLOEXEC));
      return dir.valid() ? 0 : errno;
    });
    if (err == 0 && ::fsync(dir.get()) != 0)
      err = errno;
    if (err != 0)
      return errno_status(path + ": fsync directory", err);
  }
  return {};
}

status tree_writer::do_write_file(const op& x) {
  if (auto s = check_path(x.path); !s)
    return s;
  if (x.size > limits_.max_data_bytes || x.data.size() > limits_.max_data_bytes)
    return status::fail(ec::limit_exceeded,
                        x.path + ": data larger than "
                          + std::to_string(limits_.max_data_bytes) + " bytes");
  std::vector<char> decoded;
  if (auto s = decode(x, decoded); !s)
    return s.prefixed(x.path + ": ");
  const auto& data = x.encoding == data_encoding::raw ? x.data : decoded;
  if (data.size() != x.size)
    return status::fail(ec::hash_mismatch,
                        x.path + ": data has " + std::to_string(data.size())
                          + " bytes, size says " + std::to_string(x.size));
  // Checked before any byte touches the disk: a bad op creates nothing.
  if (hash_bytes(data.data(), data.size()) != x.hash)
    return status::fail(ec::hash_mismatch, x.path + ": hash mismatch");
  // Walked first: a bad parent costs no staging write. The same handle is
  // used for the commit, which follows without a gap.
  parent_handle parent;
  if (auto s = open_parent(root_fd_, x.path, parent, &access_); !s)
    return s;
  staged_entry file{staging_fd_, {}};
  if (auto s = create_content_file(parent.fd.get(), file); !s)
    return s.prefixed(x.path + ": ");
  if (int err = write_all(file.fd(), data.data(), data.size()))
    return errno_status(x.path + ": write", err);
  shared_->bytes_written += data.size();
  if (auto s = finish_file(file, parent, x.path, x.mode & limits_.mode_mask,
                           x.mtime_ns);
      !s)
    return s;
  ++shared_->files_committed;
  return {};
}

status tree_writer::decode(const op& x, std::vector<char>& out) {
  switch (x.encoding) {
    case data_encoding::raw:
      return {};
    case data_encoding::zstd:
      return decompress_exact(x.data.data(), x.data.size(), x.size, out);
  }
  return status::fail(ec::protocol,
                      "unknown data encoding "
                        + std::to_string(static_cast<int>(x.encoding)));
}

} // namespace livesync
