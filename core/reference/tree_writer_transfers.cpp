// Streamed files on the reference: a transfer opened by begin_file, filled
// by chunks and by ranges copied from files the reference holds, checked
// against its hash and committed by commit_file; bounded in number, size
// and copy sources, and dropped whole on the first failure.
#include "core/reference/tree_writer.hpp"
#include "core/reference/writer_support.hpp"

#include "core/wire/compress.hpp"
#include "core/wire/content_hash.hpp"
#include "core/common/rooted_fs.hpp"

#include <algorithm>
#include <cerrno>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace livesync {

status tree_writer::do_begin_file(const op& x) {
  if (auto s = check_path(x.path); !s)
    return s;
  if (transfers_.count(x.xfer) != 0)
    return status::fail(ec::protocol, x.path + ": transfer "
                                        + std::to_string(x.xfer)
                                        + " already open");
  // Allocate first, so nothing can fail between creating the staging file
  // and handing it to its guard.
  auto t = std::make_unique<transfer>(staging_fd_);
  t->size = x.size;
  // The limits count the transfers of every writer of this tree; the
  // transfer gives back what it took when it goes.
  if (!take_within(shared_->open_transfers, 1, limits_.max_open_transfers))
    return status::fail(ec::limit_exceeded,
                        x.path + ": too many open transfers ("
                          + std::to_string(limits_.max_open_transfers) + ")");
  if (!take_within(shared_->staging_bytes, x.size,
                   limits_.max_staging_bytes)) {
    shared_->open_transfers -= 1;
    return status::fail(ec::limit_exceeded,
                        x.path + ": " + std::to_string(x.size)
                          + " bytes would exceed the staging limit of "
                          + std::to_string(limits_.max_staging_bytes)
                          + " bytes");
  }
  t->taken = shared_.get();
  {
    // Fail fast: no point receiving a file that cannot be placed. The
    // parent is walked again at commit time.
    parent_handle parent;
    if (auto s = open_parent(root_fd_, x.path, parent, &access_); !s)
      return s;
  }
  std::string name;
  int fd = -1;
  if (auto s = create_staging_file(name, fd); !s)
    return s.prefixed(x.path + ": ");
  t->file.adopt(std::move(name), fd);
  t->path = x.path;
  t->mode = x.mode & limits_.mode_mask;
  t->mtime_ns = x.mtime_ns;
  transfers_.emplace(x.xfer, std::move(t));
  return {};
}

status tree_writer::do_chunk(const op& x) {
  auto i = transfers_.find(x.xfer);
  if (i == transfers_.end())
    return status::fail(ec::unknown_transfer,
                        "chunk for unknown transfer "
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
    return drop(status::fail(ec::limit_exceeded,
                             t.path + ": chunk larger than "
                               + std::to_string(limits_.max_data_bytes)
                               + " bytes"));
  std::vector<char> decoded;
  if (auto s = decode(x, decoded); !s)
    return drop(s.prefixed(t.path + ": "));
  const auto& data = x.encoding == data_encoding::raw ? x.data : decoded;
  if (x.offset != t.written)
    return drop(status::fail(ec::protocol,
                             t.path + ": chunk at offset "
                               + std::to_string(x.offset) + ", expected "
                               + std::to_string(t.written)));
  if (data.size() > t.size - t.written)
    return drop(status::fail(ec::protocol,
                             t.path + ": chunk past the announced size "
                               + std::to_string(t.size)));
  if (int err = write_all(t.file.fd(), data.data(), data.size()))
    return drop(errno_status(t.path + ": write", err));
  t.hasher.update(data.data(), data.size());
  t.written += data.size();
  shared_->bytes_written += data.size();
  return {};
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
    return status::fail(ec::unknown_transfer,
                        "copy for unknown transfer " + std::to_string(x.xfer));
  auto& t = *i->second;
  auto drop = [&](status s) {
    forget_transfer(i);
    return s;
  };
  if (x.size > t.size - t.written)
    return drop(status::fail(ec::protocol,
                             t.path + ": copy past the announced size "
                               + std::to_string(t.size)));
  const auto& source = x.target.empty() ? t.path : x.target;
  auto j = t.sources.find(source);
  if (j == t.sources.end()) {
    if (t.sources.size() >= limits_.max_copy_sources)
      return drop(status::fail(ec::limit_exceeded,
                               t.path + ": more than "
                                 + std::to_string(limits_.max_copy_sources)
                                 + " copy sources"));
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
      return drop(status::fail(ec::stale,
                               source + ": copy source is not a regular file"));
    if (!take_within(shared_->open_sources, 1, limits_.max_source_fds))
      return drop(status::fail(ec::limit_exceeded,
                               t.path + ": "
                                 + std::to_string(limits_.max_source_fds)
                                 + " copy sources open in all transfers"));
    j = t.sources
          .emplace(source, std::make_pair(std::move(fd),
                                          static_cast<uint64_t>(st.st_size)))
          .first;
  }
  auto& [fd, size] = j->second;
  if (x.offset > size || x.size > size - x.offset)
    return drop(status::fail(ec::stale,
                             t.path + ": copy range " + std::to_string(x.offset)
                               + "+" + std::to_string(x.size)
                               + " past the end of " + source + " ("
                               + std::to_string(size) + " bytes)"));
  if (auto s = copy_into(fd.get(), x.offset, x.size, t); !s)
    return drop(s.prefixed(source + ": "));
  t.written += x.size;
  shared_->bytes_written += x.size;
  return {};
}

status tree_writer::do_commit_file(const op& x) {
  auto i = transfers_.find(x.xfer);
  if (i == transfers_.end())
    return status::fail(ec::unknown_transfer,
                        "commit of unknown transfer "
                          + std::to_string(x.xfer));
  // Closed whatever happens next; the guard unlinks staging on failure.
  auto t = std::move(i->second);
  forget_transfer(i);
  if (t->written != t->size)
    return status::fail(ec::hash_mismatch,
                        t->path + ": received " + std::to_string(t->written)
                          + " of " + std::to_string(t->size) + " bytes");
  if (t->hasher.digest() != x.hash)
    return status::fail(ec::hash_mismatch, t->path + ": hash mismatch");
  parent_handle parent;
  if (auto s = open_parent(root_fd_, t->path, parent, &access_); !s)
    return s;
  if (auto s = finish_file(t->file, parent, t->path, t->mode, t->mtime_ns);
      !s)
    return s;
  ++shared_->files_committed;
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

bool tree_writer::was_dropped(uint64_t xfer) const {
  return std::find(dropped_.begin(), dropped_.end(), xfer) != dropped_.end();
}

status tree_writer::do_abort_file(const op& x) {
  // Unknown is fine: the transfer may already have failed and been dropped.
  transfers_.erase(x.xfer);
  return {};
}

} // namespace livesync
