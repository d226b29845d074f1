#define CAF_SUITE core.batch_codec
#include <caf/test/unit_test.hpp>

#include "core/wire/batch_codec.hpp"
#include "core/common/splitmix.hpp"

#include <xxhash.h>

#include <string>
#include <vector>

using namespace livesync;

namespace {

op make(op_kind kind, std::string path, std::string data = {}) {
  op o;
  o.kind = kind;
  o.path = std::move(path);
  o.data.assign(data.begin(), data.end());
  return o;
}

std::vector<op> sample_batch() {
  std::vector<op> ops;
  ops.push_back(make(op_kind::mkdir, "src"));
  ops.back().mode = 0755;
  auto w = make(op_kind::write_file, "src/a.c", "int main(void) { return 0; }\n");
  w.size = w.data.size();
  w.mode = 0644;
  w.mtime_ns = 1'700'000'000'123'456'789;
  w.hash = {0x0123456789abcdefu, 0xfedcba9876543210u};
  ops.push_back(w);
  auto old = make(op_kind::set_attr, "old");
  old.mtime_ns = -5'000'000'001; // before 1970
  ops.push_back(old);
  auto mv = make(op_kind::rename, "x/y");
  mv.target = "x/z";
  ops.push_back(mv);
  auto c = make(op_kind::copy_range, "big");
  c.xfer = 42;
  c.offset = uint64_t{1} << 40;
  c.size = UINT64_MAX;
  c.target = "other";
  ops.push_back(c);
  auto z = make(op_kind::chunk, "big", "zz");
  z.encoding = data_encoding::zstd;
  z.xfer = 42;
  ops.push_back(z);
  ops.push_back(make(op_kind::remove, std::string("nul\0in", 6)));
  return ops;
}

bool same(const op& a, const op& b) {
  return a.kind == b.kind && a.path == b.path && a.target == b.target
         && a.mode == b.mode && a.mtime_ns == b.mtime_ns && a.size == b.size
         && a.xfer == b.xfer && a.offset == b.offset && a.data == b.data
         && a.encoding == b.encoding && a.hash == b.hash;
}

bool same(const std::vector<op>& a, const std::vector<op>& b) {
  if (a.size() != b.size())
    return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (!same(a[i], b[i]))
      return false;
  return true;
}

} // namespace

CAF_TEST(ops round trip through the encoding) {
  auto ops = sample_batch();
  std::vector<char> bytes;
  encode_ops(ops, bytes);
  std::vector<op> back;
  CAF_REQUIRE(decode_ops(bytes.data(), bytes.size(), 100, back).ok());
  CAF_CHECK(same(ops, back));
  encode_ops({}, bytes = {});
  CAF_CHECK(decode_ops(bytes.data(), bytes.size(), 100, back).ok());
  CAF_CHECK(back.empty());
}

CAF_TEST(every truncation and every trailing byte is refused) {
  auto ops = sample_batch();
  std::vector<char> bytes;
  encode_ops(ops, bytes);
  std::vector<op> back;
  for (size_t n = 0; n < bytes.size(); ++n) {
    CAF_CHECK(!decode_ops(bytes.data(), n, 100, back).ok());
    CAF_CHECK(back.empty());
  }
  bytes.push_back(0);
  CAF_CHECK(!decode_ops(bytes.data(), bytes.size(), 100, back).ok());
}

