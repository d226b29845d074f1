#define CAF_SUITE core.event_interpreter
#include <caf/test/unit_test.hpp>

#include "core/watcher/event_interpreter.hpp"

#include <algorithm>

#include <sys/inotify.h>

using namespace livesync;

namespace {

// -- building events and expectations ----------------------------------------

constexpr uint32_t dir = IN_ISDIR;
constexpr uint8_t content = change_content;
constexpr uint8_t attr = change_attr;
constexpr uint8_t deep = change_content | change_deep;
/// A file the writer is done with (closed, or renamed into place).
constexpr uint8_t closed = change_closed;

/// The wds of the table every test starts from.
constexpr int32_t root_wd = 1;
constexpr int32_t d_wd = 2;   // "d"
constexpr int32_t sub_wd = 3; // "d/sub"
constexpr int32_t e_wd = 4;   // "e"

watch_table make_table() {
  watch_table t;
  t.add(root_wd, "");
  t.add(d_wd, "d");
  t.add(sub_wd, "d/sub");
  t.add(e_wd, "e");
  return t;
}

inotify_record ev(int32_t wd, uint32_t mask, std::string name,
                  uint32_t cookie = 0) {
  return inotify_record{wd, mask, cookie, std::move(name)};
}

change dirty(std::string path, uint8_t flags) {
  return change::make_dirty(std::move(path), flags);
}

change rename(std::string from, std::string to) {
  return change::make_rename(std::move(from), std::move(to));
}

// -- printing, so that a failed check shows what came out --------------------

std::string show(const change& c) {
  if (c.kind == change::rename)
    return "rename " + c.path + " -> " + c.to;
  std::string out = "dirty " + c.path + " [";
  if (c.flags & change_content)
    out += "content";
  if (c.flags & change_attr)
    out += "attr";
  if (c.flags & change_deep)
    out += "+deep";
  if (c.flags & change_closed)
    out += "+closed";
  return out + "]";
}

std::vector<std::string> show(const std::vector<change>& xs) {
  std::vector<std::string> out;
  for (auto& x : xs)
    out.push_back(show(x));
  return out;
}

std::vector<int32_t> sorted(std::vector<int32_t> xs) {
  std::sort(xs.begin(), xs.end());
  return xs;
}

using strings = std::vector<std::string>;
using changes = std::vector<change>;

} // namespace

// -- one batch, no state to check beyond the output ---------------------------

