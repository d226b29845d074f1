#include "actors/watcher/control.hpp"

#include "actors/common/request_timeout.hpp"

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
      // Each answer cancels its request's timeout: the metrics file asks
      // for the status after the last change, and a timeout left behind
      // would wake the idle watcher 10 s later.
      auto rp = self->make_response_promise<watcher_status>();
      auto fail = [=](caf::error& err) mutable { rp.deliver(std::move(err)); };
      auto sh = self->request(self->state.sender, local_timeout,
                              atom::status_v);
      auto sid = sh.id();
      sh.then(
        [=](watcher_status& s) mutable {
          forget_request_timeout(self, sid);
          auto dh = self->request(self->state.debouncer, local_timeout,
                                  atom::status_v);
          auto did = dh.id();
          dh.then(
            [=](uint64_t pending) mutable {
              forget_request_timeout(self, did);
              s.pending_paths = pending;
              if (s.state == "in-sync" && pending > 0)
                s.state = "syncing";
              auto th = self->request(self->state.tracker, local_timeout,
                                      atom::status_v);
              auto tid = th.id();
              th.then(
                [=](uint64_t unwatched) mutable {
                  forget_request_timeout(self, tid);
                  s.unwatched_dirs = unwatched;
                  rp.deliver(std::move(s));
                },
                fail);
            },
            fail);
        },
        fail);
      return rp;
    },
  };
}

} // namespace livesync
