#define CAF_SUITE core.compression_gate
#include <caf/test/unit_test.hpp>

#include "core/wire/batch_codec.hpp"
#include "core/wire/compression_gate.hpp"
#include "core/common/splitmix.hpp"

#include <string>
#include <vector>

using namespace livesync;

namespace {

constexpr size_t mib = size_t{1} << 20;

op chunk(uint64_t xfer, std::vector<char> data) {
  op o;
  o.kind = op_kind::chunk;
  o.path = "big";
  o.xfer = xfer;
  o.size = data.size();
  o.data = std::move(data);
  return o;
}

std::vector<char> random_bytes(size_t n, uint64_t seed) {
  return splitmix_bytes(n, seed);
}

std::vector<char> text_bytes(size_t n, uint64_t seed) {
  // Words from a small vocabulary: compresses several times over, and
  // differs from batch to batch (the seed), so it is not all history.
  static const char* words[] = {"alpha ", "beta ", "gamma ", "delta ",
                                "epsilon ", "zeta ", "eta ", "theta\n"};
  std::vector<char> out;
  out.reserve(n);
  uint64_t state = seed;
  while (out.size() < n) {
    auto w = words[splitmix64_next(state) % 8];
    for (auto p = w; *p != 0 && out.size() < n; ++p)
      out.push_back(*p);
  }
  return out;
}

/// A batch as the sender makes it while streaming: one chunk op of `xfer`.
std::vector<op> bulk(uint64_t xfer, std::vector<char> data) {
  std::vector<op> ops;
  ops.push_back(chunk(xfer, std::move(data)));
  return ops;
}

} // namespace

CAF_TEST(random file data is compressed once per probe interval) {
  batch_packer tx{3};
  batch_unpacker rx;
  std::vector<bool> packed;
  for (uint64_t i = 0; i < 40; ++i) {
    auto ops = bulk(7, random_bytes(mib, i));
    packed_batch p;
    bool ok = tx.pack(ops, p);
    packed.push_back(ok);
    if (ok) {
      // Skipped batches take no place in the stream: the peer stays in step.
      std::vector<op> back;
      CAF_REQUIRE(rx.unpack(p, 16384, back).ok());
      CAF_CHECK(back.size() == 1 && back[0].data == ops[0].data);
    }
  }
  // The first batch teaches the gate; then one probe per 16 MiB.
  auto interval = compression_gate::probe_interval / mib;
  for (size_t i = 0; i < packed.size(); ++i)
    CAF_CHECK_EQUAL(packed[i], i % interval == 0);
  CAF_CHECK_EQUAL(tx.packed(), 3u);
  CAF_CHECK_EQUAL(tx.skipped_bytes(), (40u - 3u) * mib);
}

CAF_TEST(data that becomes compressible is caught at the next probe) {
  compression_gate gate;
  auto interval = compression_gate::probe_interval / mib;
  auto ops = bulk(1, random_bytes(mib, 1));
  CAF_REQUIRE(gate.should_pack(ops));
  gate.packed(ops, mib, mib + 40); // random: a little larger
  size_t skipped = 0;
  for (;;) {
    auto text = bulk(1, text_bytes(mib, skipped));
    if (gate.should_pack(text)) {
      gate.packed(text, mib, mib / 4);
      break;
    }
    ++skipped;
  }
  CAF_CHECK_EQUAL(skipped, interval - 1);
  // Compressible now: every batch is compressed again.
  for (int i = 0; i < 20; ++i) {
    auto text = bulk(1, text_bytes(mib, 100 + i));
    CAF_CHECK(gate.should_pack(text));
    gate.packed(text, mib, mib / 4);
  }
  CAF_CHECK_EQUAL(gate.skipped_bytes(), (interval - 1) * mib);
}

CAF_TEST(a small saving is still worth it) {
  compression_gate gate;
  auto ops = bulk(1, random_bytes(mib, 1));
  // 1/64 smaller: bytes on the wire come first.
  gate.packed(ops, mib, mib - mib / 64);
  CAF_CHECK(gate.should_pack(ops));
  // Nothing saved.
  gate.packed(ops, mib, mib);
  CAF_CHECK(!gate.should_pack(ops));
}

CAF_TEST(only batches of one files data are ever skipped) {
  compression_gate gate;
  auto learn = bulk(5, random_bytes(mib, 1));
  gate.packed(learn, mib, mib + 40);
  CAF_REQUIRE(!gate.should_pack(bulk(5, random_bytes(mib, 2))));
  struct row {
    const char* what;
    std::vector<op> ops;
  };
  std::vector<row> rows;
  // Another file: unknown, so compressed (and learnt from).
  rows.push_back({"another transfer", bulk(6, random_bytes(mib, 3))});
  // Data of two files in one batch.
  auto two = bulk(5, random_bytes(mib / 2, 4));
  two.push_back(chunk(9, random_bytes(mib / 2, 5)));
  rows.push_back({"two transfers", std::move(two)});
  // A small file travels whole in a write_file op.
  auto small = bulk(5, random_bytes(mib / 2, 6));
  op w;
  w.kind = op_kind::write_file;
  w.path = "small.txt";
  w.data = text_bytes(4000, 7);
  small.push_back(std::move(w));
  rows.push_back({"a small file beside the chunk", std::move(small)});
  // No data at all (metadata, copies, commits).
  op mk;
  mk.kind = op_kind::mkdir;
  mk.path = "d";
  rows.push_back({"metadata only", {mk}});
  for (auto& r : rows) {
    CAF_MESSAGE(r.what);
    compression_gate g = gate;
    CAF_CHECK(g.should_pack(r.ops));
  }
}

CAF_TEST(begin copy and commit ops beside the data do not count) {
  compression_gate gate;
  auto ops = bulk(3, random_bytes(mib, 1));
  op begin;
  begin.kind = op_kind::begin_file;
  begin.xfer = 3;
  op copy;
  copy.kind = op_kind::copy_range;
  copy.xfer = 3;
  copy.size = 1u << 30;
  ops.insert(ops.begin(), begin);
  ops.push_back(copy);
  CAF_CHECK(gate.should_pack(ops));
  gate.packed(ops, mib + 100, mib + 140);
  CAF_CHECK(!gate.should_pack(ops));
}

CAF_TEST(a small batch teaches nothing) {
  compression_gate gate;
  // The tail of a random file: not enough data to judge.
  auto tail = bulk(2, random_bytes(4096, 1));
  gate.packed(tail, 4096, 4200);
  CAF_CHECK(gate.should_pack(bulk(2, random_bytes(mib, 2))));
  // A file that went raw keeps going raw through a small batch: it is
  // not compressed to learn nothing.
  auto big = bulk(2, random_bytes(mib, 3));
  gate.packed(big, mib, mib + 40);
  CAF_CHECK(!gate.should_pack(tail));
  CAF_CHECK(!gate.should_pack(big));
}
