#include "actors/watcher/inotify_reader.hpp"

#include "core/watcher/inotify_decode.hpp"

#include <spdlog/spdlog.h>

#include <cerrno>
#include <cstring>
#include <poll.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <vector>

namespace livesync {

namespace {

/// Reads once; sends what it decoded. False on a fatal error. Returns the
/// bytes read in `got` (0: nothing was queued).
bool read_once(caf::blocking_actor* self, const tracker_actor& tracker,
               int inotify_fd, std::vector<char>& buf, size_t& got) {
  ssize_t n;
  do
    n = ::read(inotify_fd, buf.data(), buf.size());
  while (n < 0 && errno == EINTR);
  got = n > 0 ? static_cast<size_t>(n) : 0;
  if (n < 0 && errno != EAGAIN) {
    spdlog::error("inotify-read-failed reason={}", std::strerror(errno));
    return false;
  }
  if (n > 0) {
    auto records = decode_inotify(buf.data(), got);
    if (!records.empty())
      self->send(tracker, atom::events_v, std::move(records));
  }
  return true;
}

} // namespace

void inotify_reader(caf::blocking_actor* self, tracker_actor tracker,
                    int inotify_fd, int stop_fd, int barrier_fd) {
  // Large enough that a rename pair is rarely split across two reads.
  std::vector<char> buf(256 * 1024);
  // Flush barriers requested so far (the eventfd counts the requests).
  uint64_t barriers = 0;
  for (;;) {
    pollfd fds[3] = {{inotify_fd, POLLIN, 0},
                     {stop_fd, POLLIN, 0},
                     {barrier_fd, POLLIN, 0}};
    // No timeout, so an idle watcher never wakes: the tracker signals the
    // stop eventfd whenever it terminates, and main stops the tracker with
    // the reader.
    auto rc = ::poll(fds, barrier_fd >= 0 ? 3 : 2, -1);
    if (rc < 0 && errno != EINTR) {
      spdlog::error("inotify-poll-failed reason={}", std::strerror(errno));
      break;
    }
    if (fds[1].revents & POLLIN)
      break;
    size_t got = 0;
    if ((fds[0].revents & POLLIN)
        && !read_once(self, tracker, inotify_fd, buf, got))
      break;
    if (barrier_fd >= 0 && (fds[2].revents & POLLIN)) {
      uint64_t requested = 0;
      if (::read(barrier_fd, &requested, sizeof requested)
          == static_cast<ssize_t>(sizeof requested)) {
        // The kernel queues an inotify event inside the syscall that
        // causes it, so every change made before the flush was requested
        // is in the queue now. Read what is queued at this moment (not
        // until empty: a busy tree could keep it from ever emptying), then
        // mark the barrier.
        int queued = 0;
        if (::ioctl(inotify_fd, FIONREAD, &queued) != 0)
          queued = 0;
        bool ok = true;
        for (size_t done = 0; ok && done < static_cast<size_t>(queued);) {
          ok = read_once(self, tracker, inotify_fd, buf, got);
          if (got == 0)
            break;
          done += got;
        }
        if (!ok)
          break;
        barriers += requested;
        self->send(tracker, atom::barrier_v, barriers);
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
