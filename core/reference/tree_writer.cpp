// The writer's life (open, batches, abort) and its namespace operations
// (mkdir, symlink, remove, rename, set_attr). Whole files are in
// tree_writer_files.cpp, streamed ones in tree_writer_transfers.cpp, hard
// links in tree_writer_links.cpp, and what they share in writer_support.
#include "core/reference/tree_writer.hpp"
#include "core/reference/writer_support.hpp"

#include "core/common/owner_access.hpp"
#include "core/common/path_rules.hpp"
#include "core/common/rooted_fs.hpp"

#include <algorithm>
#include <cerrno>
#include <climits>
#include <exception>
#include <filesystem>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace livesync {

namespace {

/// Longest symlink text accepted: Linux stores at most PATH_MAX - 1 bytes.
constexpr size_t max_symlink_target = PATH_MAX - 1;

/// Which way of linking an O_TMPFILE file works here, tried once in the
/// (just emptied) staging folder: `none` when O_TMPFILE is unsupported or
/// neither way can link it (no CAP_DAC_READ_SEARCH and no /proc).
tmpfile_link probe_tmpfile_link(int staging_fd) {
  unique_fd fd{::openat(staging_fd, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC,
                        0600)};
  if (!fd.valid())
    return tmpfile_link::none;
  // Staging names are "<n>.tmp": this one never collides with them.
  const char* name = "probe";
  for (auto how : {tmpfile_link::empty_path, tmpfile_link::proc_fd}) {
    if (link_tmpfile(fd.get(), how, staging_fd, name) == 0) {
      ::unlinkat(staging_fd, name, 0);
      return how;
    }
  }
  return tmpfile_link::none;
}

/// Number of components of a valid path.
size_t depth_of(const std::string& path) {
  return 1 + static_cast<size_t>(std::count(path.begin(), path.end(), '/'));
}

} // namespace

// -- construction ---------------------------------------------------------------

std::unique_ptr<tree_writer> tree_writer::open(const std::string& root,
                                               writer_limits limits,
                                               status& err) {
  err = {};
  std::error_code fs_err;
  std::filesystem::create_directories(root, fs_err);
  if (fs_err) {
    err = errno_status(root + ": create root", fs_err.value());
    return nullptr;
  }
  unique_fd root_fd{::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)};
  if (!root_fd.valid()) {
    err = errno_status(root + ": open root", errno);
    return nullptr;
  }
  // The state folder and its staging folder: created if missing, opened
  // without following symlinks like everything beneath the root.
  std::string state{state_folder};
  if (::mkdirat(root_fd.get(), state.c_str(), 0700) != 0 && errno != EEXIST) {
    err = errno_status(root + "/" + state + ": mkdir", errno);
    return nullptr;
  }
  int walk_err = 0;
  auto state_fd = open_dir_beneath(root_fd.get(), state, walk_err);
  if (!state_fd.valid()) {
    err = errno_status(root + "/" + state + ": open", walk_err);
    return nullptr;
  }
  if (::mkdirat(state_fd.get(), "staging", 0700) != 0 && errno != EEXIST) {
    err = errno_status(root + "/" + state + "/staging: mkdir", errno);
    return nullptr;
  }
  auto staging_fd = open_dir_beneath(state_fd.get(), "staging", walk_err);
  if (!staging_fd.valid()) {
    err = errno_status(root + "/" + state + "/staging: open", walk_err);
    return nullptr;
  }
  // Anything left in staging is a half-built file from a run that died:
  // no transfer can resume across a restart, so it is garbage.
  std::vector<std::string> stale;
  if (int e = list_dir(staging_fd.get(), stale); e != 0) {
    err = errno_status(root + "/" + state + "/staging: list", e);
    return nullptr;
  }
  for (const auto& name : stale) {
    if (int e = remove_tree_at(staging_fd.get(), name); e != 0) {
      err = errno_status(root + "/" + state + "/staging/" + name + ": remove",
                         e);
      return nullptr;
    }
  }
  auto link = limits.site == build_site::tmpfile
                ? probe_tmpfile_link(staging_fd.get())
                : tmpfile_link::none;
  auto shared = std::make_shared<writer_shared>(
    root, root_fd.release(), staging_fd.release(), limits, link);
  return std::unique_ptr<tree_writer>{new tree_writer(std::move(shared))};
}

tree_writer::tree_writer(std::shared_ptr<writer_shared> shared)
  : shared_(std::move(shared)),
    root_(shared_->root),
    root_fd_(shared_->root_fd),
    staging_fd_(shared_->staging_fd),
    limits_(shared_->limits),
    link_(shared_->link),
    reader_(root_fd_),
    access_(shared_->grants) {
  // Nothing else: open() did the work that can fail.
}

std::unique_ptr<tree_writer> tree_writer::sibling() const {
  std::unique_ptr<tree_writer> w{new tree_writer(shared_)};
  w->stop_when(stopping_);
  return w;
}

tree_writer::~tree_writer() {
  // Transfers unlink their staging files through the shared staging
  // folder, which the last writer closes.
  transfers_.clear();
}

