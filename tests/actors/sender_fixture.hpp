// The sender's test fixture, shared by the sender suites: the sender on
// CAF's test coordinator, with a real debouncer and a real receiver over a
// temp reference tree (the connect goes through sender_config::local_peer
// instead of the network). Simulated time: the debouncer's quiet period and
// the reconnect backoff pass by advance_time(), never by sleeping.
#pragma once

#include "fixture.hpp"

#include "actors/reference/receiver.hpp"
#include "actors/watcher/debouncer.hpp"
#include "actors/watcher/sender.hpp"
#include "tree_mismatch.hpp"

#include <filesystem>
#include <fstream>

#include <sys/stat.h>
#include <unistd.h>

using namespace livesync;
using namespace std::chrono_literals;

namespace sender_test {

using sender_impl = caf::stateful_actor<sender_state, sender_actor::base>;

struct fixture : test::fixture_base {
  std::string dir, src, ref;
  std::shared_ptr<tree_writer> writer;
  std::shared_ptr<std::atomic<bool>> stopping
    = std::make_shared<std::atomic<bool>>(false);
  receiver_actor rx;
  debouncer_actor deb;
  sender_actor snd;
  /// Content workers the next start_watcher() hands the sender (none: it
  /// reads its files itself).
  std::vector<content_worker_actor> workers;
  /// What the next connect finds: the receiver, or nothing (refused).
  std::shared_ptr<receiver_actor> reachable
    = std::make_shared<receiver_actor>();

  fixture() {
    char tmpl[] = "/tmp/livesync-sender-XXXXXX";
    dir = ::mkdtemp(tmpl);
    src = dir + "/src";
    ref = dir + "/ref";
    std::filesystem::create_directories(src);
  }

  ~fixture() {
    std::vector<caf::actor> all{caf::actor_cast<caf::actor>(snd),
                                caf::actor_cast<caf::actor>(deb),
                                caf::actor_cast<caf::actor>(rx)};
    for (auto& w : workers)
      all.push_back(caf::actor_cast<caf::actor>(w));
    test::exit_all(all);
    sched.run();
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }

  void write(const std::string& rel, const std::string& text) {
    test::write_under(src, rel, text);
  }

  /// A fresh receiver over the reference tree (as a restarted reference).
  void start_reference() {
    livesync::status err;
    auto w = tree_writer::open(ref, writer_limits{}, err);
    CAF_REQUIRE(w != nullptr);
    writer = std::shared_ptr<tree_writer>{std::move(w)};
    rx = sys.spawn(receiver, writer, true,
                   std::shared_ptr<const std::atomic<bool>>{stopping},
                   reference_metrics_actor{}, reference_counters{},
                   test::in_test_writers());
    *reachable = rx;
  }

  void start_watcher(sender_config cfg = {}) {
    debounce_config dcfg;
    dcfg.quiet = 5ms;
    dcfg.max_delay = 100ms;
    deb = sys.spawn(debouncer, dcfg);
    cfg.root = src;
    cfg.identity = "test-host:" + src;
    cfg.retry_min = 100ms;
    cfg.retry_max = 100ms;
    cfg.stats_interval = caf::timespan{0};
    cfg.progress_interval = caf::timespan{0};
    auto peer = reachable;
    cfg.local_peer = [peer] { return *peer; };
    if (cfg.content_workers.empty())
      cfg.content_workers = workers;
    snd = sys.spawn(sender, cfg, deb, watcher_metrics_actor{});
    sched.run();
  }

  sender_state& state() {
    return deref<sender_impl>(snd).state;
  }

  watcher_status status_now() {
    return request<watcher_status>(snd, atom::status_v);
  }

  /// Settles `paths` through the debouncer, as the tracker reports them.
  void changed(std::vector<std::string> paths) {
    std::vector<change> xs;
    for (auto& p : paths)
      xs.push_back(change::make_dirty(p, change_content));
    self->send(deb, std::move(xs));
    sched.run();
    advance_time(10ms); // the quiet period
    sched.run();
  }

  /// The first difference between the two trees, or "".
  std::string mismatch() {
    return test::tree_mismatch(src, *writer);
  }
};

} // namespace sender_test
