#!/usr/bin/env bash
# By hand (not a CTest test): the fan-out compose example on podman, as
# root on a bookworm host set up as README.md "Containers with podman" says
# (podman, runc, netavark, aardvark-dns, docker-compose, the base image):
#   bash scripts/try-compose-fanout-podman.sh          # BUILD=0: reuse the images
# docker/compose.yaml + compose.podman.yaml + compose.fanout.yaml +
# compose.fanout.podman.yaml, project livesync-fanhand with volumes of its
# own; the watched tree is a host directory under $LIVESYNC_TRY_DIR (a new
# temp dir by default). Checks: both references in sync and identical, a
# live change flushed to both; reference2 stopped: flush exits 1 naming it,
# the other stays identical; reference2 started again: it catches up.
# `down -v` at the end in every case. Takes the lock of the containers
# tests (run it while no `ctest -L containers` runs): wrap it in
#   flock /run/lock/livesync-ctest-containers.lock bash scripts/try-compose-fanout-podman.sh
set -euo pipefail
W=${LIVESYNC_TRY_DIR:-$(mktemp -d /tmp/livesync-fanout-compose-XXXXXX)}
P=livesync-fanhand
REPO=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$W/src"
cat > "$W/containers.conf" <<'CONF'
[containers]
default_ulimits = ["nofile=16384:16384", "nproc=8192:8192"]
[engine]
runtime = "runc"
[network]
network_backend = "netavark"
CONF
export CONTAINERS_CONF=$W/containers.conf
unset DOCKER_HOST CONTAINER_HOST CONTAINER_CONNECTION || true
cd "$REPO"
t0=$(date +%s)
if [ "${BUILD:-1}" = 1 ]; then
  podman build --format docker --network=host -f docker/Dockerfile --target reference -t livesync-reference . > "$W/build-ref.log" 2>&1
  podman build --format docker --network=host -f docker/Dockerfile --target watcher -t livesync-watcher . > "$W/build-wat.log" 2>&1
  echo "images built in $(( $(date +%s) - t0 )) s"
fi
bash scripts/make-certs.sh "$W/certs" >/dev/null
chown 10001 "$W/certs/reference.key"
cat > "$W/names.yaml" <<YAML
volumes:
  watched:
    name: $P-watched
  reference:
    name: $P-reference
  reference2:
    name: $P-reference2
YAML
echo "hello from the watched tree" > "$W/src/a.txt"
podman system service --time=0 "unix://$W/podman.sock" > "$W/service.log" 2>&1 &
svc=$!
pump() { while true; do for c in $(podman ps -q --filter label=com.docker.compose.project="$P"); do podman healthcheck run "$c" >/dev/null 2>&1 || true; done; sleep 1; done; }
pump & pumppid=$!
export DOCKER_HOST=unix://$W/podman.sock
for i in $(seq 50); do [ -S "$W/podman.sock" ] && break; sleep 0.1; done
DC=(docker-compose --ansi never -p "$P" -f docker/compose.yaml -f docker/compose.podman.yaml -f docker/compose.fanout.yaml -f docker/compose.fanout.podman.yaml -f "$W/names.yaml")
export LIVESYNC_WATCHED=$W/src LIVESYNC_CERTS=$W/certs
cleanup() {
  "${DC[@]}" down -v > "$W/down.log" 2>&1 || echo "down failed: $(tail -3 "$W/down.log")"
  kill "$pumppid" 2>/dev/null || true
  kill "$svc" 2>/dev/null || true
  wait "$svc" 2>/dev/null || true
}
trap cleanup EXIT
t1=$(date +%s)
"${DC[@]}" up -d --no-build > "$W/up.log" 2>&1 || { cat "$W/up.log"; exit 1; }
echo "up returned after $(( $(date +%s) - t1 )) s"
st() { "${DC[@]}" exec -T watcher livesync-watcher status --config-file=/etc/livesync/watcher.ini "$@"; }
fl() { "${DC[@]}" exec -T watcher livesync-watcher flush --config-file=/etc/livesync/watcher.ini "$@"; }
for i in $(seq 60); do
  if st --json 2>/dev/null | python3 -c 'import json,sys; d=json.load(sys.stdin); sys.exit(0 if all(x["state"]=="in-sync" for x in d) and len(d)==2 else 1)'; then break; fi
  sleep 1
done
echo "--- status --json (both in sync after $(( $(date +%s) - t1 )) s)"
st --json | python3 -c 'import json,sys; [print(x["reference"], x["state"], "files", x["files"]) for x in json.load(sys.stdin)]'
"${DC[@]}" ps
v1=$(podman volume inspect $P-reference --format '{{.Mountpoint}}')
v2=$(podman volume inspect $P-reference2 --format '{{.Mountpoint}}')
echo "live change" > "$W/src/live.txt"; mkdir -p "$W/src/dir"; echo x > "$W/src/dir/x"
echo "--- flush"; fl; echo "flush rc=$?"
for v in "$v1" "$v2"; do diff -r "$W/src" "$v" --exclude=.livesync && echo "identical: $v"; done
echo "--- stop reference2, change, flush"
"${DC[@]}" stop reference2 > /dev/null 2>&1
echo "while reference2 is down" > "$W/src/down.txt"
set +e; fl --timeout=15s; echo "flush rc=$?"; set -e
diff -r "$W/src" "$v1" --exclude=.livesync && echo "reference identical"
echo "--- start reference2"
"${DC[@]}" start reference2 > /dev/null 2>&1
for i in $(seq 60); do fl --reference=reference2:4242 --timeout=2s >/dev/null 2>&1 && break; sleep 1; done
echo "reference2 flushed again $i s after start"
diff -r "$W/src" "$v2" --exclude=.livesync && echo "reference2 identical"
fl; echo "flush rc=$?"
echo "total $(( $(date +%s) - t0 )) s"
