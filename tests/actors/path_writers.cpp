#define CAF_SUITE actors.path_writers
#include "fixture.hpp"

// The receiver and its path writers on the test coordinator: the tree ends
// as if every op had run in the order sent, whatever the interleaving of
// the writers; directory ops wait for the writers beneath; a batch answers
// once all its ops are done, in batch order; writers retire when unused
// and come back when needed.

#include "actors/reference/receiver.hpp"
#include "core/op_builders.hpp"
#include "core/wire/content_hash.hpp"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <sys/stat.h>
#include <unistd.h>

using namespace livesync;
using test::write_op;

namespace {

std::string read_file(const std::string& path) {
  std::ifstream in{path, std::ios::binary};
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool exists(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

op dir_op(op_kind kind, std::string path, std::string target = {}) {
  op o;
  o.kind = kind;
  o.path = std::move(path);
  o.target = std::move(target);
  o.mode = 0755;
  return o;
}

/// Everything a tree holds below `root` (the state folder aside), as
/// path -> "kind mode content-or-target".
std::map<std::string, std::string> snapshot(const std::string& root) {
  namespace fs = std::filesystem;
  std::map<std::string, std::string> out;
  for (auto it = fs::recursive_directory_iterator(root);
       it != fs::recursive_directory_iterator(); ++it) {
    auto rel = fs::relative(it->path(), root).string();
    if (rel.rfind(".livesync", 0) == 0) {
      it.disable_recursion_pending();
      continue;
    }
    struct stat st;
    ::lstat(it->path().c_str(), &st);
    auto mode = std::to_string(st.st_mode & 07777);
    if (S_ISDIR(st.st_mode))
      out[rel] = "dir " + mode;
    else if (S_ISLNK(st.st_mode))
      out[rel] = "link " + fs::read_symlink(it->path()).string();
    else
      out[rel] = "file " + mode + " " + read_file(it->path().string());
  }
  return out;
}

/// A random op over a small namespace where paths are each other's
/// parents, so directory ops, replacements and renames collide.
op random_op(std::mt19937& rng, int serial) {
  static const char* paths[] = {"a", "b", "d", "d/x", "d/y", "e",
                                "e/z", "d/f", "d/f/g"};
  auto pick = [&] { return std::string{paths[rng() % 9]}; };
  switch (rng() % 10) {
    case 0:
    case 1:
      return dir_op(op_kind::mkdir, pick());
    case 2:
      return dir_op(op_kind::remove, pick());
    case 3:
      return dir_op(op_kind::rename, pick(), pick());
    case 4: {
      auto o = dir_op(op_kind::symlink, pick(), "t" + std::to_string(serial));
      return o;
    }
    case 5: {
      auto o = dir_op(op_kind::set_attr, pick());
      o.mode = 0700 + (serial % 8) * 010;
      o.mtime_ns = 1'600'000'000'000'000'000;
      return o;
    }
    default:
      return write_op(pick(), "v" + std::to_string(serial));
  }
}

struct fixture : test::fixture_base {
  std::string dir;
  std::string root;
  receiver_actor rx;

  fixture() {
    char tmpl[] = "/tmp/livesync-path-writers-XXXXXX";
    dir = ::mkdtemp(tmpl);
    root = dir + "/ref";
    status err;
    auto w = tree_writer::open(root, writer_limits{}, err);
    CAF_REQUIRE(w != nullptr);
    rx = sys.spawn(receiver, std::shared_ptr<tree_writer>{std::move(w)}, true,
                   std::shared_ptr<const std::atomic<bool>>{},
                   reference_metrics_actor{}, reference_counters{},
                   test::in_test_writers(4));
    sched.run();
    CAF_CHECK_EQUAL(request<uint32_t>(rx, atom::hello_v, protocol_version,
                                     std::string{"test-host:/watched"}),
                    protocol_version);
  }

  ~fixture() {
    anon_send_exit(rx, caf::exit_reason::user_shutdown);
    sched.run();
    std::string cmd = "rm -rf '" + dir + "'";
    [[maybe_unused]] auto rc = std::system(cmd.c_str());
  }

  std::vector<op_error> apply(std::vector<op> ops) {
    return request<std::vector<op_error>>(rx, atom::apply_v, std::move(ops));
  }

  /// Runs one scheduler job at a time, taking them in a rotating order,
  /// so the writers interleave differently from run(): each step picks the
  /// `k`-th ready job.
  void run_interleaved(size_t k) {
    size_t i = 0;
    while (sched.has_job()) {
      auto& jobs = sched.jobs;
      auto pick = (i++ * k) % jobs.size();
      if (pick != 0)
        std::swap(jobs[0], jobs[pick]);
      sched.run_once();
    }
  }

  size_t running() {
    return sys.registry().running();
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(path_writer_tests, fixture)

CAF_TEST(ops on one path keep their order under any interleaving) {
  for (size_t k : {1, 2, 3, 5}) {
    CAF_MESSAGE("interleaving " << k);
    std::vector<op> ops;
    for (int v = 0; v < 5; ++v)
      for (int p = 0; p < 12; ++p)
        ops.push_back(write_op("f" + std::to_string(p),
                               "v" + std::to_string(v) + "k"
                                 + std::to_string(k)));
    auto r = self->request(rx, caf::infinite, atom::apply_v, std::move(ops));
    run_interleaved(k);
    bool clean = false;
    r.receive([&](std::vector<op_error>& es) { clean = es.empty(); },
              [&](caf::error&) {});
    CAF_CHECK(clean);
    for (int p = 0; p < 12; ++p)
      CAF_CHECK_EQUAL(read_file(root + "/f" + std::to_string(p)),
                      "v4k" + std::to_string(k));
  }
}

CAF_TEST(a directory rename waits for the files being written beneath it) {
  std::vector<op> ops;
  ops.push_back(dir_op(op_kind::mkdir, "d"));
  for (int i = 0; i < 8; ++i)
    ops.push_back(write_op("d/x" + std::to_string(i), "x"));
  ops.push_back(dir_op(op_kind::rename, "d", "e"));
  for (int i = 0; i < 8; ++i)
    ops.push_back(write_op("e/y" + std::to_string(i), "y"));
  CAF_CHECK(apply(std::move(ops)).empty());
  CAF_CHECK(!exists(root + "/d"));
  for (int i = 0; i < 8; ++i) {
    CAF_CHECK_EQUAL(read_file(root + "/e/x" + std::to_string(i)), "x");
    CAF_CHECK_EQUAL(read_file(root + "/e/y" + std::to_string(i)), "y");
  }
}

CAF_TEST(a failed op leaves the rest of the batch applied and names its index) {
  auto bad = write_op("b", "bad");
  bad.hash.lo ^= 1;
  std::vector<op> ops{write_op("a", "a"), bad, write_op("c", "c"),
                      dir_op(op_kind::remove, "missing/deep"),
                      dir_op(op_kind::rename, "nope", "x"),
                      write_op("d", "d")};
  auto errs = apply(std::move(ops));
  CAF_REQUIRE_EQUAL(errs.size(), 2u);
  CAF_CHECK_EQUAL(errs[0].index, 1u);
  CAF_CHECK_EQUAL(errs[0].path, "b");
  CAF_CHECK_EQUAL(errs[1].index, 4u);
  CAF_CHECK_EQUAL(read_file(root + "/a"), "a");
  CAF_CHECK_EQUAL(read_file(root + "/c"), "c");
  CAF_CHECK_EQUAL(read_file(root + "/d"), "d");
  CAF_CHECK(!exists(root + "/b"));
}

CAF_TEST(batches answer in order and reads see the writes before them) {
  std::vector<op> first, second;
  for (int i = 0; i < 20; ++i)
    first.push_back(write_op("one/f" + std::to_string(i), "1"));
  second.push_back(write_op("two", "2"));
  CAF_CHECK(apply({dir_op(op_kind::mkdir, "one")}).empty());
  auto r1 = self->request(rx, caf::infinite, atom::apply_v, std::move(first));
  auto r2 = self->request(rx, caf::infinite, atom::apply_v, std::move(second));
  auto r3 = self->request(rx, caf::infinite, atom::listings_v,
                          std::vector<std::string>{"one"});
  run();
  std::vector<int> order;
  r1.receive([&](std::vector<op_error>& e) { order.push_back(e.empty() ? 1 : -1); },
             [&](caf::error&) { order.push_back(-1); });
  r2.receive([&](std::vector<op_error>& e) { order.push_back(e.empty() ? 2 : -2); },
             [&](caf::error&) { order.push_back(-2); });
  size_t listed = 0;
  r3.receive([&](std::vector<dir_listing>& ls) {
               if (!ls.empty())
                 listed = ls[0].entries.size();
             },
             [&](caf::error&) {});
  CAF_CHECK_EQUAL(order, (std::vector<int>{1, 2}));
  CAF_CHECK_EQUAL(listed, 20u);
}

CAF_TEST(writers retire when unused and come back when needed) {
  auto base = running(); // The receiver and the fixture's own actors.
  std::vector<op> ops;
  for (int i = 0; i < 16; ++i)
    ops.push_back(write_op("f" + std::to_string(i), "x"));
  CAF_CHECK(apply(ops).empty());
  CAF_CHECK_EQUAL(running(), base + 4); // 16 paths reach all 4 writers.
  // Used a moment ago: they stay.
  CAF_CHECK(apply({write_op("g", "g")}).empty());
  CAF_CHECK_EQUAL(running(), base + 4);
  advance_time(std::chrono::seconds{6});
  // The next time nothing is in flight, those unused for 5 s retire; the
  // one this batch used stays.
  CAF_CHECK(apply({write_op("g", "g2")}).empty());
  sched.run();
  CAF_CHECK_EQUAL(running(), base + 1);
  // A path of a retired writer: a new one takes it.
  CAF_CHECK(apply(ops).empty());
  CAF_CHECK_EQUAL(running(), base + 4);
  CAF_CHECK_EQUAL(read_file(root + "/g"), "g2");
}

CAF_TEST(a writer holding a transfer does not retire) {
  op begin;
  begin.kind = op_kind::begin_file;
  begin.path = "big";
  begin.xfer = 9;
  begin.size = 4;
  begin.mode = 0644;
  op chunk;
  chunk.kind = op_kind::chunk;
  chunk.xfer = 9;
  chunk.data = {'a', 'b', 'c', 'd'};
  op commit;
  commit.kind = op_kind::commit_file;
  commit.xfer = 9;
  commit.path = "big";
  commit.hash = hash_bytes("abcd", 4);
  auto base = running();
  CAF_CHECK(apply({begin, chunk}).empty());
  CAF_CHECK_EQUAL(running(), base + 1);
  advance_time(std::chrono::seconds{6});
  CAF_CHECK(apply({write_op("other", "o")}).empty());
  sched.run();
  advance_time(std::chrono::seconds{6});
  CAF_CHECK(apply({write_op("other", "o2")}).empty());
  sched.run();
  // The transfer's writer stayed: its commit finds the transfer.
  CAF_CHECK(apply({commit}).empty());
  CAF_CHECK_EQUAL(read_file(root + "/big"), "abcd");
}

CAF_TEST(a lost peer ends the transfers of every writer) {
  op begin;
  begin.kind = op_kind::begin_file;
  begin.xfer = 1;
  begin.size = 4;
  begin.mode = 0644;
  std::vector<op> begins;
  for (int i = 0; i < 8; ++i) {
    begin.path = "t" + std::to_string(i);
    begin.xfer = static_cast<uint64_t>(i + 1);
    begins.push_back(begin);
  }
  CAF_CHECK(apply(begins).empty());
  // A new hello from another actor of the same watcher takes over.
  caf::scoped_actor again{sys};
  auto r = again->request(rx, caf::infinite, atom::hello_v, protocol_version,
                          std::string{"test-host:/watched"});
  run();
  r.receive([](uint32_t) {}, [](caf::error&) {});
  op chunk;
  chunk.kind = op_kind::chunk;
  chunk.xfer = 1;
  chunk.data = {'a'};
  auto r2 = again->request(rx, caf::infinite, atom::apply_v,
                           std::vector<op>{chunk});
  run();
  size_t errors = 0;
  r2.receive([&](std::vector<op_error>& e) { errors = e.size(); },
             [](caf::error&) {});
  CAF_CHECK_EQUAL(errors, 1u); // Transfer 1 is gone.
}

// The schedule's claim, checked against the one-writer semantics: random
// batches over colliding paths (directories, replacements, renames,
// symlinks, modes) leave the tree exactly as one writer applying them in
// order does, under several interleavings of the writers.
CAF_TEST(random batches end as one writer in order leaves them) {
  status err;
  auto alone_root = dir + "/alone";
  auto alone = tree_writer::open(alone_root, writer_limits{}, err);
  CAF_REQUIRE(alone != nullptr);
  std::mt19937 rng{20261206};
  int serial = 0;
  for (int round = 0; round < 60; ++round) {
    std::vector<op> ops;
    auto n = 1 + rng() % 24;
    for (size_t i = 0; i < n; ++i)
      ops.push_back(random_op(rng, ++serial));
    for (auto& o : ops)
      alone->apply(o);
    auto r = self->request(rx, caf::infinite, atom::apply_v, ops);
    run_interleaved(1 + round % 5);
    r.receive([](std::vector<op_error>&) {}, [](caf::error&) {});
    auto want = snapshot(alone_root);
    auto have = snapshot(root);
    if (want != have) {
      CAF_MESSAGE("round " << round << " differs; ops:");
      for (auto& o : ops)
        CAF_MESSAGE("  " << to_string(o.kind) << " " << o.path << " "
                         << o.target);
    }
    CAF_REQUIRE_EQUAL(want, have);
  }
}

CAF_TEST_FIXTURE_SCOPE_END()
