#include "core/wire/dir_digest.hpp"

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

} // namespace livesync
