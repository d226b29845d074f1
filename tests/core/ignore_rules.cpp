#define CAF_SUITE core.ignore_rules
#include <caf/test/unit_test.hpp>

#include "core/common/ignore_rules.hpp"

#include <string>
#include <string_view>
#include <vector>

using namespace livesync;

namespace {

constexpr bool dir = true;
constexpr bool file = false;
constexpr bool excl = true;
constexpr bool kept = false;

/// One case: the patterns, in order, and the verdict on one path.
struct row {
  std::vector<std::string_view> patterns;
  std::string_view path;
  bool is_dir;
  bool expected;
};

/// "[*.log | !keep.log] d/keep.log -> kept": a failing check names its row.
std::string show(const row& r, bool verdict) {
  std::string out = "[";
  for (size_t i = 0; i < r.patterns.size(); ++i)
    out.append(i == 0 ? "" : " | ").append(r.patterns[i]);
  out.append("] ").append(r.path).append(r.is_dir ? "/" : "");
  return out + (verdict ? " -> excluded" : " -> kept");
}

void check_table(const std::vector<row>& rows) {
  for (const auto& r : rows) {
    ignore_rules rules;
    for (auto p : r.patterns)
      CAF_CHECK_EQUAL(rules.add(p), "");
    CAF_CHECK_EQUAL(show(r, rules.excluded(r.path, r.is_dir)),
                    show(r, r.expected));
  }
}

} // namespace

CAF_TEST(nothing is excluded by default) {
  ignore_rules rules;
  CAF_CHECK(rules.empty());
  CAF_CHECK_EQUAL(rules.size(), 0u);
  CAF_CHECK(!rules.excluded("a", file));
  CAF_CHECK(!rules.excluded(".git", dir));
  CAF_CHECK(!rules.excluded("node_modules/x/y.js", file));
}

CAF_TEST(blank lines and comments add nothing) {
  ignore_rules rules;
  for (auto line : {"", "   ", "# a comment", "#*.o"})
    CAF_CHECK_EQUAL(rules.add(line), "");
  CAF_CHECK(rules.empty());
  CAF_CHECK(!rules.excluded("x.o", file));
}

CAF_TEST(a pattern without a slash matches a name at any depth) {
  check_table({
    {{"*.o"}, "c.o", file, excl},
    {{"*.o"}, "a/b/c.o", file, excl},
    {{"*.o"}, "a/b/c.oo", file, kept},
    {{"*.o"}, "c.o", dir, excl},   // no trailing '/': directories too
    {{"*.o"}, ".o", file, excl},   // '*' matches the empty string
    {{"*.o"}, "x.o/y", file, excl}, // inside an excluded directory
    {{"*.swp"}, ".x.swp", file, excl}, // '*' matches a leading dot
    {{"foo"}, "foo", file, excl},
    {{"foo"}, "a/foo", dir, excl},
    {{"foo"}, "afoo", file, kept},
    {{"foo"}, "foox", file, kept},
  });
}

CAF_TEST(star and question mark never cross a slash) {
  check_table({
    {{"doc/*.txt"}, "doc/a.txt", file, excl},
    {{"doc/*.txt"}, "doc/x/a.txt", file, kept},
    {{"doc/*.txt"}, "a/doc/a.txt", file, kept}, // middle slash anchors
    {{"x/a?c"}, "x/abc", file, excl},
    {{"x/a?c"}, "x/a/c", file, kept},
    {{"x/a?c"}, "x/ac", file, kept},
    {{"x/a?c"}, "x/abbc", file, kept},
    {{"x/a*c"}, "x/a/c", file, kept},
    {{"x/a**c"}, "x/a/b/c", file, kept}, // "**" inside a name is '*'
    {{"x/a**c"}, "x/abbc", file, excl},
  });
}

CAF_TEST(a trailing slash matches directories only) {
  check_table({
    {{"build/"}, "build", dir, excl},
    {{"build/"}, "build", file, kept},
    {{"build/"}, "src/build", dir, excl},
    {{"build/"}, "src/build/x.o", file, excl},
    {{"build/"}, "build.txt", file, kept},
    {{"src/gen/"}, "src/gen", dir, excl},
    {{"src/gen/"}, "src/gen", file, kept},
    {{"!build/"}, "build", dir, kept},
  });
}

