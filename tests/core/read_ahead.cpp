#define CAF_SUITE core.read_ahead
#include <caf/test/unit_test.hpp>

#include "core/watcher/read_ahead.hpp"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <fcntl.h>
#include <unistd.h>
#include <vector>

using namespace livesync;

namespace {

action upload(std::string path, uint64_t size = 100) {
  action a;
  a.kind = action::upload;
  a.path = std::move(path);
  a.meta.kind = entry_kind::file;
  a.meta.size = size;
  return a;
}

action send(std::string path) {
  action a;
  a.kind = action::send;
  a.path = std::move(path);
  a.operation.kind = op_kind::mkdir;
  a.operation.path = a.path;
  return a;
}

std::shared_ptr<content_read> pending_read() {
  return std::make_shared<content_read>();
}

std::shared_ptr<content_read> pending_scan() {
  auto r = std::make_shared<content_read>();
  r->chunking = chunker_params{};
  return r;
}

/// Paths of the actions ready now, in the order they leave.
std::vector<std::string> drain(read_ahead& q) {
  std::vector<std::string> out;
  while (auto r = q.pop_ready())
    out.push_back(r->a.path + (r->read ? "+read" : ""));
  return out;
}

using paths = std::vector<std::string>;

} // namespace

CAF_TEST(actions leave in the order they came whatever order reads end in) {
  // Each row: the order in which the three reads finish, and what may
  // leave after each one. Nothing overtakes a read still out.
  struct row {
    std::vector<int> finish;
    std::vector<paths> after;
  };
  std::vector<row> rows{
    {{0, 1, 2}, {{"a+read", "d"}, {"b+read"}, {"c+read", "e"}}},
    {{2, 1, 0}, {{}, {}, {"a+read", "d", "b+read", "c+read", "e"}}},
    {{1, 0, 2}, {{}, {"a+read", "d", "b+read"}, {"c+read", "e"}}},
    {{2, 0, 1}, {{}, {"a+read", "d"}, {"b+read", "c+read", "e"}}},
  };
  for (auto& r : rows) {
    read_ahead q{read_ahead::limits{}};
    std::vector<uint64_t> ids;
    ids.push_back(q.push_read(upload("a"), pending_read()));
    q.push(send("d"));
    ids.push_back(q.push_read(upload("b"), pending_read()));
    ids.push_back(q.push_read(upload("c"), pending_read()));
    q.push(send("e"));
    CAF_CHECK_EQUAL(q.reads_out(), 3u);
    CAF_CHECK_EQUAL(q.bytes_out(), 300u);
    CAF_CHECK(drain(q).empty());
    for (size_t i = 0; i < r.finish.size(); ++i) {
      CAF_CHECK(q.done(ids[r.finish[i]]));
      CAF_CHECK_EQUAL(drain(q), r.after[i]);
    }
    CAF_CHECK(q.empty());
    CAF_CHECK_EQUAL(q.reads_out(), 0u);
    CAF_CHECK_EQUAL(q.bytes_out(), 0u);
  }
}

CAF_TEST(a read already done leaves at once) {
  read_ahead q{read_ahead::limits{}};
  q.push_read(upload("a"), pending_read(), true);
  CAF_CHECK_EQUAL(q.reads_out(), 0u);
  CAF_CHECK_EQUAL(drain(q), paths{"a+read"});
}

CAF_TEST(answers after a clear or twice are ignored) {
  read_ahead q{read_ahead::limits{}};
  auto old = q.push_read(upload("a"), pending_read());
  q.clear();
  CAF_CHECK(q.empty());
  CAF_CHECK_EQUAL(q.reads_out(), 0u);
  // The id of a read of the lost link is never given out again.
  auto fresh = q.push_read(upload("b"), pending_read());
  CAF_CHECK_NOT_EQUAL(old, fresh);
  CAF_CHECK(!q.done(old));
  CAF_CHECK_EQUAL(q.reads_out(), 1u);
  CAF_CHECK(q.done(fresh));
  CAF_CHECK(!q.done(fresh));
  CAF_CHECK_EQUAL(drain(q), paths{"b+read"});
  CAF_CHECK(!q.done(fresh));
}

