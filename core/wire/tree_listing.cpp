#include "core/wire/tree_listing.hpp"

#include "core/wire/content_hash.hpp"
#include "core/common/owner_access.hpp"
#include "core/common/path_rules.hpp"
#include "core/common/rooted_fs.hpp"

#include <algorithm>
#include <memory>
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

/// Whether the children of directory `path` can be valid paths at all
/// (path_rules): the walks stop above the depth and length no operation
/// may name, which also bounds the descriptors they hold (one per level).
bool children_nameable(const std::string& path) {
  size_t depth = path.empty() ? 0 : 1 + std::count(path.begin(), path.end(), '/');
  // The shortest child adds "/x".
  return depth < max_path_depth && path.size() + 2 <= max_path_bytes;
}

class walker {
public:
  walker(const walk_options& opts, std::vector<dir_listing>& out)
    : opts_(opts), out_(out) {}

  /// Lists `fd` (the directory `path`, opened for reading; owned here) and,
  /// if `recurse`, every directory beneath it, parents first. Iterative:
  /// one frame per level of the current path, on the heap.
  status walk(int fd, const std::string& path, bool recurse) {
    std::vector<frame> stack;
    stack.emplace_back();
    stack.back().dir.reset(fd);
    stack.back().path = path;
    if (auto s = list(stack.back()); !s || !recurse)
      return s;
    while (!stack.empty()) {
      auto& top = stack.back();
      if (top.next == top.subdirs.size()) {
        stack.pop_back(); // its grant, if any, ends with its subtree
        continue;
      }
      auto& [name, mode] = top.subdirs[top.next++];
      frame child;
      child.path = join_path(top.path, name);
      if (opts_.excludes != nullptr && opts_.excludes->excluded(child.path, true))
        continue;
      // Deeper or longer than any operation may name its children: listed
      // in its parent, never walked (on both nodes, so their digests agree;
      // the planner skips such paths). This also bounds the descriptors
      // held, one per level, by the depth limit.
      if (!children_nameable(child.path))
        continue;
      // Held until the subtree is walked: its children are looked up in it.
      if (opts_.grant_owner_access && (mode & owner_list) != owner_list)
        child.access->add_at(top.dir.get(), name.c_str(), owner_list);
      child.dir.reset(::openat(top.dir.get(), name.c_str(),
                               O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (!child.dir.valid()) {
        int e = errno;
        // Removed or replaced by something else meanwhile.
        if (e == ENOENT || e == ELOOP || e == ENOTDIR)
          continue;
        if (opts_.strict)
          return fail(child.path, "open", e);
        out_.push_back(dir_listing{child.path, {}, false});
        continue;
      }
      if (auto s = list(child); !s)
        return s;
      stack.push_back(std::move(child));
    }
    return {};
  }

private:
  struct frame {
    unique_fd dir;
    std::string path;
    /// Subdirectories to walk (name, mode), and the next one.
    std::vector<std::pair<std::string, uint32_t>> subdirs;
    size_t next = 0;
    /// Owner bits this directory got for its walk (on the heap: a frame
    /// moves, a grant must not).
    std::unique_ptr<owner_access> access = std::make_unique<owner_access>();
  };

  status fail(const std::string& path, const char* what, int err) {
    return errno_status((path.empty() ? "." : path) + ": " + what, err);
  }

  /// Appends the listing of `f` to the output and fills `f.subdirs`.
  status list(frame& f) {
    std::vector<std::string> names;
    int err = list_dir(f.dir.get(), names);
    auto index = out_.size();
    out_.push_back(dir_listing{f.path, {}, true});
    if (err != 0) {
      if (opts_.strict)
        return fail(f.path, "list", err);
      out_[index].complete = false;
      return {};
    }
    std::vector<listed_entry> entries;
    entries.reserve(names.size());
    for (auto& name : names) {
      if (f.path.empty() && opts_.skip_state_folder && name == state_folder)
        continue;
      listed_entry le;
      int e = entry_at(f.dir.get(), name, le.meta, le.linked_inode);
      if (e == ENOENT)
        continue; // Vanished while we walked: not part of the tree.
      if (e != 0) {
        if (opts_.strict)
          return fail(join_path(f.path, name), "stat", e);
        out_[index].complete = false;
        continue;
      }
      if (le.meta.kind == entry_kind::none && opts_.strict)
        continue; // Never mirrored: the reference does not list it.
      le.name = std::move(name);
      entries.push_back(std::move(le));
    }
    std::sort(entries.begin(), entries.end(),
              [](const listed_entry& x, const listed_entry& y) {
                return x.name < y.name;
              });
    out_[index].entries = std::move(entries);
    for (auto& e : out_[index].entries)
      // The state folder at the root is never mirrored (the watcher lists
      // it, so the root's digest differs and the planner warns of it).
      if (e.meta.kind == entry_kind::dir
          && !(f.path.empty() && e.name == state_folder))
        f.subdirs.emplace_back(e.name, e.meta.mode);
    return {};
  }

  /// What `name` in `dir` is: 0, or the errno of stat or readlink. A fifo,
  /// socket or device is kind none.
  static int entry_at(int dir, const std::string& name, entry_meta& meta,
                      uint64_t& linked_inode) {
    struct stat st;
    if (int e = stat_at(dir, name, st); e != 0)
      return e;
    meta.mode = st.st_mode & 07777;
    meta.mtime_ns = mtime_ns_of(st);
    if (S_ISREG(st.st_mode)) {
      meta.kind = entry_kind::file;
      meta.size = static_cast<uint64_t>(st.st_size);
      if (st.st_nlink > 1)
        linked_inode = static_cast<uint64_t>(st.st_ino);
    } else if (S_ISDIR(st.st_mode)) {
      meta.kind = entry_kind::dir;
    } else if (S_ISLNK(st.st_mode)) {
      std::string target(PATH_MAX + 1, '\0');
      auto n = ::readlinkat(dir, name.c_str(), target.data(), target.size());
      if (n < 0)
        return errno;
      if (static_cast<size_t>(n) >= target.size())
        return ENAMETOOLONG;
      target.resize(static_cast<size_t>(n));
      meta.kind = entry_kind::symlink;
      meta.size = target.size();
      meta.target = std::move(target);
    } else {
      meta = entry_meta{}; // kind none: unsupported, never matches.
    }
    return 0;
  }

  const walk_options& opts_;
  std::vector<dir_listing>& out_;
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
  return w.walk(fd, "", true);
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
  walker w{opts, one};
  if (auto s = w.walk(fd, path, false); !s)
    return s;
  out = std::move(one.front());
  return {};
}

uint64_t wire_size(const dir_listing& d) {
  uint64_t n = 16 + d.path.size();
  for (auto& e : d.entries)
    n += 32 + e.name.size() + e.meta.target.size();
  return n;
}

status list_directories(int root_fd, const std::vector<std::string>& dirs,
                        const walk_options& opts, uint64_t max_bytes,
                        std::vector<dir_listing>& out, std::string& failed) {
  out.clear();
  uint64_t bytes = 0;
  for (auto& p : dirs) {
    if (!out.empty() && bytes >= max_bytes)
      break;
    dir_listing d;
    if (auto s = list_directory(root_fd, p, opts, d); !s) {
      failed = p;
      out.clear();
      return s;
    }
    bytes += wire_size(d);
    out.push_back(std::move(d));
  }
  return {};
}

} // namespace livesync
