#include "core/reference/tree_reader.hpp"

#include "core/wire/content_hash.hpp"
#include "core/common/owner_access.hpp"
#include "core/common/path_rules.hpp"
#include "core/reference/writer_support.hpp"

#include <cerrno>

#include <sys/stat.h>
#include <unistd.h>

namespace livesync {

status tree_reader::walk(std::vector<dir_listing>& out) const {
  return walk_listings(root_fd_, reference_walk(), out);
}

status tree_reader::listings(const std::vector<std::string>& dirs,
                             uint64_t max_bytes,
                             std::vector<dir_listing>& out,
                             std::string& failed) const {
  return list_directories(root_fd_, dirs, reference_walk(), max_bytes, out,
                          failed);
}

std::vector<manifest_entry> tree_reader::manifest(status& err) const {
  // The digest walk's listings, flattened: one walk of the tree to keep
  // right (parents before children, as the listings come).
  std::vector<dir_listing> dirs;
  if (err = walk(dirs); !err)
    return {};
  std::vector<manifest_entry> out;
  for (auto& d : dirs)
    for (auto& e : d.entries)
      out.push_back(manifest_entry{join_path(d.path, e.name), std::move(e.meta)});
  return out;
}

template <class Check, class F>
status tree_reader::read_file(const std::string& path, const char* what,
                              Check&& check, F&& fn) const {
  if (auto s = check_path(path); !s)
    return s;
  // Grants live as long as this read: restored when it returns.
  owner_access access;
  parent_handle parent;
  if (auto s = open_parent(root_fd_, path, parent, &access); !s)
    return s;
  unique_fd fd;
  open_for_reading(parent, &access, fd);
  struct stat st;
  if (!fd.valid() || ::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode))
    return status::fail(ec::not_found,
                        path + ": no regular file to " + what);
  if (auto s = check(st); !s)
    return s;
  std::vector<char> buf(1u << 20);
  for (;;) {
    if (stopping())
      return status::fail(ec::stopping,
                          path + ": the reference is stopping");
    auto n = ::read(fd.get(), buf.data(), buf.size());
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return errno_status(path + ": read", errno);
    if (n == 0)
      return {};
    fn(buf.data(), static_cast<size_t>(n));
  }
}

recipe tree_reader::recipe_of(const std::string& path,
                              const chunker_params& params,
                              status& err) const {
  recipe out;
  if (auto why = invalid_link_chunker_params(params)) {
    err = status::fail(ec::protocol,
                       std::string{"invalid chunker parameters: "} + why);
    return out;
  }
  // The reply's bound, whatever the file: the watcher falls back to
  // sending the whole file.
  auto bounded = [&](const struct stat& st) {
    if (static_cast<uint64_t>(st.st_size) / params.min_size
        > max_recipe_chunks)
      return status::fail(ec::limit_exceeded,
                          path + ": a recipe of more than "
                            + std::to_string(max_recipe_chunks) + " chunks");
    return status{};
  };
  chunk_stream cs{params, [&](const char*, size_t len, uint64_t hash,
                              uint64_t) {
                    out.push_back(chunk_ref{hash, static_cast<uint32_t>(len)});
                  }};
  err = read_file(path, "chunk", bounded,
                  [&](const char* p, size_t n) { cs.add(p, n); });
  if (!err)
    return {};
  cs.finish();
  return out;
}

hash128 tree_reader::content_hash(const std::string& path,
                                  status& err) const {
  content_hasher hasher;
  err = read_file(path, "hash", [](const struct stat&) { return status{}; },
                  [&](const char* p, size_t n) { hasher.update(p, n); });
  if (!err)
    return {};
  return hasher.digest();
}

} // namespace livesync
