// The file behind --metrics-file, for the metrics actors of both nodes:
// replaces it atomically (core/common/atomic_file) and logs what happened, a
// failure once per reason (a full disk must not log every interval) and
// the recovery once.
#pragma once

#include <string>

namespace livesync {

class metrics_output {
public:
  explicit metrics_output(std::string path) : path_(std::move(path)) {}

  /// Replaces the file with `text`; false (and logged) on failure.
  bool write(const std::string& text);

  const std::string& path() const noexcept { return path_; }

private:
  std::string path_;
  /// The last failure's reason; empty while writes succeed.
  std::string failure_;
};

} // namespace livesync
