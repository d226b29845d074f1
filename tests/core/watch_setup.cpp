#define CAF_SUITE core.watch_setup
#include <caf/test/unit_test.hpp>

#include "core/watcher/watch_setup.hpp"
#include "core/watcher/inotify_decode.hpp"

#include "core/as_nobody.hpp"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <poll.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

using namespace livesync;

namespace {

using strings = std::vector<std::string>;

// -- a real tree and a real inotify descriptor --------------------------------

struct fixture {
  std::string tmp;
  std::string root;
  int fd = -1;

  fixture() {
    char buf[] = "/tmp/livesync-watch-setup-XXXXXX";
    if (::mkdtemp(buf) == nullptr)
      CAF_FAIL("mkdtemp failed");
    tmp = buf;
    root = tmp + "/root";
    ::mkdir(root.c_str(), 0755);
    fd = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (fd < 0)
      CAF_FAIL("inotify_init1 failed: " << std::strerror(errno));
  }

  ~fixture() {
    if (fd >= 0)
      ::close(fd);
    std::error_code ec;
    std::filesystem::remove_all(tmp, ec);
  }

  std::string at(const std::string& rel) const {
    return root + "/" + rel;
  }

  void mkdir(const std::string& rel) {
    CAF_REQUIRE_EQUAL(::mkdir(at(rel).c_str(), 0755), 0);
  }

  void touch(const std::string& rel) {
    std::ofstream out{at(rel)};
  }

  /// Reads what the kernel has queued, waiting up to a second for it.
  std::vector<inotify_record> read_events() {
    std::vector<inotify_record> out;
    alignas(inotify_event) char buf[4096];
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 1000) <= 0)
      return out;
    for (;;) {
      auto n = ::read(fd, buf, sizeof(buf));
      if (n <= 0)
        return out;
      auto batch = decode_inotify(buf, static_cast<size_t>(n));
      out.insert(out.end(), batch.begin(), batch.end());
    }
  }
};

/// The paths in `table` for each of `paths` that is watched.
strings watched(const watch_table& table, const strings& paths) {
  strings out;
  for (auto& p : paths)
    if (auto wd = table.wd_of(p); wd && table.path_of(*wd) == p)
      out.push_back(p);
  return out;
}

} // namespace

// -- add_watch_tree -----------------------------------------------------------

CAF_TEST(the mask asks for what the interpreter needs) {
  auto m = watch_mask();
  for (uint32_t bit : {IN_CREATE, IN_DELETE, IN_MODIFY, IN_CLOSE_WRITE,
                       IN_ATTRIB, IN_MOVED_FROM, IN_MOVED_TO, IN_ONLYDIR,
                       IN_DONT_FOLLOW})
    CAF_CHECK_EQUAL(m & bit, bit);
}

CAF_TEST(a tree is watched whole except the state folder and symlinks) {
  fixture fx;
  for (auto d : {"a", "a/b", "a/b/c", "e", "e/.livesync", ".livesync",
                 ".livesync/staging", "outside", "outside/x"})
    fx.mkdir(d);
  fx.touch("a/file");
  fx.touch("a/b/file");
  ::symlink("../a", fx.at("e/link").c_str());
  ::symlink((fx.tmp + "/root/outside").c_str(), fx.at("abs").c_str());
  watch_table table;
  auto r = add_watch_tree(fx.fd, fx.root, "", table);
  CAF_CHECK(r.errors.empty());
  CAF_CHECK(!r.limit_reached);
  strings expected{"",  "a",           "a/b",     "a/b/c",
                   "e", "e/.livesync", "outside", "outside/x"};
  CAF_CHECK_EQUAL(r.added, expected.size());
  CAF_CHECK_EQUAL(table.size(), expected.size());
  CAF_CHECK_EQUAL(watched(table, expected), expected);
  for (auto p : {".livesync", ".livesync/staging", "e/link", "e/link/b",
                 "abs", "a/file"})
    CAF_CHECK_EQUAL(table.wd_of(p), std::nullopt);
}