CAF_TEST(hostile counts lengths kinds and encodings are refused) {
  std::vector<op> back;
  struct row {
    const char* what;
    std::vector<char> bytes;
  };
  std::vector<row> rows{
    // 2^63 ops claimed in 10 bytes: refused before any reserve.
    {"huge count", {'\xff', '\xff', '\xff', '\xff', '\xff', '\xff', '\xff',
                    '\xff', '\x7f'}},
    // A varint of 11 bytes overflows 64 bits.
    {"long varint", std::vector<char>(11, '\xff')},
  };
  { // one op whose path claims 1 TiB
    std::vector<char> b{1, 0};
    uint64_t n = uint64_t{1} << 40;
    while (n >= 0x80) {
      b.push_back(static_cast<char>((n & 0x7f) | 0x80));
      n >>= 7;
    }
    b.push_back(static_cast<char>(n));
    b.resize(b.size() + 40, 0);
    rows.push_back({"path longer than input", b});
  }
  // The first kind past the last one (op_kind::link).
  constexpr int next_kind = static_cast<int>(op_kind::link) + 1;
  for (auto [kind, encoding] :
       {std::pair<int, int>{next_kind, 0}, {255, 0}, {0, 2}}) {
    auto o = make(op_kind::remove, "p");
    std::vector<char> b;
    encode_ops({o}, b);
    b[1] = static_cast<char>(kind);                // the kind byte
    b[b.size() - 17] = static_cast<char>(encoding); // the encoding byte
    rows.push_back({"bad kind or encoding", b});
  }
  for (auto& r : rows) {
    CAF_MESSAGE(r.what);
    CAF_CHECK(!decode_ops(r.bytes.data(), r.bytes.size(), 16384, back).ok());
    CAF_CHECK(back.empty());
  }
  // More ops than the receiver takes.
  std::vector<op> many(5, make(op_kind::remove, "a"));
  std::vector<char> b;
  encode_ops(many, b);
  CAF_CHECK(!decode_ops(b.data(), b.size(), 4, back).ok());
  CAF_CHECK(decode_ops(b.data(), b.size(), 5, back).ok());
}

CAF_TEST(packed batches round trip and share one stream) {
  batch_packer tx{3};
  batch_unpacker rx;
  // The same license header in every file: the second batch codes it
  // against the first.
  std::string header;
  while (header.size() < 3000)
    header += " * Permission is hereby granted, free of charge, to any person\n";
  auto noise = splitmix_bytes(2000, 4);
  std::vector<size_t> frames;
  for (int i = 0; i < 3; ++i) {
    std::vector<op> ops{make(op_kind::write_file, "f" + std::to_string(i),
                             header + std::string(noise.begin(), noise.end()))};
    ops.push_back(make(op_kind::mkdir, "d" + std::to_string(i)));
    packed_batch p;
    CAF_REQUIRE(tx.pack(ops, p));
    CAF_CHECK_EQUAL(p.seq, static_cast<uint64_t>(i));
    frames.push_back(p.frame.size());
    std::vector<op> back;
    auto st = rx.unpack(p, 16384, back);
    CAF_REQUIRE(st.ok());
    CAF_CHECK(same(ops, back));
  }
  // The 2000 random bytes repeat too: later batches are a small fraction.
  CAF_CHECK_LESS(frames[1] * 5, frames[0]);
  CAF_CHECK_EQUAL(tx.packed(), 3u);
}

CAF_TEST(compressible text shrinks tenfold) {
  std::string t;
  while (t.size() < (1u << 20))
    t += "the quick brown fox jumps over the lazy dog 0123456789\n";
  batch_packer tx{3};
  packed_batch p;
  CAF_REQUIRE(tx.pack({make(op_kind::write_file, "t", t)}, p));
  CAF_CHECK_LESS(p.frame.size() * 10, t.size());
}

CAF_TEST(a packed batch out of step is refused and so is every later one) {
  std::vector<op> ops{make(op_kind::remove, "a")};
  struct row {
    const char* what;
    void (*spoil)(packed_batch&);
  };
  std::vector<row> rows{
    {"sequence gap", [](packed_batch& p) { p.seq += 1; }},
    {"replay", [](packed_batch& p) { p.seq = 0; }},
    {"checksum", [](packed_batch& p) { p.checksum ^= 1; }},
    {"size understated", [](packed_batch& p) { p.raw_size -= 1; }},
    {"size overstated", [](packed_batch& p) { p.raw_size += 1; }},
    {"size beyond the limit",
     [](packed_batch& p) { p.raw_size = max_packed_raw_bytes + 1; }},
    {"corrupt frame", [](packed_batch& p) { p.frame.back() ^= 0x5a; }},
    {"truncated frame", [](packed_batch& p) { p.frame.pop_back(); }},
    {"empty frame", [](packed_batch& p) { p.frame.clear(); }},
  };
  for (auto& r : rows) {
    CAF_MESSAGE(r.what);
    batch_packer tx{3};
    batch_unpacker rx;
    packed_batch first;
    packed_batch second;
    CAF_REQUIRE(tx.pack(ops, first));
    CAF_REQUIRE(tx.pack(ops, second));
    std::vector<op> back;
    CAF_REQUIRE(rx.unpack(first, 16384, back).ok());
    auto bad = second;
    r.spoil(bad);
    CAF_CHECK(!rx.unpack(bad, 16384, back).ok());
    CAF_CHECK(back.empty());
    CAF_CHECK(!rx.usable());
    // The genuine message no longer helps: the stream is broken.
    CAF_CHECK(!rx.unpack(second, 16384, back).ok());
    // A new hello: both sides start a new stream.
    rx.reset();
    batch_packer tx2{3};
    packed_batch again;
    CAF_REQUIRE(tx2.pack(ops, again));
    CAF_CHECK(rx.unpack(again, 16384, back).ok());
    CAF_CHECK(same(ops, back));
  }
}