CAF_TEST(single batches) {
  struct case_t {
    const char* what;
    std::vector<inotify_record> batch;
    changes expected;
    strings watch;
  };
  std::vector<case_t> cases{
    {"create file", {ev(root_wd, IN_CREATE, "f")}, {dirty("f", content)}, {}},
    {"create file in a subdir",
     {ev(sub_wd, IN_CREATE, "f")},
     {dirty("d/sub/f", content)},
     {}},
    {"create dir",
     {ev(d_wd, IN_CREATE | dir, "n")},
     {dirty("d/n", deep)},
     {"d/n"}},
    {"modify, close_write, delete",
     {ev(root_wd, IN_MODIFY, "f"), ev(root_wd, IN_CLOSE_WRITE, "f"),
      ev(d_wd, IN_DELETE, "g"), ev(d_wd, IN_DELETE | dir, "h")},
     {dirty("f", content), dirty("f", attr | closed), dirty("d/g", content),
      dirty("d/h", content)},
     {}},
    {"close_write alone as after touch is an attribute change",
     {ev(root_wd, IN_CLOSE_WRITE, "f"), ev(root_wd, IN_ATTRIB, "f")},
     {dirty("f", attr | closed), dirty("f", attr)},
     {}},
    {"a file written and closed is closed, a file still written is not",
     {ev(root_wd, IN_CREATE, "done"), ev(root_wd, IN_MODIFY, "done"),
      ev(root_wd, IN_CLOSE_WRITE, "done"), ev(root_wd, IN_CREATE, "busy"),
      ev(root_wd, IN_MODIFY, "busy")},
     {dirty("done", content), dirty("done", content),
      dirty("done", attr | closed), dirty("busy", content),
      dirty("busy", content)},
     {}},
    {"written again after the close: the last event is not a close",
     {ev(root_wd, IN_MODIFY, "f"), ev(root_wd, IN_CLOSE_WRITE, "f"),
      ev(root_wd, IN_MODIFY, "f")},
     {dirty("f", content), dirty("f", attr | closed), dirty("f", content)},
     {}},
    {"tar: the times set on the open file, then the close",
     {ev(d_wd, IN_CREATE, "t"), ev(d_wd, IN_MODIFY, "t"),
      ev(d_wd, IN_ATTRIB, "t"), ev(d_wd, IN_CLOSE_WRITE, "t")},
     {dirty("d/t", content), dirty("d/t", content), dirty("d/t", attr),
      dirty("d/t", attr | closed)},
     {}},
    {"attrib on a file and on a subdir via its parent",
     {ev(root_wd, IN_ATTRIB, "f"), ev(root_wd, IN_ATTRIB | dir, "d")},
     {dirty("f", attr), dirty("d", attr)},
     {}},
    {"events on a watched dir itself are ignored",
     {ev(d_wd, IN_ATTRIB | dir, ""), ev(sub_wd, IN_DELETE_SELF, ""),
      ev(sub_wd, IN_MOVE_SELF, ""), ev(root_wd, IN_MODIFY | dir, "")},
     {},
     {}},
    {"state folder at the root is ignored",
     {ev(root_wd, IN_CREATE | dir, ".livesync"),
      ev(root_wd, IN_MODIFY, ".livesync"),
      ev(root_wd, IN_ATTRIB | dir, ".livesync")},
     {},
     {}},
    {"state folder name below the root is an ordinary name",
     {ev(d_wd, IN_CREATE | dir, ".livesync"), ev(root_wd, IN_CREATE, "x")},
     {dirty("d/.livesync", deep), dirty("x", content)},
     {"d/.livesync"}},
    {"unknown wd is ignored", {ev(99, IN_CREATE, "f")}, {}, {}},
    {"file moved within",
     {ev(root_wd, IN_MOVED_FROM, "a", 5), ev(d_wd, IN_MOVED_TO, "b", 5)},
     {rename("a", "d/b"), dirty("d/b", content | closed)},
     {}},
    {"file moved in from outside",
     {ev(d_wd, IN_MOVED_TO, "in", 5)},
     {dirty("d/in", content | closed)},
     {}},
    {"dir moved in from outside",
     {ev(d_wd, IN_MOVED_TO | dir, "in", 5)},
     {dirty("d/in", deep)},
     {"d/in"}},
    {"unrelated cookie does not pair",
     {ev(root_wd, IN_MOVED_FROM, "a", 5), ev(root_wd, IN_MOVED_TO, "b", 6)},
     {dirty("b", content | closed)},
     {}},
    {"editor atomic save",
     {ev(root_wd, IN_CREATE, ".a.swp"), ev(root_wd, IN_MODIFY, ".a.swp"),
      ev(root_wd, IN_CLOSE_WRITE, ".a.swp"),
      ev(root_wd, IN_MOVED_FROM, ".a.swp", 9),
      ev(root_wd, IN_MOVED_TO, "a", 9)},
     {dirty(".a.swp", content), dirty(".a.swp", content),
      dirty(".a.swp", attr | closed), rename(".a.swp", "a"),
      dirty("a", content | closed)},
     {}},
    {"chain a to b to c",
     {ev(root_wd, IN_MOVED_FROM, "a", 1), ev(root_wd, IN_MOVED_TO, "b", 1),
      ev(root_wd, IN_MOVED_FROM, "b", 2), ev(root_wd, IN_MOVED_TO, "c", 2)},
     {rename("a", "b"), dirty("b", content | closed), rename("b", "c"),
      dirty("c", content | closed)},
     {}},
    {"moved to the state folder means moved out",
     {ev(root_wd, IN_MOVED_FROM, "f", 3),
      ev(root_wd, IN_MOVED_TO, ".livesync", 3)},
     {dirty("f", content)},
     {}},
    {"moved from the state folder means moved in",
     {ev(root_wd, IN_MOVED_FROM | dir, ".livesync", 3),
      ev(root_wd, IN_MOVED_TO | dir, "x", 3)},
     {dirty("x", deep)},
     {"x"}},
  };
  for (auto& c : cases) {
    CAF_MESSAGE(c.what);
    auto table = make_table();
    event_interpreter ei;
    auto out = ei.feed(c.batch, table);
    CAF_CHECK_EQUAL(show(out.changes), show(c.expected));
    CAF_CHECK_EQUAL(out.watch, c.watch);
    CAF_CHECK(out.unwatch.empty());
    CAF_CHECK(!out.overflow);
    CAF_CHECK_EQUAL(table.size(), 4u);
  }
}

