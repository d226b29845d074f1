// livesync's error codes: the class of a failure, from a failed syscall in
// core/ to the op_error a reference answers a batch with. A code says what
// kind of thing went wrong (the watcher acts on it); the detail that goes
// with it (status::reason, op_error::detail) says what exactly, for people.
// No CAF here: messages/errors.hpp registers the enum as CAF's "livesync"
// error category and makes caf::error values of it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace livesync {

/// The class of a failure. Values travel on the wire (op_error, caf::error
/// codes): append new codes at the end, never renumber, and bump
/// protocol_version (messages/actors.hpp) when the set changes.
enum class ec : uint8_t {
  /// No error. CAF reserves code 0 of every category for it.
  none = 0,
  /// A path from the peer that is not a clean relative path beneath the
  /// root (absolute, `..`, NUL, too long or deep, in the state folder), or
  /// a local path (metrics file) that cannot name a file.
  invalid_path,
  /// A bound the node sets was passed: ops per batch, data per op, open
  /// transfers, staging bytes, copy sources, recipe size, paths per
  /// request, a rename nesting paths too deep; ENAMETOOLONG, EMFILE.
  limit_exceeded,
  /// What the op acts on is missing: a parent directory, a rename or link
  /// source, the target of set_attr, a file to read (ENOENT).
  not_found,
  /// The node may not touch the path (EACCES, EPERM, EROFS).
  permission_denied,
  /// The filesystem is full or over quota (ENOSPC, EDQUOT).
  no_space,
  /// Any other failed system call (EIO and the errnos not classed here).
  io_error,
  /// Content did not match: the bytes received or assembled do not have
  /// the op's size or XXH3-128 hash. The watcher sends the content whole.
  hash_mismatch,
  /// The reference's copy is not what the op expects: a link or copy
  /// source that differs from what the watcher sent there, something of
  /// another kind in the way (ENOTDIR, EISDIR, ENOTEMPTY, ELOOP, EEXIST).
  /// The watcher forgets its model of the path and compares again.
  stale,
  /// A malformed message: a batch or zstd stream that does not decode, out
  /// of sequence or out of order, an unknown kind or encoding, a batch
  /// before the hello, another protocol version.
  protocol,
  /// A chunk, copy or commit for a transfer that is not open (never begun,
  /// or dropped by an earlier failure of the same file: an echo).
  unknown_transfer,
  /// The filesystem or the entry cannot do it (EOPNOTSUPP, ENOSYS, EXDEV;
  /// set_attr on a fifo, socket or device).
  not_supported,
  /// The reference is shutting down: not applied, try again later.
  stopping,
  /// The reference mirrors another watcher's tree (the hello is refused).
  conflict,
  /// A host that does not resolve, refuses or does not answer (the
  /// watcher's start-up probe; ECONNREFUSED, EHOSTUNREACH, ETIMEDOUT).
  unreachable,
  /// A failure inside the node itself (an exception, bad_alloc in practice).
  internal,
};

/// The last code; `to_string` names every code up to it.
inline constexpr ec last_ec = ec::internal;

/// The code's name as in the enum ("hash_mismatch"); "ec(N)" for a value
/// that is not one (from a newer peer).
std::string to_string(ec code);

/// The code named `name` (as `to_string` spells it), or nothing.
std::optional<ec> ec_from_string(std::string_view name);

/// The class of a failed system call's errno (0 gives ec::none). The one
/// place an errno becomes a code: errno_status (status.hpp) uses it.
ec ec_from_errno(int err);

} // namespace livesync
