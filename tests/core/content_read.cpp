#define CAF_SUITE core.content_read
#include <caf/test/unit_test.hpp>

#include "core/watcher/chunk_scan.hpp"
#include "core/watcher/content_read.hpp"
#include "core/wire/content_hash.hpp"

#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

// What a content worker does with one file (core/watcher/content_read):
// a small one read whole, a larger one chunked into the list its upload
// streams from.

using namespace livesync;

namespace {

struct temp_dir {
  std::string path;
  temp_dir() {
    char tmpl[] = "/tmp/livesync-content-read-XXXXXX";
    path = ::mkdtemp(tmpl);
  }
  ~temp_dir() {
    std::filesystem::remove_all(path);
  }
};

std::string random_bytes(size_t n, unsigned seed) {
  std::mt19937_64 rng{seed};
  std::string out(n, '\0');
  for (auto& c : out)
    c = static_cast<char>(rng());
  return out;
}

} // namespace

CAF_TEST(a small read reads the version it saw or says why not) {
  temp_dir tmp;
  auto& dir = tmp.path;
  std::ofstream{dir + "/f"} << "hello";
  content_read r;
  r.full_path = dir + "/f";
  r.run();
  CAF_CHECK(r.outcome == read_outcome::ok);
  CAF_CHECK_EQUAL(std::string(r.data.begin(), r.data.end()), "hello");
  CAF_CHECK_EQUAL(r.meta.size, 5u);
  CAF_CHECK(r.hash == hash_bytes("hello", 5));
  content_read gone;
  gone.full_path = dir + "/missing";
  gone.run();
  CAF_CHECK(gone.outcome == read_outcome::vanished);
}

CAF_TEST(a cached read takes only what the page cache holds) {
  temp_dir tmp;
  auto& dir = tmp.path;
  auto path = dir + "/f";
  std::string text(20000, 'z');
  std::ofstream{path} << text;
  content_read warm;
  warm.full_path = path;
  CAF_REQUIRE(warm.run_cached()); // Just written: in the cache.
  CAF_CHECK(warm.outcome == read_outcome::ok);
  CAF_CHECK_EQUAL(warm.data.size(), text.size());
  CAF_CHECK(warm.hash == hash_bytes(text.data(), text.size()));
  // Written back and dropped from the cache: it would wait for the disk.
  int fd = ::open(path.c_str(), O_RDONLY);
  CAF_REQUIRE(fd >= 0);
  ::fdatasync(fd);
  ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
  ::close(fd);
  content_read cold;
  cold.full_path = path;
  if (cold.run_cached()) {
    // A filesystem without RWF_NOWAIT (or the page came back): read as
    // usual, and right.
    CAF_MESSAGE("read anyway: no RWF_NOWAIT here, or cached again");
    CAF_CHECK(cold.outcome == read_outcome::ok);
    CAF_CHECK(cold.hash == warm.hash);
  } else {
    CAF_CHECK(cold.data.empty());
    CAF_CHECK(cold.outcome == read_outcome::failed); // Untouched.
    cold.run();
    CAF_CHECK(cold.outcome == read_outcome::ok);
    CAF_CHECK(cold.hash == warm.hash);
  }
  content_read gone;
  gone.full_path = dir + "/missing";
  CAF_CHECK(gone.run_cached()); // An answer, from no disk read.
  CAF_CHECK(gone.outcome == read_outcome::vanished);
}

CAF_TEST(a chunked read gives the list a sender would make of that version) {
  temp_dir tmp;
  auto path = tmp.path + "/big";
  auto text = random_bytes(3u << 20, 7); // Several chunking blocks.
  std::ofstream{path, std::ios::binary} << text;
  chunker_params p{1024, 4096, 32768};
  content_read r;
  r.full_path = path;
  r.chunking = p;
  CAF_CHECK(!r.run_cached()); // A worker's job, never the sender's.
  CAF_CHECK(r.outcome == read_outcome::failed);
  r.run();
  CAF_REQUIRE(r.outcome == read_outcome::ok);
  CAF_REQUIRE(r.list != nullptr);
  CAF_CHECK(std::string(r.data.begin(), r.data.end()) == text);
  CAF_CHECK(r.hash == hash_bytes(text.data(), text.size()));
  CAF_CHECK_EQUAL(r.meta.size, text.size());
  // The same as chunking it in one go.
  chunk_scan scan{p};
  std::string reason;
  CAF_REQUIRE(scan.open(path, reason) == read_outcome::ok);
  while (!scan.at_end())
    CAF_REQUIRE(scan.step(64u << 10, reason) == read_outcome::ok);
  chunk_list expected;
  CAF_REQUIRE(scan.finish(expected) == read_outcome::ok);
  CAF_CHECK(r.list->chunks == expected.chunks);
  CAF_CHECK(r.list->hash == expected.hash);
  CAF_CHECK(r.list->hash == hash_bytes(text.data(), text.size()));
  CAF_CHECK_EQUAL(r.list->version.size, expected.version.size);
  CAF_CHECK_EQUAL(r.list->version.mtime_ns, expected.version.mtime_ns);
  CAF_CHECK_EQUAL(r.list->version.mode, expected.version.mode);
  uint64_t total = 0;
  for (auto& c : r.list->chunks)
    total += c.length;
  CAF_CHECK_EQUAL(total, text.size());
}

CAF_TEST(a chunked read of a file that is gone or unreadable has no list) {
  temp_dir tmp;
  content_read gone;
  gone.full_path = tmp.path + "/missing";
  gone.chunking = chunker_params{};
  gone.run();
  CAF_CHECK(gone.outcome == read_outcome::vanished);
  CAF_CHECK(gone.list == nullptr);
  content_read dir;
  dir.full_path = tmp.path; // Not a file.
  dir.chunking = chunker_params{};
  dir.run();
  CAF_CHECK(dir.outcome != read_outcome::ok);
  CAF_CHECK(dir.list == nullptr);
}

CAF_TEST(a read over its bound or cancelled takes nothing) {
  temp_dir tmp;
  auto path = tmp.path + "/grew";
  std::ofstream{path} << std::string(5000, 'g');
  // Planned at a size that fit; it has grown past the bound since.
  content_read r;
  r.full_path = path;
  r.max_bytes = 4096;
  r.run();
  CAF_CHECK(r.outcome == read_outcome::changed);
  CAF_CHECK(r.data.empty());
  content_read scan;
  scan.full_path = path;
  scan.max_bytes = 4096;
  scan.chunking = chunker_params{};
  scan.run();
  CAF_CHECK(scan.outcome == read_outcome::changed);
  CAF_CHECK(scan.list == nullptr);
  // The link it was for is gone: skipped.
  content_read cancelled;
  cancelled.full_path = path;
  cancelled.cancelled = true;
  cancelled.run();
  CAF_CHECK(cancelled.outcome == read_outcome::failed);
  CAF_CHECK(cancelled.data.empty());
  // At the bound it is read.
  content_read fits;
  fits.full_path = path;
  fits.max_bytes = 5000;
  fits.run();
  CAF_CHECK(fits.outcome == read_outcome::ok);
  CAF_CHECK_EQUAL(fits.data.size(), 5000u);
}
