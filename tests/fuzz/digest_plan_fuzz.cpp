// Fuzz target: what the watcher does with a reference's directory digests
// and listings at a reconnect (core/watcher/digest_plan), the one place where the
// reference's view of its tree enters the watcher's model. A reference may
// be buggy, out of date or hostile.
//
// Input: a count and that many digest-list entries (parent index, name,
// 16 digest bytes); then, for each directory, a few listed entries (name,
// kind, mode, size); the same listings serve as our walk (every other one)
// and as the fetched listings.
// Checks: expand_digest_list accepts only a list whose first entry is the
// root and whose paths are valid, unique and each beneath an earlier one;
// check_fetched accepts only complete, sorted, unique, valid listings of
// the directories asked, in order; the plan lists every reference
// directory once (matched or fetched) and checks ours in sorted order;
// build_model never leaves the model with an entry whose parent is missing.
#include "byte_reader.hpp"
#include "check.hpp"

#include "core/watcher/digest_plan.hpp"
#include "core/common/path_rules.hpp"

#include <algorithm>
#include <cstdint>
#include <set>
#include <string>
#include <vector>

using namespace livesync;
using namespace livesync::fuzz;

namespace {

std::vector<listed_entry> read_entries(byte_reader& in) {
  std::vector<listed_entry> out;
  size_t n = in.u8() % 5;
  for (size_t i = 0; i < n; ++i) {
    listed_entry e;
    e.name = in.text(in.u8() % 6);
    e.meta.kind = static_cast<entry_kind>(in.u8() % 5);
    e.meta.mode = static_cast<uint32_t>(in.le(2));
    e.meta.size = in.le(2);
    if (e.meta.kind == entry_kind::symlink)
      e.meta.target = in.text(in.u8() % 6);
    out.push_back(std::move(e));
  }
  // Mostly well-formed (sorted), sometimes as they came.
  if (in.u8() % 4 != 0)
    std::sort(out.begin(), out.end(),
              [](auto& a, auto& b) { return a.name < b.name; });
  return out;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  byte_reader in{data, size};
  std::vector<dir_digest> list;
  size_t n = in.u8() % 12;
  for (size_t i = 0; i < n; ++i) {
    dir_digest d;
    d.parent = static_cast<uint32_t>(in.u8());
    d.name = in.text(in.u8() % 6);
    d.digest.lo = in.le(8);
    d.digest.hi = in.le(8);
    list.push_back(std::move(d));
  }
  std::vector<reference_dir> dirs;
  std::string why;
  if (!expand_digest_list(list, dirs, why)) {
    FUZZ_CHECK(!why.empty());
    return 0;
  }
  FUZZ_CHECK(!dirs.empty() && dirs[0].path.empty());
  std::set<std::string> seen{""};
  for (size_t i = 1; i < dirs.size(); ++i) {
    auto& p = dirs[i].path;
    FUZZ_CHECK(!invalid_path_reason(p));
    FUZZ_CHECK(seen.count(std::string{parent_of(p)}) == 1);
    FUZZ_CHECK(seen.insert(p).second);
  }
  // Our walk: every other reference directory, with listings from the
  // input (their digest matches when the input's digest bytes say so).
  std::vector<dir_listing> local;
  for (size_t i = 0; i < dirs.size(); i += 2) {
    dir_listing d;
    d.path = dirs[i].path;
    d.entries = read_entries(in);
    // A real walk lists only names readdir can return.
    d.entries.erase(std::remove_if(d.entries.begin(), d.entries.end(),
                                   [](auto& e) {
                                     return e.name.empty()
                                            || invalid_path_reason(e.name);
                                   }),
                    d.entries.end());
    std::sort(d.entries.begin(), d.entries.end(),
              [](auto& a, auto& b) { return a.name < b.name; });
    d.entries.erase(std::unique(d.entries.begin(), d.entries.end(),
                                [](auto& a, auto& b) {
                                  return a.name == b.name;
                                }),
                    d.entries.end());
    if (in.u8() % 2 == 0)
      dirs[i].digest = listing_digest(d.entries);
    local.push_back(std::move(d));
  }
  auto plan = plan_by_digests(dirs, local);
  FUZZ_CHECK(plan.matched.size() == dirs.size());
  size_t unmatched = 0;
  for (size_t i = 0; i < dirs.size(); ++i)
    unmatched += plan.matched[i] ? 0 : 1;
  FUZZ_CHECK(plan.fetch.size() == unmatched);
  FUZZ_CHECK(std::is_sorted(plan.check.begin(), plan.check.end()));
  // The reference's answer for plan.fetch, as the input makes it.
  std::vector<dir_listing> fetched;
  for (auto& path : plan.fetch) {
    dir_listing d;
    d.path = in.u8() % 8 == 0 ? path + "x" : path;
    d.entries = read_entries(in);
    d.complete = in.u8() % 8 != 0;
    fetched.push_back(std::move(d));
  }
  if (!check_fetched(plan.fetch, fetched, why)) {
    FUZZ_CHECK(!why.empty());
    return 0;
  }
  for (size_t i = 0; i < fetched.size(); ++i) {
    FUZZ_CHECK(fetched[i].path == plan.fetch[i] && fetched[i].complete);
    for (size_t k = 0; k < fetched[i].entries.size(); ++k) {
      auto& e = fetched[i].entries[k];
      FUZZ_CHECK(!invalid_path_reason(e.name));
      FUZZ_CHECK(k == 0 || fetched[i].entries[k - 1].name < e.name);
    }
  }
  tree_model model;
  build_model(model, dirs, plan, local, fetched);
  // Every entry of the model hangs below a directory of the model.
  for (auto& r : dirs) {
    auto* n = model.find(r.path);
    if (n == nullptr)
      continue;
    model.for_each_child(*n, [&](std::string_view name, auto& child) {
      FUZZ_CHECK(!name.empty());
      FUZZ_CHECK(n->meta.kind == entry_kind::dir);
      (void)child;
    });
  }
  return 0;
}
