#define CAF_SUITE core.subtree_set
#include <caf/test/unit_test.hpp>

#include "core/watcher/subtree_set.hpp"

#include <string>
#include <vector>

using namespace livesync;

namespace {

using strings = std::vector<std::string>;

struct op {
  char what; // 'a' add, 'r' remove, 'm' rename
  std::string x;
  std::string y;
};

strings play(const std::vector<op>& ops) {
  subtree_set u;
  for (auto& o : ops) {
    if (o.what == 'a')
      u.add(o.x);
    else if (o.what == 'r')
      u.remove(o.x);
    else
      u.rename(o.x, o.y);
  }
  CAF_CHECK_EQUAL(u.size(), u.list().size());
  CAF_CHECK_EQUAL(u.empty(), u.list().empty());
  return u.list();
}

} // namespace

CAF_TEST(table) {
  struct row {
    std::vector<op> ops;
    strings expected;
  };
  std::vector<row> rows{
    {{}, {}},
    {{{'a', "b", ""}, {'a', "a", ""}}, {"a", "b"}},
    // A subtree already covered adds nothing; a parent covers its children.
    {{{'a', "a", ""}, {'a', "a/x", ""}}, {"a"}},
    {{{'a', "a/x", ""}, {'a', "a/y", ""}, {'a', "a", ""}}, {"a"}},
    // "a-b" is not within "a".
    {{{'a', "a", ""}, {'a', "a-b", ""}}, {"a", "a-b"}},
    {{{'a', "a", ""}, {'a', "b", ""}, {'r', "a", ""}}, {"b"}},
    {{{'a', "a", ""}, {'r', "zzz", ""}}, {"a"}},
    // Renames move entries at or beneath the source.
    {{{'a', "a", ""}, {'m', "a", "b"}}, {"b"}},
    {{{'a', "p/a", ""}, {'a', "p/b", ""}, {'m', "p", "q/r"}},
     {"q/r/a", "q/r/b"}},
    {{{'a', "p/a", ""}, {'m', "p/a-b", "z"}}, {"p/a"}},
    {{{'a', "p/a", ""}, {'m', "x", "y"}}, {"p/a"}},
    // An entry moved beneath another is covered by it.
    {{{'a', "u", ""}, {'a', "p/a", ""}, {'m', "p", "u/p"}}, {"u"}},
  };
  for (size_t i = 0; i < rows.size(); ++i) {
    CAF_MESSAGE("row " << i);
    CAF_CHECK_EQUAL(play(rows[i].ops), rows[i].expected);
  }
}
