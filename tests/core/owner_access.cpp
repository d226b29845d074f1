#define CAF_SUITE core.owner_access
#include <caf/test/unit_test.hpp>

// The reference as an unprivileged user, as the containers run it (uid
// 10001, no capabilities): a mirrored directory of mode 0000, 0311 or 0200
// must neither stop an operation inside it nor keep a mode other than the
// one the watcher asked for. Root reads and writes through any permission
// bits (CAP_DAC_OVERRIDE), so under root every case here switches its
// effective user and group to nobody for the time of the operations, and
// the kernel checks the bits as it would for the containers' user.

#include "core/as_nobody.hpp"
#include "core/op_builders.hpp"
#include "core/common/owner_access.hpp"
#include "core/wire/tree_listing.hpp"
#include "core/reference/tree_writer.hpp"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

using namespace livesync;
using namespace livesync::test;

namespace {

std::string octal(uint32_t mode) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0%03o", mode);
  return buf;
}

uint32_t mode_of(const std::string& p) {
  struct stat st {};
  CAF_CHECK_EQUAL(::lstat(p.c_str(), &st), 0);
  return st.st_mode & 07777;
}

std::string read_text(const std::string& p) {
  std::ifstream in{p, std::ios::binary};
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

/// A temp dir created by nobody (so the tree is nobody's own, as the
/// reference's is), removed as root.
struct nobody_tmp {
  std::string path;
  nobody_tmp() {
    as_nobody user;
    char buf[] = "/tmp/livesync-owner-access-XXXXXX";
    if (::mkdtemp(buf) == nullptr)
      CAF_FAIL("mkdtemp failed");
    path = buf;
  }
  ~nobody_tmp() {
    // Under root, whatever the modes; as another user, give them back.
    if (::geteuid() != 0)
      for (auto& e : std::filesystem::recursive_directory_iterator{
             path, std::filesystem::directory_options::skip_permission_denied})
        if (e.is_directory() && !e.is_symlink())
          ::chmod(e.path().c_str(), 0700);
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
};

} // namespace

CAF_TEST(a grant adds owner bits and restores the wanted mode) {
  nobody_tmp tmp;
  as_nobody user;
  auto d = tmp.path + "/d";
  auto moved = tmp.path + "/moved";
  CAF_REQUIRE_EQUAL(::mkdir(d.c_str(), 0700), 0);
  CAF_REQUIRE_EQUAL(::chmod(d.c_str(), 0), 0);
  {
    owner_access access;
    unique_fd fd{::open(d.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC)};
    CAF_REQUIRE(fd.valid());
    CAF_CHECK(access.add(fd.get(), owner_search));
    CAF_CHECK_EQUAL(mode_of(d), 0100u);
    CAF_CHECK(access.add(fd.get(), owner_modify)); // adds the write bit
    CAF_CHECK_EQUAL(mode_of(d), 0300u);
    CAF_CHECK(!access.add(fd.get(), owner_search)); // there already
    CAF_CHECK_EQUAL(access.held(), 1u);
    // Restored on the inode, wherever the operation moved it.
    CAF_REQUIRE_EQUAL(::rename(d.c_str(), moved.c_str()), 0);
  }
  CAF_CHECK_EQUAL(mode_of(moved), 0u);
}

CAF_TEST(a grant on a symlink or a missing name adds nothing) {
  nobody_tmp tmp;
  as_nobody user;
  CAF_REQUIRE_EQUAL(::symlink("/", (tmp.path + "/l").c_str()), 0);
  unique_fd dir{::open(tmp.path.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC)};
  owner_access access;
  CAF_CHECK(!access.add_at(dir.get(), "l", owner_modify));
  CAF_CHECK(!access.add_at(dir.get(), "missing", owner_modify));
  CAF_CHECK_EQUAL(access.held(), 0u);
}

CAF_TEST(chmod_fd changes the inode of a path descriptor) {
  nobody_tmp tmp;
  as_nobody user;
  auto f = tmp.path + "/f";
  std::ofstream{f} << "x";
  unique_fd fd{::open(f.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC)};
  CAF_REQUIRE(fd.valid());
  CAF_CHECK_EQUAL(chmod_fd(fd.get(), 0640), 0);
  CAF_CHECK_EQUAL(mode_of(f), 0640u);
}

// Every kind of operation inside, through and on directories of each mode
// that lacks owner bits: each succeeds, and every mode is the wanted one
// after each operation.
CAF_TEST(every operation works in a directory of any mode and keeps it) {
  // The component walk (no openat2) meets each missing search bit itself.
  for (bool component : {false, true})
  for (uint32_t m : {00000u, 00100u, 00200u, 00300u, 00311u, 00400u, 00500u,
                     00555u, 00700u}) {
    for (auto site : {build_site::tmpfile, build_site::staging}) {
      CAF_MESSAGE("mode " << octal(m) << " built in "
                  << (site == build_site::tmpfile ? "place" : "staging")
                  << (component ? ", component walk" : ""));
      auto was = force_component_walk(component);
      nobody_tmp tmp;
      auto root = tmp.path + "/ref";
      std::string big(200000, 'b');
      std::string small = "small content";
      {
        as_nobody user;
        writer_limits limits;
        limits.site = site;
        // fsync=file also opens each directory for reading.
        limits.sync = site == build_site::staging ? durability::file
                                                  : durability::none;
        status err;
        auto w = tree_writer::open(root, limits, err);
        CAF_REQUIRE(w != nullptr);
        auto setup = [&](const op& x) {
          auto st = w->apply(x);
          CAF_CHECK_EQUAL(st.reason(), "");
        };
        auto ok = [&](const op& x) {
          setup(x);
          CAF_CHECK_EQUAL(mode_of(root + "/d"), m);
        };
        setup(mkdir_op("d", 0755));
        setup(mkdir_op("other", 0755));
        setup(mkdir_op("d/sub", 0755));
        setup(write_op("d/f", small, 0000));
        setup(set_attr_op("d/sub", m, some_mtime));
        ok(set_attr_op("d", m, some_mtime));
        // Inside d: create, replace, mkdir, symlink, attributes.
        ok(write_op("d/new", "new", 0644));
        ok(write_op("d/new", "replaced", 0600));
        ok(mkdir_op("d/n", 0700));
        ok(symlink_op("d/l", "f"));
        ok(set_attr_op("d/new", 0640, other_mtime));
        // Renames: within d, out of d, and d/sub (mode m) to another
        // parent, which rewrites its "..", and back.
        ok(rename_op("d/new", "d/renamed"));
        ok(rename_op("d/renamed", "other/moved"));
        ok(rename_op("d/sub", "other/sub"));
        CAF_CHECK_EQUAL(mode_of(root + "/other/sub"), m);
        ok(rename_op("other/sub", "d/sub"));
        // A streamed file two directories of mode m deep, and one built
        // from ranges of d/f (mode 0000).
        ok(begin_op(1, "d/sub/big", big.size()));
        ok(chunk_op(1, 0, big));
        ok(commit_op(1, hash_of(big)));
        ok(begin_op(2, "other/copy", small.size()));
        ok(copy_op(2, "d/f", 0, small.size()));
        ok(commit_op(2, hash_of(small)));
        // The reads a watcher asks for.
        status read_err;
        auto r = w->reader().recipe_of("d/f", chunker_params{}, read_err);
        CAF_CHECK_EQUAL(read_err.reason(), "");
        CAF_CHECK_EQUAL(r.size(), 1u);
        CAF_CHECK(w->reader().content_hash("d/sub/big", read_err) == hash_of(big));
        CAF_CHECK_EQUAL(read_err.reason(), "");
        auto manifest = w->reader().manifest(read_err);
        CAF_CHECK_EQUAL(read_err.reason(), "");
        CAF_CHECK_EQUAL(manifest.size(), 9u);
        for (auto& e : manifest)
          if (e.path == "d" || e.path == "d/sub")
            CAF_CHECK_EQUAL(e.meta.mode, m);
        std::vector<dir_listing> dirs;
        auto walked = w->reader().walk(dirs);
        CAF_CHECK_EQUAL(walked.reason(), "");
        CAF_CHECK_EQUAL(dirs.size(), 5u); // "", d, d/n, d/sub, other
        std::vector<dir_listing> one;
        std::string failed;
        auto listed = w->reader().listings({"d/sub"}, 1u << 20, one, failed);
        CAF_CHECK_EQUAL(listed.reason(), "");
        CAF_CHECK_EQUAL(one.at(0).entries.size(), 1u);
        CAF_CHECK_EQUAL(mode_of(root + "/d"), m);
        // Removes inside d, then d itself with everything beneath.
        ok(remove_op("d/n"));
        ok(remove_op("d/l"));
        ok(mkdir_op("keep", m));
        ok(write_op("keep/f", small, 0000));
      }
      // Checked as root: the content, and every mode as the watcher asked.
      CAF_CHECK_EQUAL(mode_of(root + "/d/sub"), m);
      CAF_CHECK_EQUAL(mode_of(root + "/d/f"), 0u);
      CAF_CHECK_EQUAL(read_text(root + "/d/sub/big"), big);
      CAF_CHECK_EQUAL(read_text(root + "/other/copy"), small);
      CAF_CHECK_EQUAL(read_text(root + "/other/moved"), "replaced");
      CAF_CHECK_EQUAL(mode_of(root + "/other/moved"), 0640u);
      CAF_CHECK_EQUAL(mode_of(root + "/keep"), m);
      CAF_CHECK_EQUAL(mode_of(root + "/keep/f"), 0u);
      {
        as_nobody user;
        status err;
        auto w = tree_writer::open(root, {}, err);
        CAF_REQUIRE(w != nullptr);
        auto st = w->apply(remove_op("d"));
        CAF_CHECK_EQUAL(st.reason(), "");
      }
      struct stat st;
      CAF_CHECK_EQUAL(::lstat((root + "/d").c_str(), &st), -1);
      force_component_walk(was);
    }
  }
}

CAF_TEST(a directory the reference does not own is refused and untouched) {
  if (::geteuid() != 0) {
    CAF_MESSAGE("skipped: needs root to make a directory of another owner");
    return;
  }
  nobody_tmp tmp;
  auto root = tmp.path + "/ref";
  {
    as_nobody user;
    status err;
    CAF_REQUIRE(tree_writer::open(root, {}, err) != nullptr);
  }
  auto theirs = root + "/theirs";
  CAF_REQUIRE_EQUAL(::mkdir(theirs.c_str(), 0755), 0); // root's
  as_nobody user;
  status err;
  auto w = tree_writer::open(root, {}, err);
  CAF_REQUIRE(w != nullptr);
  auto st = w->apply(write_op("theirs/f", "x"));
  CAF_CHECK(!st);
  CAF_CHECK_NOT_EQUAL(st.reason().find("Permission denied"),
                      std::string::npos);
  CAF_CHECK_EQUAL(mode_of(theirs), 0755u);
}

// The reference's path writers fill files of one directory at once: each
// may need the directory's write bit, and the mode must come back only
// when the last of them is done (and come back exactly).
CAF_TEST(scopes sharing a table hold one grant until the last leaves) {
  nobody_tmp tmp;
  auto dir = tmp.path + "/d";
  {
    as_nobody user;
    CAF_REQUIRE_EQUAL(::mkdir(dir.c_str(), 0500), 0);
  }
  unique_fd fd{::open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC)};
  CAF_REQUIRE(fd.valid());
  auto table = std::make_shared<shared_grants>();
  {
    as_nobody user;
    owner_access a{table};
    owner_access b{table};
    CAF_CHECK(a.add(fd.get(), owner_modify));
    CAF_CHECK_EQUAL(octal(mode_of(dir)), "0700");
    // b's call failed before a's grant: joining makes its retry worth it.
    CAF_CHECK(b.add(fd.get(), owner_modify));
    CAF_CHECK_EQUAL(table->size(), 1u);
    // Asked again by a holder: nothing new.
    CAF_CHECK(!b.add(fd.get(), owner_modify));
    CAF_CHECK_EQUAL(a.restore(), 0);
    CAF_CHECK_EQUAL(octal(mode_of(dir)), "0700"); // b still holds it.
    CAF_CHECK_EQUAL(b.restore(), 0);
    CAF_CHECK_EQUAL(octal(mode_of(dir)), "0500");
    CAF_CHECK_EQUAL(table->size(), 0u);
    // Bits already there and nobody's grant: nothing to join.
    CAF_CHECK(!a.add(fd.get(), S_IRUSR));
    CAF_CHECK_EQUAL(table->size(), 0u);
  }
  ::chmod(dir.c_str(), 0700);
}

CAF_TEST(writers of one tree share limits counters and grants) {
  nobody_tmp tmp;
  status err;
  writer_limits limits;
  limits.max_open_transfers = 2;
  auto w1 = tree_writer::open(tmp.path + "/ref", limits, err);
  CAF_REQUIRE(w1 != nullptr);
  auto w2 = w1->sibling();
  CAF_CHECK(w1->apply(begin_op(1, "a", 4)));
  CAF_CHECK(w2->apply(begin_op(2, "b", 4)));
  // The third transfer is one too many across both writers.
  CAF_CHECK(!w2->apply(begin_op(3, "c", 4)));
  CAF_CHECK_EQUAL(w1->open_transfers(), 2u);
  CAF_CHECK_EQUAL(w1->own_transfers(), 1u);
  CAF_CHECK_EQUAL(w2->own_transfers(), 1u);
  w1->abort_all();
  CAF_CHECK_EQUAL(w2->open_transfers(), 1u);
  CAF_CHECK(w1->apply(begin_op(3, "c", 4)));
  CAF_CHECK_EQUAL(w1->stats().ops, 4u);
  CAF_CHECK_EQUAL(w2->stats().errors, 1u);
}
