// What both programs share around main(): the options every node has, the
// logger, checks of option values that CAF's INI parser would silently
// drop, and the wait for SIGINT/SIGTERM.
#pragma once

#include <caf/actor_system_config.hpp>
#include <caf/timespan.hpp>

#include <cstdint>
#include <set>
#include <string>
#include <vector>

namespace livesync {

/// Options common to both nodes; subclasses add their own to "global".
class node_config : public caf::actor_system_config {
public:
  node_config();

  /// Every option this node accepts, CAF's own included.
  const caf::config_option_set& options() const noexcept {
    return custom_options_;
  }

  /// True when the link uses mutual TLS (any openssl.* option is set).
  bool tls() const noexcept;

  std::string root;
  std::string log_level = "info";
  bool insecure = false;
  /// Prometheus text file kept up to date while there is activity (empty:
  /// none), rewritten at most once per interval.
  std::string metrics_file;
  caf::timespan metrics_interval = std::chrono::seconds(1);
  bool version = false;
  /// The options set on the command line, and those set in the config
  /// file (global ones by name, others as "category.name"): tells an
  /// option left at its default from one given its default value, and
  /// which of two options that replace each other the command line chose.
  std::set<std::string> given_on_command_line;
  std::set<std::string> given_in_file;

  bool given(const std::string& key) const {
    return given_on_command_line.count(key) > 0 || given_in_file.count(key) > 0;
  }
};

/// Thrown only in main(): a bad option or value, reported as one line and
/// exit code 2.
struct usage_error {
  std::string what;
};

/// Parses the command line and the config file into `cfg`. Throws
/// usage_error on an unknown option, a malformed value, or a value in the
/// config file that CAF would drop silently (wrong type, out of range).
/// Also checks the transport: mutual TLS with certificate, key and CA that
/// load and verify, or an explicit --insecure; never neither, never both.
/// Returns false when help or the version was printed (exit 0).
bool parse_config(node_config& cfg, int argc, char** argv,
                  const std::vector<std::string>& required);

/// Checks --metrics-file and --metrics-interval (given on the command line
/// or in the INI) before the node starts: the file's directory must exist,
/// the interval be 100ms to 1h. Throws usage_error naming the option.
void check_metrics_options(const node_config& cfg);

/// Keeps buffers of a few MiB (a batch of ops, its packed frame, CAF's
/// serialization buffers) in the heap instead of mmap'ing and unmapping
/// each, and lets up to 8 MiB stay free at the top of a heap instead of
/// ~2 MiB. glibc's defaults handed every ~1 MiB batch buffer back to the
/// kernel and took it again zero-filled, page by page: about a tenth of
/// each node's CPU in a bulk sync (bench/README.md). Call first in main.
void tune_malloc();

/// Parses octal permission bits ("1777"); throws usage_error naming the
/// option 'mode-mask' when `text` is not octal or exceeds 07777.
uint32_t parse_mode_mask(const std::string& text);

/// Creates the node's named logger (stdout, flushed per line) and makes it
/// the default one. Throws usage_error on an unknown level.
void setup_logging(const std::string& node_name, const std::string& level);

/// Logs, loudly, that the link is plain TCP (at start and per connection).
void warn_insecure(const std::string& when);

/// Blocks SIGINT and SIGTERM in this thread and every thread it starts
/// later (call before the actor system exists), so they can be awaited.
void block_stop_signals();

/// Waits for SIGINT or SIGTERM; returns its name.
std::string wait_for_stop_signal();

/// Raises the soft limit of open descriptors to the hard one (systemd and
/// Docker often start a process at 1,024 with a hard limit far above);
/// returns the soft limit now in force.
uint64_t raise_fd_limit();

} // namespace livesync
