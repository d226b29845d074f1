#define CAF_SUITE core.tree_writer
#include <caf/test/unit_test.hpp>

#include "core/wire/content_hash.hpp"
#include "core/reference/tree_writer.hpp"
#include "core/op_builders.hpp"
#include "core/common/path_rules.hpp"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <set>
#include <sstream>
#include <string>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

using namespace livesync;
using namespace livesync::test;

namespace {

// -- filesystem helpers (plain paths: the test itself is trusted) --------------


bool exists(const std::string& p) {
  struct stat st;
  return ::lstat(p.c_str(), &st) == 0;
}

/// lstat that fails the check (not the run) when `p` is missing.
struct stat lstat_of(const std::string& p) {
  struct stat st {};
  auto rc = ::lstat(p.c_str(), &st);
  CAF_CHECK_EQUAL(rc, 0);
  return st;
}

bool is_dir(const std::string& p) {
  struct stat st;
  return ::lstat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

bool is_file(const std::string& p) {
  struct stat st;
  return ::lstat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

bool is_symlink(const std::string& p) {
  struct stat st;
  return ::lstat(p.c_str(), &st) == 0 && S_ISLNK(st.st_mode);
}

uint32_t mode_of(const std::string& p) {
  return lstat_of(p).st_mode & 07777;
}

int64_t mtime_of(const std::string& p) {
  auto st = lstat_of(p);
  return static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000
         + st.st_mtim.tv_nsec;
}

std::string read_text(const std::string& p) {
  std::ifstream in{p, std::ios::binary};
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

void write_text(const std::string& p, const std::string& text) {
  std::ofstream out{p, std::ios::binary | std::ios::trunc};
  out << text;
}

std::string link_text(const std::string& p) {
  char buf[PATH_MAX];
  auto n = ::readlink(p.c_str(), buf, sizeof(buf));
  return n < 0 ? std::string{} : std::string(buf, static_cast<size_t>(n));
}

size_t count_entries(const std::string& dir) {
  size_t n = 0;
  std::error_code ec;
  for (auto it = std::filesystem::directory_iterator{dir, ec};
       !ec && it != std::filesystem::directory_iterator{}; it.increment(ec))
    ++n;
  return n;
}

// -- fixture ----------------------------------------------------------------------

/// A fresh temp dir per test holding the reference root and an "outside"
/// directory that no op may ever touch.
struct fixture {
  std::string tmp;
  std::string root;
  std::string outside;
  std::string staging;
  std::unique_ptr<tree_writer> w;

  fixture() {
    char buf[] = "/tmp/livesync-tree-writer-XXXXXX";
    if (::mkdtemp(buf) == nullptr)
      CAF_FAIL("mkdtemp failed");
    tmp = buf;
    root = tmp + "/ref";
    outside = tmp + "/outside";
    staging = root + "/.livesync/staging";
    ::mkdir(outside.c_str(), 0755);
    ::chmod(outside.c_str(), 0755); // whatever the umask
    write_text(outside + "/keep", "outside data");
    reopen();
  }

  ~fixture() {
    w.reset();
    std::error_code ec;
    std::filesystem::remove_all(tmp, ec);
  }

  void reopen(writer_limits limits = {}) {
    w.reset();
    status err;
    w = tree_writer::open(root, limits, err);
    if (!w)
      CAF_FAIL("open failed: " << err.reason());
  }

  std::string at(const std::string& rel) const {
    return root + "/" + rel;
  }

  /// Applies `x`, which must succeed; a failure shows its reason.
  void ok(const op& x) {
    auto st = w->apply(x);
    CAF_CHECK_EQUAL(st.reason(), "");
  }

  /// Applies `x`, which must fail; returns the reason.
  std::string refused(const op& x) {
    auto st = w->apply(x);
    CAF_CHECK(!st);
    return st.reason();
  }

  /// Applies `x`, which must fail; returns the class of the failure.
  ec refused_code(const op& x) {
    auto st = w->apply(x);
    CAF_CHECK(!st);
    return st.code();
  }

  bool outside_untouched() const {
    return count_entries(outside) == 1
           && read_text(outside + "/keep") == "outside data"
           && mode_of(outside) == 0755u;
  }
};

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

} // namespace

CAF_TEST_FIXTURE_SCOPE(tree_writer_tests, fixture)

// -- mkdir ------------------------------------------------------------------------

CAF_TEST(mkdir sets the exact mode whatever the umask) {
  auto old = ::umask(077);
  ok(mkdir_op("d", 0755));
  ok(mkdir_op("d/e", 0750));
  ::umask(old);
  CAF_CHECK(is_dir(at("d/e")));
  CAF_CHECK_EQUAL(mode_of(at("d")), 0755u);
  CAF_CHECK_EQUAL(mode_of(at("d/e")), 0750u);
}

CAF_TEST(mkdir on an existing directory only changes its mode) {
  ok(mkdir_op("d", 0755));
  write_text(at("d/f"), "child");
  ok(mkdir_op("d", 0700));
  CAF_CHECK_EQUAL(mode_of(at("d")), 0700u);
  CAF_CHECK_EQUAL(read_text(at("d/f")), "child");
}

CAF_TEST(mkdir replaces a file and needs its parent) {
  ok(write_op("x", "file"));
  ok(mkdir_op("x", 0755));
  CAF_CHECK(is_dir(at("x")));
  CAF_CHECK(contains(refused(mkdir_op("missing/d", 0755)), "parent"));
  CAF_CHECK(!exists(at("missing")));
}

// -- write_file -------------------------------------------------------------------

CAF_TEST(write_file sets content mode and mtime to the nanosecond) {
  ok(write_op("run.sh", "#!/bin/sh\n", 0755, some_mtime));
  ok(write_op("secret", "s3cr3t", 0600, other_mtime));
  ok(write_op("empty", "", 0644, some_mtime));
  CAF_CHECK_EQUAL(read_text(at("run.sh")), "#!/bin/sh\n");
  CAF_CHECK_EQUAL(mode_of(at("run.sh")), 0755u);
  CAF_CHECK_EQUAL(mtime_of(at("run.sh")), some_mtime);
  CAF_CHECK_EQUAL(read_text(at("secret")), "s3cr3t");
  CAF_CHECK_EQUAL(mode_of(at("secret")), 0600u);
  CAF_CHECK_EQUAL(mtime_of(at("secret")), other_mtime);
  CAF_CHECK(is_file(at("empty")));
  CAF_CHECK_EQUAL(lstat_of(at("empty")).st_size, 0);
  CAF_CHECK_EQUAL(count_entries(staging), 0u);
  CAF_CHECK_EQUAL(w->stats().files_committed, 3u);
  CAF_CHECK_EQUAL(w->stats().bytes_written, 16u);
  CAF_CHECK_EQUAL(w->stats().errors, 0u);
}

CAF_TEST(write_file replaces a file and a directory) {
  ok(write_op("f", "old"));
  ok(write_op("f", "new", 0640));
  CAF_CHECK_EQUAL(read_text(at("f")), "new");
  CAF_CHECK_EQUAL(mode_of(at("f")), 0640u);
  ok(mkdir_op("d", 0755));
  ok(mkdir_op("d/sub", 0755));
  ok(write_op("d/sub/inner", "inner"));
  ok(write_op("d", "now a file"));
  CAF_CHECK(is_file(at("d")));
  CAF_CHECK_EQUAL(read_text(at("d")), "now a file");
}

CAF_TEST(write_file replaces a symlink instead of writing through it) {
  ::symlink((outside + "/keep").c_str(), at("link").c_str());
  ok(write_op("link", "mine"));
  CAF_CHECK(is_file(at("link")));
  CAF_CHECK_EQUAL(read_text(at("link")), "mine");
  CAF_CHECK(outside_untouched());
}

CAF_TEST(hash mismatch leaves the old content) {
  ok(write_op("f", "old", 0644, some_mtime));
  auto x = write_op("f", "new", 0600, other_mtime);
  x.hash = hash_of("something else");
  CAF_CHECK(contains(refused(x), "hash mismatch"));
  CAF_CHECK_EQUAL(read_text(at("f")), "old");
  CAF_CHECK_EQUAL(mode_of(at("f")), 0644u);
  CAF_CHECK_EQUAL(mtime_of(at("f")), some_mtime);
  CAF_CHECK_EQUAL(count_entries(staging), 0u);
  CAF_CHECK_EQUAL(w->stats().errors, 1u);
  ok(write_op("f", "new")); // still usable
}

CAF_TEST(write_file size must match data and limits) {
  auto x = write_op("f", "abc");
  x.size = 4;
  CAF_CHECK(contains(refused(x), "size"));
  writer_limits small;
  small.max_data_bytes = 4;
  reopen(small);
  refused(write_op("f", "too long"));
  CAF_CHECK(!exists(at("f")));
  ok(write_op("f", "fits"));
}

CAF_TEST(mode mask applies to every mode) {
  writer_limits limits;
  limits.mode_mask = 0777;
  reopen(limits);
  ok(write_op("f", "x", 04755));
  ok(mkdir_op("d", 02755));
  CAF_CHECK_EQUAL(mode_of(at("f")), 0755u);
  CAF_CHECK_EQUAL(mode_of(at("d")), 0755u);
  ok(set_attr_op("f", 06711, some_mtime));
  CAF_CHECK_EQUAL(mode_of(at("f")), 0711u);
}

// -- symlink ----------------------------------------------------------------------

CAF_TEST(symlink creates dangling absolute and relative links) {
  ok(symlink_op("dangling", "no/such/target"));
  ok(symlink_op("abs", "/etc/passwd"));
  ok(write_op("real", "data"));
  ok(symlink_op("rel", "real"));
  CAF_CHECK(is_symlink(at("dangling")));
  CAF_CHECK_EQUAL(link_text(at("dangling")), "no/such/target");
  CAF_CHECK_EQUAL(link_text(at("abs")), "/etc/passwd");
  CAF_CHECK_EQUAL(link_text(at("rel")), "real");
  CAF_CHECK_EQUAL(count_entries(staging), 0u);
}

CAF_TEST(symlink replaces a file a link and a directory) {
  ok(write_op("f", "data"));
  ok(symlink_op("f", "t1"));
  CAF_CHECK_EQUAL(link_text(at("f")), "t1");
  ok(symlink_op("f", "t2"));
  CAF_CHECK_EQUAL(link_text(at("f")), "t2");
  ok(mkdir_op("d", 0755));
  ok(write_op("d/x", "x"));
  ok(symlink_op("d", "t3"));
  CAF_CHECK(is_symlink(at("d")));
  CAF_CHECK_EQUAL(link_text(at("d")), "t3");
}

CAF_TEST(symlink sets the link mtime when given) {
  auto x = symlink_op("l", outside + "/keep");
  x.mtime_ns = some_mtime;
  auto target_mtime = mtime_of(outside + "/keep");
  ok(x);
  CAF_CHECK_EQUAL(mtime_of(at("l")), some_mtime);
  CAF_CHECK_EQUAL(mtime_of(outside + "/keep"), target_mtime);
}

CAF_TEST(symlink target must be sane) {
  refused(symlink_op("l", ""));
  refused(symlink_op("l", std::string("a\0b", 3)));
  refused(symlink_op("l", std::string(PATH_MAX, 'x')));
  CAF_CHECK(!exists(at("l")));
  ok(symlink_op("l", std::string(PATH_MAX - 1, 'x')));
}

// -- remove -----------------------------------------------------------------------

CAF_TEST(remove is recursive and a missing path is fine) {
  ok(mkdir_op("d", 0755));
  ok(mkdir_op("d/e", 0500)); // no write permission: still removable
  ok(write_op("d/f", "f", 0000));
  ok(symlink_op("d/l", "f"));
  ok(remove_op("d"));
  CAF_CHECK(!exists(at("d")));
  ok(remove_op("d"));
  ok(remove_op("never/was/here"));
  ok(write_op("f", "x"));
  ok(remove_op("f"));
  CAF_CHECK(!exists(at("f")));
}

CAF_TEST(remove never follows a symlink to a directory outside) {
  ::symlink(outside.c_str(), at("out").c_str());
  ok(remove_op("out"));
  CAF_CHECK(!exists(at("out")));
  CAF_CHECK(outside_untouched());
  ok(mkdir_op("d", 0755));
  ::symlink(outside.c_str(), at("d/out").c_str());
  ok(remove_op("d"));
  CAF_CHECK(!exists(at("d")));
  CAF_CHECK(outside_untouched());
  // Through a symlinked parent there is nothing beneath the root to remove.
  ::symlink(outside.c_str(), at("via").c_str());
  ok(remove_op("via/keep"));
  CAF_CHECK(outside_untouched());
  CAF_CHECK(is_symlink(at("via")));
}

// -- rename -----------------------------------------------------------------------

CAF_TEST(rename moves a directory with its contents) {
  ok(mkdir_op("a", 0755));
  ok(mkdir_op("a/b", 0700));
  ok(write_op("a/b/f", "deep", 0600, some_mtime));
  ok(mkdir_op("z", 0755));
  ok(rename_op("a", "z/a2"));
  CAF_CHECK(!exists(at("a")));
  CAF_CHECK_EQUAL(read_text(at("z/a2/b/f")), "deep");
  CAF_CHECK_EQUAL(mode_of(at("z/a2/b")), 0700u);
  CAF_CHECK_EQUAL(mtime_of(at("z/a2/b/f")), some_mtime);
}

CAF_TEST(rename replaces a file and refuses what rename refuses) {
  ok(write_op("a", "A"));
  ok(write_op("b", "B"));
  ok(rename_op("a", "b"));
  CAF_CHECK(!exists(at("a")));
  CAF_CHECK_EQUAL(read_text(at("b")), "A");
  CAF_CHECK(contains(refused(rename_op("a", "c")), "rename source missing"));
  CAF_CHECK(contains(refused(rename_op("no/a", "c")), "rename source missing"));
  ok(mkdir_op("d", 0755));
  ok(write_op("d/x", "x"));
  refused(rename_op("b", "d")); // file over a non-empty directory
  CAF_CHECK_EQUAL(read_text(at("b")), "A");
  CAF_CHECK_EQUAL(read_text(at("d/x")), "x");
  refused(rename_op("d", "d/x/sub")); // target parent is a file
  refused(rename_op("b", "missing/b"));
  CAF_CHECK(is_file(at("b")));
}

// -- set_attr ---------------------------------------------------------------------

CAF_TEST(set_attr changes mode and mtime of files and directories) {
  ok(write_op("f", "x", 0644, some_mtime));
  ok(mkdir_op("d", 0755));
  ok(set_attr_op("f", 0600, other_mtime));
  ok(set_attr_op("d", 0711, other_mtime));
  CAF_CHECK_EQUAL(mode_of(at("f")), 0600u);
  CAF_CHECK_EQUAL(mtime_of(at("f")), other_mtime);
  CAF_CHECK_EQUAL(mode_of(at("d")), 0711u);
  CAF_CHECK_EQUAL(mtime_of(at("d")), other_mtime);
  CAF_CHECK(contains(refused(set_attr_op("nope", 0644, 0)), "missing"));
}

CAF_TEST(set_attr on a symlink touches only the link) {
  ::chmod((outside + "/keep").c_str(), 0644);
  auto target_mtime = mtime_of(outside + "/keep");
  ok(symlink_op("l", outside + "/keep"));
  ok(set_attr_op("l", 0600, some_mtime));
  CAF_CHECK_EQUAL(mtime_of(at("l")), some_mtime);
  CAF_CHECK_EQUAL(mode_of(outside + "/keep"), 0644u);
  CAF_CHECK_EQUAL(mtime_of(outside + "/keep"), target_mtime);
}

// -- symlinks in parent positions ----------------------------------------------

CAF_TEST(ops through a symlinked parent are refused) {
  ::chmod((outside + "/keep").c_str(), 0644);
  ok(symlink_op("a", outside));
  ok(mkdir_op("d", 0755));
  ok(symlink_op("d/b", outside));
  for (std::string p : {"a/x", "a/keep", "d/b/x", "d/b/keep"}) {
    CAF_MESSAGE("path " << p);
    CAF_CHECK(contains(refused(write_op(p, "evil")), "not a directory"));
    refused(mkdir_op(p, 0777));
    refused(symlink_op(p, "/etc/passwd"));
    refused(set_attr_op(p, 0777, some_mtime));
    refused(begin_op(7, p, 4));
    ok(write_op("src", "evil"));
    refused(rename_op("src", p));
    refused(rename_op(p, "stolen"));
  }
  CAF_CHECK(!exists(at("stolen")));
  CAF_CHECK_EQUAL(w->open_transfers(), 0u);
  CAF_CHECK(outside_untouched());
  CAF_CHECK_EQUAL(mode_of(outside + "/keep"), 0644u);
  // A file in a parent position is refused just the same.
  ok(write_op("file", "x"));
  refused(write_op("file/x", "x"));
  CAF_CHECK_EQUAL(count_entries(staging), 0u);
}

// Each rename is valid on its own, yet renaming subtrees into each other
// nests them past any depth: the reference refuses the one that would.
CAF_TEST(a rename that nests paths past the limits is refused) {
  std::string deep = "a";
  for (size_t i = 1; i < max_path_depth - 10; ++i)
    deep += "/a";
  std::string at_deep;
  for (auto part = deep.find('/');; part = deep.find('/', part + 1)) {
    ok(mkdir_op(deep.substr(0, part), 0755));
    if (part == std::string::npos)
      break;
  }
  ok(mkdir_op("b", 0755));
  std::string sub = "b";
  for (int i = 0; i < 20; ++i)
    ok(mkdir_op(sub += "/c", 0755));
  ok(write_op(sub + "/f", "deepest"));
  // 246 + 1 + 21 components: refused, and nothing moved.
  auto why = refused(rename_op("b", deep + "/b"));
  CAF_CHECK(contains(why, "b: a rename that would nest paths past 256"));
  CAF_CHECK(is_file(at(sub + "/f")));
  // Shallower, or as deep as it fits: fine.
  ok(rename_op("b", "a/a/b"));
  ok(rename_op("a/a/b", "b2"));
  // Too long in bytes, not in components.
  std::string name(200, 'n');
  ok(mkdir_op("long", 0755));
  std::string lng = "long";
  for (int i = 0; i < 19; ++i) // 3,823 bytes
    ok(mkdir_op(lng += "/" + name, 0755));
  ok(mkdir_op("x", 0755));
  ok(mkdir_op("x/" + name, 0755));
  ok(mkdir_op("x/" + name + "/" + name, 0755));
  // 3,825 + 402 bytes beneath it.
  why = refused(rename_op("x", lng + "/x"));
  CAF_CHECK(contains(why, "x: a rename that would nest paths past"));
  ok(rename_op("x", "long/x"));
}

CAF_TEST(commit walks the parent again) {
  ok(mkdir_op("a", 0755));
  ok(begin_op(1, "a/x", 4));
  ok(chunk_op(1, 0, "evil"));
  // The tree changes under the open transfer: a becomes a symlink outside.
  ok(remove_op("a"));
  ok(symlink_op("a", outside));
  refused(commit_op(1, hash_of("evil")));
  CAF_CHECK(outside_untouched());
  CAF_CHECK_EQUAL(w->open_transfers(), 0u);
  CAF_CHECK_EQUAL(count_entries(staging), 0u);
}

// -- chunked transfers ------------------------------------------------------------

CAF_TEST(chunked transfer in three chunks then commit) {
  std::string parts[] = {"first part, ", "second part, ", "third"};
  std::string all = parts[0] + parts[1] + parts[2];
  ok(write_op("f", "previous"));
  ok(begin_op(42, "f", all.size(), 0755, some_mtime));
  CAF_CHECK_EQUAL(w->open_transfers(), 1u);
  CAF_CHECK_EQUAL(count_entries(staging), 1u);
  uint64_t offset = 0;
  for (auto& part : parts) {
    ok(chunk_op(42, offset, part));
    offset += part.size();
    CAF_CHECK_EQUAL(read_text(at("f")), "previous"); // not visible yet
  }
  ok(commit_op(42, hash_of(all)));
  CAF_CHECK_EQUAL(read_text(at("f")), all);
  CAF_CHECK_EQUAL(mode_of(at("f")), 0755u);
  CAF_CHECK_EQUAL(mtime_of(at("f")), some_mtime);
  CAF_CHECK_EQUAL(w->open_transfers(), 0u);
  CAF_CHECK_EQUAL(count_entries(staging), 0u);
  CAF_CHECK_EQUAL(w->stats().files_committed, 2u);
  CAF_CHECK_EQUAL(w->stats().ops, 6u);
}

CAF_TEST(out of order chunk is refused and drops the transfer) {
  ok(begin_op(1, "f", 6));
  ok(chunk_op(1, 0, "abc"));
  CAF_CHECK(contains(refused(chunk_op(1, 4, "def")), "offset"));
  CAF_CHECK_EQUAL(w->open_transfers(), 0u);
  CAF_CHECK_EQUAL(count_entries(staging), 0u);
  refused(chunk_op(1, 3, "def"));
  refused(commit_op(1, hash_of("abcdef")));
  CAF_CHECK(!exists(at("f")));
}

CAF_TEST(chunk past the announced size is refused) {
  ok(begin_op(1, "f", 4));
  refused(chunk_op(1, 0, "12345"));
  CAF_CHECK_EQUAL(w->open_transfers(), 0u);
  refused(chunk_op(99, 0, "x")); // unknown transfer
}

CAF_TEST(commit with wrong size or hash is refused) {
  ok(write_op("f", "old"));
  ok(begin_op(1, "f", 6));
  ok(chunk_op(1, 0, "abc"));
  CAF_CHECK(contains(refused(commit_op(1, hash_of("abc"))), "3 of 6"));
  CAF_CHECK_EQUAL(w->open_transfers(), 0u);
  ok(begin_op(2, "f", 3));
  ok(chunk_op(2, 0, "abc"));
  CAF_CHECK(contains(refused(commit_op(2, hash_of("abd"))), "hash mismatch"));
  CAF_CHECK_EQUAL(w->open_transfers(), 0u);
  CAF_CHECK_EQUAL(read_text(at("f")), "old");
  CAF_CHECK_EQUAL(count_entries(staging), 0u);
  refused(commit_op(2, hash_of("abc"))); // closed either way
}

CAF_TEST(transfer bookkeeping) {
  writer_limits limits;
  limits.max_open_transfers = 2;
  reopen(limits);
  ok(begin_op(1, "a", 1));
  CAF_CHECK(contains(refused(begin_op(1, "b", 1)), "already open"));
  ok(begin_op(2, "b", 1));
  CAF_CHECK(contains(refused(begin_op(3, "c", 1)), "too many"));
  ok(abort_op(1));
  ok(abort_op(1)); // unknown is fine
  CAF_CHECK_EQUAL(w->open_transfers(), 1u);
  CAF_CHECK_EQUAL(count_entries(staging), 1u);
  ok(begin_op(3, "c", 0));
  ok(commit_op(3, hash_of(""))); // an empty file needs no chunk
  CAF_CHECK(is_file(at("c")));
  w->abort_all();
  CAF_CHECK_EQUAL(w->open_transfers(), 0u);
  CAF_CHECK_EQUAL(count_entries(staging), 0u);
  refused(begin_op(4, "no/parent", 1));
  CAF_CHECK_EQUAL(count_entries(staging), 0u);
}

// Each copy source holds a descriptor until its transfer ends: a peer may
// not hold more than the budget main sizes from RLIMIT_NOFILE.
CAF_TEST(copy sources open in all transfers are bounded) {
  writer_limits limits;
  limits.max_source_fds = 3;
  reopen(limits);
  for (auto name : {"s1", "s2", "s3", "s4"})
    ok(write_op(name, "source"));
  ok(begin_op(1, "a", 12));
  ok(copy_op(1, "s1", 0, 6));
  ok(copy_op(1, "s2", 0, 6));
  ok(begin_op(2, "b", 12));
  ok(copy_op(2, "s3", 0, 6));
  CAF_CHECK(contains(refused(copy_op(2, "s4", 0, 6)),
                     "3 copy sources open in all transfers"));
  // The refusal dropped transfer 2; its source is free again.
  ok(begin_op(3, "c", 6));
  ok(copy_op(3, "s4", 0, 6));
  ok(commit_op(3, hash_of("source")));
  ok(commit_op(1, hash_of("sourcesource")));
  CAF_CHECK_EQUAL(read_text(at("a")), "sourcesource");
}

// A copy_range of a few bytes may ask for gigabytes of copying: once the
// node is stopping, the copy (and a recipe or hash) ends between blocks.
CAF_TEST(long loops stop once the node is stopping) {
  ok(write_op("src", "x"));
  CAF_REQUIRE_EQUAL(::truncate(at("src").c_str(), 64 << 20), 0);
  auto flag = std::make_shared<std::atomic<bool>>(false);
  w->stop_when(flag);
  ok(begin_op(1, "copy", 64 << 20));
  ok(copy_op(1, "src", 0, 1 << 20)); // not stopping yet
  flag->store(true);
  CAF_CHECK(contains(refused(copy_op(1, "src", 1 << 20, 63 << 20)),
                     "the reference is stopping"));
  CAF_CHECK_EQUAL(w->open_transfers(), 0u);
  status err;
  w->reader().recipe_of("src", chunker_params{}, err);
  CAF_CHECK(contains(err.reason(), "the reference is stopping"));
  w->reader().content_hash("src", err);
  CAF_CHECK(contains(err.reason(), "the reference is stopping"));
}

// A recipe costs 12 bytes per chunk: a peer asking for tiny chunks would
// make one reply a quarter of the file's size.
CAF_TEST(recipes take only the chunk sizes a watcher can use) {
  ok(write_op("f", std::string(100000, 'r')));
  status err;
  for (auto p : {chunker_params{1, 64, 64}, chunker_params{256, 1024, 4096},
                 chunker_params{512, 512, 4096}}) {
    auto r = w->reader().recipe_of("f", p, err);
    CAF_CHECK(contains(err.reason(), "on the link"));
    CAF_CHECK(r.empty());
  }
  auto r = w->reader().recipe_of("f", chunker_params{512, 1024, 4096}, err);
  CAF_CHECK_EQUAL(err.reason(), "");
  CAF_CHECK(!r.empty());
}

CAF_TEST(destroying the writer removes open staging files) {
  ok(begin_op(1, "a", 10));
  ok(chunk_op(1, 0, "12345"));
  CAF_CHECK_EQUAL(count_entries(staging), 1u);
  w.reset();
  CAF_CHECK_EQUAL(count_entries(staging), 0u);
  reopen();
}

// -- validation -------------------------------------------------------------------

CAF_TEST(invalid paths are refused and change nothing) {
  for (std::string p : {"../x", "/abs", ".livesync/x", ".livesync", "a/../x",
                        "", "a//b", "./x"}) {
    CAF_MESSAGE("path '" << p << "'");
    refused(mkdir_op(p, 0755));
    refused(write_op(p, "x"));
    refused(symlink_op(p, "t"));
    refused(remove_op(p));
    refused(set_attr_op(p, 0644, 0));
    refused(begin_op(1, p, 1));
    refused(rename_op(p, "ok"));
    ok(write_op("ok", "x"));
    refused(rename_op("ok", p));
  }
  refused(remove_op(".livesync/staging"));
  // Reasons stay one line even for paths full of control characters.
  auto why = refused(write_op(std::string("a\nb\0c", 5), "x"));
  CAF_CHECK(why.find('\n') == std::string::npos);
  CAF_CHECK(why.find('\0') == std::string::npos);
  CAF_CHECK(is_dir(staging));
  CAF_CHECK(!exists(tmp + "/x"));
  CAF_CHECK(!exists("/abs"));
  CAF_CHECK(!exists(root + "/.livesync/x"));
  CAF_CHECK_EQUAL(count_entries(staging), 0u);
  CAF_CHECK_EQUAL(w->open_transfers(), 0u);
  status err;
  auto m = w->reader().manifest(err);
  CAF_REQUIRE(err.ok());
  CAF_REQUIRE_EQUAL(m.size(), 1u);
  CAF_CHECK_EQUAL(m[0].path, "ok");
  CAF_CHECK(outside_untouched());
}

// -- manifest and open ----------------------------------------------------------

CAF_TEST(manifest lists dirs files and symlinks parents first) {
  ok(mkdir_op("d", 0750));
  ok(write_op("d/f", "hello", 0640, some_mtime));
  ok(mkdir_op("d/e", 0700));
  ok(symlink_op("d/e/l", "../f"));
  ok(symlink_op("out", outside)); // never followed
  ok(write_op("a", "", 0600, other_mtime));
  ok(set_attr_op("d", 0750, other_mtime));
  ::mkfifo(at("fifo").c_str(), 0644); // skipped
  write_text(staging + "/ignored.tmp", "x");
  status err;
  auto m = w->reader().manifest(err);
  CAF_REQUIRE(err.ok());
  CAF_REQUIRE_EQUAL(m.size(), 6u);
  // Parents before children (the listings' order), then by path to check.
  std::set<std::string> seen;
  for (auto& e : m) {
    auto slash = e.path.rfind('/');
    if (slash != std::string::npos)
      CAF_CHECK(seen.count(e.path.substr(0, slash)) == 1);
    seen.insert(e.path);
  }
  std::sort(m.begin(), m.end(),
            [](auto& x, auto& y) { return x.path < y.path; });
  CAF_CHECK_EQUAL(m[0].path, "a");
  CAF_CHECK(m[0].meta.kind == entry_kind::file);
  CAF_CHECK_EQUAL(m[0].meta.size, 0u);
  CAF_CHECK_EQUAL(m[0].meta.mode, 0600u);
  CAF_CHECK_EQUAL(m[0].meta.mtime_ns, other_mtime);
  CAF_CHECK_EQUAL(m[1].path, "d");
  CAF_CHECK(m[1].meta.kind == entry_kind::dir);
  CAF_CHECK_EQUAL(m[1].meta.mode, 0750u);
  CAF_CHECK_EQUAL(m[2].path, "d/e");
  CAF_CHECK(m[2].meta.kind == entry_kind::dir);
  CAF_CHECK_EQUAL(m[2].meta.mode, 0700u);
  CAF_CHECK_EQUAL(m[3].path, "d/e/l");
  CAF_CHECK(m[3].meta.kind == entry_kind::symlink);
  CAF_CHECK_EQUAL(m[3].meta.target, "../f");
  CAF_CHECK_EQUAL(m[3].meta.size, 4u);
  CAF_CHECK_EQUAL(m[4].path, "d/f");
  CAF_CHECK(m[4].meta.kind == entry_kind::file);
  CAF_CHECK_EQUAL(m[4].meta.size, 5u);
  CAF_CHECK_EQUAL(m[4].meta.mode, 0640u);
  CAF_CHECK_EQUAL(m[4].meta.mtime_ns, some_mtime);
  CAF_CHECK_EQUAL(m[5].path, "out");
  CAF_CHECK(m[5].meta.kind == entry_kind::symlink);
  CAF_CHECK_EQUAL(m[5].meta.target, outside);
  for (auto& e : m)
    CAF_CHECK(e.path.find(".livesync") == std::string::npos);
}

CAF_TEST(manifest of an empty root is empty) {
  status err;
  auto m = w->reader().manifest(err);
  CAF_CHECK(err.ok());
  CAF_CHECK(m.empty());
}

CAF_TEST(open removes stale staging files) {
  w.reset();
  write_text(staging + "/7.tmp", "stale");
  write_text(staging + "/0.tmp", "stale");
  ::mkdir((staging + "/odd").c_str(), 0500);
  ::symlink(outside.c_str(), (staging + "/link").c_str());
  reopen();
  CAF_CHECK_EQUAL(count_entries(staging), 0u);
  CAF_CHECK(outside_untouched());
  ok(write_op("f", "fresh")); // reuses staging names without conflict
  CAF_CHECK_EQUAL(read_text(at("f")), "fresh");
}

CAF_TEST(open creates a missing root and reports failures) {
  status err;
  auto w2 = tree_writer::open(tmp + "/new/nested/root", {}, err);
  CAF_REQUIRE(w2 != nullptr);
  CAF_CHECK(err.ok());
  CAF_CHECK(is_dir(tmp + "/new/nested/root/.livesync/staging"));
  write_text(tmp + "/plain", "x");
  auto w3 = tree_writer::open(tmp + "/plain/root", {}, err);
  CAF_CHECK(w3 == nullptr);
  CAF_CHECK(!err.ok());
}

// Each refusal says what class of failure it is: the watcher acts on the
// code (a delta falls back on stale or hash_mismatch), the detail is for
// people. One case per class the writer reports.
CAF_TEST(refusals carry the class of their failure) {
  writer_limits limits;
  limits.max_data_bytes = 64;
  limits.max_open_transfers = 2;
  reopen(limits);
  ok(write_op("src", "source"));
  ok(mkdir_op("full", 0755));
  ok(write_op("full/x", "x"));
  auto bad_hash = write_op("f", "new");
  bad_hash.hash = hash_of("other");
  auto bad_size = write_op("f", "abc");
  bad_size.size = 4;
  struct row {
    const char* what;
    op x;
    ec want;
  };
  std::vector<row> rows{
    {"absolute path", write_op("/etc/x", "x"), ec::invalid_path},
    {"dot-dot", mkdir_op("a/../../x"), ec::invalid_path},
    {"state folder", remove_op(".livesync/staging"), ec::invalid_path},
    {"data over the limit", write_op("big", std::string(65, 'b')),
     ec::limit_exceeded},
    {"hash", bad_hash, ec::hash_mismatch},
    {"size", bad_size, ec::hash_mismatch},
    {"parent missing", write_op("no/such/f", "x"), ec::not_found},
    {"rename source missing", rename_op("nope", "b"), ec::not_found},
    {"set_attr on nothing", set_attr_op("nope", 0644, 0), ec::not_found},
    {"parent is a file", write_op("src/x", "x"), ec::stale},
    {"rename over a non-empty directory", rename_op("src", "full"),
     ec::stale},
    {"empty symlink target", symlink_op("l", ""), ec::protocol},
    {"chunk of no transfer", chunk_op(99, 0, "x"), ec::unknown_transfer},
    {"commit of no transfer", commit_op(99, hash_of("x")),
     ec::unknown_transfer},
    {"link source missing", link_op("l2", "nope", 1, 0), ec::not_found},
  };
  for (auto& r : rows) {
    CAF_MESSAGE(r.what);
    CAF_CHECK_EQUAL(to_string(refused_code(r.x)), to_string(r.want));
  }
  // Transfers: out of order is a protocol failure; a copy source shorter
  // than the watcher believed is stale; a bad assembled hash is
  // hash_mismatch; a third open transfer passes the limit.
  ok(begin_op(1, "t1", 6));
  CAF_CHECK_EQUAL(to_string(refused_code(chunk_op(1, 3, "def"))),
                  to_string(ec::protocol));
  ok(begin_op(2, "t2", 12));
  CAF_CHECK_EQUAL(to_string(refused_code(copy_op(2, "src", 0, 12))),
                  to_string(ec::stale));
  ok(begin_op(3, "t3", 3));
  ok(chunk_op(3, 0, "abc"));
  CAF_CHECK_EQUAL(to_string(refused_code(commit_op(3, hash_of("abd")))),
                  to_string(ec::hash_mismatch));
  ok(begin_op(4, "t4", 1));
  ok(begin_op(5, "t5", 1));
  CAF_CHECK_EQUAL(to_string(refused_code(begin_op(6, "t6", 1))),
                  to_string(ec::limit_exceeded));
}

CAF_TEST_FIXTURE_SCOPE_END()

CAF_TEST(every durability mode commits) {
  for (auto mode : {durability::none, durability::file, durability::batch}) {
    char tmpl[] = "/tmp/livesync-durability-XXXXXX";
    std::string dir = ::mkdtemp(tmpl);
    writer_limits limits;
    limits.sync = mode;
    status err;
    auto w = tree_writer::open(dir + "/ref", limits, err);
    CAF_REQUIRE(w != nullptr);
    op d;
    d.kind = op_kind::mkdir;
    d.path = "d";
    d.mode = 0755;
    CAF_CHECK_EQUAL(w->apply(d).reason(), "");
    op f;
    f.kind = op_kind::write_file;
    f.path = "d/f";
    f.data = {'x', 'y'};
    f.size = 2;
    f.mode = 0644;
    f.hash = hash_bytes(f.data.data(), f.data.size());
    CAF_CHECK_EQUAL(w->apply(f).reason(), "");
    CAF_CHECK_EQUAL(w->end_batch().reason(), "");
    struct stat st;
    CAF_CHECK_EQUAL(::stat((dir + "/ref/d/f").c_str(), &st), 0);
    durability parsed;
    CAF_CHECK(parse_durability("batch", parsed) && parsed == durability::batch);
    CAF_CHECK(!parse_durability("always", parsed));
    std::string cmd = "rm -rf '" + dir + "'";
    [[maybe_unused]] auto rc = std::system(cmd.c_str());
  }
}
