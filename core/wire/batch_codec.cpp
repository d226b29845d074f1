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

  // `n` bytes taken as they are (a length given elsewhere), checked against
  // the bytes present before any allocation.
  bool take(uint64_t n, std::vector<char>& out) {
    if (n > left())
      return false;
    out.assign(p_, p_ + n);
    p_ += n;
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
/// Set in an op's kind byte: its data is in the stored section.
constexpr uint8_t stored_flag = 0x80;
constexpr auto last_encoding = static_cast<uint8_t>(data_encoding::zstd);
/// The fewest bytes one op takes: kind, 8 one-byte fields, encoding, hash.
constexpr size_t min_op_bytes = 1 + 8 + 1 + 16;

} // namespace

namespace {

void encode(const std::vector<op>& ops, const std::vector<bool>* stored,
            std::vector<char>& out) {
  put_varint(out, ops.size());
  for (size_t i = 0; i < ops.size(); ++i) {
    auto& o = ops[i];
    bool store = stored != nullptr && (*stored)[i];
    auto kind = static_cast<uint8_t>(o.kind);
    out.push_back(static_cast<char>(store ? kind | stored_flag : kind));
    put_bytes(out, o.path.data(), o.path.size());
    put_bytes(out, o.target.data(), o.target.size());
    put_varint(out, o.mode);
    put_varint(out, zigzag(o.mtime_ns));
    put_varint(out, o.size);
    put_varint(out, o.xfer);
    put_varint(out, o.offset);
    if (store)
      put_varint(out, o.data.size());
    else
      put_bytes(out, o.data.data(), o.data.size());
    out.push_back(static_cast<char>(o.encoding));
    put_u64(out, o.hash.lo);
    put_u64(out, o.hash.hi);
  }
}

} // namespace

void encode_ops(const std::vector<op>& ops, std::vector<char>& out) {
  encode(ops, nullptr, out);
}

void encode_ops(const std::vector<op>& ops, const std::vector<bool>& stored,
                std::vector<char>& out) {
  encode(ops, stored.size() == ops.size() ? &stored : nullptr, out);
}

status decode_ops(const char* data, size_t len, size_t max_ops,
                  std::vector<op>& ops) {
  return decode_ops(data, len, nullptr, 0, max_ops, ops);
}

