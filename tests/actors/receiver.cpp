#define CAF_SUITE actors.receiver
#include "fixture.hpp"

#include "actors/reference/receiver.hpp"
#include "core/content_hash.hpp"

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
  receiver_actor rx;

  fixture() {
    char tmpl[] = "/tmp/livesync-receiver-XXXXXX";
    dir = ::mkdtemp(tmpl);
    root = dir + "/ref";
    status err;
    auto w = tree_writer::open(root, writer_limits{}, err);
    CAF_REQUIRE(w != nullptr);
    rx = sys.spawn(receiver, std::shared_ptr<tree_writer>{std::move(w)}, true);
    sched.run();
    CAF_CHECK_EQUAL(request<uint32_t>(rx, atom::hello_v, protocol_version),
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
  CAF_CHECK_EQUAL(entries[0].path, "e");
  CAF_CHECK_EQUAL(entries[1].path, "e/f");
  CAF_CHECK_EQUAL(entries[2].path, "l");
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
  CAF_CHECK_EQUAL(apply({begin, c1, c2, commit}).size(), 1u);
  CAF_CHECK_EQUAL(read_file(root + "/big"), content);
}

CAF_TEST_FIXTURE_SCOPE_END()
