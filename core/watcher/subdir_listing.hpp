// Listing the subdirectories of one directory: what a walker reads from
// the disk for the tracker's walks (watch_walk). Never follows symlinks.
#pragma once

#include <string>
#include <vector>

namespace livesync {

/// The names of the directories in directory `full` (an absolute path), in
/// the order readdir gives them; symlinks and other kinds are left out.
/// Sets `error` to the errno of a directory that cannot be opened (0
/// otherwise).
std::vector<std::string> list_subdirs(const std::string& full, int& error);

} // namespace livesync
