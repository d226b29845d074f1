// Whole-file replacement that readers never see half done, for files that
// other programs poll (the metrics file node_exporter's textfile collector
// reads): the new content goes to a temporary file in the same directory,
// which is then renamed over the old one in one rename(2).
#pragma once

#include "core/common/status.hpp"

#include <string>

namespace livesync {

/// Replaces the file at `path` with `content` (mode 0644). A reader opens
/// either the old file or the new one, whole. The temporary file is
/// ".NAME.XXXXXX" beside it (no ".prom" suffix: the textfile collector
/// reads only *.prom) and is removed if anything fails. Not fsynced: see
/// the comment in the .cpp.
status replace_file(const std::string& path, const std::string& content);

/// Checks at start-up that replace_file(path, ...) can work: the directory
/// exists and is a directory, and `path` is not a directory. The reason
/// says which, naming the directory.
status check_replaceable(const std::string& path);

} // namespace livesync
