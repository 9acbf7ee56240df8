#!/usr/bin/env bash
# The test API server's HTTPS and bearer token (tests/kube/apiserver.py
# --tls-cert/--tls-key/--token) and tests/kube/make-certs.sh, proven with
# openssl, curl and (where installed) kubectl; the C client itself is proven
# by build/tests/unit/test_kube_watch and test_kube_config.
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
T=$(mktemp -d /tmp/podfence-kube-client-XXXXXX)
PASS=0
FAIL=0
SRV_PID=""
HOLD_FD=""

cleanup() {
    [ -n "$HOLD_FD" ] && exec 3>&-
    if [ -n "$SRV_PID" ]; then
        kill "$SRV_PID" 2>/dev/null
        wait "$SRV_PID" 2>/dev/null
    fi
    rm -rf "$T"
}
trap cleanup EXIT INT TERM

ok() { PASS=$((PASS + 1)); echo "ok: $1"; }
bad() { FAIL=$((FAIL + 1)); echo "FAIL: $1"; [ -s "$T/last" ] && sed 's/^/    /' "$T/last" | head -20; }
check() {
    local desc=$1
    shift
    if "$@" >"$T/last" 2>&1; then ok "$desc"; else bad "$desc"; fi
}

# --- make-certs.sh ---------------------------------------------------------------------
check "make-certs.sh writes a CA and a server certificate" \
    "$ROOT/tests/kube/make-certs.sh" "$T/pki" 192.0.2.10
check "the four files are there, the keys private" sh -c "
    for f in ca.crt ca.key server.crt server.key; do [ -s $T/pki/\$f ] || exit 1; done
    [ \$(stat -c %a $T/pki/ca.key) = 600 ] && [ \$(stat -c %a $T/pki/server.key) = 600 ] &&
    [ ! -e $T/pki/server.csr ] && [ ! -e $T/pki/ca.srl ]"
check "the server certificate verifies against the CA, for TLS servers" \
    openssl verify -CAfile "$T/pki/ca.crt" -purpose sslserver "$T/pki/server.crt"
check "its names: DNS localhost, IP 127.0.0.1 and the IP given" sh -c "
    openssl x509 -in $T/pki/server.crt -noout -ext subjectAltName |
    grep -qx '    DNS:localhost, IP Address:127.0.0.1, IP Address:192.0.2.10'"
check "make-certs.sh without a directory is a usage error" \
    sh -c "! $ROOT/tests/kube/make-certs.sh 2>/dev/null"
"$ROOT/tests/kube/make-certs.sh" "$T/other" >/dev/null 2>&1

# --- the server over HTTPS with a token ------------------------------------------------------
python3 "$ROOT/tests/kube/apiserver.py" --port 0 --port-file "$T/port" \
    --tls-cert "$T/pki/server.crt" --tls-key "$T/pki/server.key" --token s3cret \
    >"$T/server.out" 2>"$T/server.err" &
SRV_PID=$!
for _ in $(seq 200); do [ -s "$T/port" ] && break; sleep 0.05; done
if [ ! -s "$T/port" ]; then
    echo "the API server did not start:"; cat "$T/server.err"
    echo "0 passed, 1 failed"
    exit 1
fi
PORT=$(cat "$T/port")
URL="https://127.0.0.1:$PORT"
C() { curl -s --max-time 10 --cacert "$T/pki/ca.crt" "$@"; }
AUTH=(-H "Authorization: Bearer s3cret")

check "with the CA and the token: a PodList" sh -c "
    $(declare -f C); T=$T; C -H 'Authorization: Bearer s3cret' $URL/api/v1/pods | grep -q '\"kind\": \"PodList\"'"
check "by the name localhost too" sh -c "
    $(declare -f C); T=$T; C -H 'Authorization: Bearer s3cret' https://localhost:$PORT/version | grep -q gitVersion"
check "no token: 401 with an Unauthorized Status" sh -c "
    $(declare -f C); T=$T; [ \"\$(C -o $T/r.json -w '%{http_code}' $URL/api/v1/pods)\" = 401 ] &&
    grep -q '\"reason\": \"Unauthorized\"' $T/r.json && grep -q '\"kind\": \"Status\"' $T/r.json"
check "a wrong token: 401" sh -c "
    $(declare -f C); T=$T; [ \"\$(C -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer nope' $URL/api)\" = 401 ]"
check "the test hooks want the token too" sh -c "
    $(declare -f C); T=$T; [ \"\$(C -o /dev/null -w '%{http_code}' -X POST $URL/podfence-test/compact)\" = 401 ] &&
    [ \"\$(C -o /dev/null -w '%{http_code}' -X POST -H 'Authorization: Bearer s3cret' $URL/podfence-test/compact)\" = 200 ]"
check "another CA: the certificate is refused (curl exit 60)" sh -c "
    curl -s --max-time 10 --cacert $T/other/ca.crt $URL/version; [ \$? -eq 60 ]"
check "plain HTTP on the TLS port gets no answer" sh -c "
    ! curl -s --max-time 5 http://127.0.0.1:$PORT/version"

# A client that connects and never speaks holds only its own thread: the
# handshake is not done in the accept loop.
exec 3<>"/dev/tcp/127.0.0.1/$PORT" && HOLD_FD=3
check "a silent connection does not hold up the others" sh -c "
    curl -s --max-time 3 --cacert $T/pki/ca.crt -H 'Authorization: Bearer s3cret' $URL/version | grep -q gitVersion"
exec 3>&-
HOLD_FD=""

C "${AUTH[@]}" -X POST -H 'Content-Type: application/json' \
    -d '{"metadata":{"name":"x"}}' "$URL/api/v1/namespaces" >/dev/null
C "${AUTH[@]}" -N "$URL/api/v1/namespaces?watch=true&timeoutSeconds=1" >"$T/watch.out"
check "a watch streams over TLS" grep -q '"type": "ADDED".*"name": "x"' "$T/watch.out"

# --- kubectl with a kubeconfig of the kind the tests write --------------------------------------
if command -v kubectl >/dev/null; then
    kubeconfig() { # FILE TOKEN
        cat >"$1" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: test
  cluster: {server: "$URL", certificate-authority: "$T/pki/ca.crt"}
users:
- name: test
  user: {token: "$2"}
contexts:
- name: test
  context: {cluster: test, user: test}
current-context: test
EOF
    }
    kubeconfig "$T/kc" s3cret
    kubeconfig "$T/kc-bad" wrong
    check "kubectl over HTTPS with the CA and the token" sh -c "
        timeout 30 kubectl --kubeconfig $T/kc get ns -o name | grep -qx namespace/x"
    check "kubectl with a wrong token is told Unauthorized" sh -c "
        ! timeout 30 kubectl --kubeconfig $T/kc-bad get ns 2>$T/k.err && grep -qi unauthorized $T/k.err"
else
    echo "SKIP: kubectl is not installed (its two checks are left out)"
fi

echo "$PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
