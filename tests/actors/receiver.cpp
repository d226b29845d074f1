#define CAF_SUITE actors.receiver
#include "fixture.hpp"

#include "actors/reference/receiver.hpp"
#include "core/wire/batch_codec.hpp"
#include "core/wire/content_hash.hpp"
#include "core/wire/dir_digest.hpp"

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <sys/stat.h>
#include <unistd.h>

using namespace livesync;

namespace {

std::string read_file(const std::string& path) {
  std::ifstream in{path, std::ios::binary};
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

op write_op(std::string path, std::string content, uint32_t mode = 0644) {
  op o;
  o.kind = op_kind::write_file;
  o.path = std::move(path);
  o.data.assign(content.begin(), content.end());
  o.size = o.data.size();
  o.mode = mode;
  o.mtime_ns = 1'600'000'000'123'456'789;
  o.hash = hash_bytes(o.data.data(), o.data.size());
  return o;
}

op simple_op(op_kind kind, std::string path, std::string target = {}) {
  op o;
  o.kind = kind;
  o.path = std::move(path);
  o.target = std::move(target);
  o.mode = 0755;
  return o;
}

struct fixture : test::fixture_base {
  std::string dir;
  std::string root;
  std::shared_ptr<std::atomic<bool>> stopping
    = std::make_shared<std::atomic<bool>>(false);
  receiver_actor rx;

  fixture() {
    char tmpl[] = "/tmp/livesync-receiver-XXXXXX";
    dir = ::mkdtemp(tmpl);
    root = dir + "/ref";
    status err;
    auto w = tree_writer::open(root, writer_limits{}, err);
    CAF_REQUIRE(w != nullptr);
    rx = sys.spawn(receiver, std::shared_ptr<tree_writer>{std::move(w)}, true,
                   std::shared_ptr<const std::atomic<bool>>{stopping},
                   reference_metrics_actor{}, reference_counters{},
                   test::in_test_writers());
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

  /// The last error reply of apply_packed, hello or apply_from.
  caf::error last_error;

  std::vector<op_error> apply(std::vector<op> ops) {
    return request<std::vector<op_error>>(rx, atom::apply_v, std::move(ops));
  }

  /// Sends one packed batch from `from`: true when applied (its op errors
  /// in `errors`), false when the receiver answered with an error.
  bool apply_packed(caf::scoped_actor& from, packed_batch b,
                    std::vector<op_error>& errors) {
    auto res = from->request(rx, caf::infinite, atom::apply_v, std::move(b));
    run();
    bool ok = false;
    res.receive(
      [&](std::vector<op_error>& es) {
        errors = std::move(es);
        ok = true;
      },
      [&](caf::error& err) {
        last_error = std::move(err);
        ok = false;
      });
    return ok;
  }

  /// Asks for listings; false when the receiver answered with an error.
  bool listings(std::vector<std::string> dirs, std::vector<dir_listing>& out) {
    auto res = self->request(rx, caf::infinite, atom::listings_v,
                             std::move(dirs));
    run();
    bool ok = false;
    res.receive(
      [&](std::vector<dir_listing>& ls) {
        out = std::move(ls);
        ok = true;
      },
      [&](caf::error&) { ok = false; });
    return ok;
  }

  bool apply_packed(packed_batch b) {
    std::vector<op_error> errors;
    return apply_packed(self, std::move(b), errors) && errors.empty();
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(receiver_tests, fixture)

CAF_TEST(a batch is applied in order and committed) {
  auto errs = apply({simple_op(op_kind::mkdir, "d"),
                     write_op("d/f", "hello", 0600),
                     simple_op(op_kind::symlink, "l", "d/f"),
                     simple_op(op_kind::rename, "d", "e")});
  CAF_CHECK(errs.empty());
  CAF_CHECK_EQUAL(read_file(root + "/e/f"), "hello");
  struct stat st;
  CAF_REQUIRE_EQUAL(::stat((root + "/e/f").c_str(), &st), 0);
  CAF_CHECK_EQUAL(st.st_mode & 07777, 0600u);
  CAF_CHECK_EQUAL(st.st_mtim.tv_nsec, 123456789);
  char buf[64] = {};
  CAF_CHECK_EQUAL(::readlink((root + "/l").c_str(), buf, sizeof(buf)), 3);
  CAF_CHECK_EQUAL(std::string{buf}, "d/f");
  auto entries = request<std::vector<manifest_entry>>(rx, atom::manifest_v);
  CAF_REQUIRE_EQUAL(entries.size(), 3u);
  // Directory by directory, parents first (the digest walk's order).
  CAF_CHECK_EQUAL(entries[0].path, "e");
  CAF_CHECK_EQUAL(entries[1].path, "l");
  CAF_CHECK_EQUAL(entries[2].path, "e/f");
}

CAF_TEST(directory digests and listings describe the tree) {
  auto errs = apply({simple_op(op_kind::mkdir, "d"), write_op("d/f", "hello"),
                     simple_op(op_kind::symlink, "l", "d")});
  CAF_REQUIRE(errs.empty());
  auto digests = request<std::vector<dir_digest>>(rx, atom::dir_digests_v);
  std::vector<reference_dir> dirs;
  std::string why;
  CAF_REQUIRE(expand_digest_list(digests, dirs, why));
  // The state folder is not part of the tree.
  CAF_REQUIRE_EQUAL(dirs.size(), 2u);
  CAF_CHECK_EQUAL(dirs[1].path, "d");
  std::vector<dir_listing> got;
  CAF_REQUIRE(listings({"", "d"}, got));
  CAF_REQUIRE(check_fetched({"", "d"}, got, why));
  CAF_REQUIRE_EQUAL(got[0].entries.size(), 2u);
  CAF_CHECK_EQUAL(got[0].entries[0].name, "d");
  CAF_CHECK_EQUAL(got[0].entries[1].name, "l");
  CAF_CHECK_EQUAL(got[0].entries[1].meta.target, "d");
  CAF_REQUIRE_EQUAL(got[1].entries.size(), 1u);
  CAF_CHECK_EQUAL(got[1].entries[0].meta.size, 5u);
  // Each digest is the digest of the listing.
  CAF_CHECK(dirs[0].digest == listing_digest(got[0].entries));
  CAF_CHECK(dirs[1].digest == listing_digest(got[1].entries));
  // Never through a symlink, never outside, never the state folder, never
  // too many at once.
  CAF_CHECK(!listings({"l"}, got));
  CAF_CHECK(!listings({"../x"}, got));
  CAF_CHECK(!listings({".livesync"}, got));
  CAF_CHECK(!listings({"missing"}, got));
  CAF_CHECK(!listings(std::vector<std::string>(max_listing_dirs + 1, "d"), got));
}

CAF_TEST(bad operations are refused one by one and the rest applies) {
  auto errs = apply({write_op("../escape", "x"), write_op("ok", "fine"),
                     write_op(".livesync/staging/x", "x"),
                     write_op("/abs", "x"),
                     simple_op(op_kind::rename, "missing", "there")});
  CAF_REQUIRE_EQUAL(errs.size(), 4u);
  CAF_CHECK_EQUAL(errs[0].index, 0u);
  CAF_CHECK_EQUAL(errs[1].index, 2u);
  CAF_CHECK_EQUAL(errs[2].index, 3u);
  CAF_CHECK_EQUAL(errs[3].index, 4u);
  CAF_CHECK_EQUAL(read_file(root + "/ok"), "fine");
  CAF_CHECK_NOT_EQUAL(::access((dir + "/escape").c_str(), F_OK), 0);
}

CAF_TEST(a write through a symlinked directory is refused) {
  CAF_CHECK(::mkdir((dir + "/outside").c_str(), 0755) == 0);
  CAF_CHECK(apply({simple_op(op_kind::symlink, "a", dir + "/outside")})
              .empty());
  auto errs = apply({write_op("a/x", "evil")});
  CAF_CHECK_EQUAL(errs.size(), 1u);
  CAF_CHECK_NOT_EQUAL(::access((dir + "/outside/x").c_str(), F_OK), 0);
}

CAF_TEST(a chunked transfer commits only when complete and verified) {
  std::string content = "0123456789abcdef";
  op begin;
  begin.kind = op_kind::begin_file;
  begin.path = "big";
  begin.xfer = 7;
  begin.size = content.size();
  begin.mode = 0644;
  op c1;
  c1.kind = op_kind::chunk;
  c1.xfer = 7;
  c1.offset = 0;
  c1.data.assign(content.begin(), content.begin() + 10);
  op c2 = c1;
  c2.offset = 10;
  c2.data.assign(content.begin() + 10, content.end());
  op commit;
  commit.kind = op_kind::commit_file;
  commit.xfer = 7;
  commit.path = "big";
  commit.size = content.size();
  commit.hash = hash_bytes(content.data(), content.size());
  CAF_CHECK(apply({begin, c1}).empty());
  // Half-way: nothing visible yet.
  CAF_CHECK_NOT_EQUAL(::access((root + "/big").c_str(), F_OK), 0);
  CAF_CHECK(apply({c2, commit}).empty());
  CAF_CHECK_EQUAL(read_file(root + "/big"), content);
  // A wrong hash leaves the committed version in place.
  begin.xfer = commit.xfer = c1.xfer = c2.xfer = 8;
  commit.hash.lo ^= 1;
  c2.data[0] = 'X';
  auto errs = apply({begin, c1, c2, commit});
  CAF_REQUIRE_EQUAL(errs.size(), 1u);
  CAF_CHECK_EQUAL(errs[0].index, 3u);
  CAF_CHECK_EQUAL(to_string(errs[0].code), "hash_mismatch");
  CAF_CHECK_EQUAL(read_file(root + "/big"), content);
}

CAF_TEST(a stopping reference applies nothing more and says so) {
  auto errs = apply({simple_op(op_kind::mkdir, "before")});
  CAF_CHECK(errs.empty());
  stopping->store(true);
  errs = apply({simple_op(op_kind::mkdir, "a"), simple_op(op_kind::mkdir, "b")});
  CAF_REQUIRE_EQUAL(errs.size(), 2u);
  CAF_CHECK_EQUAL(errs[0].index, 0u);
  CAF_CHECK_EQUAL(errs[1].path, "b");
  CAF_CHECK_EQUAL(errs[1].detail, "the reference is stopping");
  CAF_CHECK(errs[0].code == ec::stopping);
  CAF_CHECK(errs[1].code == ec::stopping);
  struct stat st;
  CAF_CHECK_EQUAL(::lstat((root + "/before").c_str(), &st), 0);
  CAF_CHECK_NOT_EQUAL(::lstat((root + "/a").c_str(), &st), 0);
}

CAF_TEST(packed batches apply in the order of the link stream) {
  batch_packer tx{3};
  packed_batch b1;
  packed_batch b2;
  CAF_REQUIRE(tx.pack({simple_op(op_kind::mkdir, "p"),
                       write_op("p/a.c", "int a;\n")}, b1));
  CAF_REQUIRE(tx.pack({write_op("p/b.c", "int a;\nint b;\n")}, b2));
  CAF_CHECK(apply_packed(b1));
  CAF_CHECK(apply_packed(b2));
  CAF_CHECK_EQUAL(read_file(root + "/p/a.c"), "int a;\n");
  CAF_CHECK_EQUAL(read_file(root + "/p/b.c"), "int a;\nint b;\n");
  // Refused ops inside a packed batch are reported one by one, as unpacked.
  packed_batch b3;
  CAF_REQUIRE(tx.pack({write_op("../escape", "x"), write_op("p/c", "c")}, b3));
  std::vector<op_error> errs;
  CAF_REQUIRE(apply_packed(self, b3, errs));
  CAF_REQUIRE_EQUAL(errs.size(), 1u);
  CAF_CHECK_EQUAL(errs[0].index, 0u);
  CAF_CHECK_EQUAL(read_file(root + "/p/c"), "c");
}

CAF_TEST(a bad packed batch breaks the stream until the next hello) {
  batch_packer tx{3};
  packed_batch good;
  packed_batch next;
  CAF_REQUIRE(tx.pack({write_op("one", "1")}, good));
  CAF_REQUIRE(tx.pack({write_op("two", "2")}, next));
  auto bad = good;
  bad.checksum ^= 1;
  CAF_CHECK(!apply_packed(bad));
  CAF_CHECK(!apply_packed(good)); // broken: even the genuine message
  CAF_CHECK_NOT_EQUAL(::access((root + "/one").c_str(), F_OK), 0);
  // The watcher reconnects: a hello, and a new stream on both sides.
  CAF_CHECK_EQUAL(request<uint32_t>(rx, atom::hello_v, protocol_version,
                                     std::string{"test-host:/watched"}),
                  protocol_version);
  batch_packer fresh{3};
  CAF_REQUIRE(fresh.pack({write_op("one", "1")}, good));
  CAF_CHECK(apply_packed(good));
  CAF_CHECK_EQUAL(read_file(root + "/one"), "1");
}

CAF_TEST(only the actor that said hello may send packed batches) {
  caf::scoped_actor stranger{sys};
  batch_packer tx{3};
  packed_batch b;
  CAF_REQUIRE(tx.pack({write_op("s", "s")}, b));
  std::vector<op_error> errs;
  CAF_CHECK(!apply_packed(stranger, b, errs));
  // An error of livesync's category, rendered with its code and detail.
  CAF_CHECK(ec_of(last_error) == ec::protocol);
  CAF_CHECK_EQUAL(detail_of(last_error), "packed batch without a hello");
  CAF_CHECK_EQUAL(sys.render(last_error),
                  "livesync.protocol(\"packed batch without a hello\")");
  CAF_CHECK_NOT_EQUAL(::access((root + "/s").c_str(), F_OK), 0);
  // The peer's own stream is untouched by the stranger's attempt.
  CAF_CHECK(apply_packed(b));
  CAF_CHECK_EQUAL(read_file(root + "/s"), "s");
}

namespace {

/// A hello from `from` claiming `identity`: true when accepted.
bool hello(fixture& fx, caf::scoped_actor& from, std::string identity) {
  auto res = from->request(fx.rx, caf::infinite, atom::hello_v,
                           protocol_version, std::move(identity));
  fx.run();
  bool ok = false;
  res.receive([&](uint32_t) { ok = true; },
              [&](caf::error& err) {
                fx.last_error = std::move(err);
                ok = false;
              });
  return ok;
}

/// An unpacked batch from `from`: true when the receiver took it.
bool apply_from(fixture& fx, caf::scoped_actor& from, std::vector<op> ops) {
  auto res = from->request(fx.rx, caf::infinite, atom::apply_v, std::move(ops));
  fx.run();
  bool ok = false;
  res.receive([&](std::vector<op_error>& es) { ok = es.empty(); },
              [&](caf::error&) { ok = false; });
  return ok;
}

} // namespace

// Two trees into one mirror would make it flip between them: a second
// watcher is refused while the first is connected. The same watcher
// restarted (its old connection not yet seen to close) takes over.
CAF_TEST(a second watcher is refused and the same one takes over) {
  caf::scoped_actor other{sys};
  CAF_CHECK(!hello(*this, other, "host-b:/elsewhere"));
  CAF_CHECK(last_error == ec::conflict);
  CAF_CHECK(!apply_from(*this, other, {write_op("b", "b")}));
  CAF_CHECK_NOT_EQUAL(::access((root + "/b").c_str(), F_OK), 0);
  CAF_CHECK(apply_from(*this, self, {write_op("a", "a")}));
  caf::scoped_actor restarted{sys};
  CAF_CHECK(hello(*this, restarted, "test-host:/watched"));
  CAF_CHECK(apply_from(*this, restarted, {write_op("a2", "a2")}));
  // The old connection lost its place.
  CAF_CHECK(!apply_from(*this, self, {write_op("a3", "a3")}));
  CAF_CHECK_EQUAL(read_file(root + "/a2"), "a2");
  CAF_CHECK_NOT_EQUAL(::access((root + "/a3").c_str(), F_OK), 0);
}

CAF_TEST_FIXTURE_SCOPE_END()

// -- a hostile watcher ----------------------------------------------------------
// Each attack is refused with a reason, changes nothing outside the root (or
// inside the state folder), and the receiver keeps serving good operations.

namespace {

bool exists(const std::string& p) {
  struct stat st;
  return ::lstat(p.c_str(), &st) == 0;
}

struct hostile_fixture : fixture {
  std::string outside;

  hostile_fixture() {
    outside = dir + "/outside";
    CAF_REQUIRE(::mkdir(outside.c_str(), 0755) == 0);
    std::ofstream{outside + "/keep"} << "precious";
  }

  void still_serving() {
    CAF_CHECK(apply({write_op("alive", "yes")}).empty());
    CAF_CHECK_EQUAL(read_file(root + "/alive"), "yes");
    CAF_CHECK_EQUAL(read_file(outside + "/keep"), "precious");
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(hostile_tests, hostile_fixture)

CAF_TEST(escapes by path are refused) {
  std::vector<op> ops;
  for (auto p : {"../outside/x", "/tmp/x", "a/../../outside/x", "./x", "a//b",
                 ".livesync/staging/evil", ".livesync"})
    ops.push_back(write_op(p, "evil"));
  ops.push_back(write_op(std::string(1 << 20, 'a'), "evil")); // a 1 MB path
  ops.push_back(write_op(std::string("nul\0byte", 8), "evil"));
  auto errs = apply(ops);
  CAF_CHECK_EQUAL(errs.size(), ops.size());
  for (auto& e : errs) {
    CAF_CHECK(!e.detail.empty());
    CAF_CHECK_EQUAL(to_string(e.code), "invalid_path");
  }
  CAF_CHECK(!exists(outside + "/x"));
  CAF_CHECK(!exists(root + "/.livesync/staging/evil"));
  still_serving();
}

CAF_TEST(symlinks never carry an operation outside) {
  CAF_REQUIRE(apply({simple_op(op_kind::symlink, "a", outside)}).empty());
  auto errs = apply({
    write_op("a/x", "evil"),                          // write through the link
    simple_op(op_kind::mkdir, "a/d"),                 // mkdir through it
    simple_op(op_kind::symlink, "a/l", "/etc/passwd"),// plant a link there
    simple_op(op_kind::set_attr, "a/keep"),           // chmod through it
    simple_op(op_kind::rename, "a/keep", "stolen"),   // pull a file in
  });
  CAF_CHECK_EQUAL(errs.size(), 5u);
  CAF_CHECK(!exists(outside + "/x"));
  CAF_CHECK(!exists(outside + "/d"));
  CAF_CHECK(!exists(outside + "/l"));
  CAF_CHECK(!exists(root + "/stolen"));
  struct stat st;
  CAF_REQUIRE(::stat((outside + "/keep").c_str(), &st) == 0);
  CAF_CHECK_EQUAL(st.st_mode & 07777, 0644u);
  // A rename whose target runs through the link, and a remove through it.
  CAF_CHECK(apply({write_op("f", "mine")}).empty());
  CAF_CHECK_EQUAL(apply({simple_op(op_kind::rename, "f", "a/f")}).size(), 1u);
  CAF_CHECK(!exists(outside + "/f"));
  CAF_CHECK(exists(root + "/f"));
  apply({simple_op(op_kind::remove, "a/keep")});
  CAF_CHECK(exists(outside + "/keep"));
  // Removing the link removes the link, not what it points to.
  CAF_CHECK(apply({simple_op(op_kind::remove, "a")}).empty());
  CAF_CHECK(!exists(root + "/a"));
  still_serving();
}

CAF_TEST(a directory swapped for a symlink between two operations) {
  CAF_REQUIRE(apply({simple_op(op_kind::mkdir, "d")}).empty());
  // Someone on the reference host swaps d for a link to outside.
  CAF_REQUIRE(::rmdir((root + "/d").c_str()) == 0);
  CAF_REQUIRE(::symlink(outside.c_str(), (root + "/d").c_str()) == 0);
  auto errs = apply({write_op("d/x", "evil"), simple_op(op_kind::mkdir, "d/y")});
  CAF_CHECK_EQUAL(errs.size(), 2u);
  CAF_CHECK(!exists(outside + "/x"));
  CAF_CHECK(!exists(outside + "/y"));
  still_serving();
}

CAF_TEST(setuid and setgid bits are stripped by default) {
  CAF_CHECK(apply({write_op("tool", "#!/bin/sh\n", 06755)}).empty());
  struct stat st;
  CAF_REQUIRE(::lstat((root + "/tool").c_str(), &st) == 0);
  CAF_CHECK_EQUAL(st.st_mode & 07777, 0755u);
}

CAF_TEST(sizes and counts are bounded) {
  // A chunk larger than the limit, a transfer claiming 4 GiB of content
  // with a chunk far past its end, a batch of more ops than allowed.
  op begin;
  begin.kind = op_kind::begin_file;
  begin.path = "huge";
  begin.xfer = 1;
  begin.size = uint64_t{1} << 32;
  op chunk;
  chunk.kind = op_kind::chunk;
  chunk.xfer = 1;
  chunk.offset = (uint64_t{1} << 32) - 1;
  chunk.data.resize(2);
  auto errs = apply({begin, chunk});
  CAF_CHECK_EQUAL(errs.size(), 1u); // The chunk past the end.
  op big = write_op("big", "");
  big.data.resize(writer_limits{}.max_data_bytes + 1);
  big.size = big.data.size();
  CAF_CHECK_EQUAL(apply({big}).size(), 1u);
  std::vector<op> flood(max_ops_per_batch + 1, write_op("flood", "x"));
  errs = apply(flood);
  CAF_REQUIRE_EQUAL(errs.size(), 1u);
  CAF_CHECK(!exists(root + "/flood"));
  // Staging space cannot be reserved beyond the limit.
  std::vector<op> many;
  for (uint64_t i = 0; i < 20; ++i) {
    op b = begin;
    b.xfer = 100 + i;
    b.size = uint64_t{8} << 30;
    many.push_back(b);
  }
  errs = apply(many);
  CAF_CHECK(!errs.empty());
  still_serving();
}

CAF_TEST_FIXTURE_SCOPE_END()
