#include "core/wire/digest_plan.hpp"

#include "core/common/path_rules.hpp"

#include <algorithm>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

namespace livesync {

namespace {

bool valid_component(const std::string& name) {
  return !name.empty() && name != "." && name != ".."
         && name.size() <= max_name_bytes
         && name.find('/') == std::string::npos
         && name.find('\0') == std::string::npos;
}

} // namespace

std::vector<dir_digest> make_digest_list(const std::vector<dir_listing>& dirs) {
  std::vector<dir_digest> out;
  out.reserve(dirs.size());
  std::unordered_map<std::string_view, uint32_t> index;
  for (auto& d : dirs) {
    // An incomplete listing has no digest to offer; nor do its children,
    // which then have no parent to name.
    if (!d.complete)
      continue;
    dir_digest dd;
    dd.digest = listing_digest(d.entries);
    if (!d.path.empty()) {
      auto p = index.find(parent_of(d.path));
      if (p == index.end())
        continue;
      dd.parent = p->second;
      dd.name = std::string{leaf_of(d.path)};
    } else if (!out.empty()) {
      continue; // A second root: cannot happen in a walk.
    }
    index.emplace(d.path, static_cast<uint32_t>(out.size()));
    out.push_back(std::move(dd));
  }
  return out;
}

bool expand_digest_list(const std::vector<dir_digest>& in,
                        std::vector<reference_dir>& out, std::string& why) {
  out.clear();
  out.reserve(in.size());
  std::unordered_set<std::string> seen;
  for (size_t i = 0; i < in.size(); ++i) {
    auto& d = in[i];
    if (i == 0) {
      if (d.parent != 0 || !d.name.empty()) {
        why = "digest list does not start with the root";
        return false;
      }
      out.push_back({std::string{}, d.digest});
      continue;
    }
    if (d.parent >= i) {
      why = "digest list entry " + std::to_string(i)
            + " names a parent that does not come before it";
      return false;
    }
    if (!valid_component(d.name)) {
      why = "digest list entry " + std::to_string(i)
            + " has an invalid name: " + printable(d.name, 80);
      return false;
    }
    auto path = join_path(out[d.parent].path, d.name);
    if (auto bad = invalid_path_reason(path)) {
      why = "digest list entry " + std::to_string(i) + ": " + *bad;
      return false;
    }
    if (!seen.insert(path).second) {
      why = "digest list names " + printable(path, 200) + " twice";
      return false;
    }
    out.push_back({std::move(path), d.digest});
  }
  if (out.empty()) {
    why = "empty digest list";
    return false;
  }
  return true;
}

bool check_fetched(const std::vector<std::string>& asked,
                   const std::vector<dir_listing>& got, std::string& why) {
  // All, or a prefix when the reply reached its byte bound; never none.
  if (got.empty() || got.size() > asked.size()) {
    why = "asked for " + std::to_string(asked.size()) + " listings, got "
          + std::to_string(got.size());
    return false;
  }
  for (size_t i = 0; i < got.size(); ++i) {
    auto& d = got[i];
    if (d.path != asked[i] || !d.complete) {
      why = "listing " + std::to_string(i) + " is not the one asked for";
      return false;
    }
    for (size_t k = 0; k < d.entries.size(); ++k) {
      auto& e = d.entries[k];
      if (!valid_component(e.name) || e.meta.kind == entry_kind::none
          || e.meta.kind > entry_kind::symlink
          || (k > 0 && !(d.entries[k - 1].name < e.name))) {
        why = "listing of " + printable(d.path, 200)
              + " has an invalid, unsorted or repeated entry: "
              + printable(e.name, 80);
        return false;
      }
    }
  }
  return true;
}

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
