#define CAF_SUITE core.debounce_policy
#include <caf/test/unit_test.hpp>

#include "core/watcher/debounce_policy.hpp"

#include <algorithm>

using namespace livesync;
using namespace std::chrono_literals;

namespace {

using time_point = debounce_policy::time_point;
using strings = std::vector<std::string>;
using changes = std::vector<change>;

constexpr uint8_t content = change_content;
constexpr uint8_t attr = change_attr;
constexpr uint8_t deep = change_deep;

/// Any fixed origin works: the policy never reads a clock.
const time_point t0 = time_point{} + 1h;

debounce_config test_config(size_t max_batch = 4096) {
  debounce_config cfg;
  cfg.quiet = 10ms;
  cfg.max_delay = 100ms;
  cfg.max_batch = max_batch;
  return cfg;
}

change dirty(std::string path, uint8_t flags = content) {
  return change::make_dirty(std::move(path), flags);
}

change rename(std::string from, std::string to) {
  return change::make_rename(std::move(from), std::move(to));
}

// -- printing, so that a failed check shows what came out --------------------

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

/// The paths of a batch, without flags.
strings paths(const settled& s) {
  strings out;
  for (auto& x : s.paths)
    out.push_back(x.path);
  return out;
}

} // namespace

// -- timing ------------------------------------------------------------------

CAF_TEST(a single dirty path is due after the quiet window exactly) {
  debounce_policy p{test_config()};
  CAF_CHECK(p.empty());
  CAF_CHECK(!p.next_due());
  p.add(dirty("a"), t0);
  CAF_CHECK(!p.empty());
  CAF_CHECK_EQUAL(p.pending_paths(), 1u);
  CAF_CHECK(p.next_due() == t0 + 10ms);
  CAF_CHECK(p.pop_due(t0 + 10ms - 1ns).empty());
  auto out = p.pop_due(t0 + 10ms);
  CAF_CHECK_EQUAL(show(out.paths), show(changes{dirty("a")}));
  CAF_CHECK(out.renames.empty());
  CAF_CHECK(!out.rescan);
  CAF_CHECK(p.empty());
  CAF_CHECK(!p.next_due());
  CAF_CHECK(p.pop_due(t0 + 1h).empty());
}

CAF_TEST(a busy path waits until max delay) {
  debounce_policy p{test_config()};
  // A write every 8ms never leaves the path quiet for 10ms.
  for (auto t = 0ms; t < 100ms; t += 8ms) {
    p.add(dirty("a"), t0 + t);
    CAF_CHECK(p.pop_due(t0 + std::min(t + 7ms, 99ms)).empty());
  }
  // Last write at 96ms: quiet until 106ms, forced at 100ms.
  CAF_CHECK(p.next_due() == t0 + 100ms);
  CAF_CHECK(p.pop_due(t0 + 100ms - 1ns).empty());
  CAF_CHECK_EQUAL(paths(p.pop_due(t0 + 100ms)), strings{"a"});
  CAF_CHECK(p.empty());
}

CAF_TEST(each new dirty restarts the quiet window) {
  debounce_policy p{test_config()};
  p.add(dirty("a"), t0);
  p.add(dirty("a"), t0 + 6ms);
  CAF_CHECK(p.next_due() == t0 + 16ms);
  CAF_CHECK(p.pop_due(t0 + 10ms).empty());
  CAF_CHECK_EQUAL(paths(p.pop_due(t0 + 16ms)), strings{"a"});
}

CAF_TEST(flags are united) {
  debounce_policy p{test_config()};
  p.add(dirty("a", attr), t0);
  p.add(dirty("a", content), t0 + 1ms);
  p.add(dirty("a", content | deep), t0 + 2ms);
  p.add(dirty("b", attr), t0 + 2ms);
  auto out = p.pop_due(t0 + 12ms);
  CAF_CHECK_EQUAL(show(out.paths), show(changes{dirty("a", content | attr | deep),
                                                dirty("b", attr)}));
}

// -- renames -------------------------------------------------------------------

CAF_TEST(a rename re keys pending paths within its source) {
  debounce_policy p{test_config()};
  for (auto path : {"a", "a/x", "a/x/y", "ab", "a-b", "c"})
    p.add(dirty(path), t0);
  p.add(rename("a", "b"), t0);
  auto out = p.pop_due(t0 + 10ms);
  CAF_CHECK_EQUAL(show(out.renames), show(changes{rename("a", "b")}));
  CAF_CHECK_EQUAL(paths(out), (strings{"a-b", "ab", "b", "b/x", "b/x/y", "c"}));
  CAF_CHECK(p.empty());
}

