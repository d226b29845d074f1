// Rules for the root-relative paths that travel between the nodes: what a
// valid path is, and the small string algebra (parent, leaf, join, prefix
// rebase) both nodes use. Paths are '/'-separated, relative, never empty.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace livesync {

/// The name of the reference's state folder at its root; never mirrored.
inline constexpr std::string_view state_folder = ".livesync";

/// Bounds on paths received from the network.
inline constexpr size_t max_path_bytes = 4096;
inline constexpr size_t max_name_bytes = 255;
inline constexpr size_t max_path_depth = 256;

/// Returns why `p` is not an acceptable root-relative path, or nothing when
/// it is: non-empty, relative, no empty, `.` or `..` component, no NUL,
/// bounded length and depth, and not inside the state folder.
std::optional<std::string> invalid_path_reason(std::string_view p);

/// `s` made safe for one log line: control characters and backslashes
/// escaped (\n, \xNN, \\), and cut to `max` bytes with a note of the rest,
/// so a peer's path can neither forge log lines nor flood the log.
std::string printable(std::string_view s, size_t max = 512);

/// The components of `p` (which must be valid).
std::vector<std::string_view> split_path(std::string_view p);

/// "a/b/c" -> "a/b"; "a" -> "" (the root).
std::string_view parent_of(std::string_view p);

/// "a/b/c" -> "c".
std::string_view leaf_of(std::string_view p);

/// join("", "x") == "x"; join("a", "x") == "a/x".
std::string join_path(std::string_view dir, std::string_view name);

/// True when `p` is `prefix` or lies beneath it. The root ("") contains all.
bool is_within(std::string_view p, std::string_view prefix);

/// For `p` within `from`, the same path moved under `to`.
std::string rebase_path(std::string_view p, std::string_view from,
                        std::string_view to);

} // namespace livesync
