#include "core/common/ignore_rules.hpp"

#include <algorithm>
#include <cctype>
#include <utility>

#include "core/common/path_rules.hpp"

namespace livesync {

namespace {

using detail::ignore_pattern;
using detail::ignore_segment;
using detail::ignore_token;

constexpr auto npos = std::string_view::npos;

/// `line` without trailing spaces, except a space escaped by a backslash
/// (gitignore: "Trailing spaces are ignored unless they are quoted").
std::string_view trim_trailing_spaces(std::string_view line) {
  size_t end = 0;
  for (size_t i = 0; i < line.size(); ++i) {
    if (line[i] == '\\') {
      // The escaped byte is kept whatever it is; a lone trailing backslash
      // is kept too and refused later.
      ++i;
      end = std::min(i + 1, line.size());
    } else if (line[i] != ' ') {
      end = i + 1;
    }
  }
  return line.substr(0, end);
}

/// True when the byte at `pos` is preceded by an odd number of backslashes.
bool escaped_at(std::string_view s, size_t pos) {
  size_t n = 0;
  while (pos > n && s[pos - n - 1] == '\\')
    ++n;
  return n % 2 == 1;
}

/// Adds the members of POSIX class `name` ("alpha", ...) to `set`, ASCII
/// only (git's wildmatch uses the C locale too). False for an unknown name.
bool add_posix_class(std::string_view name, std::bitset<256>& set) {
  int (*pred)(int) = nullptr;
  if (name == "alnum")
    pred = [](int c) { return std::isalnum(c); };
  else if (name == "alpha")
    pred = [](int c) { return std::isalpha(c); };
  else if (name == "blank")
    pred = [](int c) { return c == ' ' || c == '\t' ? 1 : 0; };
  else if (name == "cntrl")
    pred = [](int c) { return std::iscntrl(c); };
  else if (name == "digit")
    pred = [](int c) { return std::isdigit(c); };
  else if (name == "graph")
    pred = [](int c) { return std::isgraph(c); };
  else if (name == "lower")
    pred = [](int c) { return std::islower(c); };
  else if (name == "print")
    pred = [](int c) { return std::isprint(c); };
  else if (name == "punct")
    pred = [](int c) { return std::ispunct(c); };
  else if (name == "space")
    pred = [](int c) { return std::isspace(c); };
  else if (name == "upper")
    pred = [](int c) { return std::isupper(c); };
  else if (name == "xdigit")
    pred = [](int c) { return std::isxdigit(c); };
  else
    return false;
  for (int c = 0; c < 128; ++c)
    if (pred(c) != 0)
      set.set(static_cast<size_t>(c));
  return true;
}

/// Parses the class starting at `s[i] == '['` into `out`; on success `i` is
/// left on the closing ']'. Returns an error text, empty when fine.
std::string parse_class(std::string_view s, size_t& i,
                        std::bitset<256>& out) {
  size_t j = i + 1;
  bool negate = false;
  if (j < s.size() && (s[j] == '!' || s[j] == '^')) {
    negate = true;
    ++j;
  }
  std::bitset<256> set;
  // A ']' right after "[" or "[!" is a member, not the end (so "[]]" works).
  bool first = true;
  for (;; first = false) {
    if (j >= s.size())
      return "unterminated character class";
    char c = s[j];
    if (c == ']' && !first)
      break;
    if (c == '/')
      return "'/' inside a character class never matches";
    if (c == '[' && j + 1 < s.size() && s[j + 1] == ':') {
      auto close = s.find(":]", j + 2);
      if (close == npos)
        return "unterminated character class";
      auto name = s.substr(j + 2, close - j - 2);
      if (!add_posix_class(name, set))
        return "unknown character class '[:" + std::string{name} + ":]'";
      j = close + 2;
      continue;
    }
    if (c == '\\') {
      if (++j >= s.size())
        return "unterminated character class";
      c = s[j];
    }
    auto lo = static_cast<unsigned char>(c);
    ++j;
    // "a-z" is a range; a '-' right before the closing ']' is a member.
    if (j + 1 < s.size() && s[j] == '-' && s[j + 1] != ']') {
      ++j;
      char hi_c = s[j];
      if (hi_c == '\\') {
        if (++j >= s.size())
          return "unterminated character class";
        hi_c = s[j];
      }
      if (hi_c == '/')
        return "'/' inside a character class never matches";
      auto hi = static_cast<unsigned char>(hi_c);
      ++j;
      if (hi < lo)
        return "reversed range '" + std::string(1, static_cast<char>(lo))
               + "-" + std::string(1, static_cast<char>(hi))
               + "' in character class";
      for (unsigned x = lo; x <= hi; ++x)
        set.set(x);
    } else {
      set.set(lo);
    }
  }
  out = negate ? ~set : set;
  i = j;
  return {};
}

/// Splits `body` (no leading '!' or '/', no trailing '/') into segments.
/// Returns an error text, empty when fine.
std::string compile_segments(std::string_view body, ignore_pattern& pat) {
  ignore_segment seg;
  size_t seg_begin = 0;
  auto close_segment = [&](size_t end) -> std::string {
    auto raw = body.substr(seg_begin, end - seg_begin);
    if (raw.empty())
      return "empty path component";
    if (raw == "." || raw == "..")
      return "'" + std::string{raw}
             + "' component never matches (paths are normalised; a"
               " leading '/' anchors)";
    // Only a segment that is exactly "**" spans components; "a**" or
    // "\**" are ordinary stars or literals (gitignore(5)).
    seg.double_star = raw == "**";
    pat.segments.push_back(std::move(seg));
    seg = ignore_segment{};
    seg_begin = end + 1;
    return {};
  };
  for (size_t i = 0; i < body.size(); ++i) {
    char c = body[i];
    ignore_token tok;
    switch (c) {
      case '/':
        if (auto err = close_segment(i); !err.empty())
          return err;
        continue;
      case '\\':
        if (++i >= body.size())
          return "trailing backslash";
        if (body[i] == '/')
          return "escaped '/' never matches";
        tok.ch = static_cast<unsigned char>(body[i]);
        break;
      case '*':
        // "**" inside a component is the same as '*'; one token keeps the
        // wildcard loop to one backtrack point per run of stars.
        if (!seg.tokens.empty()
            && seg.tokens.back().kind == ignore_token::star)
          continue;
        tok.kind = ignore_token::star;
        break;
      case '?':
        tok.kind = ignore_token::any_char;
        break;
      case '[': {
        std::bitset<256> set;
        if (auto err = parse_class(body, i, set); !err.empty())
          return err;
        tok.kind = ignore_token::char_class;
        tok.cls = static_cast<uint32_t>(pat.classes.size());
        pat.classes.push_back(set);
        break;
      }
      default:
        tok.ch = static_cast<unsigned char>(c);
    }
    seg.tokens.push_back(tok);
  }
  return close_segment(body.size());
}

/// The start of the component after the one starting at `pos`, or npos.
size_t next_component(std::string_view path, size_t pos) {
  auto slash = path.find('/', pos);
  return slash == npos ? npos : slash + 1;
}

/// The component starting at `pos`.
std::string_view component_at(std::string_view path, size_t pos) {
  auto slash = path.find('/', pos);
  return path.substr(pos, slash == npos ? npos : slash - pos);
}

} // namespace

// -- building ----------------------------------------------------------------

std::string ignore_rules::add(std::string_view line) {
  if (line.empty() || line.front() == '#')
    return {};
  auto body = trim_trailing_spaces(line);
  if (body.empty())
    return {};
  auto fail = [&](const std::string& why) {
    return "invalid pattern '" + printable(line, 200) + "': " + why;
  };
  ignore_pattern pat;
  pat.text = std::string{line};
  if (body.front() == '!') {
    pat.negated = true;
    body.remove_prefix(1);
  }
  if (!body.empty() && body.back() == '/'
      && !escaped_at(body, body.size() - 1)) {
    pat.dir_only = true;
    body.remove_suffix(1);
  }
  if (!body.empty() && body.front() == '/') {
    pat.anchored = true;
    body.remove_prefix(1);
  }
  if (body.empty())
    return fail("empty pattern");
  if (auto err = compile_segments(body, pat); !err.empty())
    return fail(err);
  // gitignore: a separator at the start or in the middle anchors the pattern
  // to the root; otherwise it matches a name at any depth.
  if (pat.segments.size() > 1) {
    pat.anchored = true;
  } else if (!pat.anchored) {
    // A lone "**" is just a star that matches any name.
    pat.segments.front().double_star = false;
  }
  // "a/**/**/b" means the same as "a/**/b"; merging keeps one backtrack
  // point per run and makes the trailing-"**" test a plain look at the end.
  std::vector<ignore_segment> merged;
  for (auto& seg : pat.segments)
    if (!(seg.double_star && !merged.empty() && merged.back().double_star))
      merged.push_back(std::move(seg));
  pat.segments = std::move(merged);
  patterns_.push_back(std::move(pat));
  return {};
}

std::vector<std::string> ignore_rules::add_text(std::string_view text,
                                                std::string_view origin) {
  std::vector<std::string> errors;
  size_t line_no = 0;
  while (!text.empty()) {
    ++line_no;
    auto nl = text.find('\n');
    auto line = text.substr(0, nl);
    text.remove_prefix(nl == npos ? text.size() : nl + 1);
    // A file edited on Windows must not turn "build/\r" into a literal.
    if (!line.empty() && line.back() == '\r')
      line.remove_suffix(1);
    if (auto err = add(line); !err.empty())
      errors.push_back(std::string{origin} + ":" + std::to_string(line_no)
                       + ": " + err);
  }
  return errors;
}

// -- matching ----------------------------------------------------------------

namespace {

bool match_glob(const ignore_pattern& pat, const ignore_segment& seg,
                std::string_view name) {
  // The classic iterative wildcard match: on a mismatch, let the last '*'
  // swallow one more byte and retry. A later star supersedes an earlier one,
  // so one backtrack point suffices and the cost is O(|glob| * |name|).
  const auto& toks = seg.tokens;
  size_t t = 0;
  size_t s = 0;
  size_t star_t = npos;
  size_t star_s = 0;
  auto single = [&](const ignore_token& tok, unsigned char c) {
    switch (tok.kind) {
      case ignore_token::literal:
        return tok.ch == c;
      case ignore_token::any_char:
        return true;
      case ignore_token::char_class:
        return pat.classes[tok.cls].test(c);
      default:
        return false;
    }
  };
  while (s < name.size()) {
    if (t < toks.size() && toks[t].kind == ignore_token::star) {
      star_t = t++;
      star_s = s;
    } else if (t < toks.size()
               && single(toks[t], static_cast<unsigned char>(name[s]))) {
      ++t;
      ++s;
    } else if (star_t != npos) {
      t = star_t + 1;
      s = ++star_s;
    } else {
      return false;
    }
  }
  while (t < toks.size() && toks[t].kind == ignore_token::star)
    ++t;
  return t == toks.size();
}

bool match_anchored(const ignore_pattern& pat, std::string_view path) {
  // The wildcard algorithm again, one level up: segments against components,
  // with "**" as the star. Positions are byte offsets into `path`, so no
  // component list is built.
  const auto& segs = pat.segments;
  const size_t n = segs.size();
  size_t si = 0;
  size_t pos = 0; // start of the current component; npos once consumed
  size_t star_si = npos;
  size_t star_pos = 0;
  while (pos != npos) {
    if (si < n && segs[si].double_star) {
      // A trailing "/**" needs at least one component ("abc/**" matches
      // what is inside abc, not abc). Backtracking would only leave fewer
      // components, so the answer is final.
      if (si + 1 == n)
        return true;
      star_si = si++;
      star_pos = pos;
    } else if (si < n && match_glob(pat, segs[si], component_at(path, pos))) {
      ++si;
      pos = next_component(path, pos);
    } else if (star_si != npos) {
      si = star_si + 1;
      pos = star_pos = next_component(path, star_pos);
    } else {
      return false;
    }
  }
  // Components exhausted: what remains must match nothing, i.e. be a
  // non-trailing "**" (merged, so at most one).
  if (si < n && segs[si].double_star && si + 1 < n)
    ++si;
  return si == n;
}

bool matches(const ignore_pattern& pat, std::string_view path, bool is_dir) {
  if (pat.dir_only && !is_dir)
    return false;
  if (pat.anchored)
    return match_anchored(pat, path);
  auto slash = path.rfind('/');
  auto leaf = slash == npos ? path : path.substr(slash + 1);
  return match_glob(pat, pat.segments.front(), leaf);
}

} // namespace

bool ignore_rules::last_match_excludes(std::string_view path,
                                       bool is_dir) const {
  // Walking backwards, the first match is git's "last matching pattern".
  for (auto i = patterns_.rbegin(); i != patterns_.rend(); ++i)
    if (matches(*i, path, is_dir))
      return !i->negated;
  return false;
}

bool ignore_rules::excluded(std::string_view path, bool is_dir) const {
  if (patterns_.empty() || path.empty())
    return false;
  // Top-down over the ancestors: an excluded directory is never entered by
  // git, so nothing below it can be re-included by a later "!" pattern.
  for (auto slash = path.find('/'); slash != npos;
       slash = path.find('/', slash + 1))
    if (last_match_excludes(path.substr(0, slash), true))
      return true;
  return last_match_excludes(path, is_dir);
}

bool ignore_rules::empty() const noexcept {
  return patterns_.empty();
}

size_t ignore_rules::size() const noexcept {
  return patterns_.size();
}

} // namespace livesync
