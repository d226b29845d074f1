// The filesystem around the tree_writer fuzz target: a temp dir holding the
// writer's root and, beside it, an "outside" tree that no op may touch,
// reached from inside the root only through symlinks. Plus the observer's
// tools: a no-follow lookup and snapshots of whole trees.
#pragma once

#include "check.hpp"

#include "core/common/rooted_fs.hpp"

#include <cerrno>
#include <climits>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace livesync::fuzz {

/// What a snapshot keeps of one entry: enough to see any replacement,
/// chmod, touch, write or new link.
struct entry_state {
  mode_t mode = 0; // type and permission bits
  ino_t ino = 0;
  nlink_t nlink = 0;
  off_t size = 0;
  int64_t mtime_ns = 0;
  std::string text; // symlink target, or file content when asked for

  bool operator==(const entry_state& o) const {
    return mode == o.mode && ino == o.ino && nlink == o.nlink
           && size == o.size && mtime_ns == o.mtime_ns && text == o.text;
  }
  bool operator!=(const entry_state& o) const { return !(*this == o); }
};

using tree_snapshot = std::map<std::string, entry_state>;

/// st_mtim in nanoseconds, computed wide and saturated (a peer can set
/// times the 64-bit product overflows on).
inline int64_t mtime_of(const struct stat& st) {
  auto ns = static_cast<__int128>(st.st_mtim.tv_sec) * 1000000000
            + st.st_mtim.tv_nsec;
  if (ns < INT64_MIN)
    return INT64_MIN;
  return ns > INT64_MAX ? INT64_MAX : static_cast<int64_t>(ns);
}

inline std::string read_all(int fd) {
  std::string out;
  char buf[4096];
  for (;;) {
    auto n = ::read(fd, buf, sizeof buf);
    if (n <= 0)
      return out;
    out.append(buf, static_cast<size_t>(n));
  }
}

/// Names in directory `fd` (not consumed), without "." and "..".
inline std::vector<std::string> names_in(int fd) {
  std::vector<std::string> out;
  int dup_fd = ::openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  FUZZ_CHECK(dup_fd >= 0);
  DIR* dir = ::fdopendir(dup_fd);
  FUZZ_CHECK(dir != nullptr);
  while (auto* e = ::readdir(dir)) {
    std::string name = e->d_name;
    if (name != "." && name != "..")
      out.push_back(name);
  }
  ::closedir(dir);
  return out;
}

