#!/usr/bin/env bash
# The watcher's content workers (--content-workers), interleaved: one
# initial sync of a pre-made tree per run (bench/profile_bulk.py), the
# reference on tmpfs so that the disk's inode allocation does not drown the
# watcher's part; "cold" drops the page cache before each run (root only).
#
#   bash bench/content_workers.sh SRC [warm|cold] [ROUNDS] [WORKERS...]
#   e.g. bash bench/content_workers.sh /work/bench-src/t1 cold 3 0 2 4
#
# SRC: e.g. python3 -c "import sys; sys.path.insert(0, 'bench'); import treegen;
#      treegen.make_tree('/work/bench-src/t1', 20000, 1_000_000_000, seed=1)"
# Binaries from ${LIVESYNC_BIN_DIR:-build}. Prints each run's in-sync line.
set -euo pipefail
cd "$(dirname "$0")/.."
src=${1:?usage: content_workers.sh SRC [warm|cold] [ROUNDS] [WORKERS...]}
mode=${2:-warm}
rounds=${3:-3}
shift $(( $# < 3 ? $# : 3 ))
workers=("$@")
[ ${#workers[@]} -gt 0 ] || workers=(0 4)
out=$(mktemp -d /dev/shm/livesync-cw-XXXXXX)
trap 'rm -rf "$out"' EXIT
for round in $(seq "$rounds"); do
  for w in "${workers[@]}"; do
    rm -rf "$out"/*
    sync
    [ "$mode" = cold ] && echo 3 > /proc/sys/vm/drop_caches
    printf '%s round %s workers=%s load=%s: ' "$mode" "$round" "$w" \
      "$(cut -d' ' -f1 /proc/loadavg)"
    python3 bench/profile_bulk.py "$src" --bin-dir="${LIVESYNC_BIN_DIR:-build}" \
      --out="$out" --watcher-arg=--content-workers="$w" 2>&1 \
      | grep -E "in-sync after|tree identical|DIFFERS" || echo "(no in-sync line)"
  done
done
