// livesync-watcher: watches --root with inotify and mirrors every change to
// the reference at --host:--port. See README.md for the options.
#include "actors/watcher/control.hpp"
#include "actors/watcher/debouncer.hpp"
#include "actors/watcher/fanout.hpp"
#include "actors/watcher/inotify_reader.hpp"
#include "actors/watcher/metrics_file.hpp"
#include "actors/watcher/sender.hpp"
#include "actors/watcher/tracker.hpp"
#include "apps/common/app_support.hpp"
#include "apps/watcher_commands.hpp"
#include "core/common/endpoint.hpp"
#include "core/watcher/watch_setup.hpp"
#include "messages/register.hpp"

#include <caf/io/all.hpp>
#include <caf/openssl/all.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <climits>
#include <cstdio>
#include <cstring>
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

/// Throws usage_error unless `lowest` <= `value` <= 1h.
void check_duration(const char* name, caf::timespan value,
                    caf::timespan lowest, const char* lowest_text) {
  if (value >= lowest && value <= std::chrono::hours(1))
    return;
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(value);
  throw livesync::usage_error{std::string{"invalid value for '"} + name
                              + "': " + std::to_string(ms.count())
                              + "ms (expected " + lowest_text + " to 1h)"};
}

/// Memory for small files read once for several references (each entry
/// leaves once every sender has taken it).
constexpr uint64_t shared_read_budget = uint64_t{64} << 20;

/// The references to mirror to: --references, or the one of --host and
/// --port. Throws usage_error on a mistake.
std::vector<livesync::endpoint> reference_endpoints(const watcher_config& cfg) {
  using livesync::usage_error;
  std::vector<livesync::endpoint> out;
  if (cfg.given.count("references") == 0) {
    if (cfg.host.empty())
      throw usage_error{"invalid value for 'host': empty"};
    if (cfg.port == 0)
      throw usage_error{"invalid value for 'port': 0 (expected 1 to 65535)"};
    out.push_back({cfg.host, cfg.port});
    return out;
  }
  if (cfg.given.count("host") > 0 || cfg.given.count("port") > 0)
    throw usage_error{"--references replaces --host and --port: give the "
                      "references as a list, or one reference by --host "
                      "and --port"};
  std::string why;
  if (!livesync::parse_endpoints(cfg.references, out, why))
    throw usage_error{"invalid value for 'references': " + why};
  return out;
}

/// --reference (flush, verify): one of `all`, as "host:port" the way
/// status names it; empty: all. Throws usage_error when it names none.
std::string chosen_reference(const watcher_config& cfg,
                             const std::vector<livesync::endpoint>& all) {
  if (cfg.reference.empty())
    return {};
  std::string why;
  auto e = livesync::parse_endpoint(cfg.reference, why);
  if (!e)
    throw livesync::usage_error{"invalid value for 'reference': " + why};
  for (auto& x : all)
    if (x == *e)
      return e->text();
  throw livesync::usage_error{"--reference=" + cfg.reference
                              + " is not one of the references"};
}

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

/// The command named by the first argument, if any ("" runs the watcher).
std::string take_command(int& argc, char**& argv) {
  static const char* commands[] = {"status", "flush", "verify"};
  if (argc < 2)
    return {};
  for (auto c : commands)
    if (std::strcmp(argv[1], c) == 0) {
      // CAF's parser stops at the first positional argument: drop it.
      argv[1] = argv[0];
      ++argv;
      --argc;
      return c;
    }
  return {};
}