/// Adds everything beneath `dir_fd` to `out`, never following symlinks.
/// `skip` (at the top level only) is left out; `contents` reads files too.
inline void snapshot_into(int dir_fd, const std::string& prefix,
                          tree_snapshot& out, const std::string& skip,
                          bool contents) {
  for (const auto& name : names_in(dir_fd)) {
    if (prefix.empty() && name == skip)
      continue;
    struct stat st;
    FUZZ_CHECK(::fstatat(dir_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0);
    auto path = prefix.empty() ? name : prefix + "/" + name;
    entry_state e{st.st_mode, st.st_ino, st.st_nlink,
                  S_ISDIR(st.st_mode) ? 0 : st.st_size, mtime_of(st), {}};
    if (S_ISLNK(st.st_mode)) {
      char buf[PATH_MAX];
      auto n = ::readlinkat(dir_fd, name.c_str(), buf, sizeof buf);
      FUZZ_CHECK(n >= 0);
      e.text.assign(buf, static_cast<size_t>(n));
    } else if (S_ISREG(st.st_mode) && contents) {
      int fd = ::openat(dir_fd, name.c_str(),
                        O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
      FUZZ_CHECK(fd >= 0);
      e.text = read_all(fd);
      ::close(fd);
    }
    out.emplace(path, e);
    if (S_ISDIR(st.st_mode)) {
      int sub = ::openat(dir_fd, name.c_str(),
                         O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      FUZZ_CHECK(sub >= 0);
      snapshot_into(sub, path, out, skip, contents);
      ::close(sub);
    }
  }
}

inline tree_snapshot snapshot(int dir_fd, const std::string& skip,
                              bool contents) {
  tree_snapshot out;
  snapshot_into(dir_fd, "", out, skip, contents);
  return out;
}

/// The parent directory of a relative `path` beneath `root_fd`, opened
/// without following any symlink, and the leaf; -1 when there is none.
inline int open_parent_nofollow(int root_fd, const std::string& path,
                                std::string& leaf) {
  int cur = ::openat(root_fd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
  size_t start = 0;
  for (;;) {
    auto slash = path.find('/', start);
    if (slash == std::string::npos)
      break;
    auto name = path.substr(start, slash - start);
    int next = ::openat(cur, name.c_str(),
                        O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    ::close(cur);
    if (next < 0)
      return -1;
    cur = next;
    start = slash + 1;
  }
  leaf = path.substr(start);
  return cur;
}

/// lstat of `path` beneath `root_fd` with no symlink followed anywhere:
/// false when nothing is there (a symlink or file in a parent position
/// means nothing is there either).
inline bool lookup(int root_fd, const std::string& path, struct stat& st,
                   std::string* content = nullptr) {
  std::string leaf;
  int dir = open_parent_nofollow(root_fd, path, leaf);
  if (dir < 0)
    return false;
  bool found = ::fstatat(dir, leaf.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0;
  if (found && content != nullptr) {
    content->clear();
    if (S_ISLNK(st.st_mode)) {
      char buf[PATH_MAX];
      auto n = ::readlinkat(dir, leaf.c_str(), buf, sizeof buf);
      FUZZ_CHECK(n >= 0);
      content->assign(buf, static_cast<size_t>(n));
    } else if (S_ISREG(st.st_mode)) {
      int fd = ::openat(dir, leaf.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
      FUZZ_CHECK(fd >= 0);
      *content = read_all(fd);
      ::close(fd);
    }
  }
  ::close(dir);
  return found;
}

/// The lowest free descriptor: a leak anywhere moves it up.
inline int lowest_free_fd() {
  int fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  FUZZ_CHECK(fd >= 0);
  ::close(fd);
  return fd;
}

/// The temp dir of this fuzzing process (tmpfs when there is one):
///   <base>/outside/{secret, sub/, sub/deep}   never to be touched
///   <base>/root/                              the writer's root, rebuilt
///                                             for every input
class sandbox {
public:
  sandbox() {
    const char* shm = "/dev/shm";
    const char* tmp = std::getenv("TMPDIR");
    std::string dir = ::access(shm, W_OK) == 0 ? shm : tmp ? tmp : "/tmp";
    std::string templ = dir + "/livesync-fuzz-XXXXXX";
    FUZZ_CHECK(::mkdtemp(templ.data()) != nullptr);
    base_ = templ;
    base_fd_ = ::open(base_.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
    FUZZ_CHECK(base_fd_ >= 0);
    FUZZ_CHECK(::mkdirat(base_fd_, "outside", 0755) == 0);
    FUZZ_CHECK(::mkdirat(base_fd_, "outside/sub", 0755) == 0);
    write_file("outside/secret", "secret\n", 0644);
    write_file("outside/sub/deep", "deep\n", 0600);
    outside_ = snapshot(base_fd_, "root", true);
  }

  ~sandbox() {
    remove_tree_at(base_fd_, "root");
    remove_tree_at(base_fd_, "outside");
    ::close(base_fd_);
    ::rmdir(base_.c_str());
  }

  const std::string& base() const noexcept { return base_; }
  std::string root() const { return base_ + "/root"; }

  /// A fresh root with files, a directory, and symlinks that lead out.
  void populate_root() {
    FUZZ_CHECK(::mkdirat(base_fd_, "root", 0755) == 0);
    struct stat st;
    FUZZ_CHECK(::fstatat(base_fd_, "root", &st, AT_SYMLINK_NOFOLLOW) == 0);
    root_ino_ = st.st_ino;
    std::string pattern(600, '\0');
    for (size_t i = 0; i < pattern.size(); ++i)
      pattern[i] = static_cast<char>(i * 7 % 251);
    write_file("root/base", pattern, 0644);
    FUZZ_CHECK(::mkdirat(base_fd_, "root/d", 0755) == 0);
    write_file("root/d/f", "f\n", 0644);
    link("root/escape", base_ + "/outside");
    link("root/up", "../outside");
    link("root/secretlink", "../outside/secret");
    link("root/d/back", "../../outside");
  }

  /// Removes the root; the caller's writer must be gone.
  void clear_root() { FUZZ_CHECK(remove_tree_at(base_fd_, "root") == 0); }

  /// True when nothing outside the root changed (and the root is the same
  /// directory).
  bool outside_intact() const {
    struct stat st;
    return snapshot(base_fd_, "root", true) == outside_
           && names_in(base_fd_).size() == 2
           && ::fstatat(base_fd_, "root", &st, AT_SYMLINK_NOFOLLOW) == 0
           && S_ISDIR(st.st_mode) && st.st_ino == root_ino_;
  }

private:
  void write_file(const std::string& rel, const std::string& text,
                  mode_t mode) {
    int fd = ::openat(base_fd_, rel.c_str(),
                      O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, mode);
    FUZZ_CHECK(fd >= 0);
    FUZZ_CHECK(::write(fd, text.data(), text.size())
               == static_cast<ssize_t>(text.size()));
    ::close(fd);
  }

  void link(const std::string& rel, const std::string& target) {
    FUZZ_CHECK(::symlinkat(target.c_str(), base_fd_, rel.c_str()) == 0);
  }

  std::string base_;
  int base_fd_ = -1;
  ino_t root_ino_ = 0;
  tree_snapshot outside_;
};

} // namespace livesync::fuzz
