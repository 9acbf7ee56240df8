#!/usr/bin/env bash
# podfence-controller in dir: mode: manifests in, one PolicyEndpoint file per
# NetworkPolicy out, kept current as the source changes; a bad manifest is
# named and the rest still resolves.
set -u
BUILD=$(realpath "${BUILD:-build}")
TMP=$(mktemp -d)
SRC=$TMP/src OUT=$TMP/out
pid=""
passed=0 failed=0

cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT INT TERM

check() { # name, command...
	local name=$1; shift
	if "$@"; then passed=$((passed + 1)); echo "ok   $name"
	else failed=$((failed + 1)); echo "FAIL $name"; fi
}
not() { ! "$@"; }
# pe FILE EXPR: a python expression over the PolicyEndpoint d is true.
pe() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if eval(sys.argv[2]) else 1)' "$@"; }
wait_file() { for _ in $(seq 50); do test "$@" && return 0; sleep 0.1; done; return 1; }

mkdir -p "$SRC"
cat >"$SRC/model.yaml" <<'YAML'
apiVersion: v1
kind: Namespace
metadata: {name: x, labels: {ns: x}}
---
apiVersion: v1
kind: Pod
metadata: {name: a, namespace: x, labels: {pod: a}}
spec: {nodeName: n1, containers: [{name: c, ports: [{name: serve-80-tcp, containerPort: 80}]}]}
status: {podIP: 10.244.1.10}
---
apiVersion: v1
kind: Pod
metadata: {name: b, namespace: x, labels: {pod: b}}
spec: {nodeName: n2, containers: [{name: c}]}
status: {podIP: 10.244.2.11}
YAML
cat >"$SRC/allow-b.yaml" <<'YAML'
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: allow-b, namespace: x}
spec:
  podSelector: {matchLabels: {pod: a}}
  ingress:
  - from: [{podSelector: {matchLabels: {pod: b}}}]
    ports: [{protocol: TCP, port: 80}]
YAML

check "one pass (--once) succeeds" "$BUILD/podfence-controller" --source "dir:$SRC" --output "$OUT" --once
F=$OUT/pe-x--allow-b.json
check "one PolicyEndpoint file for the policy" test -f "$F"
check "it is a podfence.io/v1alpha1 PolicyEndpoint" pe "$F" 'd["apiVersion"] == "podfence.io/v1alpha1" and d["kind"] == "PolicyEndpoint"'
check "it selects x/a with its address" pe "$F" '"10.244.1.10" in json.dumps(d["spec"])'
check "its ingress peer is x/b's address on TCP 80" pe "$F" '"10.244.2.11" in json.dumps(d["spec"]["ingress"]) and "80" in json.dumps(d["spec"]["ingress"])'

"$BUILD/podfence-controller" --source "dir:$SRC" --output "$OUT" 2>"$TMP/log" &
pid=$!
sleep 0.3
sed -i 's/port: 80/port: 8080/' "$SRC/allow-b.yaml"
check "an edited policy is resolved again" wait_file -f "$F"
for _ in $(seq 50); do pe "$F" '"8080" in json.dumps(d["spec"]["ingress"])' && break; sleep 0.1; done
check "... with the new port" pe "$F" '"8080" in json.dumps(d["spec"]["ingress"])'
printf 'apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: broken, namespace: x}\nspec: {podSelector: {}, ingress: [{ports: [{protocol: FOO}]}]}\n' >"$SRC/broken.yaml"
cp "$SRC/allow-b.yaml" "$TMP/deny.yaml"
sed -i 's/allow-b/deny-all/; /ingress:/,$d' "$TMP/deny.yaml"
printf '  policyTypes: [Ingress]\n' >>"$TMP/deny.yaml"
mv "$TMP/deny.yaml" "$SRC/deny-all.yaml"
check "a new policy gets its PolicyEndpoint" wait_file -f "$OUT/pe-x--deny-all.json"
check "the bad manifest is named with its field" bash -c "grep -q 'broken.yaml' '$TMP/log' && grep -q 'FOO' '$TMP/log'"
check "and gets no PolicyEndpoint" test ! -e "$OUT/pe-x--broken.json"
rm "$SRC/allow-b.yaml"
check "a deleted policy's PolicyEndpoint is removed" wait_file ! -e "$F"
check "the other one stays" test -f "$OUT/pe-x--deny-all.json"
kill "$pid"; wait "$pid"; rc=$?; pid=""
check "SIGTERM stops it cleanly" test "$rc" -eq 0
check "a bad --source is refused (exit 2)" test "$("$BUILD/podfence-controller" --source kube: --output "$OUT" 2>/dev/null; echo $?)" = 2

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
