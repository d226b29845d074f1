// The watcher's picture of what the reference holds: a tree of entry_meta
// built from the reference's manifest at (re)connect and updated as each
// operation is sent. The sender compares the filesystem against it to decide
// what to send; a rename moves a subtree in O(depth).
//
// It holds one entry per file of the watched tree, so it is laid out for
// memory (issue 7, workload 6): nodes live in fixed-size chunks indexed by
// id (a free list reuses the ids of erased nodes), names sit in one arena,
// and a directory's children are sorted ids in blocks. That is about
// 80 bytes per entry instead of a heap node plus a std::map node per entry.
#pragma once

#include "core/wire/entry.hpp"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace livesync {

class tree_model {
public:
  /// One entry. Its address is stable until the entry is erased (or the
  /// model reset); moving it with rename() keeps the address.
  class node {
  public:
    entry_meta meta;

  private:
    friend class tree_model;
    /// Where the name sits in the arena; `name_off == free_slot` marks an
    /// unused node.
    uint32_t name_off = 0;
    uint32_t name_len = 0;
    /// Index of the children's list in `lists_` (no_list: none yet); in an
    /// unused node, the next unused node's id.
    uint32_t list = 0;
  };

  tree_model();
  tree_model(tree_model&&) noexcept = default;
  tree_model& operator=(tree_model&&) noexcept = default;

  /// Replaces the whole model by a manifest (parents before children).
  /// Entries whose parent is missing or not a directory are dropped.
  void reset(const std::vector<manifest_entry>& manifest);

  /// The node at `path` ("" is the root directory), or nullptr.
  const node* find(std::string_view path) const;

  /// True when `n` (a directory) has children in the model.
  bool has_children(const node& n) const;

  /// Calls `f(name, child)` for each child of `n`, in name order. `f` must
  /// not change the model.
  template <class F>
  void for_each_child(const node& n, F&& f) const {
    if (n.list == no_list)
      return;
    for (auto& block : lists_[n.list].blocks)
      for (auto id : block)
        f(name_of(at(id)), at(id));
  }

  /// Sets the meta of `path`, whose parent must be a directory in the model
  /// (returns false otherwise). Turning a directory into something else
  /// drops its children.
  bool set(std::string_view path, const entry_meta& meta);

  /// Removes `path` and everything beneath it; returns the number of nodes
  /// removed.
  size_t erase(std::string_view path);

  /// Moves the subtree at `from` to `to`, replacing whatever was at `to`.
  /// False (and no change) when `from` is missing, `to`'s parent is not a
  /// directory, or `to` lies within `from`.
  bool rename(std::string_view from, std::string_view to);

  /// Number of entries, the root excluded.
  size_t size() const noexcept { return size_; }

  /// Bytes the model holds on the heap (nodes, names, child lists), for
  /// tests and logs; malloc's own overhead not included.
  size_t heap_bytes() const noexcept;

private:
  using id_t = uint32_t;
  /// The children of one directory, sorted by name, in blocks of at most
  /// `max_block` ids: inserting or erasing moves one block, not every
  /// sibling (a directory of 100,000 files emptied one by one would move
  /// ~20 GB otherwise). Blocks are never empty.
  struct child_list {
    std::vector<std::vector<id_t>> blocks;
    size_t size = 0;
  };
  /// Where a name is or would go in a child_list.
  struct slot {
    size_t block = 0;
    size_t index = 0;
    bool found = false;
  };
  static constexpr size_t max_block = 512;
  static constexpr uint32_t no_list = UINT32_MAX;
  static constexpr uint32_t free_slot = UINT32_MAX;
  static constexpr id_t no_id = UINT32_MAX;
  static constexpr id_t root_id = 0;
  /// Nodes per chunk: chunks never move, so node addresses stay valid.
  static constexpr unsigned chunk_bits = 10;
  static constexpr id_t chunk_size = id_t{1} << chunk_bits;

  node& at(id_t id) const {
    return chunks_[id >> chunk_bits][id & (chunk_size - 1)];
  }
  std::string_view name_of(const node& n) const {
    return {names_.data() + n.name_off, n.name_len};
  }

  /// The id at `path`, or no_id.
  id_t find_id(std::string_view path) const;
  /// The position of `name` in `dir`'s children, and whether it is there.
  slot locate(const node& dir, std::string_view name) const;
  void insert_child(child_list& l, slot at, id_t id);
  /// Removes and returns the child at `at` (which was found).
  id_t erase_child(child_list& l, slot at);
  static id_t& child_at(child_list& l, slot at) {
    return l.blocks[at.block][at.index];
  }
  id_t new_node(std::string_view name, const entry_meta& meta);
  void set_name(node& n, std::string_view name);
  /// Frees `id` and its subtree; returns how many nodes that was.
  size_t free_subtree(id_t id);
  /// Frees the children of `n` (not `n`); returns how many nodes that was.
  size_t drop_children(node& n);
  child_list& children_of(node& n);
  void maybe_compact_names();

  std::vector<std::unique_ptr<node[]>> chunks_;
  /// Ids below this were handed out at least once.
  id_t used_ = 0;
  /// First unused node below `used_`, chained through node::list.
  id_t free_head_ = no_id;
  std::string names_;
  /// Arena bytes no live node refers to any more.
  size_t dead_name_bytes_ = 0;
  /// Children of each directory that has had any, sorted by name.
  std::vector<child_list> lists_;
  std::vector<uint32_t> free_lists_;
  size_t size_ = 0;
};

} // namespace livesync
