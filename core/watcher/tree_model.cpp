#include "core/watcher/tree_model.hpp"

#include "core/common/path_rules.hpp"

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

tree_model::slot tree_model::locate(const node& dir,
                                    std::string_view name) const {
  if (dir.list == no_list || lists_[dir.list].size == 0)
    return {};
  auto& blocks = lists_[dir.list].blocks;
  auto name_at = [this](id_t id) { return name_of(at(id)); };
  // Appending in name order (a sorted manifest, a directory listing) is
  // the common case: check the end first.
  if (name_at(blocks.back().back()) < name)
    return {blocks.size() - 1, blocks.back().size(), false};
  // The first block whose last name is not below `name` holds it, or the
  // place where it would go.
  auto b = std::lower_bound(blocks.begin(), blocks.end(), name,
                            [&](const std::vector<id_t>& block,
                                std::string_view x) {
                              return name_at(block.back()) < x;
                            });
  auto i = std::lower_bound(b->begin(), b->end(), name,
                            [&](id_t id, std::string_view x) {
                              return name_at(id) < x;
                            });
  return {static_cast<size_t>(b - blocks.begin()),
          static_cast<size_t>(i - b->begin()),
          i != b->end() && name_at(*i) == name};
}

void tree_model::insert_child(child_list& l, slot at, id_t id) {
  if (l.blocks.empty())
    l.blocks.emplace_back();
  auto& block = l.blocks[at.block];
  block.insert(block.begin() + static_cast<std::ptrdiff_t>(at.index), id);
  ++l.size;
  if (block.size() > max_block) {
    // Split in halves: appending in order then leaves half-full blocks,
    // which is fine; the next split is max_block / 2 inserts away.
    auto mid = block.begin() + static_cast<std::ptrdiff_t>(block.size() / 2);
    std::vector<id_t> upper(mid, block.end());
    block.erase(mid, block.end());
    block.shrink_to_fit();
    l.blocks.insert(l.blocks.begin() + static_cast<std::ptrdiff_t>(at.block)
                      + 1,
                    std::move(upper));
  }
}

tree_model::id_t tree_model::erase_child(child_list& l, slot at) {
  auto& block = l.blocks[at.block];
  auto id = block[at.index];
  block.erase(block.begin() + static_cast<std::ptrdiff_t>(at.index));
  --l.size;
  if (block.empty())
    l.blocks.erase(l.blocks.begin() + static_cast<std::ptrdiff_t>(at.block));
  return id;
}

tree_model::id_t tree_model::find_id(std::string_view path) const {
  id_t cur = root_id;
  for (auto name : split_path(path)) {
    auto& n = at(cur);
    auto where = locate(n, name);
    if (!where.found)
      return no_id;
    cur = lists_[n.list].blocks[where.block][where.index];
  }
  return cur;
}

const tree_model::node* tree_model::find(std::string_view path) const {
  auto id = find_id(path);
  return id == no_id ? nullptr : &at(id);
}

bool tree_model::has_children(const node& n) const {
  return n.list != no_list && lists_[n.list].size != 0;
}

size_t tree_model::heap_bytes() const noexcept {
  size_t bytes = chunks_.capacity() * sizeof(chunks_[0])
                 + chunks_.size() * chunk_size * sizeof(node)
                 + names_.capacity()
                 + lists_.capacity() * sizeof(lists_[0])
                 + free_lists_.capacity() * sizeof(free_lists_[0]);
  for (auto& l : lists_) {
    bytes += l.blocks.capacity() * sizeof(l.blocks[0]);
    for (auto& block : l.blocks)
      bytes += block.capacity() * sizeof(id_t);
  }
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

tree_model::child_list& tree_model::children_of(node& n) {
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
  for (auto& block : ids.blocks)
    for (auto id : block)
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
  auto where = locate(parent, name);
  if (where.found) {
    auto& n = at(child_at(lists_[parent.list], where));
    if (meta.kind != entry_kind::dir) {
      size_ -= drop_children(n);
      maybe_compact_names();
    }
    n.meta = meta;
    return true;
  }
  auto id = new_node(name, meta);
  insert_child(children_of(parent), where, id);
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
  auto where = locate(parent, leaf_of(path));
  if (!where.found)
    return 0;
  auto id = erase_child(lists_[parent.list], where);
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
  auto src = locate(at(src_parent), leaf_of(from));
  if (!src.found)
    return false;
  // Take the subtree out first: when `to` is an ancestor's sibling or the
  // parent itself ("a/sub" -> "a"), replacing the target must not free it.
  auto moved = erase_child(lists_[at(src_parent).list], src);
  auto name = leaf_of(to);
  // Located after the removal: both ends may be the same directory.
  auto dst = locate(at(dst_parent), name);
  auto& dst_list = children_of(at(dst_parent));
  if (dst.found) {
    auto replaced = child_at(dst_list, dst);
    child_at(dst_list, dst) = moved;
    size_ -= free_subtree(replaced);
  } else {
    insert_child(dst_list, dst, moved);
  }
  if (name_of(at(moved)) != name)
    set_name(at(moved), name);
  maybe_compact_names();
  return true;
}

} // namespace livesync
