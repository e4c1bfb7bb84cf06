#!/usr/bin/env bash
# Make a private CA and one certificate/key signed by it for a dask cluster (scheduler, workers
# and clients may share it, or run the last step once per role). Needs openssl.
#
#   deploy/tls/make-certs.sh OUTDIR [HOSTNAME_OR_IP ...]
#
# Writes OUTDIR/ca.pem (give to everyone), OUTDIR/ca-key.pem (keep offline), OUTDIR/cert.pem and
# OUTDIR/key.pem (mode 600). distributed verifies the peer's certificate against ca.pem in both
# directions (mutual TLS); it does not check host names, the names below are for other tools.
set -euo pipefail
out=${1:?usage: make-certs.sh OUTDIR [HOSTNAME_OR_IP ...]}
shift || true
mkdir -p "$out"
umask 077
days=${DAYS:-365}

san="DNS:localhost,IP:127.0.0.1"
for h in "$@"; do
  if [[ $h =~ ^[0-9.]+$ ]]; then san="$san,IP:$h"; else san="$san,DNS:$h"; fi
done

openssl req -x509 -newkey rsa:3072 -nodes -sha256 -days "$days" \
  -subj "/CN=daskinsar-dask-ca" -keyout "$out/ca-key.pem" -out "$out/ca.pem" 2>/dev/null
openssl req -newkey rsa:3072 -nodes -sha256 -subj "/CN=daskinsar-dask" \
  -keyout "$out/key.pem" -out "$out/cert.csr" 2>/dev/null
cat > "$out/ext.cnf" <<EXT
basicConstraints=CA:FALSE
keyUsage=digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth,clientAuth
subjectAltName=$san
EXT
openssl x509 -req -in "$out/cert.csr" -CA "$out/ca.pem" -CAkey "$out/ca-key.pem" -CAcreateserial \
  -days "$days" -sha256 -extfile "$out/ext.cnf" -out "$out/cert.pem" 2>/dev/null
rm -f "$out/cert.csr" "$out/ext.cnf" "$out/ca.srl"
chmod 644 "$out/ca.pem" "$out/cert.pem"
echo "CA: $out/ca.pem  certificate: $out/cert.pem  key: $out/key.pem"
