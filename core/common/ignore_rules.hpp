// Exclude patterns with gitignore semantics: compiled once from `--exclude=`
// values and the ignore file's text, then asked whether a root-relative path
// is excluded. Pure logic: consumes pattern text and paths, emits verdicts.
#pragma once

#include <bitset>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace livesync {

namespace detail {

/// One element of a glob for a single path component.
struct ignore_token {
  enum kind_t : uint8_t { literal, any_char, star, char_class };
  kind_t kind = literal;
  unsigned char ch = 0; // for literal
  uint32_t cls = 0;     // for char_class: index into ignore_pattern::classes
};

/// One '/'-separated piece of a pattern: either "**" (any number of whole
/// components) or a glob matched against exactly one component.
struct ignore_segment {
  bool double_star = false;
  std::vector<ignore_token> tokens;
};

/// One compiled pattern line.
struct ignore_pattern {
  std::string text; // the line as given, for diagnostics
  bool negated = false;
  bool dir_only = false;
  // False: one segment, matched against the last component at any depth.
  bool anchored = false;
  std::vector<ignore_segment> segments;
  std::vector<std::bitset<256>> classes; // negation already folded in
};

} // namespace detail

/// An ordered list of gitignore patterns. Semantics follow gitignore(5),
/// matched byte-wise and case-sensitively, with these decisions:
/// - A pattern with a "." or ".." component ("./x", "a/../b") or an empty one
///   ("a//b") is refused with an error: git keeps it literally, but paths
///   here are normalised, so it could never match. "/x" anchors instead.
/// - A "\/" or a '/' inside a character class is refused for the same reason.
/// - "[^...]" negates like "[!...]", and "[[:alpha:]]"-style POSIX classes
///   are understood, as in git's wildmatch; a reversed range ("[z-a]") is an
///   error rather than a class that matches nothing.
/// - '?' and classes match one byte, not one UTF-8 character (as git does).
/// Thread-safety: const members may be called concurrently; `add` may not
/// run concurrently with anything else.
class ignore_rules {
public:
  /// Adds one pattern line in gitignore syntax: blank lines and lines
  /// starting with '#' add nothing; "\#" and "\!" escape; trailing unescaped
  /// spaces are trimmed; "!" negates; a leading or middle '/' anchors to the
  /// root; a trailing '/' matches directories only; '*' matches anything but
  /// '/', '?' one byte but '/', "[a-z]" / "[!a-z]" classes; "**/" leading is
  /// any depth, "/**" trailing is everything inside, "/**/" is zero or more
  /// directories. Returns why the pattern is invalid (nothing is added), or
  /// an empty string when it was accepted.
  std::string add(std::string_view line);

  /// Adds every line of `text` (an ignore file; "\n" or "\r\n" endings) in
  /// order. Returns one error per refused line as "<origin>:<line>: <why>";
  /// the accepted lines stay added either way.
  std::vector<std::string> add_text(std::string_view text,
                                    std::string_view origin);

  /// True when root-relative `path` ('/'-separated, no empty, "." or ".."
  /// components; "" is the root, never excluded) is excluded; `is_dir` says
  /// whether it names a directory. The last matching pattern decides, and a
  /// path below an excluded directory is excluded whatever later patterns
  /// say (git cannot re-include a file whose parent is excluded): each
  /// ancestor is checked first, so a deep path may be asked directly.
  /// Does not allocate; time is linear in the path length per pattern and
  /// ancestor (no exponential backtracking).
  bool excluded(std::string_view path, bool is_dir) const;

  /// True when no pattern has been added (comments and blanks don't count).
  bool empty() const noexcept;

  /// The number of patterns added.
  size_t size() const noexcept;

private:
  /// The verdict of the last pattern matching `path` itself, ancestors aside.
  bool last_match_excludes(std::string_view path, bool is_dir) const;

  std::vector<detail::ignore_pattern> patterns_;
};

} // namespace livesync
