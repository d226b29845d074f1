#define CAF_SUITE core.digest_plan
#include <caf/test/unit_test.hpp>

#include "core/watcher/digest_plan.hpp"

#include "core/watcher/local_tree.hpp"
#include "core/common/path_rules.hpp"
#include "core/watcher/sync_planner.hpp"
#include "core/wire/tree_listing.hpp"
#include "core/reference/tree_writer.hpp"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

using namespace livesync;
namespace fs = std::filesystem;

namespace {

using strings = std::vector<std::string>;

// -- real trees on disk ---------------------------------------------------------

struct temp_dir {
  std::string path;
  temp_dir() {
    char buf[] = "/tmp/livesync-digest-XXXXXX";
    if (::mkdtemp(buf) == nullptr)
      CAF_FAIL("mkdtemp failed");
    path = buf;
  }
  ~temp_dir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

void set_mtime(const std::string& p, int64_t ns) {
  timespec ts[2];
  ts[0].tv_nsec = UTIME_OMIT;
  ts[1].tv_sec = ns / 1000000000;
  ts[1].tv_nsec = ns % 1000000000;
  ::utimensat(AT_FDCWD, p.c_str(), ts, AT_SYMLINK_NOFOLLOW);
}

/// Writes the file `rel` beneath `root` with `size` bytes, `mode`, `mtime`.
void put_file(const std::string& root, const std::string& rel, size_t size,
              int64_t mtime = 1'600'000'000'000'000'001,
              uint32_t mode = 0644) {
  auto p = root + "/" + rel;
  fs::remove_all(p);
  std::ofstream{p, std::ios::binary} << std::string(size, 'x');
  ::chmod(p.c_str(), mode);
  set_mtime(p, mtime);
}

void put_dir(const std::string& root, const std::string& rel,
             uint32_t mode = 0755) {
  auto p = root + "/" + rel;
  if (!fs::is_directory(fs::symlink_status(p))) {
    fs::remove_all(p);
    fs::create_directory(p);
  }
  ::chmod(p.c_str(), mode);
}

void put_link(const std::string& root, const std::string& rel,
              const std::string& target, int64_t mtime = 5) {
  auto p = root + "/" + rel;
  fs::remove_all(p);
  fs::create_symlink(target, p);
  set_mtime(p, mtime);
}

/// a/ a/f a/b/ a/b/g c/ c/h l->a/f m (dangling link) top
void sample(const std::string& root) {
  put_dir(root, "a");
  put_file(root, "a/f", 10);
  put_dir(root, "a/b");
  put_file(root, "a/b/g", 20);
  put_dir(root, "c");
  put_file(root, "c/h", 30);
  put_link(root, "l", "a/f");
  put_link(root, "m", "nowhere");
  put_file(root, "top", 5);
}

std::string show(const action& a) {
  switch (a.kind) {
    case action::send:
      return to_string(a.operation.kind) + " " + a.operation.path
             + (a.operation.kind == op_kind::rename ? " " + a.operation.target
                                                    : std::string{});
    case action::upload: return "upload " + a.path;
    case action::warn_skipped: return "warn " + a.path;
    case action::warn_unreadable: return "unreadable " + a.path;
  }
  return "?";
}

/// Runs a planner to the end; uploads succeed at once.
strings run(sync_planner& p) {
  strings out;
  for (size_t steps = 0; !p.idle(); ++steps) {
    if (steps > 100000)
      CAF_FAIL("planner does not settle");
    for (auto& a : p.step()) {
      out.push_back(show(a));
      if (a.kind == action::upload)
        p.uploaded(a.path, a.meta);
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

void dump(const tree_model& model, const tree_model::node& n,
          const std::string& path, std::map<std::string, entry_meta>& out) {
  model.for_each_child(n, [&](std::string_view name,
                              const tree_model::node& child) {
    auto p = join_path(path, std::string{name});
    auto m = child.meta;
    // Not compared by the planner: may come from either side.
    if (m.kind != entry_kind::file)
      m.mtime_ns = 0;
    if (m.kind == entry_kind::symlink)
      m.mode = 0;
    out.emplace(p, m);
    dump(model, child, p, out);
  });
}

std::map<std::string, entry_meta> dump(const tree_model& m) {
  std::map<std::string, entry_meta> out;
  dump(m, *m.find(""), "", out);
  return out;
}

struct outcome {
  strings actions;
  std::map<std::string, entry_meta> model_before;
  std::map<std::string, entry_meta> model_after;
  digest_plan plan;
};

/// The reconcile as it was: the reference's whole manifest, a full check.
outcome by_manifest(const std::string& watched, const std::string& reference,
                    const ignore_rules* excludes) {
  status err;
  auto w = tree_writer::open(reference, writer_limits{}, err);
  CAF_REQUIRE(w != nullptr);
  auto manifest = w->reader().manifest(err);
  CAF_REQUIRE(err.ok());
  outcome o;
  tree_model model;
  model.reset(manifest);
  o.model_before = dump(model);
  local_tree lt{watched};
  sync_planner p{lt, model, excludes};
  p.push_full_check();
  o.actions = run(p);
  o.model_after = dump(model);
  return o;
}

/// The reconcile by digests, as the two nodes do it.
outcome by_digests(const std::string& watched, const std::string& reference,
                   const ignore_rules* excludes) {
  status err;
  auto w = tree_writer::open(reference, writer_limits{}, err);
  CAF_REQUIRE(w != nullptr);
  // The reference's side.
  walk_options ropts;
  ropts.skip_state_folder = true;
  ropts.strict = true;
  std::vector<dir_listing> rdirs;
  CAF_REQUIRE(w->reader().walk(rdirs).ok());
  auto sent = make_digest_list(rdirs);
  // The watcher's side.
  walk_options wopts;
  wopts.excludes = excludes;
  std::vector<dir_listing> ours;
  int fd = ::open(watched.c_str(), O_RDONLY | O_DIRECTORY);
  CAF_REQUIRE(walk_listings(fd, wopts, ours).ok());
  ::close(fd);
  std::vector<reference_dir> refs;
  std::string why;
  CAF_REQUIRE(expand_digest_list(sent, refs, why));
  outcome o;
  o.plan = plan_by_digests(refs, ours);
  // Fetched as the sender does, in replies bounded so small that each
  // holds one or two directories: the rest is asked for again.
  std::vector<dir_listing> fetched;
  for (size_t from = 0; from < o.plan.fetch.size();) {
    std::vector<std::string> asked(o.plan.fetch.begin() + from,
                                   o.plan.fetch.end());
    std::vector<dir_listing> got;
    std::string failed;
    CAF_REQUIRE(
      w->reader().listings(asked, 100, got, failed).ok());
    CAF_REQUIRE(check_fetched(asked, got, why));
    from += got.size();
    for (auto& d : got)
      fetched.push_back(std::move(d));
  }
  tree_model model;
  build_model(model, refs, o.plan, ours, fetched);
  o.model_before = dump(model);
  local_tree lt{watched};
  sync_planner p{lt, model, excludes};
  for (auto& d : o.plan.check)
    p.push_listing_check(d);
  o.actions = run(p);
  o.model_after = dump(model);
  return o;
}

/// Both reconciles over the same pair of trees must do the same.
outcome same_as_manifest(const std::string& watched,
                         const std::string& reference,
                         const ignore_rules* excludes = nullptr) {
  auto old = by_manifest(watched, reference, excludes);
  auto now = by_digests(watched, reference, excludes);
  CAF_CHECK_EQUAL(now.actions, old.actions);
  CAF_CHECK(now.model_before == old.model_before);
  CAF_CHECK(now.model_after == old.model_after);
  return now;
}

entry_meta file_meta(uint64_t size, int64_t mtime, uint32_t mode = 0644) {
  entry_meta m;
  m.kind = entry_kind::file;
  m.size = size;
  m.mtime_ns = mtime;
  m.mode = mode;
  return m;
}

} // namespace

// -- the digest covers what the planner compares, and nothing else -------------

CAF_TEST(a digest changes with every attribute the planner compares) {
  std::vector<listed_entry> base{{"a", file_meta(1, 2)}};
  auto d0 = listing_digest(base);
  CAF_CHECK(listing_digest(base) == d0);
  auto differs = [&](const char* what, std::function<void(listed_entry&)> f) {
    auto x = base;
    f(x[0]);
    CAF_MESSAGE(what);
    CAF_CHECK(!(listing_digest(x) == d0));
  };
  differs("name", [](listed_entry& e) { e.name = "b"; });
  differs("size", [](listed_entry& e) { e.meta.size = 3; });
  differs("mtime", [](listed_entry& e) { e.meta.mtime_ns = 3; });
  differs("mtime by 1 ns", [](listed_entry& e) { e.meta.mtime_ns += 1; });
  differs("mode", [](listed_entry& e) { e.meta.mode = 0600; });
  differs("kind dir", [](listed_entry& e) { e.meta.kind = entry_kind::dir; });
  differs("kind unsupported",
          [](listed_entry& e) { e.meta.kind = entry_kind::none; });
  // An added or removed entry, and names that only differ in their split.
  auto two = base;
  two.push_back({"c", file_meta(1, 2)});
  CAF_CHECK(!(listing_digest(two) == d0));
  CAF_CHECK(!(listing_digest({}) == d0));
  std::vector<listed_entry> ab{{"ab", entry_meta{}}, {"c", entry_meta{}}};
  std::vector<listed_entry> a_bc{{"a", entry_meta{}}, {"bc", entry_meta{}}};
  CAF_CHECK(!(listing_digest(ab) == listing_digest(a_bc)));
}

CAF_TEST(a digest ignores what the planner does not compare) {
  entry_meta d;
  d.kind = entry_kind::dir;
  d.mode = 0755;
  d.mtime_ns = 1;
  entry_meta l;
  l.kind = entry_kind::symlink;
  l.target = "x";
  l.size = 1;
  l.mode = 0777;
  l.mtime_ns = 1;
  std::vector<listed_entry> base{{"d", d}, {"l", l}};
  auto d0 = listing_digest(base);
  auto x = base;
  x[0].meta.mtime_ns = 99; // directory mtimes are not mirrored
  x[1].meta.mtime_ns = 99; // nor symlink mtimes or modes
  x[1].meta.mode = 0755;
  CAF_CHECK(listing_digest(x) == d0);
  x[1].meta.target = "y";
  CAF_CHECK(!(listing_digest(x) == d0));
  x = base;
  x[0].meta.mode = 0700;
  CAF_CHECK(!(listing_digest(x) == d0));
}

// -- received lists are checked ----------------------------------------------------

CAF_TEST(malformed digest lists are refused) {
  std::vector<reference_dir> out;
  std::string why;
  auto list = [](std::vector<std::pair<uint32_t, std::string>> xs) {
    std::vector<dir_digest> out;
    for (auto& [p, n] : xs)
      out.push_back(dir_digest{p, n, {}});
    return out;
  };
  CAF_CHECK(expand_digest_list(list({{0, ""}, {0, "a"}, {1, "b"}}), out, why));
  CAF_CHECK_EQUAL(out.size(), 3u);
  CAF_CHECK_EQUAL(out[2].path, "a/b");
  CAF_CHECK(!expand_digest_list({}, out, why));
  CAF_CHECK(!expand_digest_list(list({{0, "a"}}), out, why));
  CAF_CHECK(!expand_digest_list(list({{0, ""}, {1, "a"}}), out, why));
  CAF_CHECK(!expand_digest_list(list({{0, ""}, {0, ".."}}), out, why));
  CAF_CHECK(!expand_digest_list(list({{0, ""}, {0, "."}}), out, why));
  CAF_CHECK(!expand_digest_list(list({{0, ""}, {0, "a/b"}}), out, why));
  CAF_CHECK(!expand_digest_list(list({{0, ""}, {0, ""}}), out, why));
  CAF_CHECK(!expand_digest_list(list({{0, ""}, {0, "a"}, {0, "a"}}), out, why));
  CAF_CHECK(!expand_digest_list(list({{0, ""}, {0, ".livesync"}}), out, why));
  CAF_CHECK(!expand_digest_list(list({{0, ""}, {0, std::string("a\0b", 3)}}),
                                out, why));
}

CAF_TEST(malformed listings are refused) {
  std::string why;
  auto one = [](std::vector<listed_entry> es) {
    return std::vector<dir_listing>{dir_listing{"d", std::move(es), true}};
  };
  CAF_CHECK(check_fetched({"d"}, one({{"a", file_meta(1, 1)}, {"b", file_meta(1, 1)}}), why));
  CAF_CHECK(!check_fetched({"d"}, {}, why));
  // A prefix is a bounded reply; more than asked is not.
  CAF_CHECK(check_fetched({"d", "e"}, one({}), why));
  CAF_CHECK(!check_fetched({}, one({}), why));
  CAF_CHECK(!check_fetched({"e"}, one({}), why));
  CAF_CHECK(!check_fetched({"d"}, one({{"..", file_meta(1, 1)}}), why));
  CAF_CHECK(!check_fetched({"d"}, one({{"x/y", file_meta(1, 1)}}), why));
  CAF_CHECK(!check_fetched({"d"}, one({{"b", file_meta(1, 1)}, {"a", file_meta(1, 1)}}), why));
  CAF_CHECK(!check_fetched({"d"}, one({{"a", file_meta(1, 1)}, {"a", file_meta(1, 1)}}), why));
  CAF_CHECK(!check_fetched({"d"}, one({{"a", entry_meta{}}}), why));
  auto bad_kind = file_meta(1, 1);
  bad_kind.kind = static_cast<entry_kind>(9);
  CAF_CHECK(!check_fetched({"d"}, one({{"a", bad_kind}}), why));
  auto incomplete = one({});
  incomplete[0].complete = false;
  CAF_CHECK(!check_fetched({"d"}, incomplete, why));
}

// -- against the full comparison: same operations, same model --------------------

CAF_TEST(an unchanged tree is matched everywhere and compares nothing) {
  temp_dir w, r;
  sample(w.path);
  sample(r.path);
  auto o = same_as_manifest(w.path, r.path);
  CAF_CHECK_EQUAL(o.actions, strings{});
  CAF_CHECK(o.plan.fetch.empty());
  CAF_CHECK(o.plan.check.empty());
  CAF_CHECK_EQUAL(o.plan.matched.size(), 4u); // "", a, a/b, c
  // Mtimes of directories and symlinks are not compared: still matched.
  set_mtime(r.path + "/a", 12345);
  put_link(r.path, "l", "a/f", 777);
  o = same_as_manifest(w.path, r.path);
  CAF_CHECK_EQUAL(o.actions, strings{});
  CAF_CHECK(o.plan.fetch.empty());
}

CAF_TEST(an empty reference is listed and gets everything) {
  temp_dir w, r;
  sample(w.path);
  auto o = same_as_manifest(w.path, r.path);
  CAF_CHECK_EQUAL(o.plan.fetch, strings{""});
  CAF_CHECK_EQUAL(o.actions.size(), 9u);
}

CAF_TEST(each kind of difference is found where it is and only there) {
  // name, change to the watched tree, directories expected to be compared
  struct row {
    const char* what;
    std::function<void(const std::string&)> change;
    strings compared;
  };
  std::vector<row> rows{
    {"content (size)", [](auto& w) { put_file(w, "a/b/g", 21); }, {"a/b"}},
    {"mtime only", [](auto& w) { set_mtime(w + "/a/f", 7); }, {"a"}},
    {"mode only", [](auto& w) { ::chmod((w + "/c/h").c_str(), 0600); }, {"c"}},
    {"new file", [](auto& w) { put_file(w, "c/new", 1); }, {"c"}},
    {"deleted file", [](auto& w) { fs::remove(w + "/top"); }, {""}},
    {"file becomes dir", [](auto& w) { put_dir(w, "top"); put_file(w, "top/x", 1); }, {"", "top"}},
    {"dir becomes file", [](auto& w) { put_file(w, "a/b", 3); }, {"a"}},
    {"dir mode", [](auto& w) { ::chmod((w + "/a/b").c_str(), 0700); }, {"a"}},
    {"new dir tree", [](auto& w) { put_dir(w, "n"); put_dir(w, "n/m"); put_file(w, "n/m/z", 4); },
     {"", "n", "n/m"}},
    {"deleted dir tree", [](auto& w) { fs::remove_all(w + "/a"); }, {""}},
    {"symlink target", [](auto& w) { put_link(w, "l", "c/h"); }, {""}},
    {"symlink becomes file", [](auto& w) { put_file(w, "m", 2); }, {""}},
    {"rename within a dir", [](auto& w) { fs::rename(w + "/c/h", w + "/c/h2"); }, {"c"}},
    {"rename across dirs", [](auto& w) { fs::rename(w + "/a/b", w + "/c/b"); }, {"a", "c", "c/b"}},
    {"a fifo", [](auto& w) { ::mkfifo((w + "/a/p").c_str(), 0644); }, {"a"}},
    {"the state folder", [](auto& w) { put_dir(w, ".livesync"); }, {""}},
  };
  for (auto& x : rows) {
    CAF_MESSAGE(x.what);
    temp_dir w, r;
    sample(w.path);
    sample(r.path);
    x.change(w.path);
    auto o = same_as_manifest(w.path, r.path);
    CAF_CHECK_EQUAL(o.plan.check, x.compared);
    // And once applied, nothing is left: the new model matches everywhere.
    CAF_CHECK(!o.actions.empty() || std::string{x.what} == "a fifo"
              || std::string{x.what} == "the state folder");
  }
}

CAF_TEST(a reference that drifted is found as well) {
  temp_dir w, r;
  sample(w.path);
  sample(r.path);
  put_file(r.path, "a/b/extra", 1);
  ::chmod((r.path + "/top").c_str(), 0600);
  auto o = same_as_manifest(w.path, r.path);
  CAF_CHECK_EQUAL(o.plan.check, (strings{"", "a/b"}));
  CAF_CHECK_EQUAL(o.actions, (strings{"remove a/b/extra", "set_attr top"}));
}

CAF_TEST(excluded directories are neither walked nor compared) {
  temp_dir w, r;
  sample(w.path);
  sample(r.path);
  put_dir(w.path, "c/skip");
  put_file(w.path, "c/skip/x", 1);
  put_dir(r.path, "c/skip");
  put_file(r.path, "c/skip/old", 1);
  ignore_rules ex;
  CAF_REQUIRE(ex.add("skip/").empty());
  auto o = same_as_manifest(w.path, r.path, &ex);
  CAF_CHECK_EQUAL(o.actions, strings{});
  // The reference's copy is listed (the model holds it, as before), never
  // compared.
  CAF_CHECK_EQUAL(o.plan.fetch, strings{"c/skip"});
  CAF_CHECK_EQUAL(o.plan.check, strings{});
}

// A listings reply is bounded in bytes: it ends after the directory that
// reaches the bound (one directory always comes, whole), and a directory
// that cannot be listed fails it, named.
CAF_TEST(listings replies are bounded in bytes) {
  char buf[] = "/tmp/livesync-listings-XXXXXX";
  CAF_REQUIRE(::mkdtemp(buf) != nullptr);
  std::string root = buf;
  for (auto d : {"a", "b", "c"}) {
    ::mkdir((root + "/" + d).c_str(), 0755);
    for (int i = 0; i < 10; ++i)
      std::ofstream{root + "/" + d + "/file-" + std::to_string(i)};
  }
  int fd = ::open(root.c_str(), O_RDONLY | O_DIRECTORY);
  std::vector<std::string> dirs{"a", "b", "c"};
  std::vector<dir_listing> got;
  std::string failed;
  CAF_REQUIRE(list_directories(fd, dirs, {}, 1u << 20, got, failed).ok());
  CAF_REQUIRE_EQUAL(got.size(), 3u);
  auto one = wire_size(got[0]);
  CAF_CHECK_GREATER(one, 10u * 6);
  struct case_t {
    uint64_t max;
    size_t listings;
  };
  for (auto c : {case_t{0, 1}, case_t{1, 1}, case_t{one, 1},
                 case_t{one + 1, 2}, case_t{2 * one + 1, 3}}) {
    CAF_MESSAGE("max_bytes " << c.max);
    CAF_CHECK(list_directories(fd, dirs, {}, c.max, got, failed).ok());
    CAF_CHECK_EQUAL(got.size(), c.listings);
    CAF_CHECK_EQUAL(got.front().path, "a");
    CAF_CHECK_EQUAL(got.front().entries.size(), 10u);
  }
  auto err = list_directories(fd, {"a", "missing", "c"}, {}, 1u << 20, got,
                              failed);
  CAF_CHECK(!err);
  CAF_CHECK_EQUAL(failed, "missing");
  CAF_CHECK(got.empty());
  ::close(fd);
  std::error_code ec;
  std::filesystem::remove_all(root, ec);
}
