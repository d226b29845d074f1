#define CAF_SUITE core.rooted_fs
#include <caf/test/unit_test.hpp>

#include "core/common/rooted_fs.hpp"

#include "core/common/path_rules.hpp"
#include "core/wire/tree_listing.hpp"

#include <cerrno>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

using namespace livesync;

namespace {

timespec ts(int64_t sec, long nsec) {
  timespec out{};
  out.tv_sec = static_cast<time_t>(sec);
  out.tv_nsec = nsec;
  return out;
}

} // namespace

// Found by tests/fuzz (fuzz_tree_writer): a peer's set_attr with mtime_ns
// INT64_MIN is stored by tmpfs as -9223372037 s + 145224192 ns, and reading
// it back as tv_sec * 1e9 + tv_nsec overflowed (undefined behaviour) in the
// manifest. The conversion is exact wherever the result fits in int64_t.
CAF_TEST(times far from 1970 convert exactly or saturate) {
  struct row {
    timespec in;
    int64_t out;
  };
  const row rows[] = {
    {ts(0, 0), 0},
    {ts(1600000000, 123456789), 1600000000123456789},
    {ts(-1, 999999999), -1},
    {ts(-2, 0), -2000000000},
    {ts(-1, 1), -999999999},
    // The extremes set_mtime_* can write read back exactly.
    {ts(-9223372037, 145224192), INT64_MIN},
    {ts(9223372036, 854775807), INT64_MAX},
    {ts(-9223372036, 0), -9223372036000000000},
    // Beyond them: saturated, never wrapped.
    {ts(-9223372037, 145224191), INT64_MIN},
    {ts(-9223372037, 0), INT64_MIN},
    {ts(9223372036, 854775808), INT64_MAX},
    {ts(9223372037, 0), INT64_MAX},
    {ts(INT64_MIN, 0), INT64_MIN},
    {ts(INT64_MAX, 999999999), INT64_MAX},
  };
  for (const auto& r : rows) {
    CAF_MESSAGE("tv_sec=" << r.in.tv_sec << " tv_nsec=" << r.in.tv_nsec);
    CAF_CHECK_EQUAL(ns_since_epoch(r.in), r.out);
  }
}

CAF_TEST(mtime_ns_of reads st_mtim through the same conversion) {
  struct stat st {};
  st.st_mtim = ts(-9223372037, 145224192);
  CAF_CHECK_EQUAL(mtime_ns_of(st), INT64_MIN);
  st.st_mtim = ts(1500000000, 987654321);
  CAF_CHECK_EQUAL(mtime_ns_of(st), 1500000000987654321);
}

