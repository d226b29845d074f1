// The watcher's side of streaming one large file, without the network: what
// the sender does per byte of a file the reference does not hold (workload 7
// of bench/suite.py). Reads a file through core/watcher/file_upload (pread, file
// hash, chunking, chunk hashes, chunk index lookups, literal ops), groups
// the ops into 1 MiB batches as the sender does and packs each with
// core/wire/batch_codec (the link's zstd stream and its compression gate). Prints
// thread CPU per MiB for the upload alone and with packing, best of the
// rounds; the file should be in the page cache (the first round reads it).
//
// Usage: upload_speed FILE [rounds=3] [block_kib=0: the default]
// e.g.   head -c 512M /dev/urandom > /work/big.bin
//        ./build/bench/upload_speed /work/big.bin 5

#include "core/wire/batch_codec.hpp"
#include "core/watcher/file_upload.hpp"
#include "core/watcher/recipe_cache.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <string>
#include <vector>

using namespace livesync;

namespace {

double cpu_now() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

struct result {
  double cpu = 0;
  uint64_t bytes = 0;
  uint64_t wire = 0; // packed frames + data of unpacked batches
  uint64_t packed = 0;
  uint64_t batches = 0;
};

// One upload of `path`; with `pack`, every 1 MiB batch goes through a
// batch_packer as in the sender's flush.
bool run(const std::string& path, const upload_settings& settings, bool pack,
         result& out) {
  recipe_cache others;
  batch_packer packer{settings.zstd_level};
  std::vector<op> batch;
  uint64_t batch_bytes = 0;
  auto flush = [&] {
    if (batch.empty())
      return;
    ++out.batches;
    packed_batch p;
    if (pack && packer.pack(batch, p)) {
      out.wire += p.frame.size();
      ++out.packed;
    } else {
      for (auto& o : batch)
        out.wire += wire_size(o);
    }
    batch.clear();
    batch_bytes = 0;
  };
  double c0 = cpu_now();
  file_upload up{"big.bin", 1, nullptr, settings, &others};
  op o;
  std::string reason;
  if (up.open(path, o, reason) != read_outcome::ok) {
    std::fprintf(stderr, "cannot read %s: %s\n", path.c_str(), reason.c_str());
    return false;
  }
  for (;;) {
    auto s = up.next(o, reason);
    if (s != file_upload::step::op && s != file_upload::step::done) {
      std::fprintf(stderr, "upload failed: %s\n", reason.c_str());
      return false;
    }
    batch_bytes += wire_size(o);
    batch.push_back(std::move(o));
    if (batch_bytes >= (1u << 20) || s == file_upload::step::done)
      flush();
    if (s == file_upload::step::done)
      break;
  }
  out.cpu = cpu_now() - c0;
  out.bytes = up.stats().file_bytes;
  return true;
}

} // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s FILE [rounds=3] [block_kib]\n", argv[0]);
    return 2;
  }
  std::string path = argv[1];
  int rounds = argc > 2 ? std::atoi(argv[2]) : 3;
  upload_settings settings;
  if (argc > 3 && std::atoi(argv[3]) > 0)
    settings.block_bytes = uint64_t(std::atoi(argv[3])) << 10;
  result best_up, best_pack;
  best_up.cpu = best_pack.cpu = 1e30;
  for (int r = 0; r < std::max(rounds, 1); ++r) {
    result a, b;
    if (!run(path, settings, false, a) || !run(path, settings, true, b))
      return 1;
    if (a.cpu < best_up.cpu)
      best_up = a;
    if (b.cpu < best_pack.cpu)
      best_pack = b;
  }
  double mib = static_cast<double>(best_up.bytes) / (1 << 20);
  std::printf("%.0f MiB, read %llu KiB at a time, best of %d rounds (thread "
              "CPU)\n",
              mib, static_cast<unsigned long long>(settings.block_bytes >> 10),
              rounds);
  std::printf("upload only:   %.3f s  %.3f ms/MiB\n", best_up.cpu,
              best_up.cpu * 1e3 / mib);
  std::printf("upload + pack: %.3f s  %.3f ms/MiB  (%llu of %llu batches "
              "packed, %llu bytes out)\n",
              best_pack.cpu, best_pack.cpu * 1e3 / mib,
              static_cast<unsigned long long>(best_pack.packed),
              static_cast<unsigned long long>(best_pack.batches),
              static_cast<unsigned long long>(best_pack.wire));
  return 0;
}
