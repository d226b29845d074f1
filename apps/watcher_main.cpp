// livesync-watcher: watches --root with inotify and mirrors every change to
// the reference at --host:--port. See README.md for the options.
#include "actors/watcher/debouncer.hpp"
#include "actors/watcher/inotify_reader.hpp"
#include "actors/watcher/sender.hpp"
#include "actors/watcher/tracker.hpp"
#include "apps/common/app_support.hpp"
#include "core/watch_setup.hpp"
#include "messages/register.hpp"

#include <caf/io/all.hpp>
#include <caf/openssl/all.hpp>
#include <spdlog/spdlog.h>

#include <climits>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

namespace {

class watcher_config : public livesync::node_config {
public:
  watcher_config() {
    opt_group{custom_options_, "global"}
      .add(host, "host", "reference host (default: 127.0.0.1)")
      .add(port, "port", "reference port (default: 4242)")
      .add(quiet, "debounce",
           "a path is sent once quiet this long (default: 5ms)")
      .add(max_delay, "max-delay",
           "... or once pending this long while busy (default: 500ms)")
      .add(window_mib, "window-mib",
           "MiB sent and not yet acknowledged, at most (default: 16)")
      .add(zstd_level, "compression-level",
           "zstd level of the link's one compression stream, 0 = off "
           "(default: 3)")
      .add(small_file_kib, "small-file-kib",
           "files up to this size travel whole; larger ones as deltas "
           "(default: 64)")
      .add(chunk_min, "chunk-min", "smallest content-defined chunk in bytes "
                                   "(default: 1024)")
      .add(chunk_avg, "chunk-avg", "average chunk in bytes, a power of two "
                                   "(default: 4096)")
      .add(chunk_max, "chunk-max", "largest chunk in bytes (default: 32768)")
      .add(recipe_cache_mib, "recipe-cache-mib",
           "memory for recipes of files the reference holds (default: 256)")
      .add(excludes, "exclude",
           "gitignore-style patterns to leave out, e.g. "
           "'[\".git/\", \"*.swp\"]' (default: none)")
      .add(ignore_file, "ignore-file",
           "file in the watched root with more patterns, one per line "
           "(default: .livesyncignore; read at start)")
      .add(stats_interval, "stats-interval",
           "log counters this often while busy; 0s = only at exit "
           "(default: 60s)");
    livesync::add_message_types(*this);
    load<caf::io::middleman>();
    load<caf::openssl::manager>();
  }

  std::string host = "127.0.0.1";
  uint16_t port = 4242;
  caf::timespan quiet = std::chrono::milliseconds(5);
  caf::timespan max_delay = std::chrono::milliseconds(500);
  uint32_t window_mib = 16;
  int32_t zstd_level = 3;
  uint32_t small_file_kib = 64;
  uint32_t chunk_min = 1024;
  uint32_t chunk_avg = 4096;
  uint32_t chunk_max = 32768;
  uint32_t recipe_cache_mib = 256;
  caf::timespan stats_interval = std::chrono::seconds(60);
  std::vector<std::string> excludes;
  std::string ignore_file = ".livesyncignore";
};

/// The exclude rules: --exclude patterns, then the ignore file's lines
/// (later lines win, as in gitignore). Throws usage_error on a bad pattern.
std::shared_ptr<const livesync::ignore_rules>
load_excludes(const watcher_config& cfg, const std::string& root) {
  auto rules = std::make_shared<livesync::ignore_rules>();
  for (auto& p : cfg.excludes)
    if (auto err = rules->add(p); !err.empty())
      throw livesync::usage_error{"invalid value for 'exclude': \"" + p
                                  + "\": " + err};
  if (!cfg.ignore_file.empty()) {
    auto path = root + "/" + cfg.ignore_file;
    std::ifstream in{path, std::ios::binary};
    if (in) {
      std::stringstream text;
      text << in.rdbuf();
      auto errs = rules->add_text(text.str(), path);
      if (!errs.empty())
        throw livesync::usage_error{errs.front()};
    }
  }
  return rules;
}

std::string absolute_dir(const std::string& path) {
  char buf[PATH_MAX];
  if (::realpath(path.c_str(), buf) == nullptr)
    throw livesync::usage_error{"cannot use --root=" + path + ": "
                                + std::strerror(errno)};
  struct stat st;
  if (::stat(buf, &st) != 0 || !S_ISDIR(st.st_mode))
    throw livesync::usage_error{"cannot use --root=" + path
                                + ": not a directory"};
  return buf;
}

} // namespace

