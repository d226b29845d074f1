#include "actors/reference/metrics_file.hpp"

#include "core/reference/reference_metrics.hpp"

namespace livesync {

namespace {

using self_ptr
  = reference_metrics_actor::stateful_pointer<reference_metrics_state>;

void act(self_ptr self, const metrics_pacer::decision& d) {
  if (d.arm)
    self->delayed_send(self, d.delay, atom::tick_v);
  if (d.write)
    self->state.out.write(render_prometheus(self->state.latest));
}

} // namespace

reference_metrics_actor::behavior_type
reference_metrics_file(self_ptr self, std::string path, caf::timespan interval,
                       reference_counters initial) {
  self->state.out = metrics_output{std::move(path)};
  self->state.pacer = metrics_pacer{interval};
  self->state.latest = std::move(initial);
  // The file exists from the start, showing the reference listening.
  act(self, self->state.pacer.changed(self->clock().now()));
  return {
    [=](reference_counters& c) {
      self->state.latest = std::move(c);
      act(self, self->state.pacer.changed(self->clock().now()));
    },
    [=](atom::tick) { act(self, self->state.pacer.tick(self->clock().now())); },
    [=](atom::final_write) {
      auto& latest = self->state.latest;
      latest.running = false;
      latest.watcher.clear();
      latest.open_transfers = 0;
      auto ok = self->state.out.write(render_prometheus(latest));
      // Counters the receiver sends while it stops must not bring back
      // "running".
      self->quit();
      return ok;
    },
  };
}

} // namespace livesync
