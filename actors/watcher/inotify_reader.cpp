#include "actors/watcher/inotify_reader.hpp"

#include "core/watch_setup.hpp"

#include <spdlog/spdlog.h>

#include <cerrno>
#include <cstring>
#include <poll.h>
#include <unistd.h>
#include <vector>

namespace livesync {

void inotify_reader(caf::blocking_actor* self, tracker_actor tracker,
                    int inotify_fd, int stop_fd) {
  // Large enough that a rename pair is rarely split across two reads.
  std::vector<char> buf(256 * 1024);
  for (;;) {
    pollfd fds[2] = {{inotify_fd, POLLIN, 0}, {stop_fd, POLLIN, 0}};
    // The timeout only bounds how late an exit message is noticed; the
    // eventfd is the fast path.
    auto rc = ::poll(fds, 2, 500);
    if (rc < 0 && errno != EINTR) {
      spdlog::error("inotify-poll-failed reason={}", std::strerror(errno));
      break;
    }
    if (fds[1].revents & POLLIN)
      break;
    if (fds[0].revents & POLLIN) {
      auto n = ::read(inotify_fd, buf.data(), buf.size());
      if (n < 0 && errno != EAGAIN && errno != EINTR) {
        spdlog::error("inotify-read-failed reason={}", std::strerror(errno));
        break;
      }
      if (n > 0) {
        auto records = decode_inotify(buf.data(), static_cast<size_t>(n));
        if (!records.empty())
          self->send(tracker, atom::events_v, std::move(records));
      }
    }
    bool stop = false;
    self->receive([&](caf::exit_msg&) { stop = true; },
                  caf::after(std::chrono::seconds(0)) >> [] {});
    if (stop)
      break;
  }
}

} // namespace livesync
