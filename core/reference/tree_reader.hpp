// Reads the reference's tree for the watcher's questions: the digest walk,
// listings, the manifest, a file's recipe and its hash. Changes nothing but
// owner bits it grants itself for the time of one read (core/common/owner_access),
// restored before the read returns. Uses the root descriptor of the
// tree_writer that owns it; every path resolves beneath it without
// following a symlink, as the writer's do.
#pragma once

#include "core/wire/chunker.hpp"
#include "core/wire/entry.hpp"
#include "core/wire/op.hpp"
#include "core/common/status.hpp"
#include "core/wire/tree_listing.hpp"

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace livesync {

/// Most chunks in a recipe reply: 16 Mi chunks are 192 MiB (a 64 GiB file
/// at 4 KiB chunks); beyond, the watcher sends the file whole.
inline constexpr uint64_t max_recipe_chunks = uint64_t{16} << 20;

class tree_reader {
public:
  explicit tree_reader(int root_fd) : root_fd_(root_fd) {}

  /// Every directory of the tree, parents before children, without the
  /// state folder (the reconcile's digests, and the manifest).
  status walk(std::vector<dir_listing>& out) const;

  /// The listings of `dirs`, bounded by `max_bytes` (core/wire/tree_listing's
  /// list_directories).
  status listings(const std::vector<std::string>& dirs, uint64_t max_bytes,
                  std::vector<dir_listing>& out, std::string& failed) const;

  /// Everything beneath the root except the state folder, parents before
  /// children, never following symlinks; fifos, sockets, devices skipped.
  std::vector<manifest_entry> manifest(status& err) const;

  /// The recipe of the regular file at `path`, chunked with `params`.
  recipe recipe_of(const std::string& path, const chunker_params& params,
                   status& err) const;

  /// The XXH3-128 of the regular file at `path`.
  hash128 content_hash(const std::string& path, status& err) const;

  /// Once `*flag` is set, a recipe or hash of a large file stops between
  /// two blocks and fails, so the node exits promptly.
  void stop_when(std::shared_ptr<const std::atomic<bool>> flag) {
    stopping_ = std::move(flag);
  }

private:
  /// Reads the regular file at `path` block by block into `fn`, after
  /// `check` (given its stat) accepted it. `what` names the read in errors.
  template <class Check, class F>
  status read_file(const std::string& path, const char* what, Check&& check,
                   F&& fn) const;

  bool stopping() const noexcept {
    return stopping_ && stopping_->load(std::memory_order_relaxed);
  }

  int root_fd_;
  std::shared_ptr<const std::atomic<bool>> stopping_;
};

} // namespace livesync
