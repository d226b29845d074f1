#!/usr/bin/env bash
# Sets up, builds and runs every test (unit, actor and end-to-end) through
# ctest. Exit code 0 only when all pass.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh
build_dir=${LIVESYNC_BUILD_DIR:-build}
cd "$build_dir"
ctest --output-on-failure -j "${LIVESYNC_TEST_JOBS:-2}" "$@"
