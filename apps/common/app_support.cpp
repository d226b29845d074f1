#include "apps/common/app_support.hpp"

#include "core/common/atomic_file.hpp"
#include "core/common/option_errors.hpp"

#include <malloc.h>
#include <sys/resource.h>

#include "apps/common/tls_check.hpp"

#include <caf/config_option_adder.hpp>
#include <caf/detail/parser/read_ini.hpp>
#include <caf/settings.hpp>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <csignal>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>

#ifndef LIVESYNC_VERSION // CMakeLists.txt sets it from project(VERSION)
#define LIVESYNC_VERSION "unknown"
#endif

namespace livesync {

node_config::node_config() {
  opt_group{custom_options_, "global"}
    .add(root, "root", "directory of this node (required)")
    .add(log_level, "log-level",
         "trace, debug, info, warn, error or off (default: info)")
    .add(insecure, "insecure",
         "plain TCP: no encryption, no authentication (trusted networks "
         "and tests only); otherwise set openssl.certificate, openssl.key "
         "and openssl.cafile")
    .add(metrics_file, "metrics-file",
         "keep the counters in this file in Prometheus' text format (for "
         "node_exporter's textfile collector: name it *.prom), rewritten "
         "atomically while there is activity (default: none)")
    .add(metrics_interval, "metrics-interval",
         "rewrite the metrics file at most this often while counters change "
         "(default: 1s; 100ms to 1h)")
    .add(version, "version", "print the program's name and version and exit");
}

bool node_config::tls() const noexcept {
  return !openssl_certificate.empty() || !openssl_key.empty()
         || !openssl_passphrase.empty() || !openssl_cafile.empty()
         || !openssl_capath.empty();
}

namespace {

std::string render_error(const caf::error& err) {
  return caf::actor_system_config::render(err);
}

/// The type name of the option `key` ("--port", "--openssl.cafile"), or "".
std::string option_type(const node_config& cfg, const std::string& key) {
  auto name = key.rfind("--", 0) == 0 ? key.substr(2) : key;
  for (auto& opt : cfg.options()) {
    auto category = std::string(opt.category().begin(), opt.category().end());
    auto lname = std::string(opt.long_name().begin(), opt.long_name().end());
    if (name == lname || name == category + "." + lname)
      return std::string(opt.type_name().begin(), opt.type_name().end());
  }
  return {};
}

/// CAF's parser error as a sentence (core/common/option_errors), or its own
/// rendering for the codes a person rarely meets.
std::string explain_parse_error(const node_config& cfg,
                                const caf::error& err) {
  if (err.category() != caf::atom("parser") || err.context().size() != 1
      || !err.context().match_element<caf::config_value::dictionary>(0))
    return render_error(err);
  auto& ctx = err.context().get_as<caf::config_value::dictionary>(0);
  auto i = ctx.find("argument");
  if (i == ctx.end() || !caf::holds_alternative<std::string>(i->second))
    return render_error(err);
  auto argument = caf::get<std::string>(i->second);
  option_error kind;
  switch (static_cast<caf::pec>(err.code())) {
    case caf::pec::missing_argument:
      kind = option_error::missing_value;
      break;
    case caf::pec::integer_overflow:
    case caf::pec::integer_underflow:
    case caf::pec::timespan_overflow:
      kind = option_error::out_of_range;
      break;
    case caf::pec::not_an_option:
      kind = option_error::unknown_option;
      break;
    case caf::pec::unexpected_character:
    case caf::pec::unexpected_eof:
    case caf::pec::trailing_character:
    case caf::pec::type_mismatch:
    case caf::pec::illegal_argument:
    case caf::pec::fractional_timespan:
      kind = option_error::malformed;
      break;
    default:
      return render_error(err);
  }
  return explain_option_error(kind, argument,
                              option_type(cfg, argument.substr(
                                                 0, argument.find('='))));
}

std::string str(caf::string_view x) {
  return std::string(x.begin(), x.end());
}

/// Checks each value the file sets against its option, and records it in
/// cfg.given.
void check_raw_settings(node_config& cfg, const caf::settings& raw,
                        const std::string& file) {
  for (auto& opt : cfg.options()) {
    auto category = str(opt.category());
    auto name = str(opt.long_name());
    // Keys before any [section] land at the top level of the raw
    // settings; "[global]" puts them under "global".
    auto* val = caf::get_if(&raw, category + "." + name);
    if (val == nullptr && category == "global")
      val = caf::get_if(&raw, name);
    if (val == nullptr)
      continue;
    auto shown = category == "global" ? name : category + "." + name;
    cfg.given_in_file.insert(shown);
    if (auto err = opt.check(*val)) {
      throw usage_error{file + ": invalid value for '" + shown
                        + "': " + caf::to_string(*val) + " (expected "
                        + str(opt.type_name()) + ")"};
    }
  }
}

void check_transport(const node_config& cfg) {
  if (cfg.tls() && cfg.insecure)
    throw usage_error{"--insecure conflicts with the openssl.* options: "
                      "choose mutual TLS or plain TCP"};
  if (!cfg.tls() && !cfg.insecure)
    throw usage_error{
      "no TLS configured: set --openssl.certificate=, --openssl.key= and "
      "--openssl.cafile= (scripts/make-certs.sh makes a private CA and "
      "node certificates), or pass --insecure for plain TCP on a trusted "
      "network"};
  if (cfg.tls()) {
    tls_files files{cfg.openssl_certificate, cfg.openssl_key,
                    cfg.openssl_passphrase, cfg.openssl_cafile,
                    cfg.openssl_capath};
    if (auto why = check_tls_files(files); !why.empty())
      throw usage_error{"TLS: " + why};
  }
}

} // namespace

bool parse_config(node_config& cfg, int argc, char** argv,
                  const std::vector<std::string>& required) {
  if (auto err = cfg.parse(argc, argv))
    throw usage_error{explain_parse_error(cfg, err)};
  if (cfg.cli_helptext_printed)
    return false;
  if (cfg.version) {
    // "NAME VERSION", the form help2man reads (the man pages).
    std::string name = argc > 0 ? argv[0] : "livesync";
    std::cout << name.substr(name.rfind('/') + 1) << " " << LIVESYNC_VERSION
              << std::endl;
    return false;
  }
  if (!cfg.remainder.empty())
    throw usage_error{"unexpected argument '" + cfg.remainder.front()
                      + "' (options take the form --key=value)"};
  for (int i = 1; i < argc; ++i) {
    std::string arg{argv[i]};
    if (arg.rfind("--", 0) == 0)
      cfg.given_on_command_line.insert(arg.substr(2, arg.find('=') - 2));
  }
  bool policy_given = false;
  for (int i = 1; i < argc; ++i)
    if (std::string{argv[i]}.rfind("--scheduler.policy=", 0) == 0
        || std::string{argv[i]}.rfind("--caf#scheduler.policy=", 0) == 0)
      policy_given = true;
  // CAF's INI parser drops a value of the wrong type or out of range
  // without a word: the option keeps its default. Parse the file again
  // without type checks and check each value against its option.
  if (!cfg.config_file_path.empty()) {
    auto raw = caf::actor_system_config::parse_config_file(
      cfg.config_file_path.c_str());
    if (raw) {
      check_raw_settings(cfg, *raw, cfg.config_file_path);
      policy_given = policy_given
                     || caf::get_if(&*raw, "scheduler.policy") != nullptr;
    }
  }
  // CAF's default work-stealing scheduler polls: each idle worker wakes
  // every 10 ms (measured: ~360 context switches and 10 ms of CPU per
  // second per idle node). The work-sharing one sleeps on a condition
  // variable, so an idle node does not wake at all. An explicit
  // scheduler.policy (CLI or INI) still wins.
  if (!policy_given)
    cfg.set("scheduler.policy", caf::atom("sharing"));
  for (auto& key : required) {
    if (key == "root" && cfg.root.empty())
      throw usage_error{"missing required option --root=DIR"};
  }
  check_transport(cfg);
  return true;
}

void check_metrics_options(const node_config& cfg) {
  using namespace std::chrono;
  auto interval = cfg.metrics_interval;
  if (interval < milliseconds(100) || interval > hours(1))
    throw usage_error{
      "invalid value for 'metrics-interval': "
      + std::to_string(duration_cast<milliseconds>(interval).count())
      + "ms (expected 100ms to 1h)"};
  if (cfg.metrics_file.empty())
    return;
  if (auto st = check_replaceable(cfg.metrics_file); !st)
    throw usage_error{"invalid value for 'metrics-file': \"" + cfg.metrics_file
                      + "\": " + st.reason()};
}

uint32_t parse_mode_mask(const std::string& text) {
  char* end = nullptr;
  auto value = std::strtoul(text.c_str(), &end, 8);
  if (text.empty() || *end != '\0' || value > 07777)
    throw usage_error{"invalid value for 'mode-mask': \"" + text
                      + "\" (expected octal permission bits, at most 7777)"};
  return static_cast<uint32_t>(value);
}

void setup_logging(const std::string& node_name, const std::string& level) {
  auto lvl = spdlog::level::from_str(level);
  if (lvl == spdlog::level::off && level != "off")
    throw usage_error{"invalid value for 'log-level': \"" + level
                      + "\" (use trace, debug, info, warn, error or off)"};
  auto logger = spdlog::stdout_color_mt(node_name);
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ [%n] %v");
  logger->set_level(lvl);
  logger->flush_on(spdlog::level::trace);
  spdlog::set_default_logger(logger);
}

void warn_insecure(const std::string& when) {
  spdlog::warn("insecure-link when={} detail=plain TCP, neither encrypted nor "
               "authenticated: anyone who reaches the port can write the "
               "mirror",
               when);
}

void block_stop_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

std::string wait_for_stop_signal() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  int sig = 0;
  sigwait(&set, &sig);
  return sig == SIGINT ? "SIGINT" : "SIGTERM";
}

uint64_t raise_fd_limit() {
  rlimit lim{};
  if (::getrlimit(RLIMIT_NOFILE, &lim) != 0)
    return 1024;
  if (lim.rlim_cur < lim.rlim_max) {
    auto want = lim;
    want.rlim_cur = lim.rlim_max;
    if (::setrlimit(RLIMIT_NOFILE, &want) == 0)
      lim = want;
  }
  return lim.rlim_cur == RLIM_INFINITY ? uint64_t{1} << 20 : lim.rlim_cur;
}

void tune_malloc() {
  // Fixed values also end glibc's dynamic threshold (which grows only
  // after a large buffer has been unmapped once, and then trims at twice it).
  mallopt(M_MMAP_THRESHOLD, 4 << 20);
  mallopt(M_TRIM_THRESHOLD, 8 << 20);
}

} // namespace livesync
