// livesync-watcher's options: the CAF config class (what `--help` and the
// INI file know) and the one check that turns it into the settings the
// actors take. Every mistake is one usage_error sentence (exit code 2).
#pragma once

#include "actors/watcher/sender.hpp"
#include "apps/common/app_support.hpp"
#include "core/common/endpoint.hpp"
#include "core/common/ignore_rules.hpp"
#include "core/watcher/debounce_policy.hpp"

#include <caf/timespan.hpp>

#include <memory>
#include <string>
#include <vector>

namespace livesync {

class watcher_config : public node_config {
public:
  watcher_config();

  std::string host = "127.0.0.1";
  uint16_t port = 4242;
  std::vector<std::string> references;
  std::string reference;
  caf::timespan quiet = std::chrono::milliseconds(5);
  caf::timespan max_delay = std::chrono::milliseconds(500);
  uint32_t window_mib = 16;
  int32_t zstd_level = 3;
  uint32_t small_file_kib = 64;
  uint32_t chunk_min = 1024;
  uint32_t chunk_avg = 4096;
  uint32_t chunk_max = 32768;
  uint32_t recipe_cache_mib = 256;
  uint32_t content_workers = 4;
  caf::timespan stats_interval = std::chrono::seconds(60);
  caf::timespan progress_interval{-1};
  std::string control_bind = "127.0.0.1";
  uint16_t control_port = 4243;
  caf::timespan request_timeout = std::chrono::seconds(60);
  caf::timespan timeout = std::chrono::seconds(60);
  bool json = false;
  std::string format;
  std::string mode_mask = "1777";
  caf::timespan unwatched_scan_interval = std::chrono::seconds(2);
  std::vector<std::string> excludes;
  std::string ignore_file = ".livesyncignore";
};

/// What the watcher runs with, checked: the settings each actor takes.
struct watcher_settings {
  /// The watched root, absolute and resolved.
  std::string root;
  /// The references, in the order given.
  std::vector<endpoint> targets;
  std::shared_ptr<const ignore_rules> excludes;
  debounce_config debounce;
  /// Everything of the senders' configuration but the reference, the flush
  /// barriers and the shared reads (main sets those).
  sender_config sender;
  caf::timespan unwatched_scan_interval;
  /// Content workers to spawn (main), shared by every sender; 0: none.
  size_t content_workers = 0;
};

/// Checks every option of a watcher run (not a command) and returns its
/// settings; throws usage_error on the first mistake. Also fills in
/// defaults that depend on the terminal (progress-interval).
watcher_settings validate(watcher_config& cfg);

/// The references to mirror to: --references, or the one of --host and
/// --port. Throws usage_error on a mistake.
std::vector<endpoint> reference_endpoints(const watcher_config& cfg);

/// --reference (flush, verify): one of `all`, as "host:port" the way
/// status names it; empty: all. Throws usage_error when it names none.
std::string chosen_reference(const watcher_config& cfg,
                             const std::vector<endpoint>& all);

/// The exclude rules: --exclude patterns, then the ignore file's lines
/// (later lines win, as in gitignore). Throws usage_error on a bad pattern.
std::shared_ptr<const ignore_rules> load_excludes(const watcher_config& cfg,
                                                  const std::string& root);

/// `path` resolved and checked to be a directory (throws usage_error).
std::string absolute_dir(const std::string& path);

} // namespace livesync
