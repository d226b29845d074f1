#!/usr/bin/env bash
# Starts livesync-watcher: the watcher image's ENTRYPOINT, and how the
# two-host tests start every watcher (tests/twohost/netns.py).
#
#   [VAR=value ...] entrypoint-watcher.sh [--option=value ...]
#
# Settings come from the INI file LIVESYNC_CONFIG (in the image:
# /etc/livesync/watcher.ini, docker/watcher.ini of the repository).
# Each variable that is set overrides its key on the command line (CAF: the
# command line wins over the file), and this script's own arguments come
# last, so they win over both:
#   LIVESYNC_CONFIG, LIVESYNC_CERT_DIR, LIVESYNC_ROOT, LIVESYNC_PORT
#                      see entrypoint-lib.sh
#   LIVESYNC_HOST      --host (the reference)
#   LIVESYNC_BIN_DIR   directory of livesync-watcher (default: PATH)
set -euo pipefail
# shellcheck source=docker/entrypoint-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/entrypoint-lib.sh"

common_args watcher
if [ -n "${LIVESYNC_HOST:-}" ]; then args+=("--host=$LIVESYNC_HOST"); fi
bin=$(program livesync-watcher)
# exec: the program replaces this shell, keeps its pid (PID 1 in a
# container) and so receives SIGTERM/SIGKILL itself, and its exit code is
# the container's.
exec "$bin" "${args[@]}" "$@"
