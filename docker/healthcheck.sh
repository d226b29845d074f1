#!/usr/bin/env bash
# Health of a livesync node, from its own sockets (no port to configure, no
# tool beyond bash and coreutils):
#   healthcheck.sh reference [PID]   healthy: PID listens on a TCP socket
#   healthcheck.sh watcher [PID]     healthy: PID has an established TCP
#                                    connection (to the reference)
# PID defaults to 1: in the images the entrypoint execs the program, which
# so becomes PID 1 (compose sets no init). Exit 0 healthy, 1 unhealthy,
# 2 usage. The two-host tests run it against their nodes.
set -euo pipefail

role=${1:-}
pid=${2:-1}
case $role in
  reference) want=0A what="no listening TCP socket" ;;   # TCP_LISTEN
  watcher) want=01 what="no established TCP connection" ;; # TCP_ESTABLISHED
  *) echo "usage: ${0##*/} reference|watcher [PID]" >&2; exit 2 ;;
esac
[ -d "/proc/$pid/fd" ] || { echo "unhealthy: no process $pid"; exit 1; }

# The process's socket inodes, from its descriptors (socket:[INODE]).
declare -A sockets=()
for fd in "/proc/$pid/fd/"*; do
  link=$(readlink "$fd" 2>/dev/null) || continue
  case $link in
    "socket:["*"]") inode=${link#socket:[}; sockets[${inode%]}]=1 ;;
  esac
done

# /proc/PID/net/tcp{,6} (the process's own network namespace): the 4th
# column is the state, the 10th the socket inode.
for table in "/proc/$pid/net/tcp" "/proc/$pid/net/tcp6"; do
  [ -r "$table" ] || continue
  while read -r _ _ _ state _ _ _ _ _ inode _; do
    if [ "$state" = "$want" ] && [ -n "${sockets[$inode]:-}" ]; then
      echo "healthy: $role pid $pid"
      exit 0
    fi
  done < "$table"
done
echo "unhealthy: $role pid $pid: $what"
exit 1
