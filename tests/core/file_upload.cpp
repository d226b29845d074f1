#define CAF_SUITE core.file_upload
#include <caf/test/unit_test.hpp>

#include "core/watcher/chunk_scan.hpp"
#include "core/watcher/file_upload.hpp"
#include "core/watcher/recipe_cache.hpp"
#include "core/common/splitmix.hpp"
#include "core/reference/tree_writer.hpp"

#include <cstdio>
#include <cstdlib>
#include <functional>
#include <fstream>
#include <random>
#include <sstream>
#include <sys/stat.h>
#include <unistd.h>

using namespace livesync;

namespace {

std::vector<char> noise(size_t n, uint64_t seed) {
  return splitmix_bytes(n, seed);
}

void write(const std::string& path, const std::vector<char>& data) {
  std::ofstream out{path, std::ios::binary | std::ios::trunc};
  out.write(data.data(), static_cast<std::streamsize>(data.size()));
}

std::vector<char> read(const std::string& path) {
  std::ifstream in{path, std::ios::binary};
  return {std::istreambuf_iterator<char>{in}, {}};
}

// A watched dir and a reference root, and an upload that goes straight
// into a tree_writer: the round trip of the delta path without actors.
struct fixture {
  std::string dir;
  std::string src;
  std::unique_ptr<tree_writer> ref;
  upload_settings settings;
  upload_stats last;
  uint64_t xfer = 1;

  fixture() {
    char tmpl[] = "/tmp/livesync-upload-XXXXXX";
    dir = ::mkdtemp(tmpl);
    src = dir + "/src";
    CAF_REQUIRE(::mkdir(src.c_str(), 0755) == 0);
    status err;
    ref = tree_writer::open(dir + "/ref", writer_limits{}, err);
    CAF_REQUIRE(ref != nullptr);
    settings.block_bytes = 64 * 1024; // Several blocks per test file.
  }

  ~fixture() {
    std::string cmd = "rm -rf '" + dir + "'";
    [[maybe_unused]] auto rc = std::system(cmd.c_str());
  }

  // Uploads src/name against `base`; returns the new recipe.
  recipe upload(const std::string& name, const recipe* base,
                const chunk_locator* others = nullptr,
                std::shared_ptr<const chunk_list> listed = nullptr) {
    file_upload up{name, xfer++, base, settings, others, std::move(listed)};
    op o;
    std::string reason;
    CAF_REQUIRE(up.open(src + "/" + name, o, reason) == read_outcome::ok);
    CAF_REQUIRE(ref->apply(o).ok());
    for (;;) {
      auto s = up.next(o, reason);
      CAF_REQUIRE(s == file_upload::step::op || s == file_upload::step::done);
      auto st = ref->apply(o);
      CAF_CHECK_EQUAL(st.reason(), "");
      if (s == file_upload::step::done)
        break;
    }
    last = up.stats();
    return up.take_recipe();
  }

  // The chunk list of src/name as another sender would make it.
  std::shared_ptr<chunk_list> scan(const std::string& name) {
    chunk_scan sc{settings.chunking};
    std::string reason;
    CAF_REQUIRE(sc.open(src + "/" + name, reason) == read_outcome::ok);
    while (!sc.at_end())
      CAF_REQUIRE(sc.step(settings.block_bytes, reason) == read_outcome::ok);
    auto out = std::make_shared<chunk_list>();
    CAF_REQUIRE(sc.finish(*out) == read_outcome::ok);
    return out;
  }

