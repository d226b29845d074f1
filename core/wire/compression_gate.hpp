// Whether a batch is worth compressing. A file whose data does not shrink
// (random, encrypted, already compressed) cost the watcher a zstd pass over
// every byte for nothing: on a 2-core machine that was a fifth of the
// watcher's CPU while streaming one large random file. The gate learns this
// per file from the batches that carry only that file's data, skips zstd
// for them once it stopped paying, and compresses one such batch again
// every `probe_interval` bytes, so a file whose data becomes compressible
// is caught. Batches that carry anything else (small files, data of two
// files, metadata only) are always compressed: they are what the link's
// shared zstd history is for.
#pragma once

#include "core/wire/op.hpp"

#include <cstddef>
#include <cstdint>
#include <vector>

namespace livesync {

class compression_gate {
public:
  /// Raw bytes of one file's data sent between two probes.
  static constexpr uint64_t probe_interval = uint64_t{16} << 20;

  /// A batch below this many bytes of file data teaches nothing (the tail
  /// of a file; zstd's frame overhead dominates).
  static constexpr uint64_t min_learn_bytes = uint64_t{64} << 10;

  /// True when `ops` should be compressed. False only for a batch whose
  /// data is all chunks of the one file known not to shrink, while no
  /// probe is due; the skipped bytes count towards the next probe.
  bool should_pack(const std::vector<op>& ops);

  /// Records how a batch allowed by should_pack() compressed: `raw` bytes
  /// of encoded ops became `packed` bytes. Only a batch of one file's data
  /// changes what the gate believes about that file.
  void packed(const std::vector<op>& ops, size_t raw, size_t packed);

  /// File data sent without compression so far.
  uint64_t skipped_bytes() const noexcept { return skipped_total_; }

private:
  /// The file whose data fills `ops` alone, if any: its transfer id and
  /// data bytes.
  static bool one_file(const std::vector<op>& ops, uint64_t& xfer,
                       uint64_t& bytes);

  uint64_t xfer_ = 0;
  bool known_ = false;
  bool incompressible_ = false;
  uint64_t since_probe_ = 0;
  uint64_t skipped_total_ = 0;
};

} // namespace livesync
