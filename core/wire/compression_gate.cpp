#include "core/wire/compression_gate.hpp"

namespace livesync {

bool compression_gate::one_file(const std::vector<op>& ops, uint64_t& xfer,
                                uint64_t& bytes) {
  bytes = 0;
  bool found = false;
  for (auto& o : ops) {
    if (o.data.empty())
      continue; // begin, copy_range, commit: no data to compress
    if (o.kind != op_kind::chunk || (found && o.xfer != xfer))
      return false;
    xfer = o.xfer;
    found = true;
    bytes += o.data.size();
  }
  return found;
}

bool compression_gate::should_pack(const std::vector<op>& ops) {
  uint64_t xfer = 0;
  uint64_t bytes = 0;
  if (!one_file(ops, xfer, bytes) || !known_ || xfer != xfer_
      || !incompressible_)
    return true;
  if (since_probe_ + bytes >= probe_interval)
    return true; // A probe: has the data become compressible?
  since_probe_ += bytes;
  skipped_total_ += bytes;
  return false;
}

void compression_gate::packed(const std::vector<op>& ops, size_t raw,
                              size_t packed) {
  uint64_t xfer = 0;
  uint64_t bytes = 0;
  if (!one_file(ops, xfer, bytes) || bytes < min_learn_bytes)
    return;
  known_ = true;
  xfer_ = xfer;
  since_probe_ = 0;
  // Less than 1/128 saved: not worth a zstd pass (random data comes out a
  // little larger than it went in). Bytes come before CPU, so anything
  // that saves more is kept.
  incompressible_ = packed + raw / 128 >= raw;
}

} // namespace livesync
