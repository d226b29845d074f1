#!/usr/bin/env bash
# Builds or options side by side on one initial sync of a pre-made tree
# (bench/profile_bulk.py), interleaved round by round; the reference on
# tmpfs so that the disk's inode allocation does not drown the watcher's
# part; "cold" drops the page cache before each run (root only).
#
#   bash bench/ab_bulk.sh SRC warm|cold ROUNDS VARIANT...
#   VARIANT: BIN_DIR[,WATCHER_ARG...], e.g.
#     bash bench/ab_bulk.sh /work/bench-src/t1 cold 4 /tmp/old /tmp/new
#     bash bench/ab_bulk.sh /work/bench-src/t1 warm 3 build,--content-workers=0 build
#
# SRC: e.g. python3 -c "import sys; sys.path.insert(0, 'bench'); import treegen;
#      treegen.make_tree('/work/bench-src/t1', 20000, 1_000_000_000, seed=1)"
# A BIN_DIR holds livesync-watcher and livesync-reference (copy them out of
# a build dir: a rebuild during the run would mix builds). Prints one line
# per run: wall time to in-sync and each node's CPU seconds.
set -euo pipefail
cd "$(dirname "$0")/.."
usage="usage: ab_bulk.sh SRC warm|cold ROUNDS VARIANT..."
src=${1:?$usage}
mode=${2:?$usage}
rounds=${3:?$usage}
shift 3
[ $# -gt 0 ] || { echo "$usage" >&2; exit 2; }
case $mode in warm|cold) ;; *) echo "$usage" >&2; exit 2 ;; esac
out=$(mktemp -d /dev/shm/livesync-ab-XXXXXX)
trap 'rm -rf "$out"' EXIT
for round in $(seq "$rounds"); do
  for variant in "$@"; do
    IFS=, read -r -a parts <<< "$variant"
    args=(--bin-dir="${parts[0]}")
    for a in "${parts[@]:1}"; do args+=(--watcher-arg="$a"); done
    rm -rf "${out:?}"/*
    sync
    [ "$mode" = cold ] && echo 3 > /proc/sys/vm/drop_caches
    printf '%s round %s %s load=%s: ' "$mode" "$round" "$variant" \
      "$(cut -d' ' -f1 /proc/loadavg)"
    python3 bench/profile_bulk.py "$src" "${args[@]}" --out="$out" 2>&1 \
      | grep -E "in-sync after|DIFFERS" \
      | sed -E 's/in-sync after ([0-9.]+) s: watcher ([0-9.]+) CPU-s.*reference ([0-9.]+) CPU-s.*/\1 s, watcher \2 CPU-s, reference \3 CPU-s/' \
      || echo "(no in-sync line)"
  done
done
