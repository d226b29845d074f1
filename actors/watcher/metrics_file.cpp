#include "actors/watcher/metrics_file.hpp"

#include "actors/common/request_timeout.hpp"
#include "core/watcher/watcher_metrics.hpp"

#include <spdlog/spdlog.h>

#include <chrono>

namespace livesync {

namespace {

using self_ptr
  = watcher_metrics_actor::stateful_pointer<watcher_metrics_state>;

/// Local requests only: the control actor answers at once unless the
/// process is stuck.
constexpr auto local_timeout = std::chrono::seconds(10);

int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
           std::chrono::system_clock::now().time_since_epoch())
    .count();
}

/// Asks for the status, renders it and replaces the file; `then(ok)` after.
template <class Then>
void write_status(self_ptr self, caf::timespan timeout, bool stopped,
                  Then then) {
  auto rh = self->request(self->state.source, timeout, atom::status_v);
  auto id = rh.id();
  rh.then(
    [=](std::vector<watcher_status>& xs) mutable {
      // The answer came: its timeout must not wake the idle watcher later.
      forget_request_timeout(self, id);
      if (self->state.final && !stopped)
        return then(false);
      if (stopped)
        for (auto& s : xs)
          s.state = "stopped";
      then(self->state.out.write(render_prometheus(xs, unix_now())));
    },
    [=](caf::error& err) mutable {
      spdlog::warn("metrics-file-failed path={} reason=no status: {}",
                   self->state.out.path(), self->system().render(err));
      then(false);
    });
}

void act(self_ptr self, const metrics_pacer::decision& d) {
  if (d.arm)
    self->delayed_send(self, d.delay, atom::tick_v);
  if (!d.write)
    return;
  if (!self->state.source) {
    self->state.owed = true;
    return;
  }
  write_status(self, local_timeout, false, [](bool) {});
}

} // namespace

watcher_metrics_actor::behavior_type
watcher_metrics_file(self_ptr self, std::string path, caf::timespan interval) {
  self->state.out = metrics_output{std::move(path)};
  self->state.pacer = metrics_pacer{interval};
  // The file exists from the start, showing the watcher connecting.
  act(self, self->state.pacer.changed(self->clock().now()));
  return {
    [=](control_actor& source) {
      self->state.source = std::move(source);
      if (self->state.owed) {
        self->state.owed = false;
        write_status(self, local_timeout, false, [](bool) {});
      }
    },
    [=](atom::changed) {
      if (!self->state.final)
        act(self, self->state.pacer.changed(self->clock().now()));
    },
    [=](atom::tick) {
      if (!self->state.final)
        act(self, self->state.pacer.tick(self->clock().now()));
    },
    [=](atom::final_write) -> caf::result<bool> {
      auto rp = self->make_response_promise<bool>();
      if (self->state.final || !self->state.source) {
        rp.deliver(false);
        return rp;
      }
      self->state.final = true;
      // Short: the watcher must exit promptly even if the sender is busy.
      write_status(self, std::chrono::milliseconds(500), true,
                   [=](bool ok) mutable {
                     rp.deliver(ok);
                     self->quit();
                   });
      return rp;
    },
  };
}

} // namespace livesync
