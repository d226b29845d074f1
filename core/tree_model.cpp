#include "core/tree_model.hpp"

#include "core/path_rules.hpp"

namespace livesync {

tree_model::tree_model() {
  root_.meta.kind = entry_kind::dir;
}

void tree_model::reset(const std::vector<manifest_entry>& manifest) {
  root_.children.clear();
  size_ = 0;
  for (auto& e : manifest)
    set(e.path, e.meta);
}

const tree_model::node* tree_model::find(std::string_view path) const {
  return const_cast<tree_model*>(this)->find_mut(path);
}

tree_model::node* tree_model::find_mut(std::string_view path) {
  node* cur = &root_;
  for (auto name : split_path(path)) {
    auto i = cur->children.find(name);
    if (i == cur->children.end())
      return nullptr;
    cur = i->second.get();
  }
  return cur;
}

size_t tree_model::count(const node& n) {
  size_t result = 1;
  for (auto& kv : n.children)
    result += count(*kv.second);
  return result;
}

bool tree_model::set(std::string_view path, const entry_meta& meta) {
  if (path.empty())
    return false;
  auto* parent = find_mut(parent_of(path));
  if (parent == nullptr || parent->meta.kind != entry_kind::dir)
    return false;
  auto name = leaf_of(path);
  auto i = parent->children.find(name);
  if (i == parent->children.end()) {
    auto n = std::make_unique<node>();
    n->meta = meta;
    parent->children.emplace(std::string{name}, std::move(n));
    ++size_;
    return true;
  }
  auto& n = *i->second;
  if (meta.kind != entry_kind::dir && !n.children.empty()) {
    size_ -= count(n) - 1;
    n.children.clear();
  }
  n.meta = meta;
  return true;
}

size_t tree_model::erase(std::string_view path) {
  if (path.empty())
    return 0;
  auto* parent = find_mut(parent_of(path));
  if (parent == nullptr)
    return 0;
  auto i = parent->children.find(leaf_of(path));
  if (i == parent->children.end())
    return 0;
  auto removed = count(*i->second);
  parent->children.erase(i);
  size_ -= removed;
  return removed;
}

bool tree_model::rename(std::string_view from, std::string_view to) {
  if (from.empty() || to.empty() || from == to || is_within(to, from))
    return false;
  auto* src_parent = find_mut(parent_of(from));
  auto* dst_parent = find_mut(parent_of(to));
  if (src_parent == nullptr || dst_parent == nullptr
      || dst_parent->meta.kind != entry_kind::dir)
    return false;
  auto i = src_parent->children.find(leaf_of(from));
  if (i == src_parent->children.end())
    return false;
  auto moved = std::move(i->second);
  src_parent->children.erase(i);
  auto name = leaf_of(to);
  auto j = dst_parent->children.find(name);
  if (j != dst_parent->children.end()) {
    size_ -= count(*j->second);
    j->second = std::move(moved);
  } else {
    dst_parent->children.emplace(std::string{name}, std::move(moved));
  }
  return true;
}

} // namespace livesync
