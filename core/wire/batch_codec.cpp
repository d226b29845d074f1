#include "core/wire/batch_codec.hpp"

#include <xxhash.h>

#include <cstring>
#include <string>

namespace livesync {

namespace {

// -- encoding -------------------------------------------------------------------

void put_varint(std::vector<char>& out, uint64_t x) {
  while (x >= 0x80) {
    out.push_back(static_cast<char>((x & 0x7f) | 0x80));
    x >>= 7;
  }
  out.push_back(static_cast<char>(x));
}

void put_bytes(std::vector<char>& out, const char* data, size_t len) {
  put_varint(out, len);
  out.insert(out.end(), data, data + len);
}

void put_u64(std::vector<char>& out, uint64_t x) {
  for (int i = 0; i < 8; ++i)
    out.push_back(static_cast<char>((x >> (8 * i)) & 0xff));
}

// mtime may be negative (before 1970): zigzag keeps small magnitudes short.
uint64_t zigzag(int64_t x) {
  return (static_cast<uint64_t>(x) << 1) ^ static_cast<uint64_t>(x >> 63);
}

int64_t unzigzag(uint64_t x) {
  return static_cast<int64_t>(x >> 1) ^ -static_cast<int64_t>(x & 1);
}

// -- decoding -------------------------------------------------------------------

class reader {
public:
  reader(const char* data, size_t len) : p_(data), end_(data + len) {}

  size_t left() const { return static_cast<size_t>(end_ - p_); }

  bool varint(uint64_t& x) {
    x = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (p_ == end_)
        return false;
      auto b = static_cast<uint8_t>(*p_++);
      // The tenth byte may carry only the top bit.
      if (shift == 63 && b > 1)
        return false;
      x |= static_cast<uint64_t>(b & 0x7f) << shift;
      if ((b & 0x80) == 0)
        return true;
    }
    return false;
  }

  bool u8(uint8_t& x) {
    if (p_ == end_)
      return false;
    x = static_cast<uint8_t>(*p_++);
    return true;
  }

  bool u64(uint64_t& x) {
    if (left() < 8)
      return false;
    x = 0;
    for (int i = 0; i < 8; ++i)
      x |= static_cast<uint64_t>(static_cast<uint8_t>(p_[i])) << (8 * i);
    p_ += 8;
    return true;
  }

  // A length is checked against the bytes present before any allocation.
  template <class Container>
  bool bytes(Container& out) {
    uint64_t n = 0;
    if (!varint(n) || n > left())
      return false;
    out.assign(p_, p_ + n);
    p_ += n;
    return true;
  }

private:
  const char* p_;
  const char* end_;
};

constexpr auto last_kind = static_cast<uint8_t>(op_kind::link);
constexpr auto last_encoding = static_cast<uint8_t>(data_encoding::zstd);
/// The fewest bytes one op takes: kind, 8 one-byte fields, encoding, hash.
constexpr size_t min_op_bytes = 1 + 8 + 1 + 16;

} // namespace

void encode_ops(const std::vector<op>& ops, std::vector<char>& out) {
  put_varint(out, ops.size());
  for (auto& o : ops) {
    out.push_back(static_cast<char>(o.kind));
    put_bytes(out, o.path.data(), o.path.size());
    put_bytes(out, o.target.data(), o.target.size());
    put_varint(out, o.mode);
    put_varint(out, zigzag(o.mtime_ns));
    put_varint(out, o.size);
    put_varint(out, o.xfer);
    put_varint(out, o.offset);
    put_bytes(out, o.data.data(), o.data.size());
    out.push_back(static_cast<char>(o.encoding));
    put_u64(out, o.hash.lo);
    put_u64(out, o.hash.hi);
  }
}

status decode_ops(const char* data, size_t len, size_t max_ops,
                  std::vector<op>& ops) {
  ops.clear();
  reader in{data, len};
  uint64_t count = 0;
  if (!in.varint(count))
    return status::fail("batch encoding: no op count");
  if (count > max_ops)
    return status::fail("batch of " + std::to_string(count)
                        + " operations, at most " + std::to_string(max_ops));
  if (count > in.left() / min_op_bytes)
    return status::fail("batch encoding: " + std::to_string(count)
                        + " operations cannot fit in "
                        + std::to_string(in.left()) + " bytes");
  ops.reserve(count);
  for (uint64_t i = 0; i < count; ++i) {
    op o;
    uint8_t kind = 0;
    uint8_t encoding = 0;
    uint64_t mode = 0;
    uint64_t mtime = 0;
    bool ok = in.u8(kind) && in.bytes(o.path) && in.bytes(o.target)
              && in.varint(mode) && in.varint(mtime) && in.varint(o.size)
              && in.varint(o.xfer) && in.varint(o.offset) && in.bytes(o.data)
              && in.u8(encoding) && in.u64(o.hash.lo) && in.u64(o.hash.hi);
    if (!ok) {
      ops.clear();
      return status::fail("batch encoding: operation " + std::to_string(i)
                          + " truncated or malformed");
    }
    if (kind > last_kind || encoding > last_encoding || mode > UINT32_MAX) {
      ops.clear();
      return status::fail("batch encoding: operation " + std::to_string(i)
                          + " has an unknown kind, encoding or mode");
    }
    o.kind = static_cast<op_kind>(kind);
    o.encoding = static_cast<data_encoding>(encoding);
    o.mode = static_cast<uint32_t>(mode);
    o.mtime_ns = unzigzag(mtime);
    ops.push_back(std::move(o));
  }
  if (in.left() != 0) {
    ops.clear();
    return status::fail("batch encoding: " + std::to_string(in.left())
                        + " bytes after the last operation");
  }
  return {};
}

bool batch_packer::pack(const std::vector<op>& ops, packed_batch& out) {
  if (!z_.usable() || !gate_.should_pack(ops))
    return false;
  raw_.clear();
  encode_ops(ops, raw_);
  if (raw_.size() > max_packed_raw_bytes)
    return false;
  if (!z_.compress(raw_.data(), raw_.size(), out.frame))
    return false;
  gate_.packed(ops, raw_.size(), out.frame.size());
  out.seq = next_seq_++;
  out.raw_size = raw_.size();
  out.checksum = XXH3_64bits(raw_.data(), raw_.size());
  return true;
}

void batch_unpacker::reset() {
  z_.reset();
  next_seq_ = 0;
  usable_ = true;
}

status batch_unpacker::unpack(const packed_batch& in, size_t max_ops,
                              std::vector<op>& ops) {
  ops.clear();
  if (!usable())
    return status::fail("compression stream broken by an earlier batch; "
                        "a new hello starts a new one");
  auto refuse = [&](std::string reason) {
    usable_ = false;
    ops.clear();
    return status::fail(std::move(reason));
  };
  if (in.seq != next_seq_)
    return refuse("batch " + std::to_string(in.seq) + " out of sequence, "
                  "expected " + std::to_string(next_seq_));
  if (in.raw_size > max_packed_raw_bytes)
    return refuse("packed batch of " + std::to_string(in.raw_size)
                  + " bytes, at most " + std::to_string(max_packed_raw_bytes));
  auto st = z_.decompress(in.frame.data(), in.frame.size(),
                          static_cast<size_t>(in.raw_size), raw_);
  if (!st)
    return refuse(st.reason());
  if (XXH3_64bits(raw_.data(), raw_.size()) != in.checksum)
    return refuse("packed batch checksum mismatch");
  if (auto dst = decode_ops(raw_.data(), raw_.size(), max_ops, ops); !dst)
    return refuse(dst.reason());
  ++next_seq_;
  return {};
}

} // namespace livesync
