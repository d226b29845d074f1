// livesync-reference: publishes the receiver and applies what a watcher
// sends to --root. See README.md for the options.
#include "actors/reference/metrics_file.hpp"
#include "actors/reference/receiver.hpp"
#include "apps/common/app_support.hpp"
#include "messages/register.hpp"

#include <caf/io/all.hpp>
#include <caf/openssl/all.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <iostream>

namespace {

class reference_config : public livesync::node_config {
public:
  reference_config() {
    opt_group{custom_options_, "global"}
      .add(bind, "bind", "address to listen on (default: 127.0.0.1)")
      .add(port, "port", "port to listen on; 0 picks a free one (default: 4242)")
      .add(fsync, "fsync",
           "none, file (fsync each commit) or batch (syncfs per received "
           "batch) (default: none)")
      .add(writers, "writers",
           "path writers applying operations on different paths in "
           "parallel, each on its own thread, 1-64 (default: 4 with "
           "fsync=file, else 1)")
      .add(mode_mask, "mode-mask",
           "octal permission bits kept from the watcher (default: 1777, "
           "which strips setuid and setgid)");
    livesync::add_message_types(*this);
    load<caf::io::middleman>();
    load<caf::openssl::manager>();
  }

  std::string bind = "127.0.0.1";
  uint16_t port = 4242;
  std::string mode_mask = "1777";
  std::string fsync = "none";
  /// 0: not given (4 with fsync=file, else 1).
  uint64_t writers = 0;
};

/// Path writers when --writers is not given. Measured on 2 cores with the
/// watcher beside the reference (bench/writers.py): with fsync=file, 4
/// writers took 0.43-0.76 x the time of 1 (they overlap the waits); without
/// fsync the work is CPU, and 4 took 0.87-1.23 x, so 1.
uint64_t default_writers(livesync::durability sync) {
  return sync == livesync::durability::file ? 4 : 1;
}

} // namespace

int main(int argc, char** argv) {
  using namespace livesync;
  tune_malloc();
  reference_config cfg;
  std::unique_ptr<tree_writer> writer;
  try {
    if (!parse_config(cfg, argc, argv, {"root"}))
      return 0;
    check_metrics_options(cfg);
    setup_logging("reference", cfg.log_level);
    writer_limits limits;
    limits.mode_mask = parse_mode_mask(cfg.mode_mask);
    // Copy sources are the descriptors a peer can make the writer hold:
    // half of what the process may open, the rest for CAF, sockets and
    // the walks (one per directory level, 256 at most).
    limits.max_source_fds = std::max<uint64_t>(16, raise_fd_limit() / 2);
    if (!parse_durability(cfg.fsync, limits.sync))
      throw usage_error{"invalid value for 'fsync': \"" + cfg.fsync
                        + "\" (expected none, file or batch)"};
    if (cfg.given("writers") && (cfg.writers < 1 || cfg.writers > 64))
      throw usage_error{"invalid value for 'writers': "
                        + std::to_string(cfg.writers) + " (expected 1 to 64)"};
    if (!cfg.given("writers"))
      cfg.writers = default_writers(limits.sync);
    status err;
    writer = tree_writer::open(cfg.root, limits, err);
    if (!writer)
      throw usage_error{"cannot use --root=" + cfg.root + ": " + err.reason()};
  } catch (const usage_error& e) {
    std::cerr << "livesync-reference: error: " << e.what << std::endl;
    return 2;
  }
  block_stop_signals();
  caf::actor_system sys{cfg};
  if (cfg.insecure)
    warn_insecure("start");
  auto stopping = std::make_shared<std::atomic<bool>>(false);
  writer->stop_when(stopping);
  reference_counters counters;
  // The label names the mirror as an absolute path, however it was given.
  std::error_code ec;
  auto canonical = std::filesystem::canonical(writer->root(), ec);
  counters.root = ec ? writer->root() : canonical.string();
  counters.start_time_s = std::chrono::duration_cast<std::chrono::seconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
  reference_metrics_actor metrics;
  if (!cfg.metrics_file.empty())
    metrics = sys.spawn(reference_metrics_file, cfg.metrics_file,
                        cfg.metrics_interval, counters);
  auto rx = sys.spawn(receiver, std::shared_ptr<tree_writer>{std::move(writer)},
                      cfg.insecure,
                      std::shared_ptr<const std::atomic<bool>>{stopping},
                      metrics, counters,
                      writer_pool_options{cfg.writers,
                                          std::chrono::seconds{5}, true});
  auto port = cfg.tls()
                ? caf::openssl::publish(rx, cfg.port, cfg.bind.c_str(), true)
                : sys.middleman().publish(rx, cfg.port, cfg.bind.c_str(),
                                          true);
  if (!port) {
    spdlog::error("publish-failed bind={} port={} reason={}", cfg.bind,
                  cfg.port, sys.render(port.error()));
    caf::anon_send_exit(rx, caf::exit_reason::user_shutdown);
    if (metrics)
      caf::anon_send_exit(metrics, caf::exit_reason::user_shutdown);
    return 1;
  }
  spdlog::info("listening bind={} port={} root={} tls={} writers={}",
               cfg.bind, *port, cfg.root, cfg.tls(), cfg.writers);
  auto sig = wait_for_stop_signal();
  spdlog::info("stopping signal={}", sig);
  stopping->store(true);
  caf::anon_send_exit(rx, caf::exit_reason::user_shutdown);
  if (metrics) {
    // The file's last write says the reference has stopped (running 0),
    // with the counters as they ended.
    caf::scoped_actor self{sys};
    self->request(metrics, std::chrono::milliseconds(500),
                  atom::final_write_v)
      .receive([](bool) {},
               [&](caf::error& err) {
                 spdlog::warn("metrics-file-failed path={} reason=last write: "
                              "{}",
                              cfg.metrics_file, sys.render(err));
               });
    caf::anon_send_exit(metrics, caf::exit_reason::user_shutdown);
  }
  return 0;
}
