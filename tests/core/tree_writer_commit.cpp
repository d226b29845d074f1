#define CAF_SUITE core.tree_writer_commit
#include <caf/test/unit_test.hpp>

// The commit path of whole files (write_file), for both build sites: an
// unnamed O_TMPFILE file linked into its directory, and the staging
// fallback. Each case runs for both and checks the same outcome: the
// complete file under its name, nothing else in its directory, nothing
// left in staging.

#include "core/wire/content_hash.hpp"
#include "core/reference/tree_writer.hpp"
#include "core/op_builders.hpp"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

using namespace livesync;
using test::mkdir_op;
using test::write_op;

namespace {

constexpr int64_t mtime_a = test::some_mtime;

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

std::set<std::string> names_in(const std::string& dir) {
  std::set<std::string> out;
  std::error_code ec;
  for (auto it = std::filesystem::directory_iterator{dir, ec};
       !ec && it != std::filesystem::directory_iterator{}; it.increment(ec))
    out.insert(it->path().filename().string());
  return out;
}

struct stat lstat_of(const std::string& p) {
  struct stat st {};
  CAF_CHECK_EQUAL(::lstat(p.c_str(), &st), 0);
  return st;
}

const char* name_of(build_site s) {
  return s == build_site::tmpfile ? "tmpfile" : "staging";
}

/// A temp dir holding a root and an "outside" dir no op may touch, with a
/// writer for one build site.
struct bench_root {
  std::string tmp, root, staging, outside;
  std::unique_ptr<tree_writer> w;
  build_site site;

  explicit bench_root(build_site s) : site(s) {
    char buf[] = "/tmp/livesync-commit-XXXXXX";
    if (::mkdtemp(buf) == nullptr)
      CAF_FAIL("mkdtemp failed");
    tmp = buf;
    root = tmp + "/ref";
    staging = root + "/.livesync/staging";
    outside = tmp + "/outside";
    ::mkdir(outside.c_str(), 0755);
    write_text(outside + "/keep", "outside data");
    reopen();
  }

  ~bench_root() {
    w.reset();
    std::error_code ec;
    std::filesystem::remove_all(tmp, ec);
  }

  void reopen() {
    w.reset();
    writer_limits limits;
    limits.site = site;
    status err;
    w = tree_writer::open(root, limits, err);
    if (!w)
      CAF_FAIL("open failed: " << err.reason());
  }

  std::string at(const std::string& rel) const {
    return root + "/" + rel;
  }

  void ok(const op& x) {
    CAF_CHECK_EQUAL(w->apply(x).reason(), "");
  }
};

constexpr build_site both_sites[] = {build_site::tmpfile, build_site::staging};

} // namespace

CAF_TEST(the build site in use is the one asked for) {
  bench_root t{build_site::tmpfile};
  // Linux with /proc or CAP_DAC_READ_SEARCH on a filesystem with O_TMPFILE
  // (ext4, tmpfs, xfs, btrfs): the tests run on one.
  CAF_CHECK(t.w->linking() != tmpfile_link::none);
  bench_root s{build_site::staging};
  CAF_CHECK(s.w->linking() == tmpfile_link::none);
  // The probe leaves nothing behind.
  CAF_CHECK(names_in(t.staging).empty());
}

CAF_TEST(a new file appears complete and alone) {
  for (auto site : both_sites) {
    CAF_MESSAGE("site " << name_of(site));
    bench_root t{site};
    t.ok(mkdir_op("d"));
    t.ok(write_op("d/new", "fresh content", 0750));
    t.ok(write_op("d/empty", "", 0600));
    CAF_CHECK_EQUAL(read_text(t.at("d/new")), "fresh content");
    auto st = lstat_of(t.at("d/new"));
    CAF_CHECK(S_ISREG(st.st_mode));
    CAF_CHECK_EQUAL(st.st_mode & 07777, 0750u);
    CAF_CHECK_EQUAL(st.st_nlink, 1u); // no second name anywhere
    CAF_CHECK_EQUAL(int64_t{st.st_mtim.tv_sec} * 1000000000
                      + st.st_mtim.tv_nsec,
                    mtime_a);
    CAF_CHECK_EQUAL(lstat_of(t.at("d/empty")).st_size, 0);
    CAF_CHECK((names_in(t.at("d")) == std::set<std::string>{"empty", "new"}));
    CAF_CHECK(names_in(t.staging).empty());
    CAF_CHECK_EQUAL(t.w->stats().files_committed, 2u);
  }
}

