#include "core/watcher/subdir_listing.hpp"

#include <cerrno>
#include <string_view>

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace livesync {

std::vector<std::string> list_subdirs(const std::string& full, int& error) {
  std::vector<std::string> out;
  error = 0;
  // O_NOFOLLOW: the directory was watched with IN_DONT_FOLLOW; a symlink
  // put in its place meanwhile is not listed.
  int fd = ::open(full.c_str(),
                  O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    error = errno;
    return out;
  }
  auto* d = ::fdopendir(fd);
  if (d == nullptr) {
    error = errno;
    ::close(fd);
    return out;
  }
  while (auto* e = ::readdir(d)) {
    std::string_view name{e->d_name};
    if (name == "." || name == "..")
      continue;
    bool is_dir = e->d_type == DT_DIR;
    if (e->d_type == DT_UNKNOWN) {
      // Some filesystems leave the type out of the directory entry.
      struct stat st;
      is_dir = ::fstatat(fd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0
               && S_ISDIR(st.st_mode);
    }
    if (is_dir)
      out.emplace_back(name);
  }
  ::closedir(d);
  return out;
}

} // namespace livesync
