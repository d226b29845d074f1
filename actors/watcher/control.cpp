#include "actors/watcher/control.hpp"

#include "actors/common/request_timeout.hpp"

#include <chrono>
#include <memory>

namespace livesync {

namespace {

using self_ptr = control_actor::stateful_pointer<control_state>;

/// Local requests only: the sender and debouncer answer at once unless the
/// process is stuck, in which case the caller's own timeout says so.
constexpr auto local_timeout = std::chrono::seconds(10);

/// Flush of several references: what has come back so far.
struct flush_gather {
  size_t waiting = 0;
  flush_report report;
  caf::typed_response_promise<flush_report> promise;
};

caf::result<flush_report> gather_flush(self_ptr self, const std::string& only) {
  auto& st = self->state;
  std::vector<size_t> which;
  for (size_t i = 0; i < st.senders.size(); ++i)
    if (only.empty() || st.names[i] == only)
      which.push_back(i);
  if (which.empty())
    return make_error(ec::not_found,
                      "no reference " + only
                        + " (this watcher mirrors to the ones its status "
                          "lists)");
  // One reference waits for it however long it is away; of several, each
  // one not connected is reported rather than waited for.
  bool wait = st.senders.size() == 1;
  auto g = std::make_shared<flush_gather>();
  g->waiting = which.size();
  g->promise = self->make_response_promise<flush_report>();
  auto done = [g] {
    if (--g->waiting == 0)
      g->promise.deliver(g->report);
  };
  for (auto i : which) {
    // No timeout here: the caller decides how long it waits.
    self->request(st.senders[i], caf::infinite, atom::flush_v, wait)
      .then(
        [=](uint64_t refused) {
          g->report.refused += refused;
          done();
        },
        [=](caf::error& err) {
          if (wait) {
            g->waiting = 1; // One reference: its error is the answer.
            g->promise.deliver(std::move(err));
            return;
          }
          g->report.unreachable.push_back(self->state.names[i]);
          done();
        });
  }
  return g->promise;
}

/// Status of several references: each sender's, with what the debouncer
/// and the tracker (shared by all) add.
struct status_gather {
  size_t waiting = 0;
  std::vector<watcher_status> out;
  caf::typed_response_promise<std::vector<watcher_status>> promise;
};

void add_shared_parts(self_ptr self, std::shared_ptr<status_gather> g) {
  auto fail = [g](caf::error& err) { g->promise.deliver(std::move(err)); };
  auto dh = self->request(self->state.debouncer, local_timeout,
                          atom::status_v);
  auto did = dh.id();
  dh.then(
    [=](uint64_t pending) {
      forget_request_timeout(self, did);
      auto th = self->request(self->state.tracker, local_timeout,
                              atom::status_v);
      auto tid = th.id();
      th.then(
        [=](uint64_t unwatched) {
          forget_request_timeout(self, tid);
          for (auto& s : g->out) {
            s.pending_paths += pending;
            s.unwatched_dirs = unwatched;
            if (s.state == "in-sync" && s.pending_paths > 0)
              s.state = "syncing";
          }
          g->promise.deliver(std::move(g->out));
        },
        fail);
    },
    fail);
}

/// Several references: what each still owes in the fanout counts as its
/// pending paths, before the debouncer's (shared) ones are added.
void add_backlogs(self_ptr self, std::shared_ptr<status_gather> g) {
  auto& st = self->state;
  if (!st.fanout) {
    add_shared_parts(self, g);
    return;
  }
  auto left = std::make_shared<size_t>(st.senders.size());
  for (size_t i = 0; i < st.senders.size(); ++i) {
    auto rh = self->request(st.fanout, local_timeout, atom::status_v,
                            caf::actor_cast<caf::actor_addr>(st.senders[i]));
    auto id = rh.id();
    rh.then(
      [=](uint64_t owed) {
        forget_request_timeout(self, id);
        g->out[i].pending_paths = owed;
        if (--*left == 0)
          add_shared_parts(self, g);
      },
      [=](caf::error& err) {
        if (*left > 0) {
          *left = 0;
          g->promise.deliver(std::move(err));
        }
      });
  }
}

caf::result<std::vector<watcher_status>> gather_status(self_ptr self) {
  // Each answer cancels its request's timeout: the metrics file asks for
  // the status after the last change, and a timeout left behind would
  // wake the idle watcher 10 s later.
  auto& st = self->state;
  auto g = std::make_shared<status_gather>();
  g->promise = self->make_response_promise<std::vector<watcher_status>>();
  g->out.resize(st.senders.size());
  g->waiting = st.senders.size();
  for (size_t i = 0; i < st.senders.size(); ++i) {
    auto sh = self->request(st.senders[i], local_timeout, atom::status_v);
    auto sid = sh.id();
    sh.then(
      [=](watcher_status& s) {
        forget_request_timeout(self, sid);
        g->out[i] = std::move(s);
        if (--g->waiting == 0)
          add_backlogs(self, g);
      },
      [=](caf::error& err) {
        if (g->waiting > 0) {
          g->waiting = 0;
          g->promise.deliver(std::move(err));
        }
      });
  }
  return g->promise;
}

} // namespace

control_actor::behavior_type
control(control_actor::stateful_pointer<control_state> self,
        std::vector<sender_actor> senders, std::vector<std::string> names,
        debouncer_actor debouncer, fanout_actor fanout,
        tracker_actor tracker) {
  self->state.fanout = std::move(fanout);
  self->state.senders = std::move(senders);
  self->state.names = std::move(names);
  self->state.debouncer = std::move(debouncer);
  self->state.tracker = std::move(tracker);
  return {
    [=](atom::flush, const std::string& only) { return gather_flush(self, only); },
    [=](atom::status) { return gather_status(self); },
  };
}

} // namespace livesync
