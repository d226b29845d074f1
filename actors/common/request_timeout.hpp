// CAF 0.17's threaded clock keeps a request's timeout after the answer has
// arrived: it fires `timeout` after the request anyway (and is discarded),
// so a watcher that had just synced woke a dozen times a minute later. (Its
// test clock does drop the timeout, so an actor test cannot show this.)
// Every response handler of a long-lived actor calls this with the id of
// its response handle (`handle.id()`); tests/e2e/tests_idle.py fails
// without it.
#pragma once

#include <caf/message_id.hpp>

namespace livesync {

/// Drops the pending timeout of the request whose response id is `id`.
template <class Self>
void forget_request_timeout(Self* self, caf::message_id id) {
  self->clock().cancel_request_timeout(self, id);
}

} // namespace livesync
