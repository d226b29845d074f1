#include "core/watcher/local_tree.hpp"

#include "core/common/rooted_fs.hpp"

#include <algorithm>
#include <cerrno>
#include <fcntl.h>
#include <unistd.h>

namespace livesync {

fs_stat to_fs_stat(const struct stat& st) {
  fs_stat out;
  switch (st.st_mode & S_IFMT) {
    case S_IFREG: out.meta.kind = entry_kind::file; break;
    case S_IFDIR: out.meta.kind = entry_kind::dir; break;
    case S_IFLNK: out.meta.kind = entry_kind::symlink; break;
    default: out.unsupported = true; return out;
  }
  out.meta.mode = static_cast<uint32_t>(st.st_mode & 07777);
  out.meta.size = out.meta.kind == entry_kind::dir
                    ? 0
                    : static_cast<uint64_t>(st.st_size);
  out.meta.mtime_ns = ns_since_epoch(st.st_mtim);
  out.ctime_ns = ns_since_epoch(st.st_ctim);
  out.inode = static_cast<uint64_t>(st.st_ino);
  out.nlink = static_cast<uint64_t>(st.st_nlink);
  return out;
}

namespace {

/// Errors that mean nothing of ours is there: the path (or a parent) is
/// gone, a parent is no longer a directory (or is a symlink loop now), or
/// the path is too long to be one. Anything else (EACCES, EIO, ...) means
/// the watcher cannot tell.
bool seen_as_absent(int err) {
  return err == ENOENT || err == ENOTDIR || err == ELOOP
         || err == ENAMETOOLONG;
}

fs_stat unknown_stat() {
  fs_stat out;
  out.unknown = true;
  return out;
}

} // namespace

local_tree::local_tree(std::string root) : root_(std::move(root)) {
  while (root_.size() > 1 && root_.back() == '/')
    root_.pop_back();
}

std::string local_tree::full_path(std::string_view path) const {
  std::string out = root_;
  if (!path.empty()) {
    out.push_back('/');
    out.append(path);
  }
  return out;
}

fs_stat local_tree::stat(std::string_view path) const {
  auto full = full_path(path);
  struct stat st;
  if (::lstat(full.c_str(), &st) != 0)
    return seen_as_absent(errno) ? fs_stat{} : unknown_stat();
  auto out = to_fs_stat(st);
  if (out.meta.kind == entry_kind::symlink) {
    std::string buf(static_cast<size_t>(st.st_size) + 1, '\0');
    // The link may change between lstat and readlink: retry with a bigger
    // buffer until the text fits.
    for (;;) {
      auto n = ::readlink(full.c_str(), buf.data(), buf.size());
      if (n < 0) // EINVAL: no longer a symlink; its event will say what.
        return seen_as_absent(errno) || errno == EINVAL ? fs_stat{}
                                                        : unknown_stat();
      if (static_cast<size_t>(n) < buf.size()) {
        buf.resize(static_cast<size_t>(n));
        break;
      }
      buf.resize(buf.size() * 2);
    }
    out.meta.target = std::move(buf);
    out.meta.size = out.meta.target.size();
  }
  return out;
}

bool local_tree::list(std::string_view path,
                      std::vector<std::string>& out) const {
  out.clear();
  // O_PATH needs no read permission: list_dir's own open says EACCES.
  // O_NOFOLLOW: a directory swapped for a symlink since its stat is not
  // listed through the link.
  unique_fd dir{::open(full_path(path).c_str(),
                       O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)};
  int err = dir.valid() ? list_dir(dir.get(), out) : errno;
  if (err != 0)
    out.clear(); // cut short: its missing names must not read as deletions
  return err == 0 || seen_as_absent(err);
}

} // namespace livesync
