#!/usr/bin/env bash
# make-certs.sh DIR [IP...]: a throwaway CA and a server certificate signed by
# it, for the test API server's --tls-cert/--tls-key. Writes DIR/ca.crt,
# DIR/ca.key, DIR/server.crt, DIR/server.key. The server certificate names
# DNS localhost, IP 127.0.0.1 and each IP given (a node's underlay address).
set -eu
if [ $# -lt 1 ]; then
	echo "usage: $0 DIR [IP...]" >&2
	exit 2
fi
dir=$1
shift
mkdir -p "$dir"
san="DNS:localhost,IP:127.0.0.1"
for ip in "$@"; do san="$san,IP:$ip"; done

# EC P-256 keys: quick to make, and every TLS library takes them.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
	-keyout "$dir/ca.key" -out "$dir/ca.crt" -days 30 -subj "/CN=podfence-test-ca" \
	-addext "basicConstraints=critical,CA:TRUE" \
	-addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
	-keyout "$dir/server.key" -out "$dir/server.csr" -subj "/CN=podfence-test-apiserver" 2>/dev/null
ext=$(mktemp)
trap 'rm -f "$ext" "$dir/server.csr"' EXIT
printf 'subjectAltName=%s\nbasicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n' \
	"$san" >"$ext"
openssl x509 -req -in "$dir/server.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" \
	-CAcreateserial -out "$dir/server.crt" -days 30 -extfile "$ext" 2>/dev/null
rm -f "$dir/ca.srl"
chmod 600 "$dir/ca.key" "$dir/server.key"
