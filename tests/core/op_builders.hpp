// Builders of the operations a watcher sends, for the writer's tests: each
// makes a valid op of one kind (content ops carry the right size and hash).
#pragma once

#include "core/wire/content_hash.hpp"
#include "core/wire/op.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace livesync::test {

constexpr int64_t some_mtime = 1600000000123456789; // nanosecond precision
constexpr int64_t other_mtime = 1500000000987654321;

inline std::vector<char> bytes(const std::string& s) {
  return {s.begin(), s.end()};
}

inline hash128 hash_of(const std::string& s) {
  return hash_bytes(s.data(), s.size());
}

inline op mkdir_op(std::string path, uint32_t mode = 0755) {
  op x;
  x.kind = op_kind::mkdir;
  x.path = std::move(path);
  x.mode = mode;
  return x;
}

inline op write_op(std::string path, const std::string& content,
            uint32_t mode = 0644, int64_t mtime = some_mtime) {
  op x;
  x.kind = op_kind::write_file;
  x.path = std::move(path);
  x.size = content.size();
  x.mode = mode;
  x.mtime_ns = mtime;
  x.data = bytes(content);
  x.hash = hash_of(content);
  return x;
}

inline op symlink_op(std::string path, std::string target) {
  op x;
  x.kind = op_kind::symlink;
  x.path = std::move(path);
  x.target = std::move(target);
  return x;
}

inline op remove_op(std::string path) {
  op x;
  x.kind = op_kind::remove;
  x.path = std::move(path);
  return x;
}

inline op rename_op(std::string from, std::string to) {
  op x;
  x.kind = op_kind::rename;
  x.path = std::move(from);
  x.target = std::move(to);
  return x;
}

inline op set_attr_op(std::string path, uint32_t mode, int64_t mtime) {
  op x;
  x.kind = op_kind::set_attr;
  x.path = std::move(path);
  x.mode = mode;
  x.mtime_ns = mtime;
  return x;
}

inline op link_op(std::string path, std::string source, uint64_t size,
                  uint32_t mode = 0644, int64_t mtime = some_mtime) {
  op x;
  x.kind = op_kind::link;
  x.path = std::move(path);
  x.target = std::move(source);
  x.size = size;
  x.mode = mode;
  x.mtime_ns = mtime;
  return x;
}

inline op begin_op(uint64_t xfer, std::string path, uint64_t size,
            uint32_t mode = 0644, int64_t mtime = some_mtime) {
  op x;
  x.kind = op_kind::begin_file;
  x.xfer = xfer;
  x.path = std::move(path);
  x.size = size;
  x.mode = mode;
  x.mtime_ns = mtime;
  return x;
}

inline op chunk_op(uint64_t xfer, uint64_t offset, const std::string& data) {
  op x;
  x.kind = op_kind::chunk;
  x.xfer = xfer;
  x.offset = offset;
  x.data = bytes(data);
  return x;
}

inline op commit_op(uint64_t xfer, hash128 hash) {
  op x;
  x.kind = op_kind::commit_file;
  x.xfer = xfer;
  x.hash = hash;
  return x;
}

inline op abort_op(uint64_t xfer) {
  op x;
  x.kind = op_kind::abort_file;
  x.xfer = xfer;
  return x;
}

inline op copy_op(uint64_t xfer, std::string source, uint64_t offset,
                  uint64_t size) {
  op x;
  x.kind = op_kind::copy_range;
  x.xfer = xfer;
  x.target = std::move(source);
  x.offset = offset;
  x.size = size;
  return x;
}

} // namespace livesync::test
