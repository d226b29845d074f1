// The first difference between a watched tree and a reference's tree, or
// "": verify's own comparison (listings, then content hashes), for the
// actor suites that run a sender against a real receiver.
#pragma once

#include "core/reference/tree_writer.hpp"
#include "core/watcher/file_reader.hpp"
#include "core/watcher/local_tree.hpp"
#include "core/watcher/tree_compare.hpp"

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace livesync::test {

/// Writes `text` to `root`/`rel`, making its directories.
inline void write_under(const std::string& root, const std::string& rel,
                        const std::string& text) {
  auto p = root + "/" + rel;
  std::filesystem::create_directories(std::filesystem::path{p}.parent_path());
  std::ofstream{p, std::ios::binary | std::ios::trunc} << text;
}

inline std::string tree_mismatch(const std::string& src, tree_writer& writer) {
  local_tree fs{src};
  auto want = list_tree(fs, nullptr, nullptr);
  livesync::status err;
  auto have = writer.reader().manifest(err);
  if (!err)
    return "manifest: " + err.reason();
  auto c = compare_listings(want, have, writer_limits{}.mode_mask, nullptr);
  std::vector<hash128> ours, theirs;
  for (auto& p : c.to_hash) {
    std::vector<char> data;
    hash128 h;
    entry_meta meta;
    std::string why;
    if (read_whole_file(src + "/" + p, data, h, meta, why)
        != read_outcome::ok)
      return p + ": unreadable here: " + why;
    ours.push_back(h);
    theirs.push_back(writer.reader().content_hash(p, err));
    if (!err)
      return p + ": " + err.reason();
  }
  add_content_differences(c, c.to_hash, ours, theirs);
  if (c.differences.empty())
    return "";
  return c.differences.front().path + ": " + c.differences.front().what;
}

} // namespace livesync::test
