#!/usr/bin/env bash
# Profiles both nodes while one file streams (what workload 7 of suite.py
# times), to see where the time goes:
#   bash bench/profile_stream.sh perf|strace|cpu plain|tls [MIB=256] [BIN_DIR=build]
# perf: `perf record -g` of each node (reports: perf report -i DIR/{w,r}.data;
#   PERF_CALLGRAPH=dwarf for call stacks through libc, which has no frame pointers);
# strace: `strace -c -f` of each node (syscall counts, printed);
# cpu: the CPU seconds (user + system, /proc/PID/stat) each node spent while
#   the file streamed, and the wall time; nothing is attached to the nodes.
# A pair runs on a temp dir under /work, in sync on an empty tree; MIB of
# /dev/urandom are renamed into the watched root; the profilers stop when
# the reference has committed the file. The temp dir is kept for perf (its
# path is printed) and removed for strace.
set -euo pipefail
tool=${1:?usage: profile_stream.sh perf|strace|cpu plain|tls [MIB] [BIN_DIR]}
mode=${2:?usage: profile_stream.sh perf|strace|cpu plain|tls [MIB] [BIN_DIR]}
mib=${3:-256}
repo=$(cd "$(dirname "$0")/.." && pwd)
bin=$(cd "${4:-$repo/build}" && pwd)
case $tool in perf|strace|cpu) ;; *) echo "unknown tool: $tool" >&2; exit 2 ;; esac
case $mode in plain|tls) ;; *) echo "unknown mode: $mode" >&2; exit 2 ;; esac
[ "$tool" = cpu ] || command -v "$tool" >/dev/null || { echo "$tool is not installed" >&2; exit 2; }

dir=$(mktemp -d /work/livesync-profile-XXXXXX)
mkdir "$dir/src" "$dir/out"
cd "$dir"
if [ "$mode" = tls ]; then
  bash "$repo/scripts/make-certs.sh" certs >/dev/null
  rargs=(--openssl.certificate=certs/reference.pem --openssl.key=certs/reference.key --openssl.cafile=certs/ca.pem)
  wargs=(--openssl.certificate=certs/watcher.pem --openssl.key=certs/watcher.key --openssl.cafile=certs/ca.pem)
else
  rargs=(--insecure)
  wargs=(--insecure)
fi
head -c $((mib << 20)) /dev/urandom > out/big.bin
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT
"$bin/livesync-reference" --root="$dir/ref" --port=0 --log-level=info "${rargs[@]}" > ref.log 2>&1 &
rp=$!; pids+=("$rp")
for _ in $(seq 100); do grep -q 'port=' ref.log && break; sleep 0.05; done
port=$(grep -o 'port=[0-9]*' ref.log | head -1 | cut -d= -f2)
"$bin/livesync-watcher" --root="$dir/src" --port="$port" --log-level=info "${wargs[@]}" > w.log 2>&1 &
wp=$!; pids+=("$wp")
for _ in $(seq 200); do grep -q 'in-sync' w.log && break; sleep 0.05; done
sync
# CPU seconds (user + system) of a process so far.
cpu_s() { awk -v t="$(getconf CLK_TCK)" '{printf "%.2f", ($14 + $15) / t}' "/proc/$1/stat"; }
if [ "$tool" = cpu ]; then
  w0=$(cpu_s "$wp"); r0=$(cpu_s "$rp")
  t0=$(date +%s.%N)
  mv out/big.bin src/
  until [ -f ref/big.bin ]; do sleep 0.01; done
  t1=$(date +%s.%N)
  w1=$(cpu_s "$wp"); r1=$(cpu_s "$rp")
  cmp -s src/big.bin ref/big.bin && same=identical || same=DIFFERENT
  echo "$mode: $mib MiB committed in $(echo "$t1 - $t0" | bc) s ($same);" \
       "CPU-s watcher $(echo "$w1 - $w0" | bc), reference $(echo "$r1 - $r0" | bc)"
  cd /
  rm -rf "$dir"
  exit 0
fi
if [ "$tool" = perf ]; then
  cg=${PERF_CALLGRAPH:-fp}
  perf record -F 999 --call-graph="$cg" -o w.data -p "$wp" 2>/dev/null & sw=$!
  perf record -F 999 --call-graph="$cg" -o r.data -p "$rp" 2>/dev/null & sr=$!
else
  strace -c -f -o w.strace -p "$wp" 2>/dev/null & sw=$!
  strace -c -f -o r.strace -p "$rp" 2>/dev/null & sr=$!
fi
sleep 1
t0=$(date +%s.%N)
mv out/big.bin src/
until [ -f ref/big.bin ]; do sleep 0.02; done
t1=$(date +%s.%N)
kill -INT "$sw" "$sr"; wait "$sw" "$sr" || true
echo "$mode: $mib MiB committed in $(echo "$t1 - $t0" | bc) s"
if [ "$tool" = perf ]; then
  for n in w r; do
    echo "== $n: $(perf report -i $n.data --stdio 2>/dev/null | grep -m1 'Event count')"
    perf report -i $n.data --no-children --sort dso --stdio -g none 2>/dev/null | grep '%' | head -8
  done
  echo "kept $dir (perf report -i $dir/w.data; rm -rf it when done)"
else
  for n in w r; do echo "== $n"; head -14 $n.strace; done
  cd /
  rm -rf "$dir"
fi
