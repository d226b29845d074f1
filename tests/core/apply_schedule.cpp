#define CAF_SUITE core.apply_schedule
#include <caf/test/unit_test.hpp>

#include "core/reference/apply_schedule.hpp"

#include <algorithm>
#include <string>
#include <vector>

using namespace livesync;

namespace {

op make(op_kind kind, std::string path, std::string target = {},
        uint64_t xfer = 0) {
  op o;
  o.kind = kind;
  o.path = std::move(path);
  o.target = std::move(target);
  o.xfer = xfer;
  return o;
}

op file(std::string path) {
  return make(op_kind::write_file, std::move(path));
}

/// The paths of a step's tasks, per writer ("w:path,path").
std::vector<std::string> shape(const apply_schedule::step& s) {
  std::vector<std::string> out;
  for (auto& t : s.tasks) {
    std::string line = std::to_string(t.writer) + ":";
    for (auto& o : t.ops)
      line += (o.sync ? std::string{"<sync>"} : o.x.path) + ",";
    out.push_back(line);
  }
  std::sort(out.begin(), out.end());
  return out;
}

size_t ops_in(const apply_schedule::step& s) {
  size_t n = 0;
  for (auto& t : s.tasks)
    n += t.ops.size();
  return n;
}

/// Finishes every task of `s` without failures.
void finish(apply_schedule& q, const apply_schedule::step& s) {
  for (auto& t : s.tasks)
    q.task_done(t.writer, {});
}

/// Two paths that go to different writers, and one that shares the first's.
struct spread {
  std::string a, b, a2;
  explicit spread(const apply_schedule& q) {
    for (int i = 0; a.empty() || b.empty() || a2.empty(); ++i) {
      auto p = "f" + std::to_string(i);
      if (a.empty())
        a = p;
      else if (b.empty() && q.writer_of(p) != q.writer_of(a))
        b = p;
      else if (a2.empty() && p != a && q.writer_of(p) == q.writer_of(a))
        a2 = p;
    }
  }
};

} // namespace

CAF_TEST(which ops run alone) {
  struct row {
    op x;
    bool alone;
  };
  std::vector<row> table{
    {make(op_kind::write_file, "a"), false},
    {make(op_kind::begin_file, "a", {}, 1), false},
    {make(op_kind::chunk, "a", {}, 1), false},
    {make(op_kind::commit_file, "a", {}, 1), false},
    {make(op_kind::abort_file, "a", {}, 1), false},
    {make(op_kind::symlink, "a", "t"), false},
    {make(op_kind::copy_range, "a", "", 1), false},
    {make(op_kind::copy_range, "a", "a", 1), false},
    {make(op_kind::copy_range, "a", "b", 1), true},
    {make(op_kind::mkdir, "d"), true},
    {make(op_kind::remove, "a"), true},
    {make(op_kind::rename, "a", "b"), true},
    {make(op_kind::set_attr, "a"), true},
    {make(op_kind::link, "a", "b"), true},
  };
  for (auto& r : table) {
    CAF_MESSAGE(to_string(r.x.kind) << " " << r.x.path << " <- "
                                    << r.x.target);
    CAF_CHECK_EQUAL(runs_alone(r.x), r.alone);
  }
}

CAF_TEST(files on different paths start together and one path keeps order) {
  apply_schedule q{4, false};
  spread p{q};
  q.add_batch({file(p.a), file(p.b), file(p.a2), file(p.a)});
  auto s = q.next();
  // All four at once; the writer of a gets a, a2, a in the order sent.
  CAF_CHECK_EQUAL(ops_in(s), 4u);
  CAF_CHECK_EQUAL(s.tasks.size(), 2u);
  auto wa = q.writer_of(p.a);
  for (auto& t : s.tasks)
    if (t.writer == wa) {
      CAF_REQUIRE_EQUAL(t.ops.size(), 3u);
      CAF_CHECK_EQUAL(t.ops[0].x.path, p.a);
      CAF_CHECK_EQUAL(t.ops[1].x.path, p.a2);
      CAF_CHECK_EQUAL(t.ops[2].x.path, p.a);
    }
  CAF_CHECK(q.take_done().empty());
  finish(q, s);
  CAF_CHECK_EQUAL(q.take_done().size(), 1u);
  CAF_CHECK_EQUAL(q.in_flight(), 0u);
}

