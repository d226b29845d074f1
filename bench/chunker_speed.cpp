// Chunker throughput on data in memory (the "1 GB/s on one core" target of
// issue 3). Generates the data once (splitmix64, fixed seed), then times
//   1. chunking only (chunker::cut over the whole buffer), and
//   2. chunking + XXH3-64 of each chunk (what chunk_stream does),
// and prints GB/s (10^9 bytes per second) and the average chunk size.
//
// Usage: chunker_speed [MiB=1024] [rounds=3]
// Build (from the repository root), or use the `chunker_speed` target of
// bench/CMakeLists.txt:
//   g++ -O2 -std=c++17 -I. bench/chunker_speed.cpp core/wire/chunker.cpp
//       -lxxhash -o /tmp/chunker_speed

#include "core/wire/chunker.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <vector>

#include <xxhash.h>

#include "core/common/splitmix.hpp"

using namespace livesync;

namespace {

uint64_t splitmix64(uint64_t& state) {
  return splitmix64_next(state);
}

// Thread CPU time, not wall time: on a shared machine the wall clock also
// counts the time other processes hold the core. (Wall time is printed
// too; on an idle machine the two agree.)
double cpu_now() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

double wall_now() {
  return std::chrono::duration<double>(
           std::chrono::steady_clock::now().time_since_epoch())
    .count();
}

struct timing {
  double cpu = 1e30;
  double wall = 1e30;
};

// Runs `f` and keeps the best CPU and wall times in `t`.
template <class F>
void timed(timing& t, F&& f) {
  double c0 = cpu_now(), w0 = wall_now();
  f();
  t.cpu = std::min(t.cpu, cpu_now() - c0);
  t.wall = std::min(t.wall, wall_now() - w0);
}

// Keeps the optimizer from dropping the work.
volatile uint64_t sink;

} // namespace

int main(int argc, char** argv) {
  size_t mib = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 1024;
  int rounds = argc > 2 ? std::atoi(argv[2]) : 3;
  if (mib == 0 || rounds <= 0) {
    std::fprintf(stderr, "usage: %s [MiB=1024] [rounds=3]\n", argv[0]);
    return 2;
  }
  const size_t size = mib << 20;
  std::vector<uint8_t> buf(size);
  uint64_t state = 42;
  for (size_t i = 0; i + 8 <= size; i += 8) {
    uint64_t x = splitmix64(state);
    std::memcpy(buf.data() + i, &x, 8);
  }
  chunker_params p;
  chunker ch(p);
  std::printf("data: %zu MiB random (splitmix64, seed 42); params min %u avg "
              "%u max %u; %d rounds, best reported\n",
              mib, p.min_size, p.avg_size, p.max_size, rounds);

  timing t_cut, t_hash, t_stream;
  size_t chunks = 0;
  for (int r = 0; r < rounds; ++r) {
    // 1. Chunking only.
    timed(t_cut, [&] {
      size_t pos = 0, n = 0;
      while (pos < size) {
        pos += ch.cut(buf.data() + pos, size - pos, true);
        ++n;
      }
      chunks = n;
      sink = n;
    });
    // 2. Chunking + XXH3-64 of each chunk.
    timed(t_hash, [&] {
      size_t pos = 0;
      uint64_t acc = 0;
      while (pos < size) {
        size_t c = ch.cut(buf.data() + pos, size - pos, true);
        acc ^= XXH3_64bits(buf.data() + pos, c);
        pos += c;
      }
      sink = acc;
    });
    // 3. For reference: chunk_stream (what the sender uses), 1 MiB pieces.
    timed(t_stream, [&] {
      uint64_t acc = 0;
      chunk_stream s(p, [&acc](const char*, size_t, uint64_t h, uint64_t) {
        acc ^= h;
      });
      for (size_t pos = 0; pos < size; pos += (1u << 20))
        s.add(reinterpret_cast<const char*>(buf.data()) + pos,
              std::min<size_t>(1u << 20, size - pos));
      s.finish();
      sink = acc;
    });
  }
  auto gbps = [size](double s) { return static_cast<double>(size) / s / 1e9; };
  std::printf("chunks: %zu, average chunk size: %.0f bytes\n", chunks,
              static_cast<double>(size) / static_cast<double>(chunks));
  auto line = [&](const char* what, const timing& t) {
    std::printf("%-28s cpu %.3f s %6.2f GB/s | wall %.3f s %6.2f GB/s\n",
                what, t.cpu, gbps(t.cpu), t.wall, gbps(t.wall));
  };
  line("chunking only:", t_cut);
  line("chunking + XXH3-64:", t_hash);
  line("chunk_stream (1 MiB adds):", t_stream);
  return 0;
}
