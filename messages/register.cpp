#include "messages/register.hpp"

#include "messages/errors.hpp"
#include "messages/types.hpp"

namespace livesync {

void add_message_types(caf::actor_system_config& cfg) {
  cfg.add_message_types<caf::id_block::livesync>();
  add_error_category(cfg);
}

} // namespace livesync