CAF_TEST(a directory op waits for everything before it and holds back what follows) {
  apply_schedule q{4, false};
  spread p{q};
  q.add_batch({file(p.a), file(p.b), make(op_kind::rename, "d", "e"),
               file(p.a2)});
  auto s1 = q.next();
  CAF_CHECK_EQUAL(ops_in(s1), 2u); // a and b; the rename waits.
  CAF_CHECK_EQUAL(ops_in(q.next()), 0u);
  q.task_done(s1.tasks[0].writer, {});
  CAF_CHECK_EQUAL(ops_in(q.next()), 0u); // One still in flight.
  q.task_done(s1.tasks[1].writer, {});
  auto s2 = q.next();
  CAF_REQUIRE_EQUAL(ops_in(s2), 1u);
  CAF_CHECK_EQUAL(s2.tasks[0].ops[0].x.kind, op_kind::rename);
  CAF_CHECK_EQUAL(ops_in(q.next()), 0u); // a2 waits for the rename.
  finish(q, s2);
  auto s3 = q.next();
  CAF_REQUIRE_EQUAL(ops_in(s3), 1u);
  CAF_CHECK_EQUAL(s3.tasks[0].ops[0].x.path, p.a2);
  finish(q, s3);
  CAF_CHECK_EQUAL(q.take_done().size(), 1u);
}

CAF_TEST(a transfer stays with the writer of its begin even without paths) {
  apply_schedule q{8, false};
  spread p{q};
  auto begin = make(op_kind::begin_file, p.a, {}, 7);
  auto chunk = make(op_kind::chunk, "", {}, 7);
  auto commit = make(op_kind::commit_file, "", {}, 7);
  q.add_batch({begin, chunk});
  auto s1 = q.next();
  CAF_REQUIRE_EQUAL(s1.tasks.size(), 1u);
  CAF_CHECK_EQUAL(s1.tasks[0].writer, q.writer_of(p.a));
  CAF_CHECK(q.holds_transfers(q.writer_of(p.a)));
  finish(q, s1);
  q.add_batch({commit});
  auto s2 = q.next();
  CAF_REQUIRE_EQUAL(s2.tasks.size(), 1u);
  CAF_CHECK_EQUAL(s2.tasks[0].writer, q.writer_of(p.a));
  CAF_CHECK(!q.holds_transfers(q.writer_of(p.a)));
  CAF_CHECK_EQUAL(q.known_transfers(), 0u);
}

CAF_TEST(a copy from another file runs alone at the transfer writer) {
  apply_schedule q{8, false};
  spread p{q};
  q.add_batch({make(op_kind::begin_file, p.a, {}, 3), file(p.b),
               make(op_kind::copy_range, p.a, p.b, 3)});
  auto s1 = q.next();
  CAF_CHECK_EQUAL(ops_in(s1), 2u);
  finish(q, s1);
  auto s2 = q.next();
  CAF_REQUIRE_EQUAL(s2.tasks.size(), 1u);
  CAF_CHECK_EQUAL(s2.tasks[0].writer, q.writer_of(p.a));
  CAF_CHECK_EQUAL(s2.tasks[0].ops[0].x.kind, op_kind::copy_range);
}

CAF_TEST(known transfers are bounded) {
  apply_schedule q{2, false};
  std::vector<op> begins;
  for (uint64_t i = 0; i < apply_schedule::max_known_transfers + 10; ++i)
    begins.push_back(make(op_kind::begin_file, "p" + std::to_string(i), {}, i));
  q.add_batch(std::move(begins));
  q.next();
  CAF_CHECK_EQUAL(q.known_transfers(), apply_schedule::max_known_transfers);
  q.forget_transfers();
  CAF_CHECK_EQUAL(q.known_transfers(), 0u);
}