CAF_TEST(reads are bounded by count and bytes but one always fits) {
  read_ahead::limits l;
  l.reads = 3;
  l.bytes = 1000;
  read_ahead q{l};
  CAF_CHECK(q.has_room_for(5000)); // Alone, however large.
  q.push_read(upload("big", 5000), pending_read());
  CAF_CHECK(!q.has_room_for(1));
  read_ahead r{l};
  r.push_read(upload("a", 400), pending_read());
  CAF_CHECK(r.has_room_for(600));
  CAF_CHECK(!r.has_room_for(601));
  r.push_read(upload("b", 100), pending_read());
  r.push_read(upload("c", 100), pending_read());
  CAF_CHECK(!r.has_room_for(1)); // Three reads out.
}

CAF_TEST(the planner waits at a rename or at a path whose upload waits) {
  // The model learns of a file when its upload runs: a rename would move
  // the model beneath it, a check of the same path would plan it twice (or
  // plan an operation the model then sees out of order). Other checks go
  // on; with nothing queued, everything does; with nothing to plan,
  // nothing does.
  struct row {
    bool queued;
    change next;
    bool idle;
    bool expected;
  };
  auto other = change::make_dirty("x/y", change_content);
  auto same = change::make_dirty("x/a", change_content);
  auto deep = change::make_dirty("x", change_content | change_deep);
  auto rename = change::make_rename("q", "z");
  std::vector<row> rows{
    {false, rename, false, true}, {true, rename, false, false},
    {true, other, false, true},   {true, deep, false, true},
    {true, same, false, false},   {false, same, false, true},
    {true, other, true, false},   {false, other, true, false},
  };
  for (auto& r : rows) {
    read_ahead q{read_ahead::limits{}};
    if (r.queued)
      q.push_read(upload("x/a"), pending_read());
    CAF_CHECK_EQUAL(q.may_plan_past(r.idle ? nullptr : &r.next), r.expected);
  }
}

CAF_TEST(an upload queued without a read also holds its path) {
  // A large file queued behind reads: it streams once it is at the front.
  read_ahead q{read_ahead::limits{}};
  auto id = q.push_read(upload("a"), pending_read());
  q.push(upload("big", 10 << 20));
  auto big = change::make_dirty("big", change_content);
  auto a = change::make_dirty("a", change_content);
  CAF_CHECK(!q.may_plan_past(&big));
  CAF_CHECK(!q.may_plan_past(&a));
  q.done(id);
  auto first = q.pop_ready();
  CAF_REQUIRE(first);
  CAF_CHECK_EQUAL(first->a.path, "a");
  CAF_CHECK(!q.may_plan_past(&big));
  CAF_CHECK(q.pop_ready());
  CAF_CHECK(q.may_plan_past(&big)); // Empty again.
}

CAF_TEST(the queue of actions is bounded) {
  read_ahead::limits l;
  l.actions = 2;
  read_ahead q{l};
  auto next = change::make_dirty("p", change_content);
  q.push_read(upload("a"), pending_read());
  CAF_CHECK(q.may_plan_past(&next));
  q.push(send("d"));
  CAF_CHECK(!q.may_plan_past(&next));
  CAF_CHECK(!q.has_room_for(1));
}

CAF_TEST(chunkings are bounded apart from the reads) {
  read_ahead::limits l;
  l.reads = 1;
  l.bytes = 1000;
  l.scans = 2;
  l.scan_bytes = 100000;
  read_ahead q{l};
  auto read = q.push_read(upload("small", 500), pending_read());
  CAF_CHECK(!q.has_room_for(1)); // The one read is out.
  CAF_CHECK(q.has_room_for_scan(60000));
  auto scan1 = q.push_read(upload("large1", 60000), pending_scan());
  CAF_CHECK_EQUAL(q.reads_out(), 1u); // Counted apart.
  CAF_CHECK_EQUAL(q.bytes_out(), 500u);
  CAF_CHECK_EQUAL(q.scans_out(), 1u);
  CAF_CHECK_EQUAL(q.scan_bytes_held(), 60000u);
  CAF_CHECK(!q.has_room_for_scan(40001)); // Bytes.
  CAF_CHECK(q.has_room_for_scan(40000));
  auto scan2 = q.push_read(upload("large2", 40000), pending_scan());
  CAF_CHECK(!q.has_room_for_scan(1)); // Count.
  // The queue's order holds across both kinds.
  CAF_CHECK(q.done(scan2));
  CAF_CHECK_EQUAL(q.scans_out(), 1u);
  // Done, but its content waits here until it leaves.
  CAF_CHECK_EQUAL(q.scan_bytes_held(), 100000u);
  CAF_CHECK(drain(q).empty());
  CAF_CHECK(q.done(read));
  CAF_CHECK_EQUAL(drain(q), paths{"small+read"});
  CAF_CHECK(q.done(scan1));
  CAF_CHECK_EQUAL(drain(q), (paths{"large1+read", "large2+read"}));
  CAF_CHECK_EQUAL(q.scans_out(), 0u);
  CAF_CHECK_EQUAL(q.scan_bytes_held(), 0u);
  CAF_CHECK_EQUAL(q.reads_out(), 0u);
  // A clear forgets the chunkings out too.
  q.push_read(upload("large3", 1000), pending_scan());
  q.clear();
  CAF_CHECK_EQUAL(q.scans_out(), 0u);
  CAF_CHECK_EQUAL(q.scan_bytes_held(), 0u);
  CAF_CHECK(q.has_room_for_scan(100000));
}

