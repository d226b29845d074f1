// livesync-watcher: watches --root with inotify and mirrors every change to
// the reference at --host:--port (or to each of --references). Options:
// apps/watcher_options; commands (status, flush, verify):
// apps/watcher_commands. See README.md.
#include "actors/watcher/content_worker.hpp"
#include "actors/watcher/control.hpp"
#include "actors/watcher/debouncer.hpp"
#include "actors/watcher/fanout.hpp"
#include "actors/watcher/inotify_reader.hpp"
#include "actors/watcher/metrics_file.hpp"
#include "actors/watcher/sender.hpp"
#include "actors/watcher/tracker.hpp"
#include "apps/common/app_support.hpp"
#include "apps/watcher_commands.hpp"
#include "apps/watcher_options.hpp"
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

using livesync::watcher_config;

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
/// Memory for small files read once for several references (each entry
/// leaves once every sender has taken it).
constexpr uint64_t shared_read_budget = uint64_t{64} << 20;
/// Chunk lists shared by several references' senders: 16 bytes a chunk,
/// so 16 MiB holds the lists of 4 GiB of files changed at once.
constexpr uint64_t shared_chunk_budget = uint64_t{16} << 20;

/// Asks the tracker for the start-up walk and waits for it: false when the
/// root cannot be watched.
bool watch_tree(caf::actor_system& sys, const livesync::tracker_actor& trk) {
  bool ok = false;
  caf::scoped_actor self{sys};
  self->request(trk, caf::infinite, livesync::atom::watch_v)
    .receive([&](uint64_t) { ok = true; }, [&](caf::error&) {});
  return ok;
}

/// Spawns the watcher's actors and runs until SIGINT/SIGTERM; the exit
/// code.
int run_watcher(livesync::watcher_config& cfg,
                const livesync::watcher_settings& settings, int inotify_fd,
                int stop_fd, int barrier_fd) {
  using namespace livesync;
  auto& root = settings.root;
  auto& targets = settings.targets;
  auto& excludes = settings.excludes;
  int rc = 0;
  caf::actor_system sys{cfg};
  auto& dcfg = settings.debounce;
  auto scfg = settings.sender;
  scfg.identity = host_name() + ":" + root;
  scfg.barriers = std::make_shared<barrier_signal>(barrier_fd);
  tracker_config tcfg;
  tcfg.unwatched_scan_interval = settings.unwatched_scan_interval;
  // Walks list directories in parallel on the scheduler's threads; twice
  // as many walkers as threads keeps each busy while another's reply waits.
  tcfg.max_walkers = 2 * sys.scheduler().num_workers();
  auto deb = sys.spawn(debouncer, dcfg);
  auto trk = sys.spawn(tracker, inotify_fd, root, deb, stop_fd, excludes,
                       std::move(tcfg));
  // The watches are in place before the reader and the senders start (the
  // senders' first comparison relies on them). The tracker logs what went
  // wrong; an unwatched root is fatal.
  if (!watch_tree(sys, trk)) {
    for (auto a : {caf::actor_cast<caf::actor>(trk),
                   caf::actor_cast<caf::actor>(deb)})
      caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
    sys.await_all_actors_done();
    return 1;
  }
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
    scfg.shared_chunks = std::make_shared<chunk_list_cache>(
      shared_chunk_budget, targets.size());
    source = fan;
    spdlog::info("fanout references={}", targets.size());
  }
  // One pool of content workers for every sender.
  scfg.content_workers = spawn_content_workers(sys, settings.content_workers);
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
  for (auto& w : scfg.content_workers)
    all.push_back(caf::actor_cast<caf::actor>(w));
  for (auto& a : all)
    caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
  sys.await_all_actors_done();
  return rc;
}

} // namespace

int main(int argc, char** argv) {
  using namespace livesync;
  tune_malloc();
  watcher_config cfg;
  watcher_settings settings;
  auto command = take_command(argc, argv);
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "-h" || a == "-?" || a == "--help" || a == "--long-help") {
      std::cout
        << "usage: livesync-watcher [COMMAND] --key=value ...\n"
           "  (no command)  watch --root and mirror it to --host:--port, or "
           "to each of --references\n"
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
    settings = validate(cfg);
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
  if (cfg.insecure)
    warn_insecure("start");
  auto rc = run_watcher(cfg, settings, inotify_fd, stop_fd, barrier_fd);
  ::close(inotify_fd);
  ::close(stop_fd);
  ::close(barrier_fd);
  return rc;
}
