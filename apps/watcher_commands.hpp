// The watcher's one-shot commands, run as `livesync-watcher COMMAND
// [options]` with the same options (and config file) as the watcher itself:
//   status  what a running watcher is doing (its control port)
//   flush   returns once every change made before it was issued is
//           committed on the reference (its control port)
//   verify  compares the watched tree with the reference by content hash
//           and lists every difference (connects to the reference itself)
// Exit codes: 0 success (verify: identical), 1 failure (verify: differences;
// flush: operations refused), 2 bad usage, 3 cannot reach the peer.
#pragma once

#include "core/common/ignore_rules.hpp"

#include <caf/fwd.hpp>
#include <caf/timespan.hpp>

#include <cstdint>
#include <string>

namespace livesync {

/// Where a command connects, and how long it waits in all.
struct command_target {
  std::string host;
  uint16_t port = 0;
  bool tls = false;
  caf::timespan timeout{0};
};

/// How `status` prints: lines for people, one JSON object, or Prometheus'
/// text exposition format (core/watcher/watcher_metrics).
enum class status_format { text, json, prometheus };

/// --format's value ("" = text) and --json (= json). Throws usage_error on
/// another value, or on --json with another format.
status_format parse_status_format(const std::string& format, bool json);

int run_status(caf::actor_system& sys, const command_target& control,
               status_format format);

/// `only`: the reference to flush ("host:port"); empty: every one.
int run_flush(caf::actor_system& sys, const command_target& control,
              const std::string& only);

int run_verify(caf::actor_system& sys, const command_target& reference,
               const std::string& root, const ignore_rules* excludes,
               uint32_t mode_mask);

} // namespace livesync