CAF_TEST(a leading or middle slash anchors to the root) {
  check_table({
    {{"/build"}, "build", dir, excl},
    {{"/build"}, "build", file, excl},
    {{"/build"}, "src/build", dir, kept},
    {{"/build"}, "build/x.o", file, excl},
    {{"/build/"}, "build", file, kept},
    {{"src/gen"}, "src/gen", file, excl},
    {{"src/gen"}, "a/src/gen", file, kept},
    {{"src/gen"}, "src/gen/deep/x", file, excl},
    {{"/*.c"}, "x.c", file, excl},
    {{"/*.c"}, "d/x.c", file, kept},
  });
}

CAF_TEST(double stars span whole components) {
  check_table({
    {{"**/foo"}, "foo", file, excl},
    {{"**/foo"}, "a/b/foo", file, excl},
    {{"**/foo"}, "a/foo/x", file, excl},
    {{"**/foo"}, "afoo", file, kept},
    {{"**/foo"}, "a/xfoo", file, kept},
    {{"**/foo/bar"}, "foo/bar", file, excl},
    {{"**/foo/bar"}, "x/y/foo/bar", file, excl},
    {{"**/foo/bar"}, "x/foo/y/bar", file, kept},
    {{"**/tmp/"}, "a/tmp", dir, excl},
    {{"**/tmp/"}, "a/tmp", file, kept},
    {{"a/**/b"}, "a/b", file, excl},
    {{"a/**/b"}, "a/x/b", file, excl},
    {{"a/**/b"}, "a/x/y/b", file, excl},
    {{"a/**/b"}, "a/x/c", file, kept},
    {{"a/**/b"}, "x/a/b", file, kept},
    {{"a/**/b"}, "a/bb", file, kept},
    {{"a/**/**/b"}, "a/b", file, excl},
    {{"a/**/b/**/c"}, "a/x/b/y/b/z/c", file, excl},
    {{"a/**/b/**/c"}, "a/b/c", file, excl},
    {{"a/**/b/**/c"}, "a/c/b", file, kept},
    {{"abc/**"}, "abc", dir, kept},
    {{"abc/**"}, "abc/x", file, excl},
    {{"abc/**"}, "abc/x/y", file, excl},
    {{"abc/**"}, "abcd/x", file, kept},
    {{"/**"}, "a", file, excl},
    {{"**"}, "a/b", file, excl},
  });
}

CAF_TEST(the last matching pattern decides) {
  check_table({
    {{"*.log", "!keep.log"}, "x.log", file, excl},
    {{"*.log", "!keep.log"}, "keep.log", file, kept},
    {{"*.log", "!keep.log"}, "d/keep.log", file, kept},
    {{"!keep.log", "*.log"}, "keep.log", file, excl},
    {{"logs/*", "!logs/keep.log"}, "logs/keep.log", file, kept},
    {{"logs/*", "!logs/keep.log"}, "logs/other", file, excl},
    {{"logs/**", "!logs/keep.log"}, "logs/keep.log", file, kept},
    {{"logs/", "!logs/"}, "logs/x", file, kept},
    // Ignore everything except directories and C sources.
    {{"*", "!*/", "!*.c"}, "src", dir, kept},
    {{"*", "!*/", "!*.c"}, "src/x.c", file, kept},
    {{"*", "!*/", "!*.c"}, "src/x.o", file, excl},
  });
}

CAF_TEST(nothing below an excluded directory can be re-included) {
  check_table({
    {{"logs/", "!logs/keep.log"}, "logs/keep.log", file, excl},
    {{"logs", "!logs/keep.log"}, "logs/keep.log", file, excl},
    {{"a/", "!a/b/c"}, "a/b/c", file, excl},
    {{"b/", "!a/b/c"}, "a/b/c", file, excl},
    {{"logs/*", "!logs/keep/x"}, "logs/keep/x", file, excl},
  });
}

CAF_TEST(trailing spaces are trimmed unless escaped) {
  check_table({
    {{"foo   "}, "foo", file, excl},
    {{"foo\\ "}, "foo ", file, excl},
    {{"foo\\ "}, "foo", file, kept},
    {{"foo\\  "}, "foo ", file, excl},
    {{"a b"}, "a b", file, excl},
    {{"build/  "}, "build", dir, excl},
    {{"build/  "}, "build", file, kept},
  });
}

CAF_TEST(backslash escapes a special character) {
  check_table({
    {{"\\!important"}, "!important", file, excl},
    {{"\\!important"}, "important", file, kept},
    {{"\\#notes"}, "#notes", file, excl},
    {{"\\*"}, "*", file, excl},
    {{"\\*"}, "a", file, kept},
    {{"\\?"}, "a", file, kept},
    {{"\\[a]"}, "[a]", file, excl},
    {{"\\[a]"}, "a", file, kept},
    {{"a\\\\"}, "a\\", file, excl},
  });
}