writer_stats tree_writer::stats() const noexcept {
  writer_stats out;
  out.ops = shared_->ops.load();
  out.errors = shared_->errors.load();
  out.files_committed = shared_->files_committed.load();
  out.bytes_written = shared_->bytes_written.load();
  return out;
}

size_t tree_writer::open_transfers() const noexcept {
  return static_cast<size_t>(shared_->open_transfers.load());
}

bool parse_durability(const std::string& text, durability& out) {
  if (text == "none")
    out = durability::none;
  else if (text == "file")
    out = durability::file;
  else if (text == "batch")
    out = durability::batch;
  else
    return false;
  return true;
}

status tree_writer::end_batch() {
  if (limits_.sync != durability::batch)
    return {};
  if (::syncfs(root_fd_) != 0)
    return errno_status("syncfs", errno);
  return {};
}

void tree_writer::abort_all() {
  transfers_.clear();
}

// -- dispatch -------------------------------------------------------------------

status tree_writer::apply(const op& x) {
  ++shared_->ops;
  status result;
  try {
    result = apply_impl(x);
  } catch (const std::exception& e) {
    // core/ never throws across its API; bad_alloc is the realistic case.
    result = status::fail(ec::internal, x.path + ": " + to_string(x.kind)
                                          + ": " + e.what());
  }
  // The wanted modes are back before the next op (or reader) looks.
  access_.restore();
  if (result)
    return result;
  ++shared_->errors;
  return one_line(result);
}

status tree_writer::apply_impl(const op& x) {
  switch (x.kind) {
    case op_kind::mkdir: return do_mkdir(x);
    case op_kind::symlink: return do_symlink(x);
    case op_kind::remove: return do_remove(x);
    case op_kind::rename: return do_rename(x);
    case op_kind::set_attr: return do_set_attr(x);
    case op_kind::write_file: return do_write_file(x);
    case op_kind::begin_file: return do_begin_file(x);
    case op_kind::chunk: return do_chunk(x);
    case op_kind::commit_file: return do_commit_file(x);
    case op_kind::abort_file: return do_abort_file(x);
    case op_kind::copy_range: return do_copy_range(x);
    case op_kind::link: return do_link(x);
  }
  return status::fail(ec::protocol,
                      "unknown op kind "
                        + std::to_string(static_cast<int>(x.kind)));
}

// -- namespace ops ----------------------------------------------------------------

status tree_writer::do_mkdir(const op& x) {
  if (auto s = check_path(x.path); !s)
    return s;
  parent_handle parent;
  if (auto s = open_parent(root_fd_, x.path, parent, &access_); !s)
    return s;
  int dir = parent.fd.get();
  const char* leaf = parent.leaf.c_str();
  struct stat st;
  int err = with_owner_access(&access_, dir, owner_search, [&] {
    return stat_at(dir, parent.leaf, st);
  });
  if (err != 0 && err != ENOENT)
    return errno_status(x.path + ": stat", err);
  bool is_dir = err == 0 && S_ISDIR(st.st_mode);
  if (err == 0 && !is_dir) {
    err = with_owner_access(&access_, dir, owner_modify, [&] {
      return ::unlinkat(dir, leaf, 0) == 0 ? 0 : errno;
    });
    if (err != 0)
      return errno_status(x.path + ": remove non-directory in the way", err);
  }
  if (!is_dir) {
    err = with_owner_access(&access_, dir, owner_modify, [&] {
      return ::mkdirat(dir, leaf, 0700) == 0 ? 0 : errno;
    });
    if (err != 0)
      return errno_status(x.path + ": mkdir", err);
  }
  // Always explicit: mkdir(2) modes are filtered by the umask. (The stat
  // above got the parent its search bit if it lacked it.)
  if ((err = chmod_at_nofollow(dir, parent.leaf, x.mode & limits_.mode_mask))
      != 0)
    return errno_status(x.path + ": chmod", err);
  return {};
}

status tree_writer::do_symlink(const op& x) {
  if (auto s = check_path(x.path); !s)
    return s;
  if (x.target.empty())
    return status::fail(ec::protocol, x.path + ": empty symlink target");
  if (x.target.size() > max_symlink_target)
    return status::fail(ec::limit_exceeded,
                        x.path + ": symlink target longer than "
                          + std::to_string(max_symlink_target) + " bytes");
  if (x.target.find('\0') != std::string::npos)
    return status::fail(ec::protocol,
                        x.path + ": symlink target contains NUL");
  parent_handle parent;
  if (auto s = open_parent(root_fd_, x.path, parent, &access_); !s)
    return s;
  // Build the link in staging and rename it over the path, so the path is
  // never missing for a reader (symlink(2) cannot replace).
  std::string name;
  for (int attempt = 0;; ++attempt) {
    name = next_staging_name();
    if (::symlinkat(x.target.c_str(), staging_fd_, name.c_str()) == 0)
      break;
    if (errno != EEXIST || attempt + 1 == staging_attempts)
      return errno_status(x.path + ": create staging symlink", errno);
  }
  staged_entry link{staging_fd_, name};
  // The op carries the link's mtime when the watcher knows it; 0 = unset.
  if (x.mtime_ns != 0) {
    if (int err = set_mtime_at_nofollow(staging_fd_, name, x.mtime_ns))
      return errno_status(x.path + ": set symlink mtime", err);
  }
  if (auto s = place(staging_fd_, name, parent, x.path, &access_); !s)
    return s;
  link.committed();
  return {};
}

