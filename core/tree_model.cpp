#include "core/tree_model.hpp"

#include "core/path_rules.hpp"

#include <algorithm>

namespace livesync {

tree_model::tree_model() {
  reset({});
}

void tree_model::reset(const std::vector<manifest_entry>& manifest) {
  // Release everything (a reset after a big tree must not keep its peak).
  decltype(chunks_){}.swap(chunks_);
  std::string{}.swap(names_);
  decltype(lists_){}.swap(lists_);
  decltype(free_lists_){}.swap(free_lists_);
  used_ = 0;
  free_head_ = no_id;
  dead_name_bytes_ = 0;
  size_ = 0;
  entry_meta root;
  root.kind = entry_kind::dir;
  new_node({}, root);
  for (auto& e : manifest)
    set(e.path, e.meta);
}

// -- lookups --------------------------------------------------------------------

std::pair<size_t, bool> tree_model::locate(const node& dir,
                                           std::string_view name) const {
  if (dir.list == no_list)
    return {0, false};
  auto& ids = lists_[dir.list];
  // Appending in name order (a sorted manifest, a directory listing) is
  // the common case: check the end first.
  if (ids.empty() || name_of(at(ids.back())) < name)
    return {ids.size(), false};
  auto i = std::lower_bound(ids.begin(), ids.end(), name,
                            [this](id_t id, std::string_view x) {
                              return name_of(at(id)) < x;
                            });
  return {static_cast<size_t>(i - ids.begin()),
          i != ids.end() && name_of(at(*i)) == name};
}

tree_model::id_t tree_model::find_id(std::string_view path) const {
  id_t cur = root_id;
  for (auto name : split_path(path)) {
    auto& n = at(cur);
    auto [pos, found] = locate(n, name);
    if (!found)
      return no_id;
    cur = lists_[n.list][pos];
  }
  return cur;
}

const tree_model::node* tree_model::find(std::string_view path) const {
  auto id = find_id(path);
  return id == no_id ? nullptr : &at(id);
}

bool tree_model::has_children(const node& n) const {
  return n.list != no_list && !lists_[n.list].empty();
}

size_t tree_model::heap_bytes() const noexcept {
  size_t bytes = chunks_.capacity() * sizeof(chunks_[0])
                 + chunks_.size() * chunk_size * sizeof(node)
                 + names_.capacity()
                 + lists_.capacity() * sizeof(lists_[0])
                 + free_lists_.capacity() * sizeof(free_lists_[0]);
  for (auto& l : lists_)
    bytes += l.capacity() * sizeof(id_t);
  return bytes;
}

// -- node and name storage ------------------------------------------------------

tree_model::id_t tree_model::new_node(std::string_view name,
                                      const entry_meta& meta) {
  id_t id;
  if (free_head_ != no_id) {
    id = free_head_;
    free_head_ = at(id).list;
  } else {
    if ((used_ & (chunk_size - 1)) == 0)
      chunks_.push_back(std::make_unique<node[]>(chunk_size));
    id = used_++;
  }
  auto& n = at(id);
  n.meta = meta;
  n.list = no_list;
  n.name_len = 0;
  set_name(n, name);
  return id;
}

void tree_model::set_name(node& n, std::string_view name) {
  // A name is written once and never edited in place; the old bytes become
  // garbage until the next compaction.
  dead_name_bytes_ += n.name_len;
  n.name_off = static_cast<uint32_t>(names_.size());
  n.name_len = static_cast<uint32_t>(name.size());
  names_.append(name);
}

std::vector<tree_model::id_t>& tree_model::children_of(node& n) {
  if (n.list == no_list) {
    if (free_lists_.empty()) {
      n.list = static_cast<uint32_t>(lists_.size());
      lists_.emplace_back();
    } else {
      n.list = free_lists_.back();
      free_lists_.pop_back();
    }
  }
  return lists_[n.list];
}

size_t tree_model::drop_children(node& n) {
  if (n.list == no_list)
    return 0;
  size_t removed = 0;
  // Take the list out first: freeing a child may hand out nothing, but
  // must not see a list that is being torn down.
  auto ids = std::move(lists_[n.list]);
  lists_[n.list] = {};
  free_lists_.push_back(n.list);
  n.list = no_list;
  for (auto id : ids)
    removed += free_subtree(id);
  return removed;
}

size_t tree_model::free_subtree(id_t id) {
  auto& n = at(id);
  auto removed = 1 + drop_children(n);
  dead_name_bytes_ += n.name_len;
  n.meta = entry_meta{}; // Releases a symlink target.
  n.name_off = free_slot;
  n.name_len = 0;
  n.list = free_head_;
  free_head_ = id;
  return removed;
}

void tree_model::maybe_compact_names() {
  // Renames and erases leave dead bytes behind; rewrite the arena once they
  // outweigh the live ones, so it stays within twice what is needed.
  if (dead_name_bytes_ < 4096 || dead_name_bytes_ * 2 < names_.size())
    return;
  std::string fresh;
  fresh.reserve(names_.size() - dead_name_bytes_);
  for (id_t id = 0; id < used_; ++id) {
    auto& n = at(id);
    if (n.name_off == free_slot)
      continue;
    auto name = name_of(n);
    n.name_off = static_cast<uint32_t>(fresh.size());
    fresh.append(name);
  }
  names_.swap(fresh);
  dead_name_bytes_ = 0;
}

// -- changes ----------------------------------------------------------------------

bool tree_model::set(std::string_view path, const entry_meta& meta) {
  if (path.empty())
    return false;
  auto parent_id = find_id(parent_of(path));
  if (parent_id == no_id || at(parent_id).meta.kind != entry_kind::dir)
    return false;
  auto& parent = at(parent_id);
  auto name = leaf_of(path);
  auto [pos, found] = locate(parent, name);
  if (found) {
    auto& n = at(lists_[parent.list][pos]);
    if (meta.kind != entry_kind::dir) {
      size_ -= drop_children(n);
      maybe_compact_names();
    }
    n.meta = meta;
    return true;
  }
  auto id = new_node(name, meta);
  auto& ids = children_of(parent);
  ids.insert(ids.begin() + static_cast<std::ptrdiff_t>(pos), id);
  ++size_;
  return true;
}

size_t tree_model::erase(std::string_view path) {
  if (path.empty())
    return 0;
  auto parent_id = find_id(parent_of(path));
  if (parent_id == no_id)
    return 0;
  auto& parent = at(parent_id);
  auto [pos, found] = locate(parent, leaf_of(path));
  if (!found)
    return 0;
  auto& ids = lists_[parent.list];
  auto id = ids[pos];
  ids.erase(ids.begin() + static_cast<std::ptrdiff_t>(pos));
  auto removed = free_subtree(id);
  size_ -= removed;
  maybe_compact_names();
  return removed;
}

bool tree_model::rename(std::string_view from, std::string_view to) {
  if (from.empty() || to.empty() || from == to || is_within(to, from))
    return false;
  auto src_parent = find_id(parent_of(from));
  auto dst_parent = find_id(parent_of(to));
  if (src_parent == no_id || dst_parent == no_id
      || at(dst_parent).meta.kind != entry_kind::dir)
    return false;
  auto [src_pos, src_found] = locate(at(src_parent), leaf_of(from));
  if (!src_found)
    return false;
  // Take the subtree out first: when `to` is an ancestor's sibling or the
  // parent itself ("a/sub" -> "a"), replacing the target must not free it.
  auto& src_ids = lists_[at(src_parent).list];
  auto moved = src_ids[src_pos];
  src_ids.erase(src_ids.begin() + static_cast<std::ptrdiff_t>(src_pos));
  auto name = leaf_of(to);
  // Located after the removal: both ends may be the same directory.
  auto [dst_pos, dst_found] = locate(at(dst_parent), name);
  auto& dst_ids = children_of(at(dst_parent));
  if (dst_found) {
    auto replaced = dst_ids[dst_pos];
    dst_ids[dst_pos] = moved;
    size_ -= free_subtree(replaced);
  } else {
    dst_ids.insert(dst_ids.begin() + static_cast<std::ptrdiff_t>(dst_pos),
                   moved);
  }
  if (name_of(at(moved)) != name)
    set_name(at(moved), name);
  maybe_compact_names();
  return true;
}

} // namespace livesync
