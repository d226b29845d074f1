#include "core/watcher/file_reader.hpp"

#include "core/watcher/local_tree.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

namespace livesync {

namespace {

bool same_version(const fs_stat& x, const fs_stat& y) {
  return x.meta.size == y.meta.size && x.meta.mtime_ns == y.meta.mtime_ns
         && x.ctime_ns == y.ctime_ns && x.inode == y.inode;
}

} // namespace

file_stream::~file_stream() {
  close();
}

void file_stream::close() {
  if (fd_ >= 0)
    ::close(fd_);
  fd_ = -1;
}

read_outcome file_stream::open(const std::string& full_path,
                               std::string& reason) {
  close();
  offset_ = 0;
  hasher_.reset();
  // O_NONBLOCK: a path that turned into a fifo must not block the sender.
  fd_ = ::open(full_path.c_str(),
               O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd_ < 0) {
    auto err = errno;
    if (err == ENOENT || err == ELOOP || err == ENOTDIR || err == ENXIO)
      return read_outcome::vanished;
    reason = std::strerror(err);
    return read_outcome::failed;
  }
  struct stat st;
  if (::fstat(fd_, &st) != 0) {
    reason = std::strerror(errno);
    close();
    return read_outcome::failed;
  }
  state_ = to_fs_stat(st);
  if (state_.meta.kind != entry_kind::file) {
    close();
    return read_outcome::vanished;
  }
  return read_outcome::ok;
}

read_outcome file_stream::next(size_t max, std::vector<char>& out,
                               std::string& reason) {
  auto want = std::min<uint64_t>(max, state_.meta.size - offset_);
  auto r = read_at(offset_, static_cast<size_t>(want), out, reason);
  if (r != read_outcome::ok)
    return r;
  hasher_.update(out.data(), out.size());
  offset_ += out.size();
  return read_outcome::ok;
}

read_outcome file_stream::read_at(uint64_t offset, size_t len,
                                  std::vector<char>& out,
                                  std::string& reason) {
  out.resize(len);
  size_t got = 0;
  while (got < len) {
    ssize_t n;
    if (cached_only_) {
      iovec v{out.data() + got, len - got};
      n = ::preadv2(fd_, &v, 1, static_cast<off_t>(offset + got), RWF_NOWAIT);
      if (n < 0 && errno == EAGAIN) {
        would_block_ = true;
        reason = "not in the page cache";
        return read_outcome::failed;
      }
      if (n < 0 && errno == EOPNOTSUPP) {
        cached_only_ = false; // Cannot tell: read as usual.
        continue;
      }
    } else {
      n = ::pread(fd_, out.data() + got, len - got,
                  static_cast<off_t>(offset + got));
    }
    if (n < 0) {
      if (errno == EINTR)
        continue;
      reason = std::strerror(errno);
      return read_outcome::failed;
    }
    if (n == 0) {
      out.resize(got);
      return read_outcome::changed; // Shrank while we read.
    }
    got += static_cast<size_t>(n);
  }
  return read_outcome::ok;
}

read_outcome file_stream::finish() {
  struct stat st;
  if (fd_ < 0 || ::fstat(fd_, &st) != 0)
    return read_outcome::changed;
  if (!same_version(state_, to_fs_stat(st)))
    return read_outcome::changed;
  return read_outcome::ok;
}

namespace {

read_outcome read_whole(file_stream& in, const std::string& full_path,
                        std::vector<char>& data, hash128& hash,
                        entry_meta& meta, std::string& reason,
                        uint64_t max_bytes) {
  if (auto r = in.open(full_path, reason); r != read_outcome::ok)
    return r;
  if (in.state().meta.size > max_bytes) {
    reason = "grew to " + std::to_string(in.state().meta.size) + " bytes";
    return read_outcome::changed;
  }
  if (auto r = in.next(in.state().meta.size, data, reason);
      r != read_outcome::ok)
    return r;
  if (auto r = in.finish(); r != read_outcome::ok)
    return r;
  hash = in.digest();
  meta = in.state().meta;
  return read_outcome::ok;
}

} // namespace

read_outcome read_whole_file(const std::string& full_path,
                             std::vector<char>& data, hash128& hash,
                             entry_meta& meta, std::string& reason,
                             uint64_t max_bytes) {
  file_stream in;
  return read_whole(in, full_path, data, hash, meta, reason, max_bytes);
}

bool read_whole_file_cached(const std::string& full_path,
                            std::vector<char>& data, hash128& hash,
                            entry_meta& meta, std::string& reason,
                            read_outcome& out, uint64_t max_bytes) {
  file_stream in;
  in.cached_only();
  std::vector<char> got;
  hash128 h;
  entry_meta m;
  std::string why;
  auto r = read_whole(in, full_path, got, h, m, why, max_bytes);
  if (in.would_block())
    return false;
  data = std::move(got);
  hash = h;
  meta = m;
  reason = std::move(why);
  out = r;
  return true;
}

} // namespace livesync