CAF_TEST(a re keyed path merges with an entry at the target) {
  debounce_policy p{test_config()};
  p.add(dirty("b", attr), t0);
  p.add(dirty("a", content), t0 + 5ms);
  p.add(rename("a", "b"), t0 + 6ms);
  CAF_CHECK_EQUAL(p.pending_paths(), 1u);
  // The merged entry is as quiet as its newer half (seen at 5ms).
  CAF_CHECK(p.next_due() == t0 + 15ms);
  CAF_CHECK(p.pop_due(t0 + 10ms).empty());
  auto out = p.pop_due(t0 + 15ms);
  CAF_CHECK_EQUAL(show(out.renames), show(changes{rename("a", "b")}));
  CAF_CHECK_EQUAL(show(out.paths), show(changes{dirty("b", attr | content)}));
}

CAF_TEST(a merged entry keeps the older first seen time) {
  debounce_policy p{test_config()};
  p.add(dirty("b"), t0);
  p.add(dirty("a"), t0 + 50ms);
  p.add(rename("a", "b"), t0 + 50ms);
  p.add(dirty("b"), t0 + 55ms);
  // The rename is quiet first and goes out alone: "b" is still busy.
  auto out = p.pop_due(t0 + 60ms);
  CAF_CHECK_EQUAL(out.renames.size(), 1u);
  CAF_CHECK(out.paths.empty());
  for (auto t = 62ms; t < 100ms; t += 8ms)
    p.add(dirty("b"), t0 + t);
  // Forced by the first sighting of "b" at t0, not the one of "a" at 50ms.
  CAF_CHECK(p.next_due() == t0 + 100ms);
  CAF_CHECK(p.pop_due(t0 + 100ms - 1ns).empty());
  CAF_CHECK_EQUAL(paths(p.pop_due(t0 + 100ms)), strings{"b"});
}

CAF_TEST(renames go out in order and once) {
  debounce_policy p{test_config()};
  p.add(rename("a", "b"), t0);
  p.add(rename("c", "d"), t0 + 1ms);
  CAF_CHECK(!p.empty());
  CAF_CHECK_EQUAL(p.pending_paths(), 0u);
  // A rename alone waits for its own quiet window, counted from the last.
  CAF_CHECK(p.next_due() == t0 + 11ms);
  CAF_CHECK(p.pop_due(t0 + 11ms - 1ns).empty());
  auto out = p.pop_due(t0 + 11ms);
  CAF_CHECK_EQUAL(show(out.renames),
                  show(changes{rename("a", "b"), rename("c", "d")}));
  CAF_CHECK(out.paths.empty());
  CAF_CHECK(p.empty());
  CAF_CHECK(p.pop_due(t0 + 1h).empty());
}

CAF_TEST(a rename chain re keys twice) {
  debounce_policy p{test_config()};
  p.add(dirty("a", attr), t0);
  p.add(rename("a", "b"), t0 + 1ms);
  p.add(dirty("b/x"), t0 + 1ms);
  p.add(rename("b", "c"), t0 + 2ms);
  auto out = p.pop_due(t0 + 12ms);
  CAF_CHECK_EQUAL(show(out.renames),
                  show(changes{rename("a", "b"), rename("b", "c")}));
  CAF_CHECK_EQUAL(show(out.paths), show(changes{dirty("c", attr),
                                                dirty("c/x", content)}));
}

CAF_TEST(a due path takes every pending rename along) {
  // The due path is named after the rename, so the rename cannot wait.
  debounce_policy p{test_config()};
  p.add(dirty("x"), t0);
  p.add(rename("a", "b"), t0 + 9ms);
  auto out = p.pop_due(t0 + 10ms);
  CAF_CHECK_EQUAL(paths(out), strings{"x"});
  CAF_CHECK_EQUAL(show(out.renames), show(changes{rename("a", "b")}));
  CAF_CHECK(p.empty());
}

