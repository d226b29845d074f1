#!/usr/bin/env bash
# Runs inside a container that booted systemd (tests/containers/tests_package.py,
# containers.systemd): debian:bookworm with systemd and the livesync .deb
# installed, no network but loopback. Starts the packaged units as an
# administrator would (README.md, "Debian package and systemd units") and
# checks that they mirror, with the hardening in force: the reference as the
# user livesync with no capability, the watcher as root with
# CAP_DAC_READ_SEARCH only, both with no-new-privileges and a seccomp
# filter; the reference's Prometheus file through a drop-in; a restart; a
# clean stop (Result=success, exit code 0). ProtectSystem= and the other
# settings that need a mount namespace are skipped by systemd in a container
# without CAP_SYS_ADMIN; the script says whether they are in force. Prints
# "systemd_check: PASS" last; a failure exits non-zero with one
# "systemd_check: FAIL ..." line and the units' journal.
set -euo pipefail

units=(livesync-reference.service livesync-watcher@test.service)
fail() {
  echo "systemd_check: FAIL: $*" >&2
  journalctl --no-pager -n 40 -u livesync-reference.service -u livesync-watcher@test.service >&2 || true
  exit 1
}
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
# main_status_is UNIT CODE: the exit code of UNIT's main process is CODE.
main_status_is() {
  [ "$(systemctl show -p ExecMainStatus --value "$1")" = "$2" ]
}
# proc_field UNIT FIELD: FIELD of /proc/MAINPID/status of UNIT.
proc_field() {
  local pid
  pid=$(systemctl show -p MainPID --value "$1")
  awk -v f="$2:" '$1 == f { $1 = ""; sub(/^ /, ""); print }' "/proc/$pid/status"
}

step "systemd is up"
# The container has just started: first PID 1's bus, then the boot's end.
wait_for 30 "systemd's bus" test -S /run/systemd/private
state=$(timeout 60 systemctl is-system-running --wait || true)
echo "system: $state"
[ "$state" = running ] || [ "$state" = degraded ] || fail "systemd is $state"

step "configuration as the README says"
/usr/share/livesync/make-certs.sh /etc/livesync/certs >/dev/null
mkdir -p /srv/livesync/watched/docs
for i in $(seq 1 20); do echo "file $i" >"/srv/livesync/watched/docs/f$i.txt"; done
# Only CAP_DAC_READ_SEARCH lets the watcher (root) read this one.
echo "not root's" >/srv/livesync/watched/docs/nobodys.txt
chown nobody:nogroup /srv/livesync/watched/docs/nobodys.txt
chmod 0600 /srv/livesync/watched/docs/nobodys.txt
cp /etc/livesync/watcher.ini /etc/livesync/watcher-test.ini
# The reference's Prometheus file, as the README says: metrics-file= in the
# INI, a directory the user livesync may write, and a drop-in that lets the
# service write there (ProtectSystem=strict leaves only /var/lib/livesync
# writable).
prom_dir=/var/lib/prometheus/node-exporter
install -d -m 2775 -o root -g livesync "$prom_dir"
sed -i 's|^; metrics-file=|metrics-file=|' /etc/livesync/reference.ini
grep -q "^metrics-file=\"$prom_dir/livesync-reference.prom\"" /etc/livesync/reference.ini ||
  fail "reference.ini has no metrics-file line to enable"
mkdir -p /etc/systemd/system/livesync-reference.service.d
printf '[Service]\nReadWritePaths=%s\n' "$prom_dir" \
  >/etc/systemd/system/livesync-reference.service.d/metrics.conf
systemctl daemon-reload

step "systemctl start ${units[*]}"
systemctl start livesync-reference.service
wait_for 20 "reference listening" journalctl -u livesync-reference.service --grep 'listening .*tls=true'
systemctl start livesync-watcher@test.service
ini=/etc/livesync/watcher-test.ini
wait_for 30 "watcher in-sync" sh -c "livesync-watcher status --config-file=$ini | grep -q '^state: in-sync'"
mirror=/var/lib/livesync/reference
diff -r --exclude=.livesync /srv/livesync/watched "$mirror" || fail "the mirror differs after in-sync"