int main(int argc, char** argv) {
  using namespace livesync;
  watcher_config cfg;
  std::string root;
  std::shared_ptr<const ignore_rules> excludes;
  try {
    if (!parse_config(cfg, argc, argv, {"root"}))
      return 0;
    root = absolute_dir(cfg.root);
    if (cfg.window_mib < 2 || cfg.window_mib > 1024)
      throw usage_error{"invalid value for 'window-mib': "
                        + std::to_string(cfg.window_mib)
                        + " (expected 2 to 1024)"};
    if (cfg.zstd_level < 0 || cfg.zstd_level > 19)
      throw usage_error{"invalid value for 'compression-level': "
                        + std::to_string(cfg.zstd_level)
                        + " (expected 0 to 19)"};
    if (cfg.small_file_kib < 1 || cfg.small_file_kib > 4096)
      throw usage_error{"invalid value for 'small-file-kib': "
                        + std::to_string(cfg.small_file_kib)
                        + " (expected 1 to 4096)"};
    if (auto why = invalid_chunker_params(
          {cfg.chunk_min, cfg.chunk_avg, cfg.chunk_max}))
      throw usage_error{std::string{"invalid chunk-min/avg/max: "} + why};
    if (cfg.recipe_cache_mib > 65536)
      throw usage_error{"invalid value for 'recipe-cache-mib': "
                        + std::to_string(cfg.recipe_cache_mib)
                        + " (expected at most 65536)"};
    if (cfg.stats_interval.count() < 0)
      throw usage_error{"invalid value for 'stats-interval': negative"};
    if (cfg.quiet.count() < 0 || cfg.max_delay < cfg.quiet)
      throw usage_error{"invalid 'debounce'/'max-delay': need 0 <= debounce "
                        "<= max-delay"};
    excludes = load_excludes(cfg, root);
    setup_logging("watcher", cfg.log_level);
  } catch (const usage_error& e) {
    std::cerr << "livesync-watcher: error: " << e.what << std::endl;
    return 2;
  }
  block_stop_signals();
  int inotify_fd = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  int stop_fd = ::eventfd(0, EFD_CLOEXEC);
  if (inotify_fd < 0 || stop_fd < 0) {
    spdlog::error("inotify-init-failed reason={}", std::strerror(errno));
    return 1;
  }
  watch_table table;
  auto report = add_watch_tree(inotify_fd, root, "", table, excludes.get());
  for (auto& line : report.errors)
    spdlog::error("watch-failed {}", line);
  if (!table.wd_of("")) {
    spdlog::error("watch-failed root={} (cannot watch the root)", root);
    return 1;
  }
  spdlog::info("watching root={} directories={} exclude_patterns={}", root,
               report.added, excludes->size());
  if (cfg.insecure)
    warn_insecure("start");
  int rc = 0;
  {
    caf::actor_system sys{cfg};
    debounce_config dcfg;
    dcfg.quiet = cfg.quiet;
    dcfg.max_delay = cfg.max_delay;
    sender_config scfg;
    scfg.root = root;
    scfg.host = cfg.host;
    scfg.port = cfg.port;
    scfg.tls = cfg.tls();
    scfg.window_bytes = uint64_t{cfg.window_mib} << 20;
    scfg.small_file_bytes = uint64_t{cfg.small_file_kib} << 10;
    scfg.upload.zstd_level = cfg.zstd_level;
    scfg.upload.chunking = {cfg.chunk_min, cfg.chunk_avg, cfg.chunk_max};
    scfg.recipe_budget_bytes = uint64_t{cfg.recipe_cache_mib} << 20;
    scfg.stats_interval = cfg.stats_interval;
    scfg.excludes = excludes;
    auto deb = sys.spawn(debouncer, dcfg);
    auto trk = sys.spawn(tracker, inotify_fd, root, std::move(table), deb,
                         stop_fd, excludes);
    auto rd = sys.spawn<caf::detached>(inotify_reader, trk, inotify_fd,
                                       stop_fd);
    auto snd = sys.spawn(sender, scfg, deb);
    auto sig = wait_for_stop_signal();
    spdlog::info("stopping signal={}", sig);
    for (auto a : {caf::actor_cast<caf::actor>(snd),
                   caf::actor_cast<caf::actor>(trk),
                   caf::actor_cast<caf::actor>(deb),
                   caf::actor_cast<caf::actor>(rd)})
      caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
    sys.await_all_actors_done();
  }
  ::close(inotify_fd);
  ::close(stop_fd);
  return rc;
}
