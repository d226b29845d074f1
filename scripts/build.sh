#!/usr/bin/env bash
# Configures and builds livesync into ./build (or $LIVESYNC_BUILD_DIR).
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${LIVESYNC_BUILD_DIR:-build}
jobs=${LIVESYNC_JOBS:-$(nproc)}
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build_dir" -j "$jobs"