CAF_TEST(a packed bomb is refused within the limit) {
  // A frame that expands to 64 MiB of a valid-looking op stream would need
  // raw_size 64 MiB: beyond the limit. Stated small, it overruns.
  std::vector<op> ops{make(op_kind::write_file, "zeros",
                           std::string(size_t{20} << 20, '\0'))};
  batch_packer tx{3};
  packed_batch p;
  CAF_CHECK(!tx.pack(ops, p)); // the watcher sends such a batch unpacked
  // Build the bomb by hand: 20 MiB of encoded batch in one frame.
  std::vector<char> raw;
  encode_ops(ops, raw);
  stream_compressor z{3};
  packed_batch bomb;
  CAF_REQUIRE(z.compress(raw.data(), raw.size(), bomb.frame).ok());
  CAF_REQUIRE(bomb.frame.size() < 100000u);
  bomb.checksum = XXH3_64bits(raw.data(), raw.size());
  std::vector<op> back;
  for (uint64_t stated : {uint64_t{raw.size()}, uint64_t{1} << 20}) {
    bomb.raw_size = stated;
    batch_unpacker rx;
    CAF_CHECK(!rx.unpack(bomb, 16384, back).ok());
    CAF_CHECK(back.empty());
  }
}

CAF_TEST(a batch too large to pack is left to the caller) {
  std::vector<op> ops{make(op_kind::write_file, "big",
                           std::string(max_packed_raw_bytes, 'a'))};
  batch_packer tx{1};
  packed_batch p;
  CAF_CHECK(!tx.pack(ops, p));
  CAF_CHECK_EQUAL(tx.packed(), 0u);
  // The stream is unaffected: the next batch is message 0.
  CAF_CHECK(tx.pack({make(op_kind::remove, "x")}, p));
  CAF_CHECK_EQUAL(p.seq, 0u);
  batch_unpacker rx;
  std::vector<op> back;
  CAF_CHECK(rx.unpack(p, 16384, back).ok());
}

namespace {

op random_chunk(std::string path, size_t n, uint64_t seed) {
  op o;
  o.kind = op_kind::chunk;
  o.path = std::move(path);
  o.xfer = 7;
  o.data = splitmix_bytes(n, seed);
  o.size = n;
  return o;
}

std::string text_of(size_t n) {
  std::string t;
  while (t.size() < n)
    t += "static int count_words(const char *line, size_t len);\n";
  t.resize(n);
  return t;
}

} // namespace

CAF_TEST(large incompressible data goes beside the stream and round trips) {
  // Random file data (a chunk and a whole file above min_stored_bytes) is
  // stored as it is; small data and text stay in the zstd stream.
  std::vector<op> ops;
  ops.push_back(make(op_kind::write_file, "small.c", text_of(4000)));
  ops.push_back(random_chunk("rand.o", 256 << 10, 1));
  auto w = make(op_kind::write_file, "rand.png");
  w.data = splitmix_bytes(40 << 10, 2);
  w.size = w.data.size();
  ops.push_back(w);
  ops.push_back(make(op_kind::write_file, "big.c", text_of(200 << 10)));
  ops.push_back(random_chunk("tiny.bin", 8 << 10, 3)); // below the minimum
  ops.push_back(make(op_kind::mkdir, "d"));
  batch_packer tx{3};
  batch_unpacker rx;
  for (int round = 0; round < 2; ++round) {
    packed_batch p;
    CAF_REQUIRE(tx.pack(ops, p));
    CAF_CHECK_EQUAL(p.stored_size, uint64_t{(256 << 10) + (40 << 10)});
    // Stored bytes are not grown: the frame is the stored data plus well
    // under the 212 KiB of text and the 8 KiB of small random data.
    CAF_CHECK_LESS(p.frame.size(), p.stored_size + (20 << 10));
    std::vector<op> back;
    auto st = rx.unpack(p, 16384, back);
    CAF_REQUIRE(st.ok());
    CAF_CHECK(same(ops, back));
  }
  CAF_CHECK_EQUAL(tx.stored_bytes(), uint64_t{2 * ((256 << 10) + (40 << 10))});
}

