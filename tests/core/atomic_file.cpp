#define CAF_SUITE core.atomic_file
#include <caf/test/unit_test.hpp>

#include "core/common/atomic_file.hpp"

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <sys/stat.h>
#include <unistd.h>

using namespace livesync;
namespace fs = std::filesystem;

namespace {

struct temp_dir {
  std::string path;
  temp_dir() {
    char buf[] = "/tmp/livesync-atomic-XXXXXX";
    if (::mkdtemp(buf) == nullptr)
      CAF_FAIL("mkdtemp failed");
    path = buf;
  }
  ~temp_dir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

std::string slurp(const std::string& p) {
  std::ifstream in{p, std::ios::binary};
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<std::string> names_in(const std::string& dir) {
  std::vector<std::string> out;
  for (auto& e : fs::directory_iterator(dir))
    out.push_back(e.path().filename().string());
  return out;
}

} // namespace

CAF_TEST(a replaced file is a new inode with the whole content) {
  temp_dir d;
  auto p = d.path + "/w.prom";
  CAF_REQUIRE(replace_file(p, "one\n"));
  struct stat a {};
  CAF_REQUIRE(::stat(p.c_str(), &a) == 0);
  CAF_CHECK_EQUAL(slurp(p), "one\n");
  // Readable by node_exporter's own user.
  CAF_CHECK_EQUAL(a.st_mode & 07777, 0644u);
  // A reader holding the old file keeps reading the old content whole.
  std::ifstream old_reader{p, std::ios::binary};
  CAF_REQUIRE(replace_file(p, std::string(100000, 'x')));
  struct stat b {};
  CAF_REQUIRE(::stat(p.c_str(), &b) == 0);
  CAF_CHECK_NOT_EQUAL(a.st_ino, b.st_ino);
  CAF_CHECK_EQUAL(slurp(p).size(), 100000u);
  std::stringstream ss;
  ss << old_reader.rdbuf();
  CAF_CHECK_EQUAL(ss.str(), "one\n");
  // No temporary file is left behind.
  CAF_CHECK_EQUAL(names_in(d.path), std::vector<std::string>{"w.prom"});
}

CAF_TEST(a failed replace names the directory and leaves nothing) {
  temp_dir d;
  auto st = replace_file(d.path + "/missing/w.prom", "x");
  CAF_CHECK(!st);
  CAF_CHECK(st.reason().find(d.path + "/missing") != std::string::npos);
  // Renaming over a directory fails: the temporary file goes again.
  fs::create_directory(d.path + "/dir.prom");
  fs::create_directory(d.path + "/dir.prom/x");
  CAF_CHECK(!replace_file(d.path + "/dir.prom", "x"));
  CAF_CHECK_EQUAL(names_in(d.path), std::vector<std::string>{"dir.prom"});
}

CAF_TEST(start up checks say what is wrong with the path) {
  temp_dir d;
  std::ofstream{d.path + "/file"} << "x";
  fs::create_directory(d.path + "/dir");
  struct case_t {
    std::string path;
    const char* reason; // "" = usable
  };
  std::vector<case_t> cases{
    {d.path + "/w.prom", ""},
    {d.path + "/file", ""}, // an existing file is replaced
    {d.path + "/nope/w.prom", "No such file or directory"},
    {d.path + "/file/w.prom", "is not a directory"},
    {d.path + "/dir", "names a directory"},
    {d.path + "/dir/", "names a directory"},
    {"", "empty path"},
  };
  for (auto& c : cases) {
    CAF_MESSAGE(c.path);
    auto st = check_replaceable(c.path);
    if (*c.reason == '\0')
      CAF_CHECK(st.ok());
    else
      CAF_CHECK(st.reason().find(c.reason) != std::string::npos);
  }
  // A bare name is in the current directory.
  CAF_CHECK(check_replaceable("w.prom").ok() || ::access(".", W_OK) != 0);
}
