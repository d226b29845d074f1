#!/usr/bin/env bash
# Makes a private CA and one certificate per node for livesync's mutual TLS.
#   bash scripts/make-certs.sh DIR [DAYS]
# Writes DIR/ca.pem, DIR/ca.key (keep it offline), DIR/reference.{pem,key},
# DIR/watcher.{pem,key}. Any certificate signed by this CA is accepted by
# the other node (CAF 0.17 checks no host name), so use this CA for
# livesync only. Set LIVESYNC_KEY_PASSPHRASE to encrypt the node keys.
set -euo pipefail
dir=${1:?usage: make-certs.sh DIR [DAYS]}
days=${2:-825}
mkdir -p "$dir"
umask 077
cd "$dir"
# ECDSA P-256: strong, and key generation is instant (RSA 3072 takes
# seconds on a small machine).
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
  -keyout ca.key -out ca.pem -days "$days" -subj "/CN=livesync private CA" 2>/dev/null
for node in reference watcher; do
  if [ -n "${LIVESYNC_KEY_PASSPHRASE:-}" ]; then
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -aes256 \
      -pass env:LIVESYNC_KEY_PASSPHRASE -out "$node.key" 2>/dev/null
    openssl req -new -key "$node.key" -passin env:LIVESYNC_KEY_PASSPHRASE \
      -out "$node.csr" -subj "/CN=livesync-$node"
  else
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
      -out "$node.key" 2>/dev/null
    openssl req -new -key "$node.key" -out "$node.csr" -subj "/CN=livesync-$node"
  fi
  openssl x509 -req -in "$node.csr" -CA ca.pem -CAkey ca.key -CAcreateserial \
    -out "$node.pem" -days "$days" 2>/dev/null
  rm -f "$node.csr"
done
rm -f ca.srl
chmod 644 ca.pem reference.pem watcher.pem
echo "make-certs: wrote $(pwd)/{ca.pem,ca.key,reference.pem,reference.key,watcher.pem,watcher.key}"
