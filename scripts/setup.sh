#!/usr/bin/env bash
# Installs every Debian package that livesync's build, tests and demo need.
# Idempotent: when everything is present it changes nothing and needs no
# network; otherwise it runs `apt-get update` once, then one install.
# The container tests' packages (podman & co.) are optional: when they cannot
# be installed, setup says so and goes on, and those tests report a skip.
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
  help2man dpkg-dev file    # scripts/package.sh: man pages, CPack's dpkg-shlibdeps
)

# tests/containers (containers.*): podman with runc (crun refuses this kind
# of host), netavark + aardvark-dns (networks whose containers resolve each
# other's names), iptables (netavark's firewall), mmdebstrap (the base
# image; no registry is reachable). Tried after the packages above; a
# failure is reported, not fatal.
optional_packages=(podman runc netavark aardvark-dns iptables mmdebstrap)

installed() {
  dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"
}

missing=()
for p in "${packages[@]}"; do
  installed "$p" || missing+=("$p")
done
optional_missing=()
for p in "${optional_packages[@]}"; do
  installed "$p" || optional_missing+=("$p")
done

# promtool (e2e.metrics_promtool checks the metrics with it): the one binary
# taken from Debian's prometheus package, not the package, which would
# install and start a Prometheus server (a service, a system user, ~45 MB of
# web assets and their dependencies). It costs one 19 MB download and a few
# seconds. Best effort: without it that test is skipped, not failed.
need_promtool=0
command -v promtool >/dev/null 2>&1 || need_promtool=1

if [ ${#missing[@]} -eq 0 ] && [ ${#optional_missing[@]} -eq 0 ] && [ $need_promtool -eq 0 ]; then
  echo "setup: all ${#packages[@]} packages present (and the ${#optional_packages[@]} of the container tests), and promtool"
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  if [ ${#missing[@]} -gt 0 ]; then
    echo "setup: missing packages: ${missing[*]}; run as root to install them" >&2
    exit 1
  fi
  echo "setup: run as root to install ${optional_missing[*]:-nothing else} (container tests) and promtool (e2e.metrics_promtool); those tests are skipped meanwhile"
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
if [ ${#optional_missing[@]} -gt 0 ]; then
  echo "setup: installing ${optional_missing[*]} (container tests)"
  if ! apt-get install -y -qq --no-install-recommends "${optional_missing[@]}"; then
    echo "setup: could not install ${optional_missing[*]}: the container tests will be skipped" >&2
  fi
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
