#include "core/reference/writer_support.hpp"

#include "core/common/path_rules.hpp"

#include <algorithm>
#include <cerrno>

#include <fcntl.h>
#include <sys/stat.h>

namespace livesync {

int link_tmpfile(int fd, tmpfile_link how, int dir_fd, const char* name) {
  if (how == tmpfile_link::empty_path)
    return ::linkat(fd, "", dir_fd, name, AT_EMPTY_PATH) == 0 ? 0 : errno;
  // The unprivileged way: the /proc magic link of our own descriptor
  // (it names the open file itself, whatever happened to any path).
  std::string proc = "/proc/self/fd/" + std::to_string(fd);
  return ::linkat(AT_FDCWD, proc.c_str(), dir_fd, name, AT_SYMLINK_FOLLOW)
             == 0
           ? 0
           : errno;
}

status open_parent(int root_fd, const std::string& path, parent_handle& out,
                   owner_access* access, int* walk_err) {
  int err = 0;
  out.fd = open_dir_beneath(root_fd, parent_of(path), err, access);
  out.leaf = std::string{leaf_of(path)};
  if (walk_err != nullptr)
    *walk_err = err;
  if (out.fd.valid())
    return {};
  switch (err) {
    case ENOENT:
      return status::fail(ec::not_found, path + ": parent directory missing");
    case ELOOP:
    case ENOTDIR:
      return status::fail(ec::stale, path + ": a parent is not a directory "
                                            "(symlink or file in the way)");
    default:
      return errno_status(path + ": open parent", err);
  }
}

status one_line(const status& s) {
  return status::fail(s.code(), printable(s.reason(), 1024));
}

status check_path(const std::string& path) {
  if (auto why = invalid_path_reason(path))
    return status::fail(ec::invalid_path,
                        "invalid path '" + path + "': " + *why);
  return {};
}

status place(int staging_fd, const std::string& staged,
             const parent_handle& parent, const std::string& path,
             owner_access* access) {
  int dir = parent.fd.get();
  struct stat st;
  int err = with_owner_access(access, dir, owner_search, [&] {
    return stat_at(dir, parent.leaf, st);
  });
  if (err == 0 && S_ISDIR(st.st_mode)) {
    err = with_owner_access(access, dir, owner_modify, [&] {
      return remove_tree_at(dir, parent.leaf);
    });
    if (err != 0)
      return errno_status(path + ": remove directory in the way", err);
  } else if (err != 0 && err != ENOENT) {
    return errno_status(path + ": stat", err);
  }
  err = with_owner_access(access, dir, owner_modify, [&] {
    return ::renameat(staging_fd, staged.c_str(), dir, parent.leaf.c_str())
               == 0
             ? 0
             : errno;
  });
  if (err != 0)
    return errno_status(path + ": rename into place", err);
  return {};
}

int open_for_reading(const parent_handle& parent, owner_access* access,
                     unique_fd& out) {
  int dir = parent.fd.get();
  auto open = [&] {
    out.reset(::openat(dir, parent.leaf.c_str(),
                       O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK));
    return out.valid() ? 0 : errno;
  };
  int err = with_owner_access(access, dir, owner_search, open);
  if (err == EACCES && access != nullptr
      && access->add_at(dir, parent.leaf.c_str(), owner_read))
    err = open();
  return err;
}

status copy_bytes(int src_fd, uint64_t offset, int dst_fd, uint64_t dst_pos,
                  uint64_t len, std::vector<char>& buf,
                  const std::atomic<bool>* stop, content_hasher* hasher) {
  // One buffer for every copy: a fresh 1 MiB vector per copy_range op cost
  // an mmap, page faults and zeroing each (a few edits in a 1 GiB file are
  // hundreds of copy ops).
  buf.resize(1u << 20);
  uint64_t done = 0;
  bool kernel_copy = true;
  while (done < len) {
    if (stop != nullptr && stop->load(std::memory_order_relaxed))
      return status::fail(ec::stopping, "the reference is stopping");
    auto want = std::min<uint64_t>(buf.size(), len - done);
    auto in_off = static_cast<off_t>(offset + done);
    auto out_off = static_cast<off_t>(dst_pos + done);
    ssize_t n = -1;
    if (kernel_copy) {
      n = ::copy_file_range(src_fd, &in_off, dst_fd, nullptr, want, 0);
      if (n < 0 && (errno == EXDEV || errno == EINVAL || errno == ENOSYS
                    || errno == EOPNOTSUPP)) {
        kernel_copy = false;
        continue;
      }
      if (n > 0 && hasher != nullptr
          && ::pread(dst_fd, buf.data(), static_cast<size_t>(n), out_off) != n)
        return errno_status("read back copied range", errno);
    } else {
      n = ::pread(src_fd, buf.data(), want, in_off);
      if (n > 0)
        if (int err = write_all(dst_fd, buf.data(), static_cast<size_t>(n)))
          return errno_status("write", err);
    }
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return errno_status("copy", errno);
    if (n == 0)
      return status::fail(ec::stale, "copy source shrank");
    if (hasher != nullptr)
      hasher->update(buf.data(), static_cast<size_t>(n));
    done += static_cast<uint64_t>(n);
  }
  return {};
}

} // namespace livesync
