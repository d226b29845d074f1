// Decoding the kernel's inotify read buffer into records. Consumed by the
// inotify_reader (one read() at a time); the records go to the tracker.
#pragma once

#include "core/watcher/event_interpreter.hpp"

#include <cstddef>
#include <vector>

namespace livesync {

/// Decodes `len` bytes of struct inotify_event records. A truncated
/// trailing record is ignored (the kernel never splits one across reads).
std::vector<inotify_record> decode_inotify(const char* buf, size_t len);

} // namespace livesync
