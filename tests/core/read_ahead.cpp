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

std::shared_ptr<small_read> pending_read() {
  return std::make_shared<small_read>();
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

CAF_TEST(a small read reads the version it saw or says why not) {
  char tmpl[] = "/tmp/livesync-read-ahead-XXXXXX";
  std::string dir = ::mkdtemp(tmpl);
  std::ofstream{dir + "/f"} << "hello";
  small_read r;
  r.full_path = dir + "/f";
  r.run();
  CAF_CHECK(r.outcome == read_outcome::ok);
  CAF_CHECK_EQUAL(std::string(r.data.begin(), r.data.end()), "hello");
  CAF_CHECK_EQUAL(r.meta.size, 5u);
  CAF_CHECK(r.hash == hash_bytes("hello", 5));
  small_read gone;
  gone.full_path = dir + "/missing";
  gone.run();
  CAF_CHECK(gone.outcome == read_outcome::vanished);
  std::filesystem::remove_all(dir);
}

CAF_TEST(a cached read takes only what the page cache holds) {
  char tmpl[] = "/tmp/livesync-read-ahead-XXXXXX";
  std::string dir = ::mkdtemp(tmpl);
  auto path = dir + "/f";
  std::string text(20000, 'z');
  std::ofstream{path} << text;
  small_read warm;
  warm.full_path = path;
  CAF_REQUIRE(warm.run_cached()); // Just written: in the cache.
  CAF_CHECK(warm.outcome == read_outcome::ok);
  CAF_CHECK_EQUAL(warm.data.size(), text.size());
  CAF_CHECK(warm.hash == hash_bytes(text.data(), text.size()));
  // Written back and dropped from the cache: it would wait for the disk.
  int fd = ::open(path.c_str(), O_RDONLY);
  CAF_REQUIRE(fd >= 0);
  ::fdatasync(fd);
  ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
  ::close(fd);
  small_read cold;
  cold.full_path = path;
  if (cold.run_cached()) {
    // A filesystem without RWF_NOWAIT (or the page came back): read as
    // usual, and right.
    CAF_MESSAGE("read anyway: no RWF_NOWAIT here, or cached again");
    CAF_CHECK(cold.outcome == read_outcome::ok);
    CAF_CHECK(cold.hash == warm.hash);
  } else {
    CAF_CHECK(cold.data.empty());
    CAF_CHECK(cold.outcome == read_outcome::failed); // Untouched.
    cold.run();
    CAF_CHECK(cold.outcome == read_outcome::ok);
    CAF_CHECK(cold.hash == warm.hash);
  }
  small_read gone;
  gone.full_path = dir + "/missing";
  CAF_CHECK(gone.run_cached()); // An answer, from no disk read.
  CAF_CHECK(gone.outcome == read_outcome::vanished);
  std::filesystem::remove_all(dir);
}