step "the reference's metrics file"
wait_for 10 "$prom_dir/livesync-reference.prom" grep -q '^livesync_reference_' "$prom_dir/livesync-reference.prom"
grep -c '^livesync_reference_' "$prom_dir/livesync-reference.prom" | sed 's/$/ livesync_reference_* samples/'

step "hardening in force"
for unit in "${units[@]}"; do
  echo "$unit: uid $(proc_field "$unit" Uid | cut -d' ' -f1) CapEff $(proc_field "$unit" CapEff)" \
       "NoNewPrivs $(proc_field "$unit" NoNewPrivs) Seccomp $(proc_field "$unit" Seccomp)"
  [ "$(proc_field "$unit" NoNewPrivs)" = 1 ] || fail "$unit: no NoNewPrivs"
  [ "$(proc_field "$unit" Seccomp)" = 2 ] || fail "$unit: no seccomp filter"
done
[ "$(proc_field livesync-reference.service Uid | cut -d' ' -f1)" = "$(id -u livesync)" ] ||
  fail "the reference does not run as livesync"
[ "$(proc_field livesync-reference.service CapEff)" = 0000000000000000 ] ||
  fail "the reference has capabilities"
[ "$(proc_field livesync-watcher@test.service Uid | cut -d' ' -f1)" = 0 ] || fail "the watcher is not root"
[ "$(proc_field livesync-watcher@test.service CapEff)" = 0000000000000004 ] ||
  fail "the watcher's capabilities are not CAP_DAC_READ_SEARCH alone"
# systemd cannot make mount namespaces in a container without
# CAP_SYS_ADMIN and then skips ProtectSystem=, PrivateTmp= and the like
# (as it does for container managers): say whether they are in force here;
# systemd-analyze verify and security check them (containers.units).
root_mount=$(awk '$5 == "/" { print $6 }' "/proc/$(systemctl show -p MainPID --value livesync-reference.service)/mountinfo")
echo "livesync-reference.service: / mounted ${root_mount%%,*} (ProtectSystem=strict in force: $([ "${root_mount%%,*}" = ro ] && echo yes || echo no, no mount namespace in this container))"
owners=$(find "$mirror" -path "$mirror/.livesync" -prune -o -printf '%u\n' | sort -u | tr '\n' ' ')
[ "$owners" = "livesync " ] || fail "mirror owned by: $owners"

step "a live change, flush, verify"
mkdir -p /srv/livesync/watched/new/dir
echo live >/srv/livesync/watched/new/dir/live.txt
mv /srv/livesync/watched/docs/f3.txt /srv/livesync/watched/new/f3.txt
livesync-watcher flush --config-file="$ini"
diff -r --exclude=.livesync /srv/livesync/watched "$mirror" || fail "the mirror differs after flush"
livesync-watcher verify --config-file="$ini"

step "systemctl restart livesync-reference: the watcher reconnects"
systemctl restart livesync-reference.service
wait_for 30 "watcher reconnected" journalctl -u livesync-watcher@test.service --grep 'peer-reconnected'
echo again >/srv/livesync/watched/new/again.txt
livesync-watcher flush --config-file="$ini"
diff -r --exclude=.livesync /srv/livesync/watched "$mirror" || fail "the mirror differs after the restart"

step "systemctl stop: clean exits"
systemctl stop "${units[@]}"
for unit in "${units[@]}"; do
  r=$(systemctl show -p Result --value "$unit")
  s=$(systemctl show -p ExecMainStatus --value "$unit")
  echo "$unit: Result=$r ExecMainStatus=$s"
  if [ "$r" != success ] || [ "$s" != 0 ]; then
    fail "$unit stopped with Result=$r status $s"
  fi
done
# Warnings are expected (the restart: peer-lost, connect-failed); errors not.
if journalctl --no-pager -o cat -u livesync-reference.service -u livesync-watcher@test.service \
     --grep '(error|critical) \['; then
  fail "errors in the units' journal"
fi

echo "systemd_check: PASS"
