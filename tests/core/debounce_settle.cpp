#define CAF_SUITE core.debounce_settle
#include <caf/test/unit_test.hpp>

// When a path settles: at once when its last change says the file is
// complete (change_closed: IN_CLOSE_WRITE, or a file renamed into place),
// after the quiet window otherwise (a file still being written, a
// directory, a deletion, a path handed out just before).
#include "core/watcher/debounce_policy.hpp"

#include <optional>

using namespace livesync;
using namespace std::chrono_literals;

namespace {

using time_point = debounce_policy::time_point;
using ms = std::chrono::milliseconds;
using strings = std::vector<std::string>;
using changes = std::vector<change>;

constexpr uint8_t content = change_content;
constexpr uint8_t attr = change_attr;
constexpr uint8_t deep = change_deep;
constexpr uint8_t closed = change_closed;

/// Any fixed origin works: the policy never reads a clock.
const time_point t0 = time_point{} + 1h;

debounce_policy policy() {
  debounce_config cfg;
  cfg.quiet = 10ms;
  cfg.max_delay = 100ms;
  return debounce_policy{cfg};
}

change dirty(std::string path, uint8_t flags = content) {
  return change::make_dirty(std::move(path), flags);
}

change rename(std::string from, std::string to) {
  return change::make_rename(std::move(from), std::move(to));
}

std::string show(const change& c) {
  if (c.kind == change::rename)
    return "rename " + c.path + " -> " + c.to;
  return "dirty " + c.path + " flags=" + std::to_string(c.flags);
}

strings show(const changes& xs) {
  strings out;
  for (auto& x : xs)
    out.push_back(show(x));
  return out;
}

/// When something is due, in ms after t0 (-1: nothing pending).
long due_ms(const debounce_policy& p) {
  auto d = p.next_due();
  return d ? static_cast<long>(std::chrono::duration_cast<ms>(*d - t0).count())
           : -1;
}

} // namespace

// -- one sequence of changes: when is it due, and what goes out ---------------

CAF_TEST(when a path settles) {
  struct case_t {
    const char* what;
    std::vector<std::pair<change, ms>> adds;
    /// next_due(), ms after t0.
    long due;
    /// What pop_due(t0 + due) hands out: renames, then paths.
    changes out;
  };
  std::vector<case_t> cases{
    {"written and closed: due at the close",
     {{dirty("f"), 0ms}, {dirty("f"), 1ms}, {dirty("f", attr | closed), 2ms}},
     2,
     {dirty("f", content | attr)}},
    {"closed alone (touch): due at the close",
     {{dirty("f", attr | closed), 3ms}},
     3,
     {dirty("f", attr)}},
    {"created and written, not closed yet: the quiet window",
     {{dirty("f"), 0ms}, {dirty("f"), 1ms}},
     11,
     {dirty("f")}},
    {"closed, then written again: the quiet window from the write",
     {{dirty("f"), 0ms}, {dirty("f", attr | closed), 1ms}, {dirty("f"), 2ms}},
     12,
     {dirty("f", content | attr)}},
    {"closed, then an attribute change: the quiet window",
     {{dirty("f", attr | closed), 0ms}, {dirty("f", attr), 1ms}},
     11,
     {dirty("f", attr)}},
    {"two writers, one closes while the other writes on",
     {{dirty("f"), 0ms},
      {dirty("f"), 1ms},
      {dirty("f", attr | closed), 2ms},
      {dirty("f"), 3ms}},
     13,
     {dirty("f", content | attr)}},
    {"two writers, the last one closes",
     {{dirty("f"), 0ms},
      {dirty("f", attr | closed), 2ms},
      {dirty("f"), 3ms},
      {dirty("f", attr | closed), 4ms}},
     4,
     {dirty("f", content | attr)}},
    {"renamed into place: due at once, the rename goes along",
     {{dirty(".f.tmp"), 0ms},
      {dirty(".f.tmp", attr | closed), 1ms},
      {rename(".f.tmp", "f"), 2ms},
      {dirty("f", content | closed), 2ms}},
     2,
     {rename(".f.tmp", "f"), dirty("f", content | attr)}},
    {"moved in from outside: due at once",
     {{dirty("in", content | closed), 5ms}},
     5,
     {dirty("in")}},
    {"renamed into place while still written: the quiet window",
     {{dirty(".f.tmp"), 0ms},
      {rename(".f.tmp", "f"), 1ms},
      {dirty("f", content | closed), 1ms},
      {dirty("f"), 2ms}},
     11, // the rename alone, once quiet; "f" at 12
     {rename(".f.tmp", "f")}},
    {"a directory created: the quiet window",
     {{dirty("d", content | deep), 0ms}},
     10,
     {dirty("d", content | deep)}},
    {"a directory renamed: the quiet window, the rename waits too",
     {{rename("d", "e"), 0ms}, {dirty("e", content | deep), 0ms}},
     10,
     {rename("d", "e"), dirty("e", content | deep)}},
    {"a deletion: the quiet window (it may be recreated)",
     {{dirty("f"), 4ms}},
     14,
     {dirty("f")}},
    {"a closed file beneath a renamed directory stays due",
     {{dirty("d/f"), 0ms},
      {dirty("d/f", attr | closed), 1ms},
      {rename("d", "e"), 2ms}},
     1,
     {rename("d", "e"), dirty("e/f", content | attr)}},
    {"re-keyed onto a busy entry: busy wins",
     {{dirty("b"), 0ms},
      {dirty("a", attr | closed), 1ms},
      {rename("a", "b"), 2ms}},
     11, // quiet from the newer half, seen at 1ms
     {rename("a", "b"), dirty("b", content | attr)}},
    {"re-keyed onto a closed entry: still due",
     {{dirty("b", attr | closed), 0ms},
      {dirty("a", attr | closed), 1ms},
      {rename("a", "b"), 2ms}},
     1,
     {rename("a", "b"), dirty("b", attr)}},
    {"each path by its own last event",
     {{dirty("busy"), 0ms},
      {dirty("done"), 0ms},
      {dirty("done", attr | closed), 1ms},
      {dirty("busy"), 1ms}},
     1,
     {dirty("done", content | attr)}},
  };
  for (auto& c : cases) {
    CAF_MESSAGE(c.what);
    auto p = policy();
    for (auto& [x, t] : c.adds)
      p.add(x, t0 + t);
    CAF_CHECK_EQUAL(due_ms(p), c.due);
    CAF_CHECK(p.pop_due(t0 + ms{c.due} - 1ns).empty());
    auto out = p.pop_due(t0 + ms{c.due});
    auto got = out.renames;
    got.insert(got.end(), out.paths.begin(), out.paths.end());
    CAF_CHECK_EQUAL(show(got), show(c.out));
  }
}

