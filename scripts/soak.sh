#!/usr/bin/env bash
# The long soak test: a seeded random workload with faults injected at
# random points (reference and watcher killed and restarted, link down in
# two network namespaces when root, inotify queue overflows), then an exact
# tree comparison. See tests/twohost/README.md.
#   bash scripts/soak.sh [--minutes=10] [--seed=N] [--keep]
# Builds the two programs first if they are missing. Exit code 0 pass,
# 1 fail, 77 skipped.
set -euo pipefail
cd "$(dirname "$0")/.."
minutes=10
seed=$(date +%s)
extra=()
for arg in "$@"; do
  case $arg in
    --minutes=*) minutes=${arg#*=} ;;
    --seed=*) seed=${arg#*=} ;;
    --keep) extra+=(--keep) ;;
    *) echo "usage: bash scripts/soak.sh [--minutes=N] [--seed=N] [--keep]" >&2; exit 2 ;;
  esac
done
if ! [[ $minutes =~ ^[0-9]+$ && $minutes -ge 1 ]]; then
  echo "soak.sh: --minutes must be a whole number >= 1" >&2
  exit 2
fi
build=${LIVESYNC_BUILD_DIR:-build}
if [ ! -x "$build/livesync-watcher" ] || [ ! -x "$build/livesync-reference" ]; then
  LIVESYNC_JOBS=${LIVESYNC_JOBS:-1} bash scripts/build.sh livesync-watcher livesync-reference
fi
echo "soak: ${minutes} min, seed ${seed} (repeat with --seed=${seed})"
exec python3 tests/twohost/run.py --bin-dir="$build" --soak-seconds=$((minutes * 60)) \
  --seed="$seed" "${extra[@]}" soak
