// The fs_view of a real directory on this host (the watched root).
#pragma once

#include "core/watcher/fs_view.hpp"

#include <sys/stat.h>

namespace livesync {

/// Converts lstat data into an fs_stat (target left empty).
fs_stat to_fs_stat(const struct stat& st);

class local_tree : public fs_view {
public:
  explicit local_tree(std::string root);

  fs_stat stat(std::string_view path) const override;
  bool list(std::string_view path,
            std::vector<std::string>& out) const override;

  /// The absolute path of root-relative `path`.
  std::string full_path(std::string_view path) const;

  const std::string& root() const noexcept { return root_; }

private:
  std::string root_;
};

} // namespace livesync