CAF_TEST(a chunked upload holds its path like a read one) {
  read_ahead q{read_ahead::limits{}};
  auto id = q.push_read(upload("big", 1u << 20), pending_scan());
  auto same = change::make_dirty("big", change_content);
  auto other = change::make_dirty("small", change_content);
  CAF_CHECK(!q.may_plan_past(&same));
  CAF_CHECK(q.may_plan_past(&other));
  CAF_CHECK(q.done(id));
  CAF_CHECK_EQUAL(drain(q), paths{"big+read"});
  CAF_CHECK(q.may_plan_past(&same));
}

CAF_TEST(content read at once counts against the bytes while it waits) {
  // A cached small file read by the sender waits, content and all, behind
  // a read still out: it counts until it leaves.
  read_ahead::limits l;
  l.bytes = 1000;
  read_ahead q{l};
  auto slow = q.push_read(upload("a", 100), pending_read());
  q.push_read(upload("b", 800), pending_read(), true);
  CAF_CHECK_EQUAL(q.bytes_out(), 100u); // Only "a" is out...
  CAF_CHECK_EQUAL(q.bytes_held(), 900u); // ...but both wait here.
  CAF_CHECK(q.has_room_for(100));
  CAF_CHECK(!q.has_room_for(101));
  CAF_CHECK(q.done(slow));
  CAF_CHECK_EQUAL(drain(q), (paths{"a+read", "b+read"}));
  CAF_CHECK_EQUAL(q.bytes_held(), 0u);
  CAF_CHECK(q.has_room_for(5000)); // Nothing waits: one always fits.
  // A chunked file's content is counted apart (scan_bytes).
  q.push_read(upload("big", 1u << 20), pending_scan());
  CAF_CHECK_EQUAL(q.bytes_held(), 0u);
  CAF_CHECK_EQUAL(q.scan_bytes_held(), 1u << 20);
}

CAF_TEST(the front is plain only when it is ready and has no read) {
  read_ahead q{read_ahead::limits{}};
  CAF_CHECK(q.peek_plain() == nullptr);
  q.push(upload("big", 1u << 20));
  q.push_read(upload("next"), pending_read());
  CAF_REQUIRE(q.peek_plain() != nullptr);
  CAF_CHECK_EQUAL(q.peek_plain()->path, "big");
  CAF_CHECK_EQUAL(drain(q), paths{"big"});
  CAF_CHECK(q.peek_plain() == nullptr); // "next" has a read (out).
}

CAF_TEST(nothing is planned past an upload of a file with other names) {
  // Another name of that inode checked meanwhile would find no copy of it
  // on the reference to link to, and would be sent as a file of its own.
  read_ahead q{read_ahead::limits{}};
  auto linked = upload("x/a", 1u << 20);
  linked.linked = true;
  q.push(linked);
  auto other = change::make_dirty("y/b", change_content);
  CAF_CHECK(!q.may_plan_past(&other));
  CAF_CHECK_EQUAL(drain(q), paths{"x/a"});
  CAF_CHECK(q.may_plan_past(&other));
  auto id = q.push_read(linked, pending_read());
  CAF_CHECK(!q.may_plan_past(&other));
  q.clear();
  CAF_CHECK(q.may_plan_past(&other));
  CAF_CHECK(!q.done(id));
}

CAF_TEST(a clear cancels the reads still out) {
  read_ahead q{read_ahead::limits{}};
  auto out = pending_read();
  auto done = pending_read();
  auto scan = pending_scan();
  q.push_read(upload("a"), out);
  q.push_read(upload("b"), done, true);
  q.push_read(upload("c", 1u << 20), scan);
  q.clear();
  CAF_CHECK(out->cancelled);
  CAF_CHECK(scan->cancelled);
  CAF_CHECK(!done->cancelled); // Already read: nothing to skip.
}