int run_command(const std::string& command, watcher_config& cfg) {
  using namespace livesync;
  command_target t;
  t.tls = cfg.tls();
  t.timeout = cfg.timeout;
  std::string root;
  std::shared_ptr<const ignore_rules> excludes;
  uint32_t mask = 0;
  status_format format = status_format::text;
  std::vector<endpoint> targets;
  std::string only;
  try {
    if (cfg.timeout.count() <= 0)
      throw usage_error{"invalid value for 'timeout': must be positive"};
    format = parse_status_format(cfg.format, cfg.json);
    if (!cfg.reference.empty()) {
      // flush checks the name against the running watcher's references.
      std::string why;
      auto e = parse_endpoint(cfg.reference, why);
      if (!e)
        throw usage_error{"invalid value for 'reference': " + why};
      only = e->text();
    }
    if (command == "verify") {
      targets = reference_endpoints(cfg);
      if (auto chosen = chosen_reference(cfg, targets); !chosen.empty())
        targets.erase(std::remove_if(targets.begin(), targets.end(),
                                     [&](const endpoint& x) {
                                       return x.text() != chosen;
                                     }),
                      targets.end());
      if (cfg.root.empty())
        throw usage_error{"verify: missing required option --root=DIR"};
      root = absolute_dir(cfg.root);
      excludes = load_excludes(cfg, root);
      mask = parse_mode_mask(cfg.mode_mask);
    }
  } catch (const usage_error& e) {
    std::cerr << "livesync-watcher: error: " << e.what << std::endl;
    return 2;
  }
  // Commands print results, not logs.
  spdlog::set_level(spdlog::level::warn);
  caf::actor_system sys{cfg};
  if (command == "verify") {
    // Each reference in turn; the exit code is the worst of them.
    int rc = 0;
    for (auto& e : targets) {
      if (targets.size() > 1)
        std::printf("reference %s\n", e.text().c_str());
      std::fflush(stdout);
      t.host = e.host;
      t.port = e.port;
      rc = std::max(rc, run_verify(sys, t, root, excludes.get(), mask));
    }
    return rc;
  }
  t.host = cfg.control_bind == "0.0.0.0" ? "127.0.0.1" : cfg.control_bind;
  t.port = cfg.control_port;
  if (t.port == 0) {
    std::cerr << "livesync-watcher: error: " << command
              << " needs --control-port=N (the port the watcher logged in "
                 "its control-listening line)"
              << std::endl;
    return 2;
  }
  return command == "flush" ? run_flush(sys, t, only)
                            : run_status(sys, t, format);
}

} // namespace

namespace {

/// This host's name, for the identity the reference knows a watcher by.
std::string host_name() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0)
    return "unknown-host";
  return buf;
}

} // namespace