CAF_TEST(a replaced file is swapped whole and never written in place) {
  for (auto site : both_sites) {
    CAF_MESSAGE("site " << name_of(site));
    bench_root t{site};
    t.ok(write_op("f", "old version"));
    // A second name of the old inode, and a reader holding it open: a
    // replacement by rename leaves both seeing the old content.
    CAF_REQUIRE_EQUAL(::link(t.at("f").c_str(), (t.tmp + "/old").c_str()), 0);
    int reader = ::open(t.at("f").c_str(), O_RDONLY);
    CAF_REQUIRE(reader >= 0);
    auto old_ino = lstat_of(t.at("f")).st_ino;
    t.ok(write_op("f", "new", 0600));
    CAF_CHECK_EQUAL(read_text(t.at("f")), "new");
    CAF_CHECK_EQUAL(lstat_of(t.at("f")).st_mode & 07777, 0600u);
    CAF_CHECK_NOT_EQUAL(lstat_of(t.at("f")).st_ino, old_ino);
    CAF_CHECK_EQUAL(read_text(t.tmp + "/old"), "old version");
    char buf[32] = {};
    CAF_CHECK_EQUAL(::pread(reader, buf, sizeof(buf), 0), 11);
    CAF_CHECK_EQUAL(std::string(buf), "old version");
    ::close(reader);
    CAF_CHECK((names_in(t.root) == std::set<std::string>{".livesync", "f"}));
    CAF_CHECK(names_in(t.staging).empty());
  }
}

CAF_TEST(a file replaces a directory a symlink and a fifo) {
  for (auto site : both_sites) {
    CAF_MESSAGE("site " << name_of(site));
    bench_root t{site};
    t.ok(mkdir_op("dir"));
    t.ok(mkdir_op("dir/sub"));
    t.ok(write_op("dir/sub/inner", "inner"));
    t.ok(write_op("dir", "was a directory"));
    CAF_CHECK(S_ISREG(lstat_of(t.at("dir")).st_mode));
    CAF_CHECK_EQUAL(read_text(t.at("dir")), "was a directory");
    // A symlink to a file outside: replaced, never written through.
    CAF_REQUIRE_EQUAL(::symlink((t.outside + "/keep").c_str(),
                                t.at("link").c_str()),
                      0);
    t.ok(write_op("link", "was a symlink"));
    CAF_CHECK(S_ISREG(lstat_of(t.at("link")).st_mode));
    CAF_CHECK_EQUAL(read_text(t.outside + "/keep"), "outside data");
    CAF_REQUIRE_EQUAL(::mkfifo(t.at("fifo").c_str(), 0644), 0);
    t.ok(write_op("fifo", "was a fifo"));
    CAF_CHECK_EQUAL(read_text(t.at("fifo")), "was a fifo");
    CAF_CHECK((names_in(t.root)
               == std::set<std::string>{".livesync", "dir", "fifo", "link"}));
    CAF_CHECK(names_in(t.staging).empty());
    CAF_CHECK((names_in(t.outside) == std::set<std::string>{"keep"}));
  }
}

CAF_TEST(a refused commit leaves no debris) {
  for (auto site : both_sites) {
    CAF_MESSAGE("site " << name_of(site));
    bench_root t{site};
    t.ok(write_op("f", "old"));
    // A parent that is a file: refused before anything is created.
    CAF_CHECK(!t.w->apply(write_op("f/child", "x")));
    // A bad hash: refused before anything is created.
    auto bad = write_op("g", "data");
    bad.hash = hash_bytes("other", 5);
    CAF_CHECK(!t.w->apply(bad));
    CAF_CHECK((names_in(t.root) == std::set<std::string>{".livesync", "f"}));
    CAF_CHECK_EQUAL(read_text(t.at("f")), "old");
    CAF_CHECK(names_in(t.staging).empty());
  }
}