status tree_writer::do_remove(const op& x) {
  if (auto s = check_path(x.path); !s)
    return s;
  parent_handle parent;
  int walk_err = 0;
  if (auto s = open_parent(root_fd_, x.path, parent, &access_, &walk_err);
      !s) {
    // No parent directory beneath the root (missing, or a symlink/file in
    // its place) means nothing is at this path: already removed.
    if (walk_err == ENOENT || walk_err == ELOOP || walk_err == ENOTDIR)
      return {};
    return s;
  }
  int dir = parent.fd.get();
  int err = with_owner_access(&access_, dir, owner_modify, [&] {
    return remove_tree_at(dir, parent.leaf);
  });
  if (err != 0)
    return errno_status(x.path + ": remove", err);
  return {};
}

status tree_writer::do_rename(const op& x) {
  if (auto s = check_path(x.path); !s)
    return s;
  if (auto s = check_path(x.target); !s)
    return s;
  parent_handle from;
  int walk_err = 0;
  if (auto s = open_parent(root_fd_, x.path, from, &access_, &walk_err); !s)
    return walk_err == ENOENT
             ? status::fail(ec::not_found, x.path + ": rename source missing")
             : s;
  struct stat st;
  int err = with_owner_access(&access_, from.fd.get(), owner_search, [&] {
    return stat_at(from.fd.get(), from.leaf, st);
  });
  if (err != 0)
    return err == ENOENT ? status::fail(ec::not_found,
                                        x.path + ": rename source missing")
                         : errno_status(x.path + ": stat", err);
  parent_handle to;
  if (auto s = open_parent(root_fd_, x.target, to, &access_); !s)
    return s;
  if (S_ISDIR(st.st_mode)
      && (depth_of(x.target) > depth_of(x.path)
          || x.target.size() > x.path.size())) {
    // Deeper or longer than before: everything beneath must still be
    // nameable once moved.
    int err = subtree_within(from.fd.get(), from.leaf,
                             max_path_depth - depth_of(x.target),
                             max_path_bytes - x.target.size());
    if (err == E2BIG)
      return status::fail(ec::limit_exceeded,
                          x.path + ": a rename that would nest paths past "
                            + std::to_string(max_path_depth) + " components or "
                            + std::to_string(max_path_bytes) + " bytes (to "
                            + x.target + ")");
    if (err != 0)
      return errno_status(x.path + ": walk", err);
  }
  // Plain rename(2): its refusals (non-empty directory in the way, file
  // over directory, directory into itself) come back as errors, and
  // nothing is deleted to make room.
  auto rename = [&] {
    return ::renameat(from.fd.get(), from.leaf.c_str(), to.fd.get(),
                      to.leaf.c_str())
               == 0
             ? 0
             : errno;
  };
  err = rename();
  if (err == EACCES) {
    // Both parents change, and a directory moved to another parent
    // rewrites its own "..": each needs its owner's write bit.
    bool added = access_.add(from.fd.get(), owner_modify);
    added = access_.add(to.fd.get(), owner_modify) || added;
    if (S_ISDIR(st.st_mode))
      added = access_.add_at(from.fd.get(), from.leaf.c_str(), S_IWUSR)
              || added;
    if (added)
      err = rename();
  }
  if (err != 0)
    return errno_status(x.path + " -> " + x.target + ": rename", err);
  return {};
}

status tree_writer::do_set_attr(const op& x) {
  if (auto s = check_path(x.path); !s)
    return s;
  parent_handle parent;
  if (auto s = open_parent(root_fd_, x.path, parent, &access_); !s)
    return s;
  int dir = parent.fd.get();
  struct stat st;
  // The leaf's own mode never needs a grant: its owner may chmod and touch
  // it whatever the mode; only the lookup in its parent may.
  int err = with_owner_access(&access_, dir, owner_search, [&] {
    return stat_at(dir, parent.leaf, st);
  });
  if (err != 0)
    return err == ENOENT ? status::fail(ec::not_found,
                                        x.path + ": set_attr on missing path")
                         : errno_status(x.path + ": stat", err);
  if (status result; unshare_for_attr(x, parent, st, result))
    return result;
  if (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode)) {
    if (int err = chmod_at_nofollow(dir, parent.leaf,
                                    x.mode & limits_.mode_mask))
      return errno_status(x.path + ": chmod", err);
  } else if (!S_ISLNK(st.st_mode)) {
    return status::fail(ec::not_supported,
                        x.path + ": not a file, directory or symlink");
  }
  // A symlink has no mode of its own to set; its mtime is its own.
  if (int err = set_mtime_at_nofollow(dir, parent.leaf, x.mtime_ns))
    return errno_status(x.path + ": set mtime", err);
  return {};
}

} // namespace livesync