CAF_TEST(paths not yet due stay pending under their new names) {
  debounce_policy p{test_config()};
  p.add(dirty("a"), t0);
  p.add(dirty("a/busy"), t0 + 5ms);
  p.add(rename("a", "b"), t0 + 9ms);
  p.add(dirty("b/busy"), t0 + 15ms);
  auto out = p.pop_due(t0 + 19ms);
  CAF_CHECK_EQUAL(show(out.renames), show(changes{rename("a", "b")}));
  CAF_CHECK_EQUAL(paths(out), strings{"b"});
  CAF_CHECK_EQUAL(p.pending_paths(), 1u);
  CAF_CHECK(p.next_due() == t0 + 25ms);
  out = p.pop_due(t0 + 25ms);
  CAF_CHECK(out.renames.empty());
  CAF_CHECK_EQUAL(paths(out), strings{"b/busy"});
}

// -- batches -------------------------------------------------------------------

CAF_TEST(a batch is sorted with parents first) {
  debounce_policy p{test_config()};
  for (auto path : {"z", "a/b/c", "a", "m/n", "a/b", "m"})
    p.add(dirty(path), t0);
  CAF_CHECK_EQUAL(paths(p.pop_due(t0 + 10ms)),
                  (strings{"a", "a/b", "a/b/c", "m", "m/n", "z"}));
}

CAF_TEST(max batch caps the count and keeps the rest) {
  debounce_policy p{test_config(2)};
  for (auto path : {"e", "d", "c", "b", "a"})
    p.add(dirty(path), t0);
  p.add(dirty("late"), t0 + 5ms);
  p.add(rename("q", "r"), t0);
  auto first = p.pop_due(t0 + 10ms);
  CAF_CHECK_EQUAL(paths(first), (strings{"a", "b"}));
  CAF_CHECK_EQUAL(p.pending_paths(), 4u);
  CAF_CHECK_EQUAL(first.renames.size(), 1u);
  auto second = p.pop_due(t0 + 10ms);
  CAF_CHECK_EQUAL(paths(second), (strings{"c", "d"}));
  CAF_CHECK(second.renames.empty());
  // "late" is not due yet: it does not count against the cap.
  CAF_CHECK_EQUAL(paths(p.pop_due(t0 + 10ms)), strings{"e"});
  CAF_CHECK_EQUAL(paths(p.pop_due(t0 + 15ms)), strings{"late"});
  CAF_CHECK(p.empty());
}

CAF_TEST(next due is the earliest deadline) {
  struct case_t {
    const char* what;
    std::vector<std::pair<change, std::chrono::milliseconds>> adds;
    std::chrono::milliseconds due;
  };
  std::vector<case_t> cases{
    {"one path", {{dirty("a"), 3ms}}, 13ms},
    {"earliest of two paths", {{dirty("a"), 5ms}, {dirty("b"), 2ms}}, 12ms},
    {"max delay before quiet",
     {{dirty("a"), 0ms}, {dirty("a"), 95ms}},
     100ms},
    {"rename earlier than paths",
     {{rename("x", "y"), 1ms}, {dirty("a"), 4ms}},
     11ms},
    {"paths earlier than rename",
     {{dirty("a"), 1ms}, {rename("x", "y"), 4ms}},
     11ms},
    {"last rename counts",
     {{rename("x", "y"), 1ms}, {rename("y", "z"), 7ms}},
     17ms},
  };
  for (auto& c : cases) {
    CAF_MESSAGE(c.what);
    debounce_policy p{test_config()};
    for (auto& [x, t] : c.adds)
      p.add(x, t0 + t);
    CAF_CHECK(p.next_due() == t0 + c.due);
  }
}

// -- rescan --------------------------------------------------------------------

CAF_TEST(a rescan goes out once and at once) {
  debounce_policy p{test_config()};
  p.request_rescan();
  p.request_rescan();
  CAF_CHECK(!p.empty());
  CAF_REQUIRE(p.next_due());
  CAF_CHECK(*p.next_due() <= t0);
  p.add(dirty("a"), t0);
  auto out = p.pop_due(t0);
  CAF_CHECK(out.rescan);
  CAF_CHECK(out.paths.empty());
  CAF_CHECK(!p.empty());
  CAF_CHECK(p.next_due() == t0 + 10ms);
  out = p.pop_due(t0 + 10ms);
  CAF_CHECK(!out.rescan);
  CAF_CHECK_EQUAL(paths(out), strings{"a"});
  CAF_CHECK(p.empty());
}