CAF_TEST(a crash leaves only staging debris which the next open removes) {
  for (auto site : both_sites) {
    CAF_MESSAGE("site " << name_of(site));
    bench_root t{site};
    t.w.reset();
    // A child process commits one file, leaves a streamed transfer open
    // (a staging file), holds an unnamed file in "d" as write_file does
    // between its create and its link, and dies without any clean-up.
    auto pid = ::fork();
    CAF_REQUIRE(pid >= 0);
    if (pid == 0) {
      writer_limits limits;
      limits.site = site;
      status err;
      auto w = tree_writer::open(t.root, limits, err);
      bool fine = w && w->apply(mkdir_op("d"))
                  && w->apply(write_op("d/done", "committed"));
      op begin;
      begin.kind = op_kind::begin_file;
      begin.xfer = 1;
      begin.path = "d/streamed";
      begin.size = 10;
      begin.mode = 0644;
      op chunk;
      chunk.kind = op_kind::chunk;
      chunk.xfer = 1;
      chunk.data = {'1', '2', '3', '4', '5'};
      fine = fine && w->apply(begin) && w->apply(chunk);
      int unnamed = ::open(t.at("d").c_str(), O_TMPFILE | O_RDWR, 0600);
      fine = fine && unnamed >= 0 && ::write(unnamed, "half", 4) == 4;
      ::_exit(fine ? 0 : 1); // no destructor runs: a crash
    }
    int wstatus = 0;
    CAF_REQUIRE_EQUAL(::waitpid(pid, &wstatus, 0), pid);
    CAF_REQUIRE(WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0);
    // The tree holds the committed file only; the half-built ones are
    // either unnamed (gone with the process) or in staging.
    CAF_CHECK((names_in(t.at("d")) == std::set<std::string>{"done"}));
    CAF_CHECK_EQUAL(read_text(t.at("d/done")), "committed");
    CAF_CHECK_EQUAL(names_in(t.staging).size(), 1u);
    t.reopen();
    CAF_CHECK(names_in(t.staging).empty());
    CAF_CHECK((names_in(t.at("d")) == std::set<std::string>{"done"}));
    t.ok(write_op("d/after", "next run"));
    CAF_CHECK_EQUAL(read_text(t.at("d/after")), "next run");
  }
}

// Every file op finds its parent anew: after the directory of the last
// file moved or went away, the next file goes where the path leads now.
CAF_TEST(a file op follows the path as it is now) {
  for (auto site : both_sites) {
    CAF_MESSAGE("site " << name_of(site));
    bench_root t{site};
    op rename;
    rename.kind = op_kind::rename;
    rename.path = "d";
    rename.target = "moved";
    op remove;
    remove.kind = op_kind::remove;
    remove.path = "d";
    op link;
    link.kind = op_kind::symlink;
    link.path = "d";
    link.target = t.outside;
    // Renamed away, then made again: the next file goes to the new one.
    t.ok(mkdir_op("d"));
    t.ok(write_op("d/a", "a"));
    t.ok(rename);
    t.ok(mkdir_op("d"));
    t.ok(write_op("d/b", "b"));
    CAF_CHECK((names_in(t.at("d")) == std::set<std::string>{"b"}));
    CAF_CHECK((names_in(t.at("moved")) == std::set<std::string>{"a"}));
    // Removed: the next file has no parent.
    t.ok(remove);
    CAF_CHECK(!t.w->apply(write_op("d/c", "c")));
    // A symlink to a directory outside in its place: refused, outside
    // untouched.
    t.ok(mkdir_op("d"));
    t.ok(write_op("d/a", "a"));
    t.ok(link);
    CAF_CHECK(!t.w->apply(write_op("d/c", "c")));
    CAF_CHECK((names_in(t.outside) == std::set<std::string>{"keep"}));
    // Replaced by a file (a file op on its parent): no parent any more.
    t.ok(remove);
    t.ok(mkdir_op("d"));
    t.ok(write_op("d/a", "a"));
    t.ok(write_op("d", "a file now"));
    CAF_CHECK(!t.w->apply(write_op("d/c", "c")));
    CAF_CHECK_EQUAL(read_text(t.at("d")), "a file now");
    CAF_CHECK(names_in(t.staging).empty());
  }
}
