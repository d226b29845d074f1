#include "core/tree_writer.hpp"
#include "core/writer_support.hpp"

#include "core/compress.hpp"

#include "core/content_hash.hpp"
#include "core/owner_access.hpp"
#include "core/path_rules.hpp"
#include "core/rooted_fs.hpp"
#include "core/tree_listing.hpp"

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

/// O_TMPFILE refused because the filesystem (EOPNOTSUPP) or the kernel
/// (EISDIR, EINVAL: older ones) lacks it: worth building in staging.
bool tmpfile_unsupported(int err) {
  return err == EOPNOTSUPP || err == EISDIR || err == EINVAL;
}

/// Number of components of a valid path.
size_t depth_of(const std::string& path) {
  return 1 + static_cast<size_t>(std::count(path.begin(), path.end(), '/'));
}

} // namespace

/// One streaming file transfer: its target, announced metadata, and the
/// staging file being filled.
struct tree_writer::transfer {
  explicit transfer(int staging_fd) : file(staging_fd, {}) {}

  std::string path;
  uint64_t size = 0;
  uint32_t mode = 0;
  int64_t mtime_ns = 0;
  uint64_t written = 0;
  content_hasher hasher;
  staged_entry file;
  /// Files ranges are copied from, opened once: source path -> (fd, size).
  std::map<std::string, std::pair<unique_fd, uint64_t>> sources;
};

// -- construction ---------------------------------------------------------------

