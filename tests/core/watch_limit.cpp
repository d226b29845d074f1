#define CAF_SUITE core.watch_limit
#include <caf/test/unit_test.hpp>

// The watch-limit case of add_watch_tree, in a suite of its own: it needs a
// user namespace (a per-namespace inotify limit leaves the host untouched),
// and where the kernel or sandbox refuses one it prints "SKIPPED: ..." to
// stdout, which tests/CMakeLists.txt maps to a CTest skip.

#include "core/watcher/watch_setup.hpp"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include <sched.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

using namespace livesync;

namespace {

struct fixture {
  std::string tmp;
  std::string root;

  fixture() {
    char buf[] = "/tmp/livesync-watch-limit-XXXXXX";
    if (::mkdtemp(buf) == nullptr)
      CAF_FAIL("mkdtemp failed");
    tmp = buf;
    root = tmp + "/root";
    ::mkdir(root.c_str(), 0755);
  }

  ~fixture() {
    std::error_code ec;
    std::filesystem::remove_all(tmp, ec);
  }

  void mkdir(const std::string& rel) {
    CAF_REQUIRE_EQUAL(::mkdir((root + "/" + rel).c_str(), 0755), 0);
  }
};

} // namespace

namespace {

/// Runs add_watch_tree(root) in a child process inside a new user namespace
/// whose inotify watch limit is `limit` (a per-namespace limit: the host's
/// is untouched). Returns the report as text, or nothing when this kernel or
/// sandbox refuses user namespaces.
std::optional<std::string> watch_with_limit(const fixture& fx, int limit) {
  int pipe_fds[2];
  if (::pipe(pipe_fds) != 0)
    return std::nullopt;
  auto uid = ::getuid();
  auto gid = ::getgid();
  auto pid = ::fork();
  if (pid == 0) {
    // The child is single-threaded, as unshare(CLONE_NEWUSER) requires.
    ::close(pipe_fds[0]);
    auto put = [](const std::string& path, const std::string& text) {
      std::ofstream out{path};
      out << text;
      out.flush();
      return static_cast<bool>(out);
    };
    if (::unshare(CLONE_NEWUSER) != 0 || !put("/proc/self/setgroups", "deny")
        || !put("/proc/self/uid_map", "0 " + std::to_string(uid) + " 1")
        || !put("/proc/self/gid_map", "0 " + std::to_string(gid) + " 1")
        || !put("/proc/sys/user/max_inotify_watches", std::to_string(limit)))
      ::_exit(3);
    int fd = ::inotify_init1(IN_CLOEXEC);
    watch_table table;
    auto r = add_watch_tree(fd, fx.root, "", table);
    std::string text = "added=" + std::to_string(r.added)
                       + " limit=" + std::to_string(r.limit_reached)
                       + " unwatched=";
    for (auto& d : r.unwatched)
      text += d + ",";
    text += " errors=" + std::to_string(r.errors.size()) + "\n";
    for (auto& e : r.errors)
      text += e + "\n";
    [[maybe_unused]] auto n = ::write(pipe_fds[1], text.data(), text.size());
    ::_exit(0);
  }
  ::close(pipe_fds[1]);
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(pipe_fds[0], buf, sizeof(buf))) > 0)
    out.append(buf, static_cast<size_t>(n));
  ::close(pipe_fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    return std::nullopt;
  return out;
}

} // namespace

CAF_TEST(the watch limit leaves whole subtrees unwatched and names the sysctl) {
  fixture fx;
  // A depth-first walk from the root: "", then the last pushed child first.
  for (auto d : {"a", "a/x", "a/x/y", "b", "c", "c/z"})
    fx.mkdir(d);
  // Room for 3 watches: the root and two more.
  auto out = watch_with_limit(fx, 3);
  if (!out) {
    std::printf("SKIPPED: user namespaces unavailable here\n");
    std::fflush(stdout);
    return;
  }
  CAF_MESSAGE(*out);
  auto first_line = out->substr(0, out->find('\n'));
  CAF_CHECK_EQUAL(first_line.substr(0, first_line.find(" unwatched=")),
                  "added=3 limit=1");
  // 7 directories, 3 watched; the unwatched roots cover the other 4 and no
  // unwatched directory is listed beneath another (the walk stops there).
  auto list = first_line.substr(first_line.find("unwatched=") + 10);
  list = list.substr(0, list.find(' '));
  std::vector<std::string> dirs;
  for (size_t pos = 0; pos < list.size();) {
    auto comma = list.find(',', pos);
    dirs.push_back(list.substr(pos, comma - pos));
    pos = comma + 1;
  }
  CAF_CHECK(std::is_sorted(dirs.begin(), dirs.end()));
  size_t covered = 0;
  for (auto d : {"a", "a/x", "a/x/y", "b", "c", "c/z"})
    covered += std::any_of(dirs.begin(), dirs.end(), [&](auto& u) {
      return std::string{d} == u || std::string{d}.rfind(u + "/", 0) == 0;
    });
  CAF_CHECK_EQUAL(covered, 4u);
  for (auto& u : dirs)
    for (auto& v : dirs)
      CAF_CHECK(u == v || v.rfind(u + "/", 0) != 0);
  // One line for all of them, naming the sysctl and the command.
  CAF_CHECK(first_line.find("errors=1") != std::string::npos);
  CAF_CHECK(out->find("fs.inotify.max_user_watches") != std::string::npos);
  CAF_CHECK(out->find("sysctl -w fs.inotify.max_user_watches=")
            != std::string::npos);
  CAF_CHECK(out->find(std::to_string(dirs.size()) + " directories")
            != std::string::npos);
}
