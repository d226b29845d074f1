#define CAF_SUITE core.path_rules
#include <caf/test/unit_test.hpp>

#include "core/common/path_rules.hpp"

using namespace livesync;

CAF_TEST(valid paths are accepted) {
  for (auto p : {"a", "a/b", "a b/c d", "-rf", "x/-n", ".hidden", "a/.livesync",
                 "..a", "a..", "\xc3\xa9t\xc3\xa9", "new\nline", "...",
                 ".livesyncx"})
    CAF_CHECK_EQUAL(invalid_path_reason(p), std::nullopt);
}

CAF_TEST(invalid paths are refused with a reason) {
  using namespace std::string_literals;
  std::string deep;
  for (size_t i = 0; i < max_path_depth + 1; ++i)
    deep += i == 0 ? "d" : "/d";
  for (auto p : {""s, "/etc/passwd"s, ".."s, "../x"s, "a/../../x"s, "a/.."s,
                 "."s, "./a"s, "a/./b"s, "a//b"s, "a/"s, "/"s, "a\0b"s,
                 ".livesync"s, ".livesync/staging/1"s, std::string(256, 'n'),
                 std::string(max_path_bytes + 1, 'n'), deep})
    CAF_CHECK(invalid_path_reason(p).has_value());
}

CAF_TEST(path algebra) {
  CAF_CHECK_EQUAL(parent_of("a/b/c"), "a/b");
  CAF_CHECK_EQUAL(parent_of("a"), "");
  CAF_CHECK_EQUAL(leaf_of("a/b/c"), "c");
  CAF_CHECK_EQUAL(leaf_of("a"), "a");
  CAF_CHECK_EQUAL(join_path("", "x"), "x");
  CAF_CHECK_EQUAL(join_path("a/b", "x"), "a/b/x");
  CAF_CHECK(is_within("a/b", "a"));
  CAF_CHECK(is_within("a", "a"));
  CAF_CHECK(is_within("a", ""));
  CAF_CHECK(!is_within("ab", "a"));
  CAF_CHECK(!is_within("a", "a/b"));
  CAF_CHECK_EQUAL(rebase_path("a/b/c", "a/b", "x"), "x/c");
  CAF_CHECK_EQUAL(rebase_path("a/b", "a/b", "x/y"), "x/y");
  CAF_CHECK_EQUAL(rebase_path("a/b", "", "x"), "x/a/b");
  CAF_CHECK_EQUAL(split_path("a/b/c").size(), 3u);
}

CAF_TEST(printable escapes control characters and bounds the length) {
  using namespace std::string_literals;
  CAF_CHECK_EQUAL(printable("plain name.txt"), "plain name.txt");
  CAF_CHECK_EQUAL(printable("a\nb"), "a\\nb");
  CAF_CHECK_EQUAL(printable("x\ry\x1b[31m"), "x\\x0dy\\x1b[31m");
  CAF_CHECK_EQUAL(printable("nul\0byte"s), "nul\\x00byte");
  CAF_CHECK_EQUAL(printable("back\\slash"), "back\\\\slash");
  CAF_CHECK_EQUAL(printable("\xc3\xa9t\xc3\xa9"), "\xc3\xa9t\xc3\xa9");
  CAF_CHECK_EQUAL(printable(std::string(1000, 'a'), 10),
                  "aaaaaaaaaa...(+990 bytes)");
}
