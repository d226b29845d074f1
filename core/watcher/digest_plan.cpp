#include "core/watcher/digest_plan.hpp"

#include "core/common/path_rules.hpp"

#include <algorithm>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

namespace livesync {

digest_plan plan_by_digests(const std::vector<reference_dir>& reference,
                            const std::vector<dir_listing>& local) {
  std::unordered_map<std::string_view, const dir_listing*> ours;
  ours.reserve(local.size());
  for (auto& d : local)
    ours.emplace(d.path, &d);
  digest_plan plan;
  plan.matched.resize(reference.size(), false);
  std::unordered_set<std::string_view> equal;
  for (size_t i = 0; i < reference.size(); ++i) {
    auto& r = reference[i];
    auto j = ours.find(r.path);
    if (j != ours.end() && j->second->complete
        && listing_digest(j->second->entries) == r.digest) {
      plan.matched[i] = true;
      equal.insert(r.path);
    } else {
      plan.fetch.push_back(r.path);
    }
  }
  for (auto& d : local)
    if (equal.count(d.path) == 0)
      plan.check.push_back(d.path);
  // Bytewise order puts every directory before what lies beneath it.
  std::sort(plan.check.begin(), plan.check.end());
  return plan;
}

void build_model(tree_model& model, const std::vector<reference_dir>& reference,
                 const digest_plan& plan,
                 const std::vector<dir_listing>& local,
                 const std::vector<dir_listing>& fetched) {
  std::unordered_map<std::string_view, const dir_listing*> ours;
  ours.reserve(local.size());
  for (auto& d : local)
    ours.emplace(d.path, &d);
  model.reset({});
  size_t next_fetched = 0;
  for (size_t i = 0; i < reference.size(); ++i) {
    const dir_listing* src = nullptr;
    if (plan.matched[i]) {
      src = ours.at(reference[i].path);
    } else if (next_fetched < fetched.size()) {
      src = &fetched[next_fetched++];
    }
    if (src == nullptr)
      continue;
    // Parents come first, so the directory itself is already in the model
    // (set from its parent's listing); if it is not (the reference changed
    // between its two walks), set() refuses its children.
    for (auto& e : src->entries)
      if (e.meta.kind != entry_kind::none)
        model.set(join_path(reference[i].path, e.name), e.meta);
  }
}

} // namespace livesync
