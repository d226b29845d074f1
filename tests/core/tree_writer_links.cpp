#define CAF_SUITE core.tree_writer_links
#include <caf/test/unit_test.hpp>

// Hard links on the reference: the link op makes one inode of two names
// (or a local copy where the filesystem cannot link), refuses a source that
// is not what the watcher sent, and a set_attr through a name that shares
// its inode with more names than on the watcher stays on that name.

#include "core/as_nobody.hpp"
#include "core/op_builders.hpp"
#include "core/reference/tree_writer.hpp"

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <sys/stat.h>
#include <unistd.h>

using namespace livesync;
using namespace livesync::test;

namespace {

struct stat lstat_of(const std::string& p) {
  struct stat st {};
  CAF_CHECK_EQUAL(::lstat(p.c_str(), &st), 0);
  return st;
}

std::string read_text(const std::string& p) {
  std::ifstream in{p, std::ios::binary};
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

struct fixture {
  std::string tmp;
  std::string root;
  std::unique_ptr<tree_writer> w;

  fixture() {
    char buf[] = "/tmp/livesync-links-XXXXXX";
    if (::mkdtemp(buf) == nullptr)
      CAF_FAIL("mkdtemp failed");
    tmp = buf;
    root = tmp + "/ref";
    status err;
    w = tree_writer::open(root, {}, err);
    if (!w)
      CAF_FAIL("open failed: " << err.reason());
    ok(mkdir_op("d"));
    ok(write_op("d/a", "content of a"));
  }

  ~fixture() {
    w.reset();
    std::error_code ec;
    std::filesystem::remove_all(tmp, ec);
  }

  std::string at(const std::string& rel) const {
    return root + "/" + rel;
  }

  void ok(const op& x) {
    CAF_CHECK_EQUAL(w->apply(x).reason(), "");
  }

  std::string refused(const op& x) {
    auto st = w->apply(x);
    CAF_CHECK(!st);
    return st.reason();
  }

  bool same_inode(const std::string& x, const std::string& y) {
    return lstat_of(at(x)).st_ino == lstat_of(at(y)).st_ino;
  }

  size_t staging_entries() const {
    size_t n = 0;
    for (auto& e : std::filesystem::directory_iterator{root
                                                        + "/.livesync/staging"})
      n += e.path().filename() != "probe";
    return n;
  }
};

constexpr uint64_t size_a = 12; // "content of a"

} // namespace

CAF_TEST_FIXTURE_SCOPE(tree_writer_link_tests, fixture)

CAF_TEST(a link makes one inode of two names) {
  ok(link_op("b", "d/a", size_a));
  CAF_CHECK(same_inode("b", "d/a"));
  CAF_CHECK_EQUAL(lstat_of(at("d/a")).st_nlink, 2u);
  CAF_CHECK_EQUAL(read_text(at("b")), "content of a");
  // Again: nothing changes, and nothing is left in staging.
  ok(link_op("b", "d/a", size_a));
  CAF_CHECK_EQUAL(lstat_of(at("d/a")).st_nlink, 2u);
  CAF_CHECK_EQUAL(staging_entries(), 0u);
}

CAF_TEST(a link replaces a file a symlink or a directory at its path) {
  ok(write_op("f", "old file"));
  ok(symlink_op("s", "/etc/passwd"));
  ok(mkdir_op("dir"));
  ok(write_op("dir/inner", "x"));
  for (auto p : {"f", "s", "dir"}) {
    CAF_MESSAGE(p);
    ok(link_op(p, "d/a", size_a));
    CAF_CHECK(same_inode(p, "d/a"));
  }
  CAF_CHECK_EQUAL(lstat_of(at("d/a")).st_nlink, 4u);
  CAF_CHECK_EQUAL(staging_entries(), 0u);
}

CAF_TEST(a link sets the mode of the inode every name shares) {
  ok(link_op("b", "d/a", size_a, 0600));
  CAF_CHECK_EQUAL(lstat_of(at("d/a")).st_mode & 07777, 0600u);
  CAF_CHECK_EQUAL(lstat_of(at("b")).st_mode & 07777, 0600u);
}

CAF_TEST(a link to a source that is not what the watcher sent is refused) {
  ok(symlink_op("sym", "d/a"));
  ok(write_op("f", "old file"));
  struct case_t {
    op x;
    std::string reason;
  };
  std::vector<case_t> cases{
    {link_op("b", "d/missing", size_a), "b: link source d/missing missing"},
    {link_op("b", "d", 0), "b: link source d is not a regular file"},
    {link_op("b", "sym", size_a), "b: link source sym is not a regular file"},
    {link_op("b", "d/a", size_a + 1),
     "b: link source d/a differs from what the watcher sent there"},
    {link_op("b", "d/a", size_a, 0644, other_mtime),
     "b: link source d/a differs from what the watcher sent there"},
    {link_op("d/a", "d/a", size_a), "d/a: a link to itself"},
    {link_op("f", "../outside", size_a), "invalid path '../outside'"},
    {link_op("../b", "d/a", size_a), "invalid path '../b'"},
    {link_op("sym/b", "d/a", size_a), "a parent is not a directory"},
    {link_op("b", "sym/x", size_a), "a parent is not a directory"},
  };
  for (auto& c : cases) {
    CAF_MESSAGE(c.x.path << " -> " << c.x.target);
    auto why = refused(c.x);
    CAF_CHECK(why.find(c.reason) != std::string::npos);
    if (why.find(c.reason) == std::string::npos)
      CAF_MESSAGE("reason: " << why);
  }
  // Nothing changed: the file in the way is intact, no name was made.
  CAF_CHECK_EQUAL(read_text(at("f")), "old file");
  CAF_CHECK(::access(at("b").c_str(), F_OK) != 0);
  CAF_CHECK_EQUAL(lstat_of(at("d/a")).st_nlink, 1u);
  CAF_CHECK_EQUAL(staging_entries(), 0u);
}

// Under fs.protected_hardlinks, a user may link only files it owns (or may
// read and write): a file the reference did not write is copied, on the
// reference, instead. The same path serves EXDEV and EMLINK.
CAF_TEST(a source the reference may not link is copied instead) {
  if (::geteuid() != 0) {
    CAF_MESSAGE("skipped: needs root to make a file nobody does not own");
    return;
  }
  // The writer's root belongs to nobody, as a reference's does; one file
  // in it belongs to root (there before the reference ran).
  w.reset();
  ::chmod(tmp.c_str(), 0755);
  ::chown(root.c_str(), nobody, nobody);
  ::chown(at(".livesync").c_str(), nobody, nobody);
  ::chown(at(".livesync/staging").c_str(), nobody, nobody);
  ::chown(at("d").c_str(), nobody, nobody);
  ::chmod(at("d/a").c_str(), 0644);
  {
    as_nobody user;
    status err;
    w = tree_writer::open(root, {}, err);
    CAF_REQUIRE(w != nullptr);
    ok(link_op("d/b", "d/a", size_a, 0644));
  }
  CAF_CHECK(!same_inode("d/b", "d/a"));
  CAF_CHECK_EQUAL(read_text(at("d/b")), "content of a");
  CAF_CHECK_EQUAL(lstat_of(at("d/b")).st_mode & 07777, 0644u);
  CAF_CHECK_EQUAL(lstat_of(at("d/b")).st_mtim.tv_nsec,
                  some_mtime % 1000000000);
  CAF_CHECK_EQUAL(staging_entries(), 0u);
}

CAF_TEST(set_attr through a name the watcher links changes every name) {
  ok(link_op("b", "d/a", size_a));
  auto x = set_attr_op("b", 0600, other_mtime);
  x.offset = 2; // the watcher's link count
  ok(x);
  CAF_CHECK(same_inode("b", "d/a"));
  CAF_CHECK_EQUAL(lstat_of(at("d/a")).st_mode & 07777, 0600u);
}

CAF_TEST(set_attr through a name linked only here gives it its own copy) {
  ok(link_op("b", "d/a", size_a));
  // The watcher's "b" is a file of its own now (replaced by one with the
  // same content and mtime while the watcher was down).
  auto x = set_attr_op("b", 0600, other_mtime);
  x.offset = 1;
  ok(x);
  CAF_CHECK(!same_inode("b", "d/a"));
  CAF_CHECK_EQUAL(lstat_of(at("b")).st_mode & 07777, 0600u);
  CAF_CHECK_EQUAL(lstat_of(at("d/a")).st_mode & 07777, 0644u);
  CAF_CHECK_EQUAL(lstat_of(at("d/a")).st_mtim.tv_nsec,
                  some_mtime % 1000000000);
  CAF_CHECK_EQUAL(read_text(at("b")), "content of a");
  // An attribute that is already right copies nothing.
  ok(link_op("c", "d/a", size_a));
  ok(set_attr_op("c", 0644, some_mtime));
  CAF_CHECK(same_inode("c", "d/a"));
}

CAF_TEST_FIXTURE_SCOPE_END()
