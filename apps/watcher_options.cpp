#include "apps/watcher_options.hpp"

#include "messages/register.hpp"

#include <algorithm>
#include <caf/io/middleman.hpp>
#include <caf/openssl/manager.hpp>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <sys/stat.h>
#include <unistd.h>

namespace livesync {

watcher_config::watcher_config() {
  opt_group{custom_options_, "global"}
    .add(host, "host", "reference host (default: 127.0.0.1)")
    .add(port, "port", "reference port (default: 4242)")
    .add(references, "references",
         "several references instead of --host/--port, each with its own "
         "link, e.g. '[\"backup1:4242\", \"backup2:4242\"]' (default: "
         "none)")
    .add(reference, "reference",
         "flush/verify: only this one of the references, host:port "
         "(default: all)")
    .add(quiet, "debounce",
         "a path is sent once quiet this long (default: 5ms)")
    .add(max_delay, "max-delay",
         "... or once pending this long while busy (default: 500ms)")
    .add(window_mib, "window-mib",
         "MiB sent and not yet acknowledged, at most (default: 16)")
    .add(zstd_level, "compression-level",
         "zstd level of the link's one compression stream, 0 = off "
         "(default: 3)")
    .add(content_workers, "content-workers",
         "threads reading small files ahead of the sender, 0 = the sender "
         "reads them itself (default: 4)")
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
         "(default: 60s)")
    .add(progress_interval, "progress-interval",
         "log progress this often while comparing (initial sync, "
         "reconnect, rescan); 0s = never (default: 1s on a terminal, "
         "10s otherwise)")
    .add(control_bind, "control-bind",
         "address of the control port for status and flush (default: "
         "127.0.0.1)")
    .add(control_port, "control-port",
         "control port; 0 picks a free one (default: 4243)")
    .add(request_timeout, "request-timeout",
         "a request the reference leaves unanswered this long ends the "
         "link, which is then connected again (default: 60s; 1s to 1h)")
    .add(timeout, "timeout",
         "status/flush/verify: give up after this long (default: 60s)")
    .add(json, "json", "status: print one JSON object (--format=json)")
    .add(format, "format",
         "status: text, json (one object) or prometheus (text exposition "
         "format) (default: text)")
    .add(mode_mask, "mode-mask",
         "verify: the reference's --mode-mask (default: 1777)")
    .add(unwatched_scan_interval, "unwatched-scan-interval",
         "when the inotify watch limit leaves directories unwatched, "
         "compare them this often (default: 2s; 100ms to 1h)");
  livesync::add_message_types(*this);
  load<caf::io::middleman>();
  load<caf::openssl::manager>();
}


namespace {

/// Throws usage_error unless `lowest` <= `value` <= 1h.
void check_duration(const char* name, caf::timespan value,
                    caf::timespan lowest, const char* lowest_text) {
  if (value >= lowest && value <= std::chrono::hours(1))
    return;
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(value);
  throw usage_error{std::string{"invalid value for '"} + name
                              + "': " + std::to_string(ms.count())
                              + "ms (expected " + lowest_text + " to 1h)"};
}

} // namespace

std::vector<endpoint> reference_endpoints(const watcher_config& cfg) {
  // references replaces host and port. Given in the same place (both on
  // the command line, or both in the file) they conflict; otherwise the
  // command line wins, as it does for every option.
  auto here = [&](const std::set<std::string>& where) {
    return where.count("host") > 0 || where.count("port") > 0;
  };
  bool use_list = false;
  if (cfg.given_on_command_line.count("references") > 0) {
    if (here(cfg.given_on_command_line))
      throw usage_error{"--references replaces --host and --port: give the "
                        "references as a list, or one reference by --host "
                        "and --port"};
    use_list = true;
  } else if (cfg.given_in_file.count("references") > 0) {
    if (here(cfg.given_in_file))
      throw usage_error{"the config file sets references and host/port: "
                        "references replaces host and port, keep one"};
    use_list = !here(cfg.given_on_command_line);
  }
  std::vector<endpoint> out;
  if (!use_list) {
    if (cfg.host.empty())
      throw usage_error{"invalid value for 'host': empty"};
    if (cfg.port == 0)
      throw usage_error{"invalid value for 'port': 0 (expected 1 to 65535)"};
    out.push_back({cfg.host, cfg.port});
    return out;
  }
  std::string why;
  if (!parse_endpoints(cfg.references, out, why))
    throw usage_error{"invalid value for 'references': " + why};
  return out;
}

std::string chosen_reference(const watcher_config& cfg,
                             const std::vector<endpoint>& all) {
  if (cfg.reference.empty())
    return {};
  std::string why;
  auto e = parse_endpoint(cfg.reference, why);
  if (!e)
    throw usage_error{"invalid value for 'reference': " + why};
  for (auto& x : all)
    if (x == *e)
      return e->text();
  throw usage_error{"--reference=" + cfg.reference
                              + " is not one of the references"};
}

