#include "core/watcher/inotify_decode.hpp"

#include <cstring>
#include <sys/inotify.h>

namespace livesync {

std::vector<inotify_record> decode_inotify(const char* buf, size_t len) {
  std::vector<inotify_record> out;
  size_t pos = 0;
  while (pos + sizeof(inotify_event) <= len) {
    inotify_event ev;
    std::memcpy(&ev, buf + pos, sizeof(ev));
    auto total = sizeof(inotify_event) + ev.len;
    if (pos + total > len)
      break;
    inotify_record r;
    r.wd = ev.wd;
    r.mask = ev.mask;
    r.cookie = ev.cookie;
    if (ev.len > 0) {
      // The name is NUL-padded to an alignment boundary.
      const char* name = buf + pos + sizeof(inotify_event);
      r.name.assign(name, strnlen(name, ev.len));
    }
    out.push_back(std::move(r));
    pos += total;
  }
  return out;
}

} // namespace livesync
