#!/usr/bin/env bash
# Runs inside a container of the image tests/containers/tests_package.py
# builds: debian:bookworm with `apt-get install ./livesync_*.deb` done, no
# network but loopback. Checks the installed package and runs both programs
# from their installed paths, as the systemd units would run them (the
# reference as the user livesync, its key handed over as a copy only it
# reads, like LoadCredential=, without capabilities; the watcher as root with a
# /etc/livesync/watcher-NAME.ini): a mirror between two directories over
# mutual TLS on loopback, a live change, flush, status and verify, and a
# clean stop. Prints "deb_check: PASS" last; any failure exits non-zero
# with one "deb_check: FAIL ..." line.
set -euo pipefail

fail() { echo "deb_check: FAIL: $*" >&2; exit 1; }
step() { echo "== $*"; }
# wait_for SECONDS DESCRIPTION COMMAND...: polls COMMAND every 0.1 s.
wait_for() {
  local limit=$1 what=$2; shift 2
  local deadline=$((SECONDS + limit))
  until "$@" >/dev/null 2>&1; do
    [ "$SECONDS" -lt "$deadline" ] || fail "$what: not within ${limit} s"
    sleep 0.1
  done
}

step "installed files"
dpkg -s livesync | grep -E '^(Package|Version|Depends):'
for p in livesync-reference livesync-watcher; do
  [ "$(command -v "$p")" = "/usr/bin/$p" ] || fail "$p is not /usr/bin/$p"
  v=$("$p" --version)
  [[ $v == "$p "[0-9]* ]] || fail "$p --version printed '$v'"
  echo "$v"
  "$p" --help | grep -q -- '--config-file' || fail "$p --help lacks --config-file"
  zcat "/usr/share/man/man1/$p.1.gz" | grep -q '^\.TH' || fail "no man page for $p"
done
for f in /lib/systemd/system/livesync-reference.service \
         /lib/systemd/system/livesync-watcher@.service \
         /etc/livesync/reference.ini /etc/livesync/watcher.ini \
         /usr/share/livesync/make-certs.sh /usr/share/doc/livesync/README.md; do
  [ -f "$f" ] || fail "$f not installed"
done
conffiles=$(dpkg-query -W -f='${Conffiles}' livesync)
for f in /etc/livesync/reference.ini /etc/livesync/watcher.ini; do
  grep -q "$f" <<<"$conffiles" || fail "$f is not a conffile: $conffiles"
done
getent passwd livesync | grep -q ':/usr/sbin/nologin$' || fail "no system user livesync"
[ "$(id -u livesync)" -lt 1000 ] || fail "livesync is not a system user: uid $(id -u livesync)"

step "a bad option: one line, exit code 2"
set +e
err=$(livesync-reference --config-file=/etc/livesync/reference.ini --port=99999 2>&1 >/dev/null)
rc=$?
set -e
if [ "$rc" -ne 2 ] || [ "$(wc -l <<<"$err")" -ne 1 ]; then
  fail "--port=99999: rc=$rc: $err"
fi
echo "$err"

step "certificates (/usr/share/livesync/make-certs.sh)"
/usr/share/livesync/make-certs.sh /etc/livesync/certs
# What LoadCredential= does for livesync-reference.service: a copy of the
# files that only the service's user reads.
creds=/run/credentials/livesync-reference.service
install -d -m 0500 -o livesync -g livesync "$creds"
for f in ca.pem reference.pem reference.key; do
  install -m 0400 -o livesync -g livesync "/etc/livesync/certs/$f" "$creds/$f"
done
# What StateDirectory=livesync does.
install -d -m 0750 -o livesync -g livesync /var/lib/livesync

step "reference as livesync, from /etc/livesync/reference.ini"
ref_log=/tmp/reference.log
# As the unit runs it: user livesync, no capability, no new privileges
# (setpriv execs: the program itself gets the SIGTERM below).
setpriv --reuid=livesync --regid=livesync --init-groups --inh-caps=-all \
  --bounding-set=-all --no-new-privs -- \
  /usr/bin/livesync-reference --config-file=/etc/livesync/reference.ini \
  --openssl.certificate="$creds/reference.pem" --openssl.key="$creds/reference.key" \
  --openssl.cafile="$creds/ca.pem" >"$ref_log" 2>&1 &
ref_pid=$!
wait_for 20 "reference listening" grep -q 'listening .*tls=true' "$ref_log"
grep 'listening' "$ref_log"

step "watcher as root, from /etc/livesync/watcher-test.ini"
mkdir -p /srv/livesync/watched/docs /srv/livesync/watched/empty
for i in $(seq 1 40); do echo "file $i" >"/srv/livesync/watched/docs/f$i.txt"; done
head -c 300000 /dev/urandom >/srv/livesync/watched/big.bin
ln -s docs/f1.txt /srv/livesync/watched/link
chmod 0640 /srv/livesync/watched/docs/f2.txt
cp /etc/livesync/watcher.ini /etc/livesync/watcher-test.ini
ini=/etc/livesync/watcher-test.ini
wat_log=/tmp/watcher.log
/usr/bin/livesync-watcher --config-file="$ini" >"$wat_log" 2>&1 &
wat_pid=$!
wait_for 30 "watcher in-sync" grep -q 'in-sync' "$wat_log"
mirror=/var/lib/livesync/reference
diff -r --no-dereference --exclude=.livesync /srv/livesync/watched "$mirror" \
  || fail "the mirror differs after in-sync"
owners=$(find "$mirror" -path "$mirror/.livesync" -prune -o -printf '%u\n' | sort -u | tr '\n' ' ')
[ "$owners" = "livesync " ] || fail "mirror owned by: $owners"
[ "$(stat -c %a "$mirror/docs/f2.txt")" = 640 ] || fail "mode of docs/f2.txt not kept"

step "a live change, flush, status, verify"
mkdir -p /srv/livesync/watched/new/dir
echo live >/srv/livesync/watched/new/dir/live.txt
mv /srv/livesync/watched/docs/f3.txt /srv/livesync/watched/new/f3.txt
livesync-watcher flush --config-file="$ini"
diff -r --no-dereference --exclude=.livesync /srv/livesync/watched "$mirror" \
  || fail "the mirror differs after flush"
status=$(livesync-watcher status --config-file="$ini")
echo "$status"
grep -q '^state: in-sync' <<<"$status" || fail "status is not in-sync"
grep -q '(mutual TLS)' <<<"$status" || fail "status: not mutual TLS"
livesync-watcher verify --config-file="$ini"

step "SIGTERM: both exit with code 0"
kill -TERM "$wat_pid"
wait "$wat_pid" || fail "the watcher exited with code $? on SIGTERM"
kill -TERM "$ref_pid"
wait "$ref_pid" || fail "the reference exited with code $? on SIGTERM"
grep -q 'stopping signal=' "$ref_log" || fail "no stopping line from the reference"

echo "deb_check: PASS"