namespace {

/// A temp dir, removed (as far as it can be) at the end.
struct tmp_dir {
  std::string path;
  tmp_dir() {
    char buf[] = "/tmp/livesync-rooted-fs-XXXXXX";
    if (::mkdtemp(buf) == nullptr)
      CAF_FAIL("mkdtemp failed");
    path = buf;
  }
  ~tmp_dir() {
    int root = ::open(path.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
    remove_tree_at(root, "t");
    ::close(root);
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
};

/// Makes `levels` nested directories "d" beneath `dir` (a file "f" in every
/// 100th, mode 0500 for every 7th) without long paths: one openat at a time.
void make_chain(const std::string& dir, int levels) {
  unique_fd cur{::open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC)};
  std::vector<unique_fd> readonly; // chmod after their child exists
  for (int i = 0; i < levels; ++i) {
    CAF_REQUIRE_EQUAL(::mkdirat(cur.get(), "d", 0755), 0);
    unique_fd next{::openat(cur.get(), "d", O_PATH | O_DIRECTORY | O_CLOEXEC)};
    CAF_REQUIRE(next.valid());
    if (i % 100 == 0) {
      unique_fd f{::openat(next.get(), ".", O_RDONLY | O_DIRECTORY)};
      ::close(::openat(f.get(), "f", O_CREAT | O_WRONLY | O_CLOEXEC, 0644));
    }
    if (i % 7 == 0)
      ::fchmodat(cur.get(), "d", 0500, 0);
    cur = std::move(next);
  }
}

/// Lowers the soft limit of open descriptors while it lives.
struct fd_limit {
  rlimit old{};
  explicit fd_limit(rlim_t n) {
    ::getrlimit(RLIMIT_NOFILE, &old);
    rlimit lower = old;
    lower.rlim_cur = n;
    ::setrlimit(RLIMIT_NOFILE, &lower);
  }
  ~fd_limit() {
    ::setrlimit(RLIMIT_NOFILE, &old);
  }
};

} // namespace

// A rename can nest subtrees past any depth limit on a reference; removing
// one must neither recurse (stack) nor hold a descriptor per level.
CAF_TEST(remove_tree_at removes 3000 levels with a handful of descriptors) {
  tmp_dir tmp;
  ::mkdir((tmp.path + "/t").c_str(), 0755);
  make_chain(tmp.path + "/t", 3000);
  unique_fd dir{::open((tmp.path + "/t").c_str(), O_PATH | O_DIRECTORY)};
  {
    fd_limit limit{32};
    CAF_CHECK_EQUAL(remove_tree_at(dir.get(), "d"), 0);
  }
  struct stat st;
  CAF_CHECK_EQUAL(::fstatat(dir.get(), "d", &st, AT_SYMLINK_NOFOLLOW), -1);
}

CAF_TEST(the digest walk stops at the depth no operation may name) {
  tmp_dir tmp;
  ::mkdir((tmp.path + "/t").c_str(), 0755);
  make_chain(tmp.path + "/t", 3000);
  unique_fd root{::open((tmp.path + "/t").c_str(), O_RDONLY | O_DIRECTORY)};
  for (bool strict : {false, true}) {
    CAF_MESSAGE("strict " << strict);
    walk_options opts;
    opts.strict = strict;
    opts.grant_owner_access = strict;
    std::vector<dir_listing> dirs;
    {
      // One descriptor per level it walks: bounded by the depth limit.
      fd_limit limit{max_path_depth + 64};
      auto walked = walk_listings(root.get(), opts, dirs);
      CAF_CHECK_EQUAL(walked.reason(), "");
    }
    // "", d, ..., down to the directory whose children are at the limit.
    CAF_CHECK_EQUAL(dirs.size(), max_path_depth);
    for (auto& d : dirs)
      for (auto& e : d.entries)
        CAF_CHECK(!invalid_path_reason(join_path(d.path, e.name)));
  }
}

CAF_TEST(open_dir_beneath refuses symlinks with and without openat2) {
  tmp_dir tmp;
  auto t = tmp.path + "/t";
  ::mkdir(t.c_str(), 0755);
  ::mkdir((t + "/a").c_str(), 0755);
  ::mkdir((t + "/a/b").c_str(), 0755);
  ::symlink("/", (t + "/up").c_str());
  ::symlink("a", (t + "/a/b/back").c_str());
  unique_fd root{::open(t.c_str(), O_PATH | O_DIRECTORY)};
  for (bool component : {false, true}) {
    CAF_MESSAGE("component walk " << component);
    auto before = force_component_walk(component);
    struct case_t {
      const char* rel;
      int err; // 0: opens
    };
    for (auto c : {case_t{"", 0}, case_t{"a", 0}, case_t{"a/b", 0},
                   case_t{"up", ELOOP}, case_t{"up/tmp", ELOOP},
                   case_t{"a/b/back", ELOOP}, case_t{"a/b/back/b", ELOOP},
                   case_t{"missing", ENOENT}}) {
      int err = -1;
      auto fd = open_dir_beneath(root.get(), c.rel, err);
      CAF_CHECK_EQUAL(fd.valid(), c.err == 0);
      // The component walk says ENOTDIR where O_DIRECTORY meets a link.
      if (c.err == ELOOP)
        CAF_CHECK(err == ELOOP || err == ENOTDIR);
      else
        CAF_CHECK_EQUAL(err, c.err);
    }
    force_component_walk(before);
  }
}