CAF_TEST(compressible or encoded large data is not stored) {
  std::vector<op> ops;
  ops.push_back(make(op_kind::write_file, "big.c", text_of(300 << 10)));
  // A random block repeated: the sample compresses, so zstd gets it.
  auto block = splitmix_bytes(2048, 9);
  auto rep = random_chunk("rep.bin", 0, 0);
  for (int i = 0; i < 64; ++i)
    rep.data.insert(rep.data.end(), block.begin(), block.end());
  ops.push_back(rep);
  auto z = random_chunk("z.bin", 64 << 10, 4); // already zstd: not touched
  z.encoding = data_encoding::zstd;
  ops.push_back(z);
  auto mv = random_chunk("r", 64 << 10, 5); // a rename carries no file data
  mv.kind = op_kind::rename;
  ops.push_back(mv);
  batch_packer tx{3};
  packed_batch p;
  CAF_REQUIRE(tx.pack(ops, p));
  CAF_CHECK_EQUAL(p.stored_size, 0u);
  batch_unpacker rx;
  std::vector<op> back;
  CAF_REQUIRE(rx.unpack(p, 16384, back).ok());
  CAF_CHECK(same(ops, back));
}

CAF_TEST(a spoiled stored section is refused and breaks the stream) {
  std::vector<op> ops{random_chunk("a", 64 << 10, 11),
                      random_chunk("b", 48 << 10, 12)};
  struct row {
    const char* what;
    void (*spoil)(packed_batch&);
  };
  std::vector<row> rows{
    {"stored byte changed", [](packed_batch& p) { p.frame.back() ^= 1; }},
    {"stored byte missing", [](packed_batch& p) { p.frame.pop_back(); }},
    {"stored size beyond the frame",
     [](packed_batch& p) { p.stored_size = p.frame.size() + 1; }},
    {"stored size huge", [](packed_batch& p) { p.stored_size = UINT64_MAX; }},
    {"stored size understated", [](packed_batch& p) { p.stored_size -= 1; }},
    {"stored size zero", [](packed_batch& p) { p.stored_size = 0; }},
  };
  for (auto& r : rows) {
    CAF_MESSAGE(r.what);
    batch_packer tx{3};
    batch_unpacker rx;
    packed_batch p;
    CAF_REQUIRE(tx.pack(ops, p));
    CAF_REQUIRE_EQUAL(p.stored_size, uint64_t{(64 << 10) + (48 << 10)});
    r.spoil(p);
    std::vector<op> back;
    CAF_CHECK(!rx.unpack(p, 16384, back).ok());
    CAF_CHECK(back.empty());
    CAF_CHECK(!rx.usable());
  }
}

CAF_TEST(stored lengths are checked against the stored section) {
  std::vector<op> ops{make(op_kind::chunk, "a", "0123456789"),
                      make(op_kind::chunk, "b", "abcdef")};
  std::vector<char> enc;
  encode_ops(ops, std::vector<bool>{true, false}, enc);
  std::string side = "0123456789";
  std::vector<op> back;
  CAF_REQUIRE(
    decode_ops(enc.data(), enc.size(), side.data(), side.size(), 10, back)
      .ok());
  CAF_CHECK(same(ops, back));
  // Too few stored bytes, one left over, or none at all: refused.
  CAF_CHECK(!decode_ops(enc.data(), enc.size(), side.data(), 9, 10, back).ok());
  CAF_CHECK(back.empty());
  side += "!";
  CAF_CHECK(
    !decode_ops(enc.data(), enc.size(), side.data(), side.size(), 10, back)
       .ok());
  CAF_CHECK(back.empty());
  CAF_CHECK(!decode_ops(enc.data(), enc.size(), 10, back).ok());
  // Without a flag, stored bytes name nothing.
  encode_ops(ops, enc = {});
  CAF_CHECK(!decode_ops(enc.data(), enc.size(), "x", 1, 10, back).ok());
}