// -- watch table upkeep ------------------------------------------------------

CAF_TEST(dir moved within moves its watches) {
  auto table = make_table();
  event_interpreter ei;
  auto out = ei.feed({ev(root_wd, IN_MOVED_FROM | dir, "d", 7),
                      ev(e_wd, IN_MOVED_TO | dir, "d2", 7),
                      ev(sub_wd, IN_CREATE, "f")},
                     table);
  CAF_CHECK_EQUAL(show(out.changes),
                  show(changes{rename("d", "e/d2"), dirty("e/d2", deep),
                               dirty("e/d2/sub/f", content)}));
  CAF_CHECK(out.watch.empty());
  CAF_CHECK(out.unwatch.empty());
  CAF_CHECK_EQUAL(table.path_of(d_wd), std::optional<std::string>{"e/d2"});
  CAF_CHECK_EQUAL(table.path_of(sub_wd),
                  std::optional<std::string>{"e/d2/sub"});
  CAF_CHECK_EQUAL(table.wd_of("d"), std::nullopt);
  CAF_CHECK(!ei.has_pending());
}

CAF_TEST(in ignored forgets the wd) {
  auto table = make_table();
  event_interpreter ei;
  auto out = ei.feed({ev(sub_wd, IN_DELETE_SELF, ""), ev(sub_wd, IN_IGNORED, ""),
                      ev(d_wd, IN_DELETE | dir, "sub"),
                      ev(sub_wd, IN_CREATE, "late")},
                     table);
  CAF_CHECK_EQUAL(show(out.changes), show(changes{dirty("d/sub", content)}));
  CAF_CHECK_EQUAL(table.path_of(sub_wd), std::nullopt);
  CAF_CHECK_EQUAL(table.size(), 3u);
  CAF_CHECK(out.unwatch.empty());
}

CAF_TEST(overflow is flagged) {
  auto table = make_table();
  event_interpreter ei;
  auto out = ei.feed({ev(root_wd, IN_CREATE, "f"), ev(-1, IN_Q_OVERFLOW, "")},
                     table);
  CAF_CHECK(out.overflow);
  CAF_CHECK_EQUAL(show(out.changes), show(changes{dirty("f", content)}));
  CAF_CHECK(!ei.feed({ev(root_wd, IN_CREATE, "g")}, table).overflow);
}

// -- moves across batches ----------------------------------------------------

CAF_TEST(rename split across two reads is still a rename) {
  auto table = make_table();
  event_interpreter ei;
  auto out1 = ei.feed({ev(root_wd, IN_CREATE, "x"),
                       ev(root_wd, IN_MOVED_FROM | dir, "d", 7)},
                      table);
  CAF_CHECK_EQUAL(show(out1.changes), show(changes{dirty("x", content)}));
  CAF_CHECK(ei.has_pending());
  auto out2 = ei.feed({ev(root_wd, IN_MOVED_TO | dir, "d2", 7),
                       ev(sub_wd, IN_MODIFY, "f")},
                      table);
  CAF_CHECK_EQUAL(show(out2.changes),
                  show(changes{rename("d", "d2"), dirty("d2", deep),
                               dirty("d2/sub/f", content)}));
  CAF_CHECK(out2.unwatch.empty());
  CAF_CHECK(!ei.has_pending());
  CAF_CHECK_EQUAL(table.path_of(sub_wd), std::optional<std::string>{"d2/sub"});
}

CAF_TEST(held move without partner in the next read is moved out first) {
  auto table = make_table();
  event_interpreter ei;
  auto out1 = ei.feed({ev(root_wd, IN_MOVED_FROM | dir, "d", 7)}, table);
  CAF_CHECK(out1.changes.empty());
  auto out2 = ei.feed({ev(root_wd, IN_CREATE, "x"),
                       ev(root_wd, IN_MOVED_FROM, "f", 8)},
                      table);
  // The move out happened before anything in the second read.
  CAF_CHECK_EQUAL(show(out2.changes),
                  show(changes{dirty("d", content), dirty("x", content)}));
  CAF_CHECK_EQUAL(sorted(out2.unwatch), (std::vector<int32_t>{d_wd, sub_wd}));
  CAF_CHECK_EQUAL(table.wd_of("d"), std::nullopt);
  CAF_CHECK_EQUAL(table.wd_of("d/sub"), std::nullopt);
  CAF_CHECK_EQUAL(table.size(), 2u);
  // "f" from the second read is still held, for the third.
  CAF_CHECK(ei.has_pending());
  auto out3 = ei.feed({}, table);
  CAF_CHECK_EQUAL(show(out3.changes), show(changes{dirty("f", content)}));
  CAF_CHECK(out3.unwatch.empty());
  CAF_CHECK(!ei.has_pending());
}