// -- the bit is the policy's own --------------------------------------------

CAF_TEST(the closed bit is never handed out) {
  auto p = policy();
  p.add(dirty("a", attr | closed), t0);
  p.add(dirty("b", content | closed), t0);
  p.add(dirty("c", attr | closed), t0);
  p.add(dirty("c"), t0 + 1ms);
  auto out = p.pop_due(t0);
  CAF_CHECK_EQUAL(show(out.paths), show(changes{dirty("a", attr), dirty("b")}));
  out = p.pop_all();
  CAF_CHECK_EQUAL(show(out.paths), show(changes{dirty("c", content | attr)}));
  CAF_CHECK(p.empty());
}

// -- a path closed again right after it went out -------------------------------

CAF_TEST(a path handed out less than a quiet window ago waits for quiet) {
  auto p = policy();
  p.add(dirty("f"), t0);
  p.add(dirty("f", attr | closed), t0 + 1ms);
  CAF_CHECK_EQUAL(show(p.pop_due(t0 + 1ms).paths),
                  show(changes{dirty("f", content | attr)}));
  // Reopened, written and closed again 2ms later: busy, not done.
  p.add(dirty("f"), t0 + 3ms);
  p.add(dirty("f", attr | closed), t0 + 3ms);
  CAF_CHECK_EQUAL(due_ms(p), 13);
  CAF_CHECK(p.pop_due(t0 + 12ms).empty());
  CAF_CHECK_EQUAL(show(p.pop_due(t0 + 13ms).paths),
                  show(changes{dirty("f", content | attr)}));
  // A close a full quiet window after the last hand-out settles at once.
  p.add(dirty("f", attr | closed), t0 + 23ms);
  CAF_CHECK_EQUAL(due_ms(p), 23);
  CAF_CHECK_EQUAL(show(p.pop_due(t0 + 23ms).paths),
                  show(changes{dirty("f", attr)}));
  // Other paths are not held back by it.
  p.add(dirty("g", attr | closed), t0 + 24ms);
  CAF_CHECK_EQUAL(due_ms(p), 24);
}

CAF_TEST(a file closed every millisecond goes out at max delay as before) {
  // A logger that opens, appends and closes in a loop: the first close
  // settles at once, then the path is busy, and max_delay bounds the rest.
  auto p = policy();
  std::vector<long> sent;
  for (long t = 0; t < 250; ++t) {
    p.add(dirty("log"), t0 + ms{t});
    p.add(dirty("log", attr | closed), t0 + ms{t});
    if (!p.pop_due(t0 + ms{t}).paths.empty())
      sent.push_back(t);
  }
  CAF_CHECK_EQUAL(sent, (std::vector<long>{0, 101, 202}));
}

CAF_TEST(a closed path waits for demand and is still due then) {
  auto p = policy();
  p.add(dirty("f", attr | closed), t0);
  // No pop until much later (the sender was busy): still handed out, and
  // the batch is dated by the close.
  auto out = p.pop_due(t0 + 1s);
  CAF_CHECK_EQUAL(show(out.paths), show(changes{dirty("f", attr)}));
  CAF_CHECK_EQUAL(out.first_event_ns,
                  std::chrono::duration_cast<std::chrono::nanoseconds>(
                    t0.time_since_epoch())
                    .count());
}
