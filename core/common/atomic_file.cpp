#include "core/common/atomic_file.hpp"

#include <cerrno>
#include <cstdlib>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace livesync {

namespace {

/// The directory of `path` ("." for a bare name) and its last component.
void split(const std::string& path, std::string& dir, std::string& name) {
  auto slash = path.rfind('/');
  if (slash == std::string::npos) {
    dir = ".";
    name = path;
  } else {
    dir = slash == 0 ? std::string{"/"} : path.substr(0, slash);
    name = path.substr(slash + 1);
  }
}

status write_all(int fd, const std::string& content) {
  size_t done = 0;
  while (done < content.size()) {
    auto n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return errno_status("write", errno);
    done += static_cast<size_t>(n);
  }
  return {};
}

} // namespace

status replace_file(const std::string& path, const std::string& content) {
  std::string dir, name;
  split(path, dir, name);
  auto tmp = dir + "/." + name + ".XXXXXX";
  int fd = ::mkostemp(tmp.data(), O_CLOEXEC);
  if (fd < 0)
    return errno_status("cannot create a temporary file in " + dir, errno);
  // mkstemp makes it 0600; node_exporter usually runs as another user.
  auto st = ::fchmod(fd, 0644) == 0 ? write_all(fd, content)
                                    : errno_status("fchmod", errno);
  if (::close(fd) != 0 && st)
    st = errno_status("close", errno);
  // No fsync: the file shows counters that live in memory and die with the
  // process anyway, and rename alone already gives readers the old or the
  // new file whole. An fsync would cost a journal commit per write (on
  // ext4, with the mirror's own unwritten data when the file shares its
  // filesystem); after a host crash the restarted node rewrites the file
  // at start.
  if (st && ::rename(tmp.c_str(), path.c_str()) != 0)
    st = errno_status("rename to " + path, errno);
  if (!st)
    ::unlink(tmp.c_str());
  return st;
}

status check_replaceable(const std::string& path) {
  if (path.empty())
    return status::fail(ec::invalid_path, "empty path");
  std::string dir, name;
  split(path, dir, name);
  if (name.empty() || name == "." || name == "..")
    return status::fail(ec::invalid_path, "names a directory, not a file");
  struct stat st;
  if (::stat(dir.c_str(), &st) != 0)
    return errno_status("directory " + dir, errno);
  if (!S_ISDIR(st.st_mode))
    return status::fail(ec::invalid_path, dir + " is not a directory");
  if (::access(dir.c_str(), W_OK | X_OK) != 0)
    return errno_status("directory " + dir, errno);
  if (::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode))
    return status::fail(ec::invalid_path, "names a directory, not a file");
  return {};
}

} // namespace livesync
