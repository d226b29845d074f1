#!/usr/bin/env bash
# Installs every Debian package that livesync's build, tests and demo need.
# Idempotent: when everything is present it changes nothing and needs no
# network; otherwise it runs `apt-get update` once, then one install.
set -euo pipefail

packages=(
  g++ make cmake            # the build
  libcaf-dev                # CAF 0.17.6: core, io, openssl
  libspdlog-dev             # logging (pulls libfmt-dev)
  libxxhash-dev             # content hashes
  libzstd-dev               # compression
  libssl-dev                # required by CAF's openssl module
  python3                   # end-to-end tests
  procps                    # pgrep/ps for scripts
  openssl                   # scripts/make-certs.sh (private CA for mutual TLS)
  iproute2                  # two-host tests: ip netns, veth, tc netem; ss (bench byte counts)
  shellcheck                # docker.lint: docker/*.sh and the Dockerfile's RUN lines
  docker-compose            # docker.lint: `docker-compose config` of docker/compose.yaml
  clang libclang-rt-14-dev  # fuzz targets (tests/fuzz): clang 14 + libFuzzer
  rsync                     # bench/ anchors: the rsync daemon (delta_vs_rsync.py, suite.py)
  lsyncd                    # bench/suite.py: the latency anchor (lsyncd + rsync daemon)
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

# promtool (e2e.metrics_promtool checks the metrics with it): the one binary
# taken from Debian's prometheus package, not the package, which would
# install and start a Prometheus server (a service, a system user, ~45 MB of
# web assets and their dependencies). It costs one 19 MB download and a few
# seconds. Best effort: without it that test is skipped, not failed.
need_promtool=0
command -v promtool >/dev/null 2>&1 || need_promtool=1

if [ ${#missing[@]} -eq 0 ] && [ $need_promtool -eq 0 ]; then
  echo "setup: all ${#packages[@]} packages present, and promtool"
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  if [ ${#missing[@]} -eq 0 ]; then
    echo "setup: promtool missing (run as root to extract it; e2e.metrics_promtool is skipped meanwhile)"
    exit 0
  fi
  echo "setup: missing packages: ${missing[*]}; run as root to install them" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
if [ $need_promtool -eq 1 ]; then
  echo "setup: extracting promtool from Debian's prometheus package"
  tmp=$(mktemp -d)
  if (cd "$tmp" && apt-get download -qq -o APT::Sandbox::User=root prometheus) \
      && dpkg-deb --fsys-tarfile "$tmp"/prometheus_*.deb | tar -x -C "$tmp" ./usr/bin/promtool \
      && install -m 0755 "$tmp/usr/bin/promtool" /usr/local/bin/promtool; then
    echo "setup: $(promtool --version 2>&1 | head -n 1)"
  else
    echo "setup: could not extract promtool (e2e.metrics_promtool will be skipped)" >&2
  fi
  rm -rf "$tmp"
fi