CAF_TEST(failures map back to batch indexes and batches answer in order) {
  apply_schedule q{4, false};
  spread p{q};
  q.add_batch({file(p.a), file(p.b)});
  q.add_batch({file(p.a2)});
  auto s = q.next();
  // Both batches go out at once: no op of them runs alone.
  CAF_CHECK_EQUAL(ops_in(s), 3u);
  auto wa = q.writer_of(p.a);
  auto wb = q.writer_of(p.b);
  // The writer of a has a (batch 0) then a2 (batch 1): fail a2.
  q.task_done(wa, {{1, ec::no_space, p.a2, "disk full"}});
  // Batch 1 is done, but batch 0 still waits for b: nothing answers.
  CAF_CHECK(q.take_done().empty());
  q.task_done(wb, {{0, ec::permission_denied, p.b, "no room"}});
  auto done = q.take_done();
  CAF_REQUIRE_EQUAL(done.size(), 2u);
  CAF_REQUIRE_EQUAL(done[0].errors.size(), 1u);
  CAF_CHECK_EQUAL(done[0].errors[0].index, 1u);
  CAF_CHECK_EQUAL(done[0].errors[0].path, p.b);
  CAF_CHECK(done[0].errors[0].code == ec::permission_denied);
  CAF_REQUIRE_EQUAL(done[1].errors.size(), 1u);
  CAF_CHECK_EQUAL(done[1].errors[0].index, 0u);
  CAF_CHECK_EQUAL(done[1].errors[0].detail, "disk full");
  CAF_CHECK(done[1].errors[0].code == ec::no_space);
}

CAF_TEST(a read sees every write queued before it and none after) {
  apply_schedule q{4, false};
  spread p{q};
  q.add_batch({file(p.a)});
  q.add_read(42);
  q.add_batch({file(p.b)});
  auto s1 = q.next();
  CAF_CHECK_EQUAL(ops_in(s1), 1u);
  CAF_CHECK(!s1.read);
  finish(q, s1);
  auto s2 = q.next();
  CAF_REQUIRE(s2.read);
  CAF_CHECK_EQUAL(*s2.read, 42u);
  CAF_CHECK_EQUAL(ops_in(s2), 0u);
  CAF_CHECK_EQUAL(ops_in(q.next()), 0u); // b waits for the read.
  q.read_done();
  CAF_CHECK_EQUAL(ops_in(q.next()), 1u);
}

CAF_TEST(an empty batch answers at once unless an earlier one is owed) {
  apply_schedule q{2, false};
  q.add_batch({});
  CAF_CHECK_EQUAL(q.take_done().size(), 1u);
  q.add_batch({file("x")});
  q.add_batch({});
  auto s = q.next();
  CAF_CHECK(q.take_done().empty());
  finish(q, s);
  CAF_CHECK_EQUAL(q.take_done().size(), 2u);
}

CAF_TEST(with fsync batch each batch ends with a syncfs that runs alone) {
  apply_schedule q{4, true};
  spread p{q};
  q.add_batch({file(p.a), file(p.b)});
  auto s1 = q.next();
  CAF_CHECK_EQUAL(ops_in(s1), 2u);
  finish(q, s1);
  auto s2 = q.next();
  CAF_CHECK_EQUAL(shape(s2), std::vector<std::string>{"0:<sync>,"});
  CAF_CHECK(q.take_done().empty());
  // A failed syncfs fails every op of the batch.
  q.task_done(0, {{0, ec::io_error, {}, "syncfs: EIO"}});
  auto done = q.take_done();
  CAF_REQUIRE_EQUAL(done.size(), 1u);
  CAF_REQUIRE_EQUAL(done[0].errors.size(), 2u);
  CAF_CHECK_EQUAL(done[0].errors[1].path, p.b);
  CAF_CHECK_EQUAL(done[0].errors[1].detail, "syncfs: EIO");
  CAF_CHECK(done[0].errors[1].code == ec::io_error);
}

CAF_TEST(one writer applies everything in the order sent) {
  apply_schedule q{1, false};
  q.add_batch({file("a"), file("b"), make(op_kind::mkdir, "d"), file("d/c")});
  auto s1 = q.next();
  CAF_CHECK_EQUAL(shape(s1), std::vector<std::string>{"0:a,b,"});
  finish(q, s1);
  auto s2 = q.next();
  CAF_CHECK_EQUAL(shape(s2), std::vector<std::string>{"0:d,"});
  finish(q, s2);
  CAF_CHECK_EQUAL(shape(q.next()), std::vector<std::string>{"0:d/c,"});
}
