// Bytes and CPU cost of the ways livesync can compress file content, on a
// real directory tree read into memory (e.g. the text tree of
// delta_vs_rsync.py, or /usr/include):
//   per-file L1   one zstd frame per file at level 1 (protocol 2's way)
//   stream L1/L3  the files as write_file ops in batches of ~1 MiB, each
//                 batch the next flushed message of one zstd stream
//                 (core/wire/batch_codec: what the watcher sends since protocol 3)
// For each: bytes out, and CPU ms per MiB of file content to compress (the
// watcher) and to decompress (the reference; for the streams, decode of
// the ops included). Thread CPU time, minimum of the rounds: the machine
// is shared and other processes stretch wall time.
//
// Usage: compress_speed DIR [rounds=3]
#include "core/wire/batch_codec.hpp"
#include "core/wire/compress.hpp"

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

using namespace livesync;
namespace fs = std::filesystem;

namespace {

double cpu_now() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

struct file {
  std::string path;
  std::vector<char> data;
};

std::vector<file> load(const std::string& dir) {
  std::vector<file> out;
  for (auto& e : fs::recursive_directory_iterator(dir)) {
    if (e.is_symlink() || !e.is_regular_file())
      continue;
    std::ifstream in{e.path(), std::ios::binary};
    file f{fs::relative(e.path(), dir).string(),
           {std::istreambuf_iterator<char>{in}, {}}};
    out.push_back(std::move(f));
  }
  std::sort(out.begin(), out.end(),
            [](const file& a, const file& b) { return a.path < b.path; });
  return out;
}

struct result {
  size_t bytes = 0;
  double pack_s = 1e9;
  double unpack_s = 1e9;
};

void per_file(const std::vector<file>& files, int level, result& r) {
  std::vector<std::vector<char>> frames(files.size());
  std::vector<bool> packed(files.size());
  auto t0 = cpu_now();
  size_t bytes = 0;
  for (size_t i = 0; i < files.size(); ++i) {
    auto& d = files[i].data;
    packed[i] = compress_if_smaller(d.data(), d.size(), level, frames[i]);
    bytes += packed[i] ? frames[i].size() : d.size();
  }
  auto t1 = cpu_now();
  std::vector<char> back;
  for (size_t i = 0; i < files.size(); ++i)
    if (packed[i]
        && !decompress_exact(frames[i].data(), frames[i].size(),
                             files[i].data.size(), back))
      std::abort();
  auto t2 = cpu_now();
  r.bytes = bytes;
  r.pack_s = std::min(r.pack_s, t1 - t0);
  r.unpack_s = std::min(r.unpack_s, t2 - t1);
}

void stream(const std::vector<file>& files, int level, result& r) {
  // Batches as the watcher cuts them: flush at >= 1 MiB of ops.
  std::vector<std::vector<op>> batches(1);
  size_t batch_bytes = 0;
  for (auto& f : files) {
    op o;
    o.kind = op_kind::write_file;
    o.path = f.path;
    o.data = f.data;
    o.size = f.data.size();
    o.mode = 0644;
    o.mtime_ns = 1'700'000'000'000'000'000;
    batch_bytes += wire_size(o);
    batches.back().push_back(std::move(o));
    if (batch_bytes >= (1u << 20)) {
      batches.emplace_back();
      batch_bytes = 0;
    }
  }
  std::vector<packed_batch> wire(batches.size());
  auto t0 = cpu_now();
  batch_packer tx{level};
  size_t bytes = 0;
  for (size_t i = 0; i < batches.size(); ++i) {
    if (!tx.pack(batches[i], wire[i]))
      std::abort();
    bytes += wire[i].frame.size();
  }
  auto t1 = cpu_now();
  batch_unpacker rx;
  std::vector<op> ops;
  for (auto& b : wire)
    if (!rx.unpack(b, 16384, ops))
      std::abort();
  auto t2 = cpu_now();
  r.bytes = bytes;
  r.pack_s = std::min(r.pack_s, t1 - t0);
  r.unpack_s = std::min(r.unpack_s, t2 - t1);
}

} // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: compress_speed DIR [rounds=3]\n");
    return 2;
  }
  int rounds = argc > 2 ? std::atoi(argv[2]) : 3;
  auto files = load(argv[1]);
  size_t total = 0;
  for (auto& f : files)
    total += f.data.size();
  double mib = static_cast<double>(total) / (1 << 20);
  std::printf("%zu files, %.1f MiB; thread CPU, min of %d rounds\n",
              files.size(), mib, rounds);
  result pf1;
  result s1;
  result s3;
  for (int i = 0; i < rounds; ++i) { // interleaved
    per_file(files, 1, pf1);
    stream(files, 1, s1);
    stream(files, 3, s3);
  }
  std::printf("%-14s %12s %8s %16s %18s\n", "method", "bytes", "ratio",
              "pack ms/MiB", "unpack ms/MiB");
  auto row = [&](const char* name, const result& r) {
    std::printf("%-14s %12zu %8.4f %16.2f %18.2f\n", name, r.bytes,
                static_cast<double>(r.bytes) / static_cast<double>(total),
                r.pack_s * 1e3 / mib, r.unpack_s * 1e3 / mib);
  };
  row("per-file L1", pf1);
  row("stream L1", s1);
  row("stream L3", s3);
  return 0;
}
