#!/usr/bin/env bash
# Builds the Debian package of livesync with CPack (cmake/Packaging.cmake):
#   bash scripts/package.sh        -> build/package/livesync_VERSION_ARCH.deb
# It holds both programs, their man pages (help2man), example configuration
# in /etc/livesync/ and the systemd units (config/systemd/). Needs help2man,
# dpkg-dev (dpkg-shlibdeps) and file, which scripts/setup.sh installs.
# The last line printed is the path of the .deb.
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${LIVESYNC_BUILD_DIR:-build}
missing=()
for tool in help2man:help2man dpkg-shlibdeps:dpkg-dev file:file cpack:cmake; do
  command -v "${tool%%:*}" >/dev/null || missing+=("${tool#*:}")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "package: missing ${missing[*]} (apt-get install ${missing[*]}; scripts/setup.sh does)" >&2
  exit 1
fi
# Only what the package holds; CPack does not build `all` first
# (CMAKE_SKIP_INSTALL_ALL_DEPENDENCY in cmake/Packaging.cmake).
bash scripts/build.sh livesync-reference livesync-watcher livesync-man
rm -f "$build_dir"/package/livesync_*.deb
(cd "$build_dir" && cpack -G DEB --config CPackConfig.cmake >/dev/null)
debs=("$build_dir"/package/livesync_*.deb)
[ -f "${debs[0]}" ] || { echo "package: cpack made no .deb in $build_dir/package" >&2; exit 1; }
dpkg-deb --field "${debs[0]}" Package Version Architecture Depends Installed-Size
echo "package: $(cd "$(dirname "${debs[0]}")" && pwd)/$(basename "${debs[0]}")"
