// What the receiver's handlers (receiver.cpp) share with its routing of
// operations to the path writers (receiver_writers.cpp). Internal.
#pragma once

#include "actors/reference/receiver.hpp"

#include <utility>

namespace livesync::receiver_detail {

using self_ptr = receiver_actor::stateful_pointer<receiver_state>;

/// Sends the counters to the metrics file actor, if there is one.
void report(self_ptr self);

/// Queues a batch for the writers; its answer is the returned promise,
/// delivered once all its ops are done, with `early` errors first.
caf::typed_response_promise<std::vector<op_error>>
queue_batch(self_ptr self, std::vector<op> ops,
            std::vector<op_error> early = {});

/// Drops every open transfer (the peer is gone or replaced), after the
/// tasks already handed out.
void abort_transfers(self_ptr self);

/// Starts what the schedule allows: tasks to writers, reads served here.
void pump(self_ptr self);

/// Serves `read` once every write queued before it is done: its reply
/// reflects them, as if the node applied one message at a time. The read
/// runs on a path writer's thread (walks and hashes of a large tree take
/// long); its answer is delivered from here once that writer is done.
template <class T, class Read>
caf::result<T> after_writes(self_ptr self, Read read) {
  auto& st = self->state;
  auto promise = self->make_response_promise<T>();
  auto token = st.next_read++;
  auto result = std::make_shared<caf::expected<T>>(
    make_error(ec::internal, "read not served"));
  pending_read job;
  job.run = [result, read]() mutable { *result = read(); };
  job.answer = [promise, result]() mutable {
    if (*result)
      promise.deliver(std::move(**result));
    else
      promise.deliver(std::move(result->error()));
  };
  st.reads.emplace(token, std::move(job));
  st.schedule->add_read(token);
  pump(self);
  return promise;
}

} // namespace livesync::receiver_detail