int main(int argc, char** argv) {
  using namespace livesync;
  tune_malloc();
  watcher_config cfg;
  std::string root;
  std::vector<endpoint> targets;
  std::shared_ptr<const ignore_rules> excludes;
  auto command = take_command(argc, argv);
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "-h" || a == "-?" || a == "--help" || a == "--long-help") {
      std::cout
        << "usage: livesync-watcher [COMMAND] --key=value ...\n"
           "  (no command)  watch --root and mirror it to --host:--port\n"
           "  status        what the running watcher does (--control-port)\n"
           "  flush         wait until every change made so far is "
           "committed on the reference\n"
           "  verify        compare --root with the reference by content "
           "hash, list the differences\n\n";
      break;
    }
  }
  try {
    if (!parse_config(cfg, argc, argv,
                      command.empty() ? std::vector<std::string>{"root"}
                                      : std::vector<std::string>{}))
      return 0;
    if (!command.empty())
      return run_command(command, cfg);
    root = absolute_dir(cfg.root);
    targets = reference_endpoints(cfg);
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
    excludes = load_excludes(cfg, root);
    check_metrics_options(cfg);
    setup_logging("watcher", cfg.log_level);
  } catch (const usage_error& e) {
    std::cerr << "livesync-watcher: error: " << e.what << std::endl;
    return 2;
  }
  block_stop_signals();
  // Descriptors: the walks hold one per directory level (256 at most), the
  // sender a few per file being read, the control port one per client.
  raise_fd_limit();
  int inotify_fd = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  int stop_fd = ::eventfd(0, EFD_CLOEXEC);
  int barrier_fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (inotify_fd < 0 || stop_fd < 0 || barrier_fd < 0) {
    spdlog::error("inotify-init-failed reason={}", std::strerror(errno));
    return 1;
  }
  watch_table table;
  auto report = add_watch_tree(inotify_fd, root, "", table, excludes.get());
  // A reached watch limit is one line naming the sysctl; the directories
  // it left out are mirrored by the tracker's periodic scan.
  for (auto& line : report.errors)
    spdlog::error("watch-failed {}", line);
  if (!table.wd_of("")) {
    spdlog::error("watch-failed root={} (cannot watch the root{})", root,
                  report.unreadable.empty() ? "" : ": permission denied");
    return 1;
  }
  spdlog::info("watching root={} directories={} unwatched={} unreadable={} "
               "exclude_patterns={}",
               root, report.added, report.unwatched.size(),
               report.unreadable.size(), excludes->size());
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
    scfg.identity = host_name() + ":" + root;
    scfg.tls = cfg.tls();
    scfg.window_bytes = uint64_t{cfg.window_mib} << 20;
    scfg.small_file_bytes = uint64_t{cfg.small_file_kib} << 10;
    scfg.upload.zstd_level = cfg.zstd_level;
    scfg.upload.chunking = {cfg.chunk_min, cfg.chunk_avg, cfg.chunk_max};
    scfg.recipe_budget_bytes = uint64_t{cfg.recipe_cache_mib} << 20;
    scfg.stats_interval = cfg.stats_interval;
    scfg.request_timeout = cfg.request_timeout;
    scfg.excludes = excludes;
    scfg.progress_interval = cfg.progress_interval;
    scfg.barriers = std::make_shared<barrier_signal>(barrier_fd);
    tracker_config tcfg;
    tcfg.unwatched = std::move(report.unwatched);
    tcfg.unreadable = std::move(report.unreadable);
    tcfg.unwatched_scan_interval = cfg.unwatched_scan_interval;
    auto deb = sys.spawn(debouncer, dcfg, rescan_backoff_config{});
    auto trk = sys.spawn(tracker, inotify_fd, root, std::move(table), deb,
                         stop_fd, excludes, std::move(tcfg));
    auto rd = sys.spawn<caf::detached>(inotify_reader, trk, inotify_fd,
                                       stop_fd, barrier_fd);
    // The senders tell the metrics file actor about changes; the control
    // actor, spawned after them, is where it gets the status from.
    watcher_metrics_actor metrics;
    if (!cfg.metrics_file.empty())
      metrics = sys.spawn(watcher_metrics_file, cfg.metrics_file,
                          cfg.metrics_interval);
    // One sender per reference. Several take their batches from a fanout,
    // which keeps what each still owes; one talks to the debouncer.
    debouncer_actor source = deb;
    fanout_actor fan;
    if (targets.size() > 1) {
      fan = sys.spawn(fanout, deb, targets.size(), dcfg.max_batch);
      scfg.shared_reads = std::make_shared<content_cache>(
        shared_read_budget, targets.size());
      source = fan;
      spdlog::info("fanout references={}", targets.size());
    }
    std::vector<sender_actor> senders;
    std::vector<std::string> names;
    for (auto& e : targets) {
      scfg.host = e.host;
      scfg.port = e.port;
      senders.push_back(sys.spawn(sender, scfg, source, metrics));
      names.push_back(e.text());
    }
    auto ctl = sys.spawn(control, senders, names, deb, fan, trk);
    if (metrics)
      caf::anon_send(metrics, ctl);
    // With the link's mutual TLS when it is configured (any certificate of
    // the CA may ask for the status or a flush); bound to loopback by
    // default. The control actor can only report and flush.
    auto cport = cfg.tls() ? caf::openssl::publish(ctl, cfg.control_port,
                                                   cfg.control_bind.c_str(),
                                                   true)
                           : sys.middleman().publish(ctl, cfg.control_port,
                                                     cfg.control_bind.c_str(),
                                                     true);
    if (cport)
      spdlog::info("control-listening bind={} port={} (livesync-watcher "
                   "status|flush --control-port={})",
                   cfg.control_bind, *cport, *cport);
    else
      spdlog::warn("control-unavailable bind={} port={} reason={} (status "
                   "and flush will not reach this watcher; set "
                   "--control-port)",
                   cfg.control_bind, cfg.control_port,
                   sys.render(cport.error()));
    auto sig = wait_for_stop_signal();
    spdlog::info("stopping signal={}", sig);
    if (metrics) {
      // The file's last write says the watcher has stopped, with the
      // counters as they ended; bounded, so that exiting stays prompt.
      caf::scoped_actor self{sys};
      self->request(metrics, std::chrono::milliseconds(600),
                    atom::final_write_v)
        .receive([](bool) {},
                 [&](caf::error& err) {
                   spdlog::warn("metrics-file-failed path={} reason=last "
                                "write: {}",
                                cfg.metrics_file, sys.render(err));
                 });
      caf::anon_send_exit(metrics, caf::exit_reason::user_shutdown);
    }
    std::vector<caf::actor> all{caf::actor_cast<caf::actor>(ctl)};
    for (auto& x : senders)
      all.push_back(caf::actor_cast<caf::actor>(x));
    if (fan)
      all.push_back(caf::actor_cast<caf::actor>(fan));
    for (auto a : {caf::actor_cast<caf::actor>(trk),
                   caf::actor_cast<caf::actor>(deb),
                   caf::actor_cast<caf::actor>(rd)})
      all.push_back(a);
    for (auto& a : all)
      caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
    sys.await_all_actors_done();
  }
  ::close(inotify_fd);
  ::close(stop_fd);
  ::close(barrier_fd);
  return rc;
}
