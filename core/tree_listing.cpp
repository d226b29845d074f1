#include "core/tree_listing.hpp"

#include "core/content_hash.hpp"
#include "core/owner_access.hpp"
#include "core/path_rules.hpp"
#include "core/rooted_fs.hpp"

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <fcntl.h>
#include <unistd.h>

namespace livesync {

namespace {

void put_u32(std::string& out, uint32_t x) {
  char b[4];
  std::memcpy(b, &x, 4);
  out.append(b, 4);
}

void put_u64(std::string& out, uint64_t x) {
  char b[8];
  std::memcpy(b, &x, 8);
  out.append(b, 8);
}

void put_bytes(std::string& out, const std::string& s) {
  put_u32(out, static_cast<uint32_t>(s.size()));
  out.append(s);
}

struct walker {
  const walk_options& opts;
  std::vector<dir_listing>& out;
  bool recurse = true;

  status fail(const std::string& path, const char* what, int err) {
    return errno_status((path.empty() ? "." : path) + ": " + what, err);
  }

  // `fd`: the directory `path`, opened for reading; owned (closed) here.
  status walk(int fd, const std::string& path) {
    // Kept for the *at() calls below and to open subdirectories from.
    unique_fd dir{fd};
    std::vector<std::string> names;
    int err = list_dir(dir.get(), names);
    auto index = out.size();
    out.push_back(dir_listing{path, {}, true});
    if (err != 0) {
      if (opts.strict)
        return fail(path, "list", err);
      out[index].complete = false;
      return {};
    }
    std::vector<listed_entry> entries;
    entries.reserve(names.size());
    for (auto& name : names) {
      if (path.empty() && opts.skip_state_folder && name == state_folder)
        continue;
      struct stat st;
      if (int e = stat_at(dir.get(), name, st); e != 0) {
        if (e == ENOENT)
          continue; // Vanished while we walked: not part of the tree.
        if (opts.strict)
          return fail(join_path(path, name), "stat", e);
        out[index].complete = false;
        continue;
      }
      listed_entry le;
      le.meta.mode = st.st_mode & 07777;
      le.meta.mtime_ns = mtime_ns_of(st);
      if (S_ISREG(st.st_mode)) {
        le.meta.kind = entry_kind::file;
        le.meta.size = static_cast<uint64_t>(st.st_size);
      } else if (S_ISDIR(st.st_mode)) {
        le.meta.kind = entry_kind::dir;
      } else if (S_ISLNK(st.st_mode)) {
        char buf[PATH_MAX + 1];
        auto n = ::readlinkat(dir.get(), name.c_str(), buf, sizeof buf);
        if (n < 0 || static_cast<size_t>(n) >= sizeof buf) {
          if (n < 0 && errno == ENOENT)
            continue;
          if (opts.strict)
            return fail(join_path(path, name), "readlink",
                        n < 0 ? errno : ENAMETOOLONG);
          out[index].complete = false;
          continue;
        }
        le.meta.kind = entry_kind::symlink;
        le.meta.target.assign(buf, static_cast<size_t>(n));
        le.meta.size = le.meta.target.size();
      } else if (opts.strict) {
        continue; // Never mirrored: the reference does not list it.
      } else {
        le.meta = entry_meta{}; // kind none: unsupported, never matches.
      }
      le.name = std::move(name);
      entries.push_back(std::move(le));
    }
    std::sort(entries.begin(), entries.end(),
              [](const listed_entry& x, const listed_entry& y) {
                return x.name < y.name;
              });
    out[index].entries = std::move(entries);
    if (!recurse)
      return {};
    // Children after the listing: parents come before children in `out`.
    // Copy the names: `out` grows (and moves) while we recurse.
    std::vector<std::pair<std::string, uint32_t>> subdirs; // name, mode
    for (auto& e : out[index].entries)
      // The state folder at the root is never mirrored (the watcher lists
      // it, so the root's digest differs and the planner warns of it).
      if (e.meta.kind == entry_kind::dir
          && !(path.empty() && e.name == state_folder))
        subdirs.emplace_back(e.name, e.meta.mode);
    for (auto& [name, mode] : subdirs) {
      auto child = join_path(path, name);
      if (opts.excludes != nullptr && opts.excludes->excluded(child, true))
        continue;
      // Held until the subtree is walked: its children are looked up in it.
      owner_access access;
      if (opts.grant_owner_access && (mode & owner_list) != owner_list)
        access.add_at(dir.get(), name.c_str(), owner_list);
      int sub = ::openat(dir.get(), name.c_str(),
                         O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (sub < 0) {
        int e = errno;
        // Removed or replaced by something else meanwhile.
        if (e == ENOENT || e == ELOOP || e == ENOTDIR)
          continue;
        if (opts.strict)
          return fail(child, "open", e);
        out.push_back(dir_listing{child, {}, false});
        continue;
      }
      if (auto s = walk(sub, child); !s)
        return s;
    }
    return {};
  }
};

} // namespace

hash128 listing_digest(const std::vector<listed_entry>& entries) {
  std::string buf;
  buf.reserve(entries.size() * 40);
  for (auto& e : entries) {
    put_bytes(buf, e.name);
    buf.push_back(static_cast<char>(e.meta.kind));
    switch (e.meta.kind) {
      case entry_kind::file:
        put_u32(buf, e.meta.mode);
        put_u64(buf, e.meta.size);
        put_u64(buf, static_cast<uint64_t>(e.meta.mtime_ns));
        break;
      case entry_kind::dir:
        // Directory mtimes are not mirrored, so not compared.
        put_u32(buf, e.meta.mode);
        break;
      case entry_kind::symlink:
        // Only the target is compared (a symlink's mode means nothing).
        put_bytes(buf, e.meta.target);
        break;
      case entry_kind::none:
        break;
    }
  }
  return hash_bytes(buf.data(), buf.size());
}

walk_options reference_walk() {
  walk_options opts;
  opts.skip_state_folder = true;
  opts.strict = true;
  opts.grant_owner_access = true;
  return opts;
}

status walk_listings(int root_fd, const walk_options& opts,
                     std::vector<dir_listing>& out) {
  out.clear();
  int fd = ::openat(root_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return errno_status("root: open", errno);
  walker w{opts, out};
  return w.walk(fd, "");
}

status list_directory(int root_fd, const std::string& path,
                      const walk_options& opts, dir_listing& out) {
  int err = 0;
  owner_access access;
  auto* grants = opts.grant_owner_access ? &access : nullptr;
  auto dir = open_dir_beneath(root_fd, path, err, grants);
  if (!dir.valid())
    return errno_status((path.empty() ? "." : path) + ": open", err);
  if (grants != nullptr)
    access.add(dir.get(), owner_list);
  int fd = ::openat(dir.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return errno_status((path.empty() ? "." : path) + ": open", errno);
  std::vector<dir_listing> one;
  walker w{opts, one, false};
  if (auto s = w.walk(fd, path); !s)
    return s;
  out = std::move(one.front());
  return {};
}

} // namespace livesync
