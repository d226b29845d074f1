# shellcheck shell=bash
# Sourced (not run) by entrypoint-reference.sh and entrypoint-watcher.sh:
# what both nodes' entrypoints share. They are the images' ENTRYPOINTs and
# also how the two-host tests (tests/twohost/netns.py) start every node, so
# the tested start-up path is the shipped one.

# die MESSAGE: one line on stderr and exit code 2, as the programs do for
# bad options; nothing has been started or changed.
die() {
  echo "${0##*/}: $*" >&2
  exit 2
}

# common_args ROLE: fills the array `args` with the options both nodes take
# from the environment (ROLE: reference or watcher):
#   LIVESYNC_CONFIG    INI file, passed as --config-file: CAF reads only
#                      ./caf-application.ini by itself and silently ignores
#                      a missing one, so the file is named explicitly and
#                      checked here
#   LIVESYNC_CERT_DIR  a directory made by scripts/make-certs.sh: its
#                      ca.pem, ROLE.pem and ROLE.key become the openssl.*
#                      options (overriding the INI's [openssl] paths)
#   LIVESYNC_ROOT      --root
#   LIVESYNC_PORT      --port
common_args() {
  local role=$1 f
  args=()
  if [ -n "${LIVESYNC_CONFIG:-}" ]; then
    if ! [ -f "$LIVESYNC_CONFIG" ] || ! [ -r "$LIVESYNC_CONFIG" ]; then
      die "LIVESYNC_CONFIG=$LIVESYNC_CONFIG is not a readable file"
    fi
    args+=("--config-file=$LIVESYNC_CONFIG")
  fi
  if [ -n "${LIVESYNC_CERT_DIR:-}" ]; then
    for f in ca.pem "$role.pem" "$role.key"; do
      [ -r "$LIVESYNC_CERT_DIR/$f" ] ||
        die "cannot read $LIVESYNC_CERT_DIR/$f as uid $(id -u) (scripts/make-certs.sh makes it)"
    done
    args+=("--openssl.certificate=$LIVESYNC_CERT_DIR/$role.pem"
           "--openssl.key=$LIVESYNC_CERT_DIR/$role.key"
           "--openssl.cafile=$LIVESYNC_CERT_DIR/ca.pem")
  fi
  if [ -n "${LIVESYNC_ROOT:-}" ]; then args+=("--root=$LIVESYNC_ROOT"); fi
  if [ -n "${LIVESYNC_PORT:-}" ]; then args+=("--port=$LIVESYNC_PORT"); fi
}

# program NAME: the path to run, from LIVESYNC_BIN_DIR if set, else PATH.
program() {
  local path=${LIVESYNC_BIN_DIR:+$LIVESYNC_BIN_DIR/}$1
  command -v "$path" >/dev/null || die "$path: no such program (set LIVESYNC_BIN_DIR)"
  echo "$path"
}
