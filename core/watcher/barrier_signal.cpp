#include "core/watcher/barrier_signal.hpp"

#include <cerrno>
#include <cstring>
#include <unistd.h>

namespace livesync {

uint64_t barrier_signal::next(std::string& why) {
  std::lock_guard<std::mutex> guard{mtx_};
  if (fd_ >= 0) {
    uint64_t one = 1;
    if (::write(fd_, &one, sizeof one) != static_cast<ssize_t>(sizeof one)) {
      why = std::string{"cannot signal the inotify reader: "}
            + std::strerror(errno);
      return 0;
    }
  }
  return ++count_;
}

} // namespace livesync
