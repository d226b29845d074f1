#define CAF_SUITE core.hardlink_index
#include <caf/test/unit_test.hpp>

#include "core/watcher/hardlink_index.hpp"

#include <string>
#include <vector>

using namespace livesync;

namespace {

using strings = std::vector<std::string>;

} // namespace

CAF_TEST(names of one inode know each other) {
  hardlink_index x;
  x.note("a/f", 7, 3);
  x.note("b/g", 7, 3);
  x.note("c", 7, 3);
  x.note("solo", 8, 1); // one link: not recorded
  x.note("p", 9, 2);
  CAF_CHECK_EQUAL(x.others("a/f"), (strings{"b/g", "c"}));
  CAF_CHECK_EQUAL(x.others("c"), (strings{"a/f", "b/g"}));
  CAF_CHECK_EQUAL(x.others("solo"), strings{});
  CAF_CHECK_EQUAL(x.others("p"), strings{});
  CAF_CHECK_EQUAL(x.size(), 4u);
  // Noting twice changes nothing; a name that now holds another inode
  // leaves the first one's names.
  x.note("a/f", 7, 3);
  CAF_CHECK_EQUAL(x.size(), 4u);
  x.note("c", 9, 2);
  CAF_CHECK_EQUAL(x.others("a/f"), strings{"b/g"});
  CAF_CHECK_EQUAL(x.others("p"), strings{"c"});
  // A link count back to one, or a forgotten name, leaves the index.
  x.note("b/g", 7, 1);
  CAF_CHECK_EQUAL(x.others("a/f"), strings{});
  x.forget("c");
  x.forget("missing");
  CAF_CHECK_EQUAL(x.others("p"), strings{});
  CAF_CHECK_EQUAL(x.size(), 2u);
}

CAF_TEST(renames move names and their subtrees) {
  hardlink_index x;
  x.note("d/f", 1, 2);
  x.note("d/sub/g", 2, 2);
  x.note("d-other", 1, 2); // sorts between "d/" and "d0"
  x.note("e/h", 2, 2);
  x.note("t", 3, 2);
  x.note("u", 3, 2);
  x.rename("d", "m/d");
  CAF_CHECK_EQUAL(x.others("d-other"), strings{"m/d/f"});
  CAF_CHECK_EQUAL(x.others("e/h"), strings{"m/d/sub/g"});
  CAF_CHECK_EQUAL(x.others("d/f"), strings{});
  // A rename over a recorded name replaces it.
  x.rename("t", "u");
  CAF_CHECK_EQUAL(x.others("u"), strings{});
  CAF_CHECK_EQUAL(x.size(), 5u);
}
