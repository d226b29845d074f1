// Registers livesync's message types with an actor system config. Both apps
// and the test fixtures call it, so every node agrees on the type names.
#pragma once

#include <caf/fwd.hpp>

namespace livesync {

/// Adds the livesync type-ID block to `cfg`, and the renderer of the
/// "livesync" error category (messages/errors.hpp).
void add_message_types(caf::actor_system_config& cfg);

} // namespace livesync