std::unique_ptr<tree_writer> tree_writer::open(const std::string& root,
                                               writer_limits limits,
                                               status& err) {
  err = {};
  std::error_code ec;
  std::filesystem::create_directories(root, ec);
  if (ec) {
    err = status::fail(root + ": create root: " + ec.message());
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
  std::unique_ptr<tree_writer> w{new tree_writer(
    root, root_fd.release(), staging_fd.release(), limits)};
  w->link_ = link;
  return w;
}

tree_writer::tree_writer(std::string root, int root_fd, int staging_fd,
                         writer_limits limits)
  : root_(std::move(root)),
    root_fd_(root_fd),
    staging_fd_(staging_fd),
    limits_(limits),
    reader_(root_fd) {
  // Nothing else: open() did the work that can fail.
}

tree_writer::~tree_writer() {
  // Transfers unlink their staging files through staging_fd_: first.
  transfers_.clear();
  ::close(staging_fd_);
  ::close(root_fd_);
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
  ++stats_.ops;
  status result;
  try {
    result = apply_impl(x);
  } catch (const std::exception& e) {
    // core/ never throws across its API; bad_alloc is the realistic case.
    result = status::fail(x.path + ": " + to_string(x.kind) + ": " + e.what());
  }
  // The wanted modes are back before the next op (or reader) looks.
  access_.restore();
  if (result)
    return result;
  ++stats_.errors;
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
  return status::fail("unknown op kind "
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
    return status::fail(x.path + ": empty symlink target");
  if (x.target.size() > max_symlink_target)
    return status::fail(x.path + ": symlink target longer than "
                        + std::to_string(max_symlink_target) + " bytes");
  if (x.target.find('\0') != std::string::npos)
    return status::fail(x.path + ": symlink target contains NUL");
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
             ? status::fail(x.path + ": rename source missing")
             : s;
  struct stat st;
  int err = with_owner_access(&access_, from.fd.get(), owner_search, [&] {
    return stat_at(from.fd.get(), from.leaf, st);
  });
  if (err != 0)
    return err == ENOENT ? status::fail(x.path + ": rename source missing")
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
      return status::fail(x.path + ": a rename that would nest paths past "
                          + std::to_string(max_path_depth)
                          + " components or " + std::to_string(max_path_bytes)
                          + " bytes (to " + x.target + ")");
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
    return err == ENOENT ? status::fail(x.path + ": set_attr on missing path")
                         : errno_status(x.path + ": stat", err);
  if (status result; unshare_for_attr(x, parent, st, result))
    return result;
  if (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode)) {
    if (int err = chmod_at_nofollow(dir, parent.leaf,
                                    x.mode & limits_.mode_mask))
      return errno_status(x.path + ": chmod", err);
  } else if (!S_ISLNK(st.st_mode)) {
    return status::fail(x.path + ": not a file, directory or symlink");
  }
  // A symlink has no mode of its own to set; its mtime is its own.
  if (int err = set_mtime_at_nofollow(dir, parent.leaf, x.mtime_ns))
    return errno_status(x.path + ": set mtime", err);
  return {};
}

// -- content ops ----------------------------------------------------------------

std::string tree_writer::next_staging_name() {
  return std::to_string(next_staging_id_++) + ".tmp";
}

status tree_writer::create_staging_file(std::string& name, int& fd) {
  for (int attempt = 0;; ++attempt) {
    name = next_staging_name();
    // Read-write: ranges copied in by the kernel are read back for the hash.
    fd = ::openat(staging_fd_, name.c_str(),
                  O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd >= 0)
      return {};
    if (errno != EEXIST || attempt + 1 == staging_attempts)
      return errno_status("create staging file", errno);
  }
}

status tree_writer::create_content_file(int dir_fd, staged_entry& out) {
  if (link_ != tmpfile_link::none) {
    // Unnamed until complete, in the target's directory: ext4 allocates
    // the inode near its directory's (one staging dir put every new inode
    // in one group, where scanning past recently deleted inodes cost most
    // of the reference's CPU in a bulk sync). "." never follows a symlink.
    int fd = -1;
    int err = with_owner_access(&access_, dir_fd, owner_modify, [&] {
      fd = ::openat(dir_fd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
      return fd >= 0 ? 0 : errno;
    });
    if (fd >= 0) {
      out.adopt({}, fd);
      return {};
    }
    if (!tmpfile_unsupported(err))
      return errno_status("create file", err);
    // A filesystem mounted inside the root may lack O_TMPFILE: staging.
  }
  std::string name;
  int fd = -1;
  if (auto s = create_staging_file(name, fd); !s)
    return s;
  out.adopt(std::move(name), fd);
  return {};
}

status tree_writer::link_into_place(staged_entry& file,
                                    const parent_handle& parent,
                                    const std::string& path) {
  // Nothing there (every file of an initial sync): the complete file
  // appears under its name in one step.
  int err = with_owner_access(&access_, parent.fd.get(), owner_modify, [&] {
    return link_tmpfile(file.fd(), link_, parent.fd.get(), parent.leaf.c_str());
  });
  if (err == 0)
    return {};
  if (err != EEXIST)
    return errno_status(path + ": link into place", err);
  // linkat cannot replace: name the file in staging (a crash now leaves
  // it there, removed at the next open), then one rename(2) over the old
  // entry, which readers see switch from old to new.
  for (int attempt = 0;; ++attempt) {
    auto name = next_staging_name();
    err = link_tmpfile(file.fd(), link_, staging_fd_, name.c_str());
    if (err == 0) {
      file.named(std::move(name));
      break;
    }
    if (err != EEXIST || attempt + 1 == staging_attempts)
      return errno_status(path + ": link into staging", err);
  }
  return place(staging_fd_, file.name(), parent, path, &access_);
}

status tree_writer::finish_file(staged_entry& file,
                                const parent_handle& parent,
                                const std::string& path, uint32_t mode,
                                int64_t mtime_ns) {
  // fchmod on our own descriptor: the umask never applies, and no path is
  // resolved, so nothing can redirect it.
  if (::fchmod(file.fd(), static_cast<mode_t>(mode)) != 0)
    return errno_status(path + ": chmod new file", errno);
  // Last: any write would move the mtime again.
  if (int err = set_mtime_fd(file.fd(), mtime_ns); err != 0)
    return errno_status(path + ": set mtime", err);
  // fsync before the link or rename, or a crash can leave the new name
  // pointing at an empty or partial file; the directory after, or the
  // new name itself may be lost.
  bool sync = limits_.sync == durability::file;
  if (sync && ::fsync(file.fd()) != 0)
    return errno_status(path + ": fsync", errno);
  if (file.name().empty()) {
    if (auto s = link_into_place(file, parent, path); !s)
      return s;
  } else if (auto s = place(staging_fd_, file.name(), parent, path, &access_);
             !s) {
    return s;
  }
  file.committed();
  if (sync) {
    // The walk holds O_PATH descriptors, which fsync refuses: open the
    // directory itself (".", never a symlink) for that.
    unique_fd dir;
    int err = with_owner_access(&access_, parent.fd.get(), owner_list, [&] {
      dir.reset(::openat(parent.fd.get(), ".",
                         O_RDONLY | O_DIRECTORY | O_CLOEXEC));
      return dir.valid() ? 0 : errno;
    });
    if (err == 0 && ::fsync(dir.get()) != 0)
      err = errno;
    if (err != 0)
      return errno_status(path + ": fsync directory", err);
  }
  return {};
}

status tree_writer::do_write_file(const op& x) {
  if (auto s = check_path(x.path); !s)
    return s;
  if (x.size > limits_.max_data_bytes || x.data.size() > limits_.max_data_bytes)
    return status::fail(x.path + ": data larger than "
                        + std::to_string(limits_.max_data_bytes) + " bytes");
  std::vector<char> decoded;
  if (auto s = decode(x, decoded); !s)
    return status::fail(x.path + ": " + s.reason());
  const auto& data = x.encoding == data_encoding::raw ? x.data : decoded;
  if (data.size() != x.size)
    return status::fail(x.path + ": data has " + std::to_string(data.size())
                        + " bytes, size says " + std::to_string(x.size));
  // Checked before any byte touches the disk: a bad op creates nothing.
  if (hash_bytes(data.data(), data.size()) != x.hash)
    return status::fail(x.path + ": hash mismatch");
  // Walked first: a bad parent costs no staging write. The same handle is
  // used for the commit, which follows without a gap.
  parent_handle parent;
  if (auto s = open_parent(root_fd_, x.path, parent, &access_); !s)
    return s;
  staged_entry file{staging_fd_, {}};
  if (auto s = create_content_file(parent.fd.get(), file); !s)
    return status::fail(x.path + ": " + s.reason());
  if (int err = write_all(file.fd(), data.data(), data.size()))
    return errno_status(x.path + ": write", err);
  stats_.bytes_written += data.size();
  if (auto s = finish_file(file, parent, x.path, x.mode & limits_.mode_mask,
                           x.mtime_ns);
      !s)
    return s;
  ++stats_.files_committed;
  return {};
}

status tree_writer::do_begin_file(const op& x) {
  if (auto s = check_path(x.path); !s)
    return s;
  if (transfers_.count(x.xfer) != 0)
    return status::fail(x.path + ": transfer " + std::to_string(x.xfer)
                        + " already open");
  if (transfers_.size() >= limits_.max_open_transfers)
    return status::fail(x.path + ": too many open transfers ("
                        + std::to_string(limits_.max_open_transfers) + ")");
  uint64_t reserved = 0;
  for (auto& kv : transfers_)
    reserved += kv.second->size;
  if (x.size > limits_.max_staging_bytes
      || reserved > limits_.max_staging_bytes - x.size)
    return status::fail(x.path + ": " + std::to_string(x.size)
                        + " bytes would exceed the staging limit of "
                        + std::to_string(limits_.max_staging_bytes)
                        + " bytes");
  {
    // Fail fast: no point receiving a file that cannot be placed. The
    // parent is walked again at commit time.
    parent_handle parent;
    if (auto s = open_parent(root_fd_, x.path, parent, &access_); !s)
      return s;
  }
  // Allocate first, so nothing can fail between creating the staging file
  // and handing it to its guard.
  auto t = std::make_unique<transfer>(staging_fd_);
  std::string name;
  int fd = -1;
  if (auto s = create_staging_file(name, fd); !s)
    return status::fail(x.path + ": " + s.reason());
  t->file.adopt(std::move(name), fd);
  t->path = x.path;
  t->size = x.size;
  t->mode = x.mode & limits_.mode_mask;
  t->mtime_ns = x.mtime_ns;
  transfers_.emplace(x.xfer, std::move(t));
  return {};
}

status tree_writer::do_chunk(const op& x) {
  auto i = transfers_.find(x.xfer);
  if (i == transfers_.end())
    return status::fail("chunk for unknown transfer "
                        + std::to_string(x.xfer));
  auto& t = *i->second;
  // Any refusal drops the transfer: its stream is broken and could only
  // fail at commit; dropping it also frees its slot and staging file now.
  auto drop = [&](status s) {
    forget_transfer(i);
    return s;
  };
  if (x.data.size() > limits_.max_data_bytes
      || (x.encoding != data_encoding::raw && x.size > limits_.max_data_bytes))
    return drop(status::fail(t.path + ": chunk larger than "
                             + std::to_string(limits_.max_data_bytes)
                             + " bytes"));
  std::vector<char> decoded;
  if (auto s = decode(x, decoded); !s)
    return drop(status::fail(t.path + ": " + s.reason()));
  const auto& data = x.encoding == data_encoding::raw ? x.data : decoded;
  if (x.offset != t.written)
    return drop(status::fail(t.path + ": chunk at offset "
                             + std::to_string(x.offset) + ", expected "
                             + std::to_string(t.written)));
  if (data.size() > t.size - t.written)
    return drop(status::fail(t.path + ": chunk past the announced size "
                             + std::to_string(t.size)));
  if (int err = write_all(t.file.fd(), data.data(), data.size()))
    return drop(errno_status(t.path + ": write", err));
  t.hasher.update(data.data(), data.size());
  t.written += data.size();
  stats_.bytes_written += data.size();
  return {};
}

status tree_writer::decode(const op& x, std::vector<char>& out) {
  switch (x.encoding) {
    case data_encoding::raw:
      return {};
    case data_encoding::zstd:
      return decompress_exact(x.data.data(), x.data.size(), x.size, out);
  }
  return status::fail("unknown data encoding "
                      + std::to_string(static_cast<int>(x.encoding)));
}

status tree_writer::copy_into(int src_fd, uint64_t offset, uint64_t len,
                               transfer& t) {
  // The strong hash reads the copied bytes back, in file order.
  return copy_bytes(src_fd, offset, t.file.fd(), t.written, len, copy_buf_,
                    stopping_.get(), &t.hasher);
}

status tree_writer::do_copy_range(const op& x) {
  auto i = transfers_.find(x.xfer);
  if (i == transfers_.end())
    return status::fail("copy for unknown transfer " + std::to_string(x.xfer));
  auto& t = *i->second;
  auto drop = [&](status s) {
    forget_transfer(i);
    return s;
  };
  if (x.size > t.size - t.written)
    return drop(status::fail(t.path + ": copy past the announced size "
                             + std::to_string(t.size)));
  const auto& source = x.target.empty() ? t.path : x.target;
  auto j = t.sources.find(source);
  if (j == t.sources.end()) {
    if (t.sources.size() >= limits_.max_copy_sources)
      return drop(status::fail(t.path + ": more than "
                               + std::to_string(limits_.max_copy_sources)
                               + " copy sources"));
    if (open_sources() >= limits_.max_source_fds)
      return drop(status::fail(t.path + ": "
                               + std::to_string(limits_.max_source_fds)
                               + " copy sources open in all transfers"));
    if (auto s = check_path(source); !s)
      return drop(s);
    parent_handle parent;
    if (auto s = open_parent(root_fd_, source, parent, &access_); !s)
      return drop(s);
    unique_fd fd;
    if (int err = open_for_reading(parent, &access_, fd); err != 0)
      return drop(errno_status(source + ": open copy source", err));
    struct stat st;
    if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode))
      return drop(status::fail(source + ": copy source is not a regular file"));
    j = t.sources
          .emplace(source, std::make_pair(std::move(fd),
                                          static_cast<uint64_t>(st.st_size)))
          .first;
  }
  auto& [fd, size] = j->second;
  if (x.offset > size || x.size > size - x.offset)
    return drop(status::fail(t.path + ": copy range " + std::to_string(x.offset)
                             + "+" + std::to_string(x.size) + " past the end of "
                             + source + " (" + std::to_string(size)
                             + " bytes)"));
  if (auto s = copy_into(fd.get(), x.offset, x.size, t); !s)
    return drop(status::fail(source + ": " + s.reason()));
  t.written += x.size;
  stats_.bytes_written += x.size;
  return {};
}

