#include "messages/errors.hpp"

#include <caf/actor_system_config.hpp>
#include <caf/message.hpp>

namespace livesync {

caf::error make_error(ec code) {
  return caf::error{static_cast<uint8_t>(code), error_category};
}

caf::error make_error(ec code, std::string detail) {
  return caf::error{static_cast<uint8_t>(code), error_category,
                    caf::make_message(std::move(detail))};
}

caf::error make_error(const status& s) {
  return make_error(s.ok() ? ec::internal : s.code(), s.reason());
}

std::optional<ec> ec_of(const caf::error& err) {
  if (!err || err.category() != error_category)
    return std::nullopt;
  return static_cast<ec>(err.code());
}

std::string detail_of(const caf::error& err) {
  auto& ctx = err.context();
  if (ctx.match_elements<std::string>())
    return ctx.get_as<std::string>(0);
  return {};
}

std::string render_error(uint8_t code, caf::atom_value,
                         const caf::message& context) {
  auto out = "livesync." + to_string(static_cast<ec>(code));
  if (!context.empty())
    out += caf::to_string(context);
  return out;
}

void add_error_category(caf::actor_system_config& cfg) {
  cfg.add_error_category(error_category, render_error);
}

} // namespace livesync