CAF_TEST(a subtree is watched under its root relative name) {
  fixture fx;
  for (auto d : {"a", "a/b", "a/b/c", "a/.livesync", "z"})
    fx.mkdir(d);
  watch_table table;
  auto r = add_watch_tree(fx.fd, fx.root, "a", table);
  CAF_CHECK(r.errors.empty());
  strings expected{"a", "a/.livesync", "a/b", "a/b/c"};
  CAF_CHECK_EQUAL(r.added, expected.size());
  CAF_CHECK_EQUAL(table.size(), expected.size());
  CAF_CHECK_EQUAL(watched(table, expected), expected);
  CAF_CHECK_EQUAL(table.wd_of(""), std::nullopt);
  CAF_CHECK_EQUAL(table.wd_of("z"), std::nullopt);
}

CAF_TEST(what cannot be watched is skipped silently) {
  fixture fx;
  fx.mkdir("d");
  fx.touch("f");
  ::symlink("d", fx.at("link").c_str());
  for (auto rel : {"missing", "f", "link", "missing/below"}) {
    CAF_MESSAGE(rel);
    watch_table table;
    auto r = add_watch_tree(fx.fd, fx.root, rel, table);
    CAF_CHECK_EQUAL(r.added, 0u);
    CAF_CHECK(r.errors.empty());
    CAF_CHECK(!r.limit_reached);
    CAF_CHECK_EQUAL(table.size(), 0u);
  }
}

CAF_TEST(what the watcher may not read is reported unreadable not failed) {
  if (::geteuid() != 0) {
    CAF_MESSAGE("skipped: needs root to make directories of another owner");
    return;
  }
  fixture fx;
  ::chmod(fx.tmp.c_str(), 0755);
  fx.mkdir("d");           // not readable: no watch at all
  fx.mkdir("d/below");
  fx.mkdir("e");           // readable, not searchable: watched, children not
  fx.mkdir("e/sub");
  fx.mkdir("ok");
  ::chmod(fx.at("d").c_str(), 0700);
  ::chmod(fx.at("e").c_str(), 0744);
  watch_table table;
  watch_report r;
  {
    // A directory of root's with these modes, seen by another user.
    test::as_nobody user;
    r = add_watch_tree(fx.fd, fx.root, "", table);
  }
  CAF_CHECK_EQUAL(r.unreadable, (strings{"d", "e/sub"}));
  CAF_CHECK(r.errors.empty());
  CAF_CHECK_EQUAL(watched(table, {"", "d", "e", "e/sub", "ok"}),
                  (strings{"", "e", "ok"}));
}

CAF_TEST(a second call finds the same watches) {
  // The kernel returns the wd it already has for an inode; the table keeps
  // one entry per directory.
  fixture fx;
  fx.mkdir("a");
  fx.mkdir("a/b");
  watch_table table;
  CAF_CHECK_EQUAL(add_watch_tree(fx.fd, fx.root, "", table).added, 3u);
  auto wd = table.wd_of("a/b");
  CAF_CHECK_EQUAL(add_watch_tree(fx.fd, fx.root, "a", table).added, 2u);
  CAF_CHECK_EQUAL(table.size(), 3u);
  CAF_CHECK_EQUAL(table.wd_of("a/b"), wd);
}

CAF_TEST(real events decode to the recorded watches) {
  fixture fx;
  fx.mkdir("a");
  fx.mkdir("a/b");
  watch_table table;
  add_watch_tree(fx.fd, fx.root, "", table);
  auto b_wd = table.wd_of("a/b");
  CAF_REQUIRE(b_wd.has_value());
  // A name long enough to be padded by the kernel.
  fx.touch("a/b/some-file-name");
  auto events = fx.read_events();
  CAF_REQUIRE(!events.empty());
  CAF_CHECK_EQUAL(events.front().wd, *b_wd);
  CAF_CHECK_EQUAL(events.front().mask & IN_CREATE, IN_CREATE);
  CAF_CHECK_EQUAL(events.front().name, "some-file-name");
  for (auto& ev : events) {
    CAF_CHECK_EQUAL(ev.wd, *b_wd);
    CAF_CHECK_EQUAL(ev.name, "some-file-name");
  }
}
