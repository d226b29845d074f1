#!/usr/bin/env bash
# Configures and builds livesync into ./build (or $LIVESYNC_BUILD_DIR).
#   bash scripts/build.sh [TARGET ...]   (default: everything, tests included)
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${LIVESYNC_BUILD_DIR:-build}
jobs=${LIVESYNC_JOBS:-$(nproc)}
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
if [ $# -gt 0 ]; then
  cmake --build "$build_dir" -j "$jobs" --target "$@"
else
  cmake --build "$build_dir" -j "$jobs"
fi
