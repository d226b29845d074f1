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

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#packages[@]} packages present"
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "setup: missing packages: ${missing[*]}; run as root to install them" >&2
  exit 1
fi
echo "setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
