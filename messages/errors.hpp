// livesync's error codes (core/common/error_code.hpp) as CAF errors: the
// "livesync" error category, the make_error overloads that put an ec code
// and its detail into a caf::error (so a handler's error reply says what
// class of failure it is, not only a string), and the renderer both
// programs register so that system().render(err) prints
// `livesync.hash_mismatch("a/b: hash mismatch")`.
//
// CAF 0.17.6 has no error_category<T> trait (0.18 has): an enum becomes an
// error code through a free `make_error(E)` found by ADL (caf::has_make_error),
// which also makes `caf::error e = ec::stale;` and `err == ec::stale` work.
// Its category is the atom below, and a renderer is registered per atom
// with actor_system_config::add_error_category.
#pragma once

#include "core/common/error_code.hpp"
#include "core/common/status.hpp"

#include <caf/atom.hpp>
#include <caf/error.hpp>
#include <caf/fwd.hpp>

#include <optional>
#include <string>

namespace livesync {

/// The category of every caf::error made of an ec code.
inline constexpr caf::atom_value error_category = caf::atom("livesync");

/// An error of class `code`, without detail.
caf::error make_error(ec code);

/// An error of class `code` whose context is the one-line `detail`.
caf::error make_error(ec code, std::string detail);

/// A failed status as an error: its code and its reason as the detail.
/// Precondition: !s.ok().
caf::error make_error(const status& s);

/// The code of `err` when it is of the livesync category, else nothing
/// (none, or one of CAF's own: a timeout, a link that went down).
std::optional<ec> ec_of(const caf::error& err);

/// The detail of an error made by make_error (empty when it has none).
std::string detail_of(const caf::error& err);

/// The renderer of the livesync category: `livesync.<code>` followed by the
/// context as CAF prints a message, e.g. `livesync.stale("a: ...")`.
std::string render_error(uint8_t code, caf::atom_value category,
                         const caf::message& context);

/// Registers the category's renderer with `cfg` (add_message_types does).
void add_error_category(caf::actor_system_config& cfg);

} // namespace livesync
