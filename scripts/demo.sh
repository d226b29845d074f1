#!/usr/bin/env bash
# Sets up, builds and runs the main job on loopback: a reference and a
# watcher mirroring a directory, until Ctrl-C.
#   bash scripts/demo.sh [WATCHED_DIR [REFERENCE_DIR]]
# Without arguments it mirrors ./demo/watched (created with a few files)
# to ./demo/reference. Edit files in the watched dir and see them appear.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh livesync-reference livesync-watcher
src=${1:-demo/watched}
ref=${2:-demo/reference}
if [ $# -eq 0 ] && [ ! -d "$src" ]; then
  mkdir -p "$src/docs"
  echo "hello from livesync" > "$src/hello.txt"
  printf '# notes\nedit me\n' > "$src/docs/notes.md"
  ln -s hello.txt "$src/link-to-hello"
fi
mkdir -p "$ref"
bin=${LIVESYNC_BUILD_DIR:-build}
# Mutual TLS with a private CA made once for the demo.
certs=demo/certs
[ -f "$certs/ca.pem" ] || bash scripts/make-certs.sh "$certs"
tls_ref=(--openssl.certificate="$certs/reference.pem" --openssl.key="$certs/reference.key" --openssl.cafile="$certs/ca.pem")
tls_watch=(--openssl.certificate="$certs/watcher.pem" --openssl.key="$certs/watcher.key" --openssl.cafile="$certs/ca.pem")
log=$(mktemp)
"$bin/livesync-reference" --root="$ref" --port=0 "${tls_ref[@]}" > >(tee "$log") 2>&1 &
ref_pid=$!
watch_pid=""
cleanup() {
  kill -TERM "$ref_pid" ${watch_pid:+"$watch_pid"} 2>/dev/null || true
  wait 2>/dev/null || true
  rm -f "$log"
}
# Ctrl-C is the normal way to stop the demo: clean up and exit 0.
trap 'cleanup; exit 0' INT TERM
trap cleanup EXIT
for _ in $(seq 100); do
  port=$(grep -o 'listening.*port=[0-9]*' "$log" | grep -o 'port=[0-9]*' | cut -d= -f2 || true)
  [ -n "$port" ] && break
  sleep 0.1
done
[ -n "$port" ] || { echo "demo: the reference did not start" >&2; exit 1; }
"$bin/livesync-watcher" --root="$src" --host=127.0.0.1 --port="$port" "${tls_watch[@]}" &
watch_pid=$!
echo "demo: mirroring $src -> $ref (port $port); Ctrl-C stops both"
wait $watch_pid