CAF_TEST(character classes) {
  check_table({
    {{"[a-c]x"}, "bx", file, excl},
    {{"[a-c]x"}, "dx", file, kept},
    {{"[a-cx-z]1"}, "y1", file, excl},
    {{"[!a-c]x"}, "dx", file, excl},
    {{"[!a-c]x"}, "bx", file, kept},
    {{"[^a-c]x"}, "bx", file, kept},
    {{"[]]x"}, "]x", file, excl},
    {{"[]a]x"}, "ax", file, excl},
    {{"[]a]x"}, "bx", file, kept},
    {{"[!]]x"}, "]x", file, kept},
    {{"[!]]x"}, "ax", file, excl},
    {{"[a-]x"}, "-x", file, excl},
    {{"[\\]]"}, "]", file, excl},
    {{"[[:digit:]]*"}, "1a", file, excl},
    {{"[[:digit:]]*"}, "a1", file, kept},
    {{"[[:upper:]_]*"}, "_x", file, excl},
    {{"[ab]"}, "ab", file, kept}, // one byte only
  });
}

CAF_TEST(documented examples for repositories and editors) {
  // The patterns the README suggests; '#' starts a comment, so emacs's
  // auto-save files need "\#*#".
  std::vector<std::string_view> common{".git/", "node_modules/", "*.swp",
                                       ".*.swp", "*~", "4913", "\\#*#",
                                       ".#*"};
  check_table({
    {common, ".git", dir, excl},
    {common, ".git/config", file, excl},
    {common, "sub/.git", dir, excl},
    {common, ".git", file, kept}, // a submodule's gitfile is mirrored
    {common, ".gitignore", file, kept},
    {common, "a/node_modules/x/y.js", file, excl},
    {common, "node_modules", file, kept},
    {common, ".main.cpp.swp", file, excl},
    {common, "src/main.cpp~", file, excl},
    {common, "src/4913", file, excl},    // vim's probe file
    {common, "#main.cpp#", file, excl},  // emacs auto-save
    {common, ".#main.cpp", file, excl},  // emacs lock link
    {common, "main.cpp", file, kept},
    {common, "src/main.cpp", file, kept},
  });
}

CAF_TEST(invalid patterns are refused with a reason) {
  for (auto bad : {"[abc", "a[", "[!", "[]", "a\\", "[z-a]", "a//b",
                   "./x", "a/./b", "a/../b", "..", "!", "/", "!/", "//",
                   "[[:nope:]]", "[[:alpha:]", "a\\/b", "[a/b]x"}) {
    ignore_rules rules;
    auto err = rules.add(bad);
    CAF_MESSAGE(bad << " -> " << err);
    CAF_CHECK(!err.empty());
    CAF_CHECK(rules.empty());
  }
}

CAF_TEST(an ignore file adds every line and names the bad ones) {
  ignore_rules rules;
  auto errors = rules.add_text("# build output\r\n"
                               "build/\r\n"
                               "[oops\n"
                               "\n"
                               "*.o\n"
                               "!keep.o",
                               ".livesyncignore");
  CAF_REQUIRE_EQUAL(errors.size(), 1u);
  CAF_CHECK_EQUAL(errors[0].rfind(".livesyncignore:3: ", 0), 0u);
  CAF_CHECK_EQUAL(rules.size(), 3u);
  CAF_CHECK(rules.excluded("build", dir)); // "\r" was not part of the name
  CAF_CHECK(rules.excluded("a/x.o", file));
  CAF_CHECK(!rules.excluded("keep.o", file));
}

CAF_TEST(pathological patterns finish in linear time) {
  ignore_rules rules;
  CAF_CHECK_EQUAL(rules.add("*a*a*a*a*a*a*a*a*a*a*b"), "");
  CAF_CHECK_EQUAL(rules.add("/**/a/**/a/**/a/**/a/**/a/**/b"), "");
  std::string name(100000, 'a');
  CAF_CHECK(!rules.excluded(name, file));
  std::string deep = "a";
  for (int i = 0; i < 2000; ++i)
    deep += "/a";
  CAF_CHECK(!rules.excluded(deep, file));
  CAF_CHECK(rules.excluded(deep + "/b", file));
}