status tree_writer::do_commit_file(const op& x) {
  auto i = transfers_.find(x.xfer);
  if (i == transfers_.end())
    return status::fail("commit of unknown transfer "
                        + std::to_string(x.xfer));
  // Closed whatever happens next; the guard unlinks staging on failure.
  auto t = std::move(i->second);
  forget_transfer(i);
  if (t->written != t->size)
    return status::fail(t->path + ": received " + std::to_string(t->written)
                        + " of " + std::to_string(t->size) + " bytes");
  if (t->hasher.digest() != x.hash)
    return status::fail(t->path + ": hash mismatch");
  parent_handle parent;
  if (auto s = open_parent(root_fd_, t->path, parent, &access_); !s)
    return s;
  if (auto s = finish_file(t->file, parent, t->path, t->mode, t->mtime_ns);
      !s)
    return s;
  ++stats_.files_committed;
  return {};
}

void tree_writer::forget_transfer(
  std::map<uint64_t, std::unique_ptr<transfer>>::iterator i) {
  // Remember the id for a while: the watcher's later ops for it are an
  // echo of this failure, not news.
  dropped_.push_back(i->first);
  if (dropped_.size() > 64)
    dropped_.pop_front();
  transfers_.erase(i);
}

uint64_t tree_writer::open_sources() const {
  uint64_t n = 0;
  for (auto& kv : transfers_)
    n += kv.second->sources.size();
  return n;
}

bool tree_writer::was_dropped(uint64_t xfer) const {
  return std::find(dropped_.begin(), dropped_.end(), xfer) != dropped_.end();
}

status tree_writer::do_abort_file(const op& x) {
  // Unknown is fine: the transfer may already have failed and been dropped.
  transfers_.erase(x.xfer);
  return {};
}

} // namespace livesync