status decode_ops(const char* data, size_t len, const char* stored,
                  size_t stored_len, size_t max_ops, std::vector<op>& ops) {
  ops.clear();
  reader in{data, len};
  reader side{stored, stored_len};
  uint64_t count = 0;
  if (!in.varint(count))
    return status::fail(ec::protocol, "batch encoding: no op count");
  if (count > max_ops)
    return status::fail(ec::limit_exceeded,
                        "batch of " + std::to_string(count)
                          + " operations, at most " + std::to_string(max_ops));
  if (count > in.left() / min_op_bytes)
    return status::fail(ec::protocol,
                        "batch encoding: " + std::to_string(count)
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
              && in.varint(o.xfer) && in.varint(o.offset);
    // Stored data: its length here, its bytes next in the stored section.
    if (ok && (kind & stored_flag) != 0) {
      kind = static_cast<uint8_t>(kind & ~stored_flag);
      uint64_t n = 0;
      ok = in.varint(n) && side.take(n, o.data);
    } else {
      ok = ok && in.bytes(o.data);
    }
    ok = ok && in.u8(encoding) && in.u64(o.hash.lo) && in.u64(o.hash.hi);
    if (!ok) {
      ops.clear();
      return status::fail(ec::protocol,
                          "batch encoding: operation " + std::to_string(i)
                            + " truncated or malformed");
    }
    if (kind > last_kind || encoding > last_encoding || mode > UINT32_MAX) {
      ops.clear();
      return status::fail(ec::protocol,
                          "batch encoding: operation " + std::to_string(i)
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
    return status::fail(ec::protocol,
                        "batch encoding: " + std::to_string(in.left())
                          + " bytes after the last operation");
  }
  if (side.left() != 0) {
    ops.clear();
    return status::fail(ec::protocol,
                        "batch encoding: " + std::to_string(side.left())
                          + " stored bytes no operation names");
  }
  return {};
}

bool batch_packer::pack(const std::vector<op>& ops, packed_batch& out) {
  if (!z_.usable() || !gate_.should_pack(ops))
    return false;
  // Large file data that zstd would only copy (random, compressed) goes
  // beside the stream, as it is: the zstd pass, the stream's copies of it
  // and, on the reference, a decompression copy are saved, and it would
  // have come out no smaller anyway. Everything else (metadata, small
  // files, text) is coded in the stream as before.
  stored_.assign(ops.size(), false);
  size_t stored = 0;
  for (size_t i = 0; i < ops.size(); ++i) {
    auto& o = ops[i];
    if ((o.kind == op_kind::chunk || o.kind == op_kind::write_file)
        && o.encoding == data_encoding::raw
        && o.data.size() >= min_stored_bytes
        && looks_incompressible(o.data.data(), o.data.size())) {
      stored_[i] = true;
      stored += o.data.size();
    }
  }
  raw_.clear();
  encode_ops(ops, stored_, raw_);
  if (raw_.size() > max_packed_raw_bytes || stored > max_packed_raw_bytes)
    return false;
  if (!z_.compress(raw_.data(), raw_.size(), zbuf_))
    return false;
  auto& frame = out.frame;
  frame.clear();
  frame.reserve(zbuf_.size() + stored);
  frame.insert(frame.end(), zbuf_.begin(), zbuf_.end());
  auto checksum = XXH3_64bits(raw_.data(), raw_.size());
  if (stored > 0) {
    for (size_t i = 0; i < ops.size(); ++i)
      if (stored_[i])
        frame.insert(frame.end(), ops[i].data.begin(), ops[i].data.end());
    checksum = XXH3_64bits_withSeed(frame.data() + zbuf_.size(), stored,
                                    checksum);
  }
  // The gate learns from all the file data, stored or compressed.
  gate_.packed(ops, raw_.size() + stored, frame.size());
  stored_total_ += stored;
  out.seq = next_seq_++;
  out.raw_size = raw_.size();
  out.stored_size = stored;
  out.checksum = checksum;
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
    return status::fail(ec::protocol,
                        "compression stream broken by an earlier batch; "
                        "a new hello starts a new one");
  // Any refusal breaks the stream: the next batch needs a new hello.
  auto refuse = [&](status why) {
    usable_ = false;
    ops.clear();
    return why;
  };
  if (in.seq != next_seq_)
    return refuse(status::fail(ec::protocol,
                               "batch " + std::to_string(in.seq)
                                 + " out of sequence, expected "
                                 + std::to_string(next_seq_)));
  if (in.raw_size > max_packed_raw_bytes)
    return refuse(status::fail(ec::limit_exceeded,
                               "packed batch of "
                                 + std::to_string(in.raw_size)
                                 + " bytes, at most "
                                 + std::to_string(max_packed_raw_bytes)));
  if (in.stored_size > in.frame.size()
      || in.stored_size > max_packed_raw_bytes)
    return refuse(status::fail(ec::protocol,
                               "packed batch says "
                                 + std::to_string(in.stored_size)
                                 + " stored bytes in a frame of "
                                 + std::to_string(in.frame.size())));
  auto stored = static_cast<size_t>(in.stored_size);
  auto zlen = in.frame.size() - stored;
  const char* side = in.frame.data() + zlen;
  auto st = z_.decompress(in.frame.data(), zlen,
                          static_cast<size_t>(in.raw_size), raw_);
  if (!st)
    return refuse(st);
  auto checksum = XXH3_64bits(raw_.data(), raw_.size());
  if (stored > 0)
    checksum = XXH3_64bits_withSeed(side, stored, checksum);
  // The stream out of step (not a file's content): a protocol failure.
  if (checksum != in.checksum)
    return refuse(
      status::fail(ec::protocol, "packed batch checksum mismatch"));
  if (auto dst = decode_ops(raw_.data(), raw_.size(), side, stored, max_ops,
                            ops);
      !dst)
    return refuse(dst);
  ++next_seq_;
  return {};
}

} // namespace livesync
