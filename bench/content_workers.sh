#!/usr/bin/env bash
# The watcher's content workers (--content-workers), interleaved: one
# initial sync of a pre-made tree per run (bench/ab_bulk.sh, which says how
# to make SRC), the reference on tmpfs; "cold" drops the page cache before
# each run (root only).
#
#   bash bench/content_workers.sh SRC [warm|cold] [ROUNDS] [WORKERS...]
#   e.g. bash bench/content_workers.sh /work/bench-src/t1 cold 3 0 2 4
#
# Binaries from ${LIVESYNC_BIN_DIR:-build}.
set -euo pipefail
cd "$(dirname "$0")/.."
src=${1:?usage: content_workers.sh SRC [warm|cold] [ROUNDS] [WORKERS...]}
mode=${2:-warm}
rounds=${3:-3}
shift $(( $# < 3 ? $# : 3 ))
workers=("$@")
[ ${#workers[@]} -gt 0 ] || workers=(0 4)
variants=()
for w in "${workers[@]}"; do
  variants+=("${LIVESYNC_BIN_DIR:-build},--content-workers=$w")
done
exec bash bench/ab_bulk.sh "$src" "$mode" "$rounds" "${variants[@]}"