  // Opens and drains a listed upload of src/name; returns its last step.
  file_upload::step drain(const std::string& name, const recipe* base,
                          std::shared_ptr<const chunk_list> listed,
                          const std::function<void()>& after_first = {}) {
    file_upload up{name, xfer++, base, settings, nullptr, std::move(listed)};
    op o;
    std::string reason;
    CAF_REQUIRE(up.open(src + "/" + name, o, reason) == read_outcome::ok);
    auto s = up.next(o, reason);
    if (after_first)
      after_first();
    while (s == file_upload::step::op)
      s = up.next(o, reason);
    return s;
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(file_upload_tests, fixture)

CAF_TEST(a full upload then a delta with no round trip) {
  auto v1 = noise(3 << 20, 1);
  write(src + "/f", v1);
  auto r1 = upload("f", nullptr);
  CAF_CHECK(read(dir + "/ref/f") == v1);
  CAF_CHECK_EQUAL(last.literal_bytes, v1.size());
  CAF_CHECK_EQUAL(recipe_size(r1), v1.size());
  // The reference chunks its copy the same way (the round-trip fallback).
  status err;
  CAF_CHECK(ref->reader().recipe_of("f", settings.chunking, err) == r1);
  // 20 small edits: only their chunks travel.
  auto v2 = v1;
  std::mt19937 gen{7};
  for (int i = 0; i < 20; ++i)
    v2[gen() % v2.size()] ^= 0x5a;
  write(src + "/f", v2);
  auto r2 = upload("f", &r1);
  CAF_CHECK(read(dir + "/ref/f") == v2);
  CAF_CHECK_LESS(last.literal_bytes, 20u * settings.chunking.max_size);
  CAF_CHECK_EQUAL(last.literal_bytes + last.copied_bytes, v2.size());
  // An insert at the front shifts nothing else.
  auto v3 = v2;
  v3.insert(v3.begin(), 'x');
  write(src + "/f", v3);
  upload("f", &r2);
  CAF_CHECK(read(dir + "/ref/f") == v3);
  CAF_CHECK_LESS(last.literal_bytes, 2u * settings.chunking.max_size);
}

CAF_TEST(a copy inside the tree is built from chunks the reference holds) {
  recipe_cache cache;
  auto big = noise(4 << 20, 9);
  write(src + "/big", big);
  cache.put("big", upload("big", nullptr, &cache));
  // cp big big2, then a few bytes changed in the copy.
  auto copy = big;
  copy[12345] ^= 1;
  write(src + "/big2", copy);
  upload("big2", nullptr, &cache);
  CAF_CHECK(read(dir + "/ref/big2") == copy);
  CAF_CHECK_EQUAL(last.reused_bytes, last.copied_bytes);
  CAF_CHECK_LESS(last.literal_bytes, 2u * settings.chunking.max_size);
  CAF_CHECK_LESS(last.payload_bytes, big.size() / 100);
  // Renamed, the source is still found under its new name.
  op mv;
  mv.kind = op_kind::rename;
  mv.path = "big";
  mv.target = "moved";
  CAF_REQUIRE(ref->apply(mv).ok());
  cache.rename("big", "moved");
  write(src + "/big3", big);
  upload("big3", nullptr, &cache);
  CAF_CHECK(read(dir + "/ref/big3") == big);
  CAF_CHECK_EQUAL(last.literal_bytes, 0u);
}

CAF_TEST(copy work is counted until handed over) {
  auto v1 = noise(2 << 20, 11);
  write(src + "/f", v1);
  auto r1 = upload("f", nullptr);
  auto v2 = v1;
  v2[1000] ^= 1;
  write(src + "/f", v2);
  file_upload up{"f", xfer++, &r1, settings};
  op o;
  std::string reason;
  CAF_REQUIRE(up.open(src + "/f", o, reason) == read_outcome::ok);
  CAF_REQUIRE(ref->apply(o).ok());
  uint64_t handed = 0;
  for (;;) {
    auto s = up.next(o, reason);
    CAF_REQUIRE(s == file_upload::step::op || s == file_upload::step::done);
    CAF_REQUIRE(ref->apply(o).ok());
    if (s == file_upload::step::done)
      break;
    if (up.copies_pending() >= (256u << 10)) { // the sender's slices
      handed += up.copies_pending();
      up.copies_handed_over();
      CAF_CHECK_EQUAL(up.copies_pending(), 0u);
    }
  }
  CAF_CHECK_GREATER(handed, 0u);
  CAF_CHECK_EQUAL(handed + up.copies_pending(), up.stats().copied_bytes);
  CAF_CHECK_GREATER(up.stats().copied_bytes, v2.size() - 65536);
  CAF_CHECK(read(dir + "/ref/f") == v2);
}

CAF_TEST(literals travel raw: the link compresses whole batches) {
  std::string text;
  while (text.size() < (1u << 20))
    text += "the quick brown fox jumps over the lazy dog 0123456789\n";
  write(src + "/t", {text.begin(), text.end()});
  upload("t", nullptr);
  CAF_CHECK(read(dir + "/ref/t") == std::vector<char>(text.begin(), text.end()));
  CAF_CHECK_EQUAL(last.payload_bytes, last.literal_bytes);
  CAF_CHECK_EQUAL(last.literal_bytes, text.size());
}

CAF_TEST(a stale recipe fails the hash check and changes nothing) {
  auto v1 = noise(1 << 20, 2);
  write(src + "/f", v1);
  auto r1 = upload("f", nullptr);
  // The reference copy changes behind the watcher: the recipe lies.
  auto other = noise(1 << 20, 3);
  write(dir + "/ref/f", other);
  auto v2 = v1;
  v2[100] ^= 1;
  write(src + "/f", v2);
  file_upload up{"f", xfer++, &r1, settings};
  op o;
  std::string reason;
  CAF_REQUIRE(up.open(src + "/f", o, reason) == read_outcome::ok);
  CAF_REQUIRE(ref->apply(o).ok());
  bool refused = false;
  for (;;) {
    auto s = up.next(o, reason);
    if (!ref->apply(o).ok())
      refused = true;
    if (s == file_upload::step::done)
      break;
  }
  CAF_CHECK(refused);
  CAF_CHECK(read(dir + "/ref/f") == other);
}

CAF_TEST(a file that changes while read is torn) {
  auto v1 = noise(1 << 20, 4);
  write(src + "/f", v1);
  file_upload up{"f", xfer++, nullptr, settings};
  op o;
  std::string reason;
  CAF_REQUIRE(up.open(src + "/f", o, reason) == read_outcome::ok);
  CAF_REQUIRE(up.next(o, reason) == file_upload::step::op);
  std::ofstream{src + "/f", std::ios::app} << "more";
  file_upload::step s;
  while ((s = up.next(o, reason)) == file_upload::step::op)
    ; // drain
  CAF_CHECK(s == file_upload::step::torn);
}

// -- with the chunk list of another sender (several references) ----------

CAF_TEST(a scan gives the recipe and hash a chunking upload computes) {
  auto v1 = noise(3 << 20, 21);
  write(src + "/f", v1);
  auto list = scan("f");
  CAF_CHECK(list->chunks == make_recipe(v1.data(), v1.size(),
                                        settings.chunking));
  CAF_CHECK(list->hash == hash_bytes(v1.data(), v1.size()));
  CAF_CHECK_EQUAL(list->version.size, v1.size());
}

CAF_TEST(a listed upload sends what a chunking one sends) {
  auto v1 = noise(3 << 20, 22);
  write(src + "/f", v1);
  auto r1 = upload("f", nullptr, nullptr, scan("f"));
  CAF_CHECK(read(dir + "/ref/f") == v1);
  CAF_CHECK_EQUAL(last.literal_bytes, v1.size());
  CAF_CHECK(r1 == make_recipe(v1.data(), v1.size(), settings.chunking));
  // Edits: the same delta as without the list (the base's copies, a few
  // literal chunks), and the reference commits it (size and hash match).
  auto v2 = v1;
  std::mt19937 gen{5};
  for (int i = 0; i < 20; ++i)
    v2[gen() % v2.size()] ^= 0x5a;
  write(src + "/f", v2);
  upload("f", &r1);
  auto chunking = last;
  write(dir + "/ref/f", v1); // Back to v1 at the reference.
  auto r2 = upload("f", &r1, nullptr, scan("f"));
  CAF_CHECK(read(dir + "/ref/f") == v2);
  CAF_CHECK_EQUAL(last.literal_bytes, chunking.literal_bytes);
  CAF_CHECK_EQUAL(last.copied_bytes, chunking.copied_bytes);
  CAF_CHECK_LESS(last.literal_bytes, 20u * settings.chunking.max_size);
  CAF_CHECK(r2 == make_recipe(v2.data(), v2.size(), settings.chunking));
}

CAF_TEST(a list of another version is refused at open) {
  auto v1 = noise(1 << 20, 23);
  write(src + "/f", v1);
  auto list = scan("f");
  auto v2 = v1;
  v2.push_back('x');
  write(src + "/f", v2);
  file_upload up{"f", xfer++, nullptr, settings, nullptr, list};
  op o;
  std::string reason;
  CAF_CHECK(up.open(src + "/f", o, reason) == read_outcome::changed);
}

CAF_TEST(literal bytes unlike the list make the upload torn) {
  auto v1 = noise(1 << 20, 24);
  write(src + "/f", v1);
  auto list = scan("f");
  CAF_CHECK(drain("f", nullptr, list) == file_upload::step::done);
  // Same version by fstat, other bytes (as a write within the clock's
  // granularity could leave it): the content check catches it.
  list->chunks[list->chunks.size() / 2].hash ^= 1;
  CAF_CHECK(drain("f", nullptr, list) == file_upload::step::torn);
}

CAF_TEST(a file that changes while a listed upload reads it is torn) {
  auto v1 = noise(1 << 20, 25);
  write(src + "/f", v1);
  auto list = scan("f");
  auto s = drain("f", nullptr, list, [&] {
    std::ofstream{src + "/f", std::ios::app} << "more";
  });
  CAF_CHECK(s == file_upload::step::torn);
}

CAF_TEST(held content is sent as the version it is without reading the file) {
  // A content worker read the file whole and chunked it: the upload sends
  // those bytes against the base, even once the file changed or went (the
  // change is a later event, and a later upload).
  auto v1 = noise(1 << 20, 26);
  write(src + "/f", v1);
  auto r1 = upload("f", nullptr);
  auto v2 = v1;
  for (size_t i = 0; i < v2.size(); i += 100000)
    v2[i] ^= 0x33;
  auto list = std::make_shared<chunk_list>();
  list->chunks = make_recipe(v2.data(), v2.size(), settings.chunking);
  list->hash = hash_bytes(v2.data(), v2.size());
  list->version.size = v2.size();
  entry_meta meta;
  meta.kind = entry_kind::file;
  meta.size = v2.size();
  meta.mode = 0640;
  meta.mtime_ns = 1234567890;
  std::remove((src + "/f").c_str()); // Not read: it may be gone.
  file_upload up{"f", xfer++, &r1, settings, nullptr, list};
  up.use_content(v2, meta);
  op o;
  std::string reason;
  CAF_REQUIRE(up.open(src + "/f", o, reason) == read_outcome::ok);
  CAF_CHECK_EQUAL(o.size, v2.size());
  CAF_CHECK_EQUAL(o.mode, 0640u);
  CAF_REQUIRE(ref->apply(o).ok());
  for (;;) {
    auto s = up.next(o, reason);
    CAF_REQUIRE(s == file_upload::step::op || s == file_upload::step::done);
    CAF_CHECK_EQUAL(ref->apply(o).reason(), "");
    if (s == file_upload::step::done)
      break;
  }
  CAF_CHECK(read(dir + "/ref/f") == v2);
  // A delta: eleven edited chunks went as literals, the rest as copies.
  CAF_CHECK_LESS(up.stats().literal_bytes, 11u * settings.chunking.max_size);
  CAF_CHECK_GREATER(up.stats().copied_bytes, v2.size() / 2);
  CAF_CHECK_EQUAL(up.meta().mtime_ns, 1234567890);
  CAF_CHECK(up.take_recipe() == list->chunks);
}

CAF_TEST_FIXTURE_SCOPE_END()