std::shared_ptr<const ignore_rules>
load_excludes(const watcher_config& cfg, const std::string& root) {
  auto rules = std::make_shared<ignore_rules>();
  for (auto& p : cfg.excludes)
    if (auto err = rules->add(p); !err.empty())
      throw usage_error{"invalid value for 'exclude': \"" + p
                                  + "\": " + err};
  if (!cfg.ignore_file.empty()) {
    auto path = root + "/" + cfg.ignore_file;
    std::ifstream in{path, std::ios::binary};
    if (in) {
      std::stringstream text;
      text << in.rdbuf();
      auto errs = rules->add_text(text.str(), path);
      if (!errs.empty())
        throw usage_error{errs.front()};
    }
  }
  return rules;
}

std::string absolute_dir(const std::string& path) {
  char buf[PATH_MAX];
  if (::realpath(path.c_str(), buf) == nullptr)
    throw usage_error{"cannot use --root=" + path + ": "
                                + std::strerror(errno)};
  struct stat st;
  if (::stat(buf, &st) != 0 || !S_ISDIR(st.st_mode))
    throw usage_error{"cannot use --root=" + path
                                + ": not a directory"};
  return buf;
}

watcher_settings validate(watcher_config& cfg) {
  watcher_settings out;
  out.root = absolute_dir(cfg.root);
  out.targets = reference_endpoints(cfg);
  if (!cfg.reference.empty())
    throw usage_error{"--reference is for flush and verify; the watcher "
                      "mirrors to every one of --references"};
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
  if (auto why = invalid_link_chunker_params(
        {cfg.chunk_min, cfg.chunk_avg, cfg.chunk_max}))
    throw usage_error{std::string{"invalid chunk-min/avg/max: "} + why};
  if (cfg.content_workers > 64)
    throw usage_error{"invalid value for 'content-workers': "
                      + std::to_string(cfg.content_workers)
                      + " (expected 0 to 64)"};
  if (cfg.recipe_cache_mib > 65536)
    throw usage_error{"invalid value for 'recipe-cache-mib': "
                      + std::to_string(cfg.recipe_cache_mib)
                      + " (expected at most 65536)"};
  if (cfg.stats_interval.count() < 0)
    throw usage_error{"invalid value for 'stats-interval': negative"};
  if (cfg.progress_interval.count() < 0)
    cfg.progress_interval = ::isatty(STDOUT_FILENO)
                              ? caf::timespan{std::chrono::seconds(1)}
                              : caf::timespan{std::chrono::seconds(10)};
  check_duration("request-timeout", cfg.request_timeout,
                 std::chrono::seconds(1), "1s");
  check_duration("unwatched-scan-interval", cfg.unwatched_scan_interval,
                 std::chrono::milliseconds(100), "100ms");
  if (cfg.quiet.count() < 0 || cfg.max_delay < cfg.quiet)
    throw usage_error{"invalid 'debounce'/'max-delay': need 0 <= debounce "
                      "<= max-delay"};
  check_metrics_options(cfg);
  out.excludes = load_excludes(cfg, out.root);
  out.debounce.quiet = cfg.quiet;
  out.debounce.max_delay = cfg.max_delay;
  auto& s = out.sender;
  s.root = out.root;
  s.tls = cfg.tls();
  s.window_bytes = uint64_t{cfg.window_mib} << 20;
  s.small_file_bytes = uint64_t{cfg.small_file_kib} << 10;
  s.upload.zstd_level = cfg.zstd_level;
  s.upload.chunking = {cfg.chunk_min, cfg.chunk_avg, cfg.chunk_max};
  s.recipe_budget_bytes = uint64_t{cfg.recipe_cache_mib} << 20;
  s.stats_interval = cfg.stats_interval;
  s.request_timeout = cfg.request_timeout;
  s.excludes = out.excludes;
  s.progress_interval = cfg.progress_interval;
  // Reads ahead: a few per worker, and at least two of the largest small
  // files in bytes.
  s.read_ahead_limits.reads = 16 * size_t{cfg.content_workers};
  s.read_ahead_limits.bytes = std::max<uint64_t>(4u << 20,
                                                 2 * s.small_file_bytes);
  // Larger files read and chunked ahead: a few per worker (a medium file
  // takes a worker about a millisecond; with fewer, most of them found no
  // room when planned and were chunked by the sender), within the 64 MiB
  // of content the read-ahead may hold for them.
  s.read_ahead_limits.scans = 8 * size_t{cfg.content_workers};
  out.content_workers = cfg.content_workers;
  out.unwatched_scan_interval = cfg.unwatched_scan_interval;
  return out;
}

} // namespace livesync
