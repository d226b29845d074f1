#include "actors/watcher/control.hpp"

#include <chrono>

namespace livesync {

namespace {

/// Local requests only: the sender and debouncer answer at once unless the
/// process is stuck, in which case the caller's own timeout says so.
constexpr auto local_timeout = std::chrono::seconds(10);

} // namespace

control_actor::behavior_type
control(control_actor::stateful_pointer<control_state> self,
        sender_actor sender, debouncer_actor debouncer,
        tracker_actor tracker) {
  self->state.sender = std::move(sender);
  self->state.debouncer = std::move(debouncer);
  self->state.tracker = std::move(tracker);
  return {
    [=](atom::flush) {
      // No timeout here: the caller decides how long it waits.
      return self->delegate(self->state.sender, atom::flush_v);
    },
    [=](atom::status) -> caf::result<watcher_status> {
      auto rp = self->make_response_promise<watcher_status>();
      self->request(self->state.sender, local_timeout, atom::status_v)
        .then(
          [=](watcher_status& s) mutable {
            self->request(self->state.debouncer, local_timeout,
                          atom::status_v)
              .then(
                [=](uint64_t pending) mutable {
                  s.pending_paths = pending;
                  if (s.state == "in-sync" && pending > 0)
                    s.state = "syncing";
                  self->request(self->state.tracker, local_timeout,
                                atom::status_v)
                    .then(
                      [=](uint64_t unwatched) mutable {
                        s.unwatched_dirs = unwatched;
                        rp.deliver(std::move(s));
                      },
                      [=](caf::error& err) mutable {
                        rp.deliver(std::move(err));
                      });
                },
                [=](caf::error& err) mutable { rp.deliver(std::move(err)); });
          },
          [=](caf::error& err) mutable { rp.deliver(std::move(err)); });
      return rp;
    },
  };
}

} // namespace livesync