CAF_TEST(expire resolves held moves) {
  auto table = make_table();
  event_interpreter ei;
  CAF_CHECK(ei.expire(table).changes.empty());
  ei.feed({ev(root_wd, IN_MOVED_FROM, "f", 1),
           ev(d_wd, IN_MOVED_FROM | dir, "sub", 2)},
          table);
  CAF_CHECK(ei.has_pending());
  auto out = ei.expire(table);
  CAF_CHECK_EQUAL(show(out.changes),
                  show(changes{dirty("f", content), dirty("d/sub", content)}));
  CAF_CHECK_EQUAL(out.unwatch, (std::vector<int32_t>{sub_wd}));
  CAF_CHECK(!ei.has_pending());
  CAF_CHECK_EQUAL(table.size(), 3u);
  // A partner arriving after expiry is a move in (a file: whole).
  auto late = ei.feed({ev(root_wd, IN_MOVED_TO, "g", 1)}, table);
  CAF_CHECK_EQUAL(show(late.changes),
                  show(changes{dirty("g", content | closed)}));
}

CAF_TEST(a reused name resolves the held move at once) {
  // "d" moved out, then a new "d" created in the same read: the new
  // directory's watch must survive, so the old one goes first.
  auto table = make_table();
  event_interpreter ei;
  auto out = ei.feed({ev(root_wd, IN_MOVED_FROM | dir, "d", 7),
                      ev(root_wd, IN_CREATE | dir, "d")},
                     table);
  CAF_CHECK_EQUAL(show(out.changes),
                  show(changes{dirty("d", content), dirty("d", deep)}));
  CAF_CHECK_EQUAL(out.watch, strings{"d"});
  CAF_CHECK_EQUAL(sorted(out.unwatch), (std::vector<int32_t>{d_wd, sub_wd}));
  CAF_CHECK(!ei.has_pending());
  // The caller watches the new "d"; a later read must leave it alone.
  table.add(10, "d");
  auto next = ei.feed({ev(10, IN_CREATE, "f")}, table);
  CAF_CHECK_EQUAL(show(next.changes), show(changes{dirty("d/f", content)}));
  CAF_CHECK_EQUAL(table.wd_of("d"), std::optional<int32_t>{10});
}

CAF_TEST(a rename over a moved out name resolves it first) {
  auto table = make_table();
  event_interpreter ei;
  auto out = ei.feed({ev(root_wd, IN_MOVED_FROM | dir, "d", 7),
                      ev(root_wd, IN_MOVED_FROM | dir, "e", 8),
                      ev(root_wd, IN_MOVED_TO | dir, "d", 8)},
                     table);
  CAF_CHECK_EQUAL(show(out.changes),
                  show(changes{dirty("d", content), rename("e", "d"),
                               dirty("d", deep)}));
  CAF_CHECK_EQUAL(sorted(out.unwatch), (std::vector<int32_t>{d_wd, sub_wd}));
  CAF_CHECK_EQUAL(table.wd_of("d"), std::optional<int32_t>{e_wd});
  CAF_CHECK(!ei.has_pending());
}

CAF_TEST(a held move beneath a renamed dir resolves before the rename) {
  // "d/sub" moved out, then "d" renamed: the move out is named in the
  // namespace before the rename.
  auto table = make_table();
  event_interpreter ei;
  auto out = ei.feed({ev(d_wd, IN_MOVED_FROM | dir, "sub", 7),
                      ev(root_wd, IN_MOVED_FROM | dir, "d", 8),
                      ev(root_wd, IN_MOVED_TO | dir, "d2", 8)},
                     table);
  CAF_CHECK_EQUAL(show(out.changes),
                  show(changes{dirty("d/sub", content), rename("d", "d2"),
                               dirty("d2", deep)}));
  CAF_CHECK_EQUAL(out.unwatch, (std::vector<int32_t>{sub_wd}));
  CAF_CHECK_EQUAL(table.path_of(d_wd), std::optional<std::string>{"d2"});
  CAF_CHECK_EQUAL(table.size(), 3u);
}
