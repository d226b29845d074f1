#include "core/watcher/tree_compare.hpp"

#include "core/common/path_rules.hpp"
#include "core/watcher/subtree_set.hpp"

#include <algorithm>
#include <cstdio>
#include <map>

namespace livesync {

namespace {

void walk(const fs_view& fs, const std::string& dir,
          const ignore_rules* excludes, std::vector<manifest_entry>& out,
          std::vector<std::string>* skipped,
          std::vector<std::string>* unreadable) {
  std::vector<std::string> names;
  if (!fs.list(dir, names)) {
    if (unreadable)
      unreadable->push_back(dir);
    return;
  }
  bool noted = false;
  for (auto& name : names) {
    auto path = join_path(dir, name);
    if (dir.empty() && name == state_folder) {
      if (skipped)
        skipped->push_back(path);
      continue;
    }
    auto st = fs.stat(path);
    if (st.unknown) {
      // Not searchable: every name in `dir` is unknown past its name.
      if (unreadable && !noted)
        unreadable->push_back(dir);
      noted = true;
      continue;
    }
    if (st.unsupported) {
      if (skipped)
        skipped->push_back(path);
      continue;
    }
    if (st.meta.kind == entry_kind::none)
      continue; // Gone since it was listed.
    bool is_dir = st.meta.kind == entry_kind::dir;
    if (excludes != nullptr && excludes->excluded(path, is_dir))
      continue;
    out.push_back(manifest_entry{path, st.meta});
    if (is_dir)
      walk(fs, path, excludes, out, skipped, unreadable);
  }
}

/// True when `path` is strictly beneath an entry of `dirs` (the entry
/// itself, the unreadable directory, is listed by its parent).
bool path_in(const subtree_set& dirs, const std::string& path) {
  auto slash = path.rfind('/');
  return dirs.covers(slash == std::string::npos ? std::string{}
                                                : path.substr(0, slash));
}

std::string octal(uint32_t mode) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04o", mode);
  return buf;
}

} // namespace

std::vector<manifest_entry>
list_tree(const fs_view& fs, const ignore_rules* excludes,
          std::vector<std::string>* skipped,
          std::vector<std::string>* unreadable) {
  std::vector<manifest_entry> out;
  walk(fs, "", excludes, out, skipped, unreadable);
  return out;
}

tree_comparison
compare_listings(const std::vector<manifest_entry>& watcher,
                 const std::vector<manifest_entry>& reference,
                 uint32_t mode_mask, const ignore_rules* excludes,
                 const std::vector<std::string>* unreadable) {
  tree_comparison out;
  subtree_set unknown;
  if (unreadable != nullptr)
    for (auto& d : *unreadable) {
      unknown.add(d);
      out.differences.push_back(
        tree_difference{d, "unreadable on the watcher (not compared)"});
    }
  std::map<std::string, const entry_meta*> ref;
  for (auto& e : reference)
    ref.emplace(e.path, &e.meta);
  std::map<std::string, const entry_meta*> mine;
  for (auto& e : watcher)
    mine.emplace(e.path, &e.meta);
  auto diff = [&](const std::string& path, std::string what) {
    out.differences.push_back(tree_difference{path, std::move(what)});
  };
  for (auto& [path, w] : mine) {
    auto i = ref.find(path);
    if (i == ref.end()) {
      diff(path, "only on watcher");
      continue;
    }
    auto& r = *i->second;
    if (w->kind != r.kind) {
      diff(path, "type " + to_string(w->kind) + "/" + to_string(r.kind));
      continue;
    }
    switch (w->kind) {
      case entry_kind::symlink:
        if (w->target != r.target)
          diff(path, "symlink target");
        break;
      case entry_kind::dir:
        if ((w->mode & mode_mask) != r.mode)
          diff(path, "mode " + octal(w->mode & mode_mask) + "/"
                       + octal(r.mode));
        break;
      case entry_kind::file:
        if ((w->mode & mode_mask) != r.mode)
          diff(path, "mode " + octal(w->mode & mode_mask) + "/"
                       + octal(r.mode));
        if (w->size != r.size)
          diff(path, "size " + std::to_string(w->size) + "/"
                       + std::to_string(r.size));
        else if (w->mtime_ns != r.mtime_ns)
          diff(path, "mtime");
        if (w->size == r.size)
          out.to_hash.push_back(path);
        break;
      case entry_kind::none:
        break;
    }
  }
  for (auto& [path, r] : ref) {
    if (mine.count(path) != 0)
      continue;
    if (!unknown.empty() && path_in(unknown, path))
      continue;
    if (excludes != nullptr
        && excludes->excluded(path, r->kind == entry_kind::dir))
      continue;
    diff(path, "only on reference");
  }
  std::sort(out.differences.begin(), out.differences.end(),
            [](const tree_difference& x, const tree_difference& y) {
              return x.path < y.path;
            });
  return out;
}

void add_content_differences(tree_comparison& c,
                             const std::vector<std::string>& paths,
                             const std::vector<hash128>& watcher,
                             const std::vector<hash128>& reference) {
  auto n = std::min({paths.size(), watcher.size(), reference.size()});
  for (size_t i = 0; i < n; ++i)
    if (watcher[i] != reference[i])
      c.differences.push_back(tree_difference{paths[i], "content"});
  std::sort(c.differences.begin(), c.differences.end(),
            [](const tree_difference& x, const tree_difference& y) {
              return x.path < y.path;
            });
}

} // namespace livesync
