#!/usr/bin/env bash
# podfence-controller in kube: mode against the test API server
# (tests/kube/apiserver.py) and the real kubectl: the PolicyEndpoints it
# writes are checked against the resolver itself (the same objects through
# podfence-controller in dir: mode, fixtures/kube-controller/check_pes.py)
# after the first sync, a label change (resolving only the policies it
# reaches, rewriting nothing else), a large policy split over several
# objects, a pod and a peer going, a deleted policy (garbage collected by
# its owner reference), a policy deleted and created again (new uid), a
# controller restart (nothing rewritten) and an API
# server restart from --state with drift made while it was down.
# KEEP_LOG=FILE keeps the controller's log there.
set -u
if ! command -v kubectl >/dev/null; then
	echo "SKIP: kubectl is not installed"
	echo "0 passed, 0 failed"
	exit 0
fi
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=$(realpath "${BUILD:-build}")
FIX=$ROOT/tests/e2e/fixtures/kube-controller
T=$(mktemp -d /tmp/podfence-controller-kube-XXXXXX)
MAX_PE_BYTES=4096
passed=0 failed=0
SRV_PID="" CTL_PID="" PORT=0

cleanup() {
	[ -n "${KEEP_LOG:-}" ] && cp "$T/controller.log" "$KEEP_LOG"
	[ -n "$CTL_PID" ] && kill "$CTL_PID" 2>/dev/null && wait "$CTL_PID" 2>/dev/null
	[ -n "$SRV_PID" ] && kill "$SRV_PID" 2>/dev/null && wait "$SRV_PID" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT INT TERM

ok() { passed=$((passed + 1)); echo "ok   $1 ($SECONDS s)"; }
bad() { failed=$((failed + 1)); echo "FAIL $1"; [ -s "$T/last" ] && sed 's/^/    /' "$T/last" | head -20; }
# check DESC CMD...: passes when CMD exits 0; its output is kept in $T/last
check() {
	local desc=$1
	shift
	if "$@" >"$T/last" 2>&1; then ok "$desc"; else bad "$desc"; fi
}
# eventually CMD...: CMD passes within 15 s
eventually() {
	for _ in $(seq 150); do "$@" && return 0; sleep 0.1; done
	"$@"
}
not() { ! "$@"; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

TOKEN=controller-kube-$$
"$ROOT/tests/kube/make-certs.sh" "$T/certs"
start_server() {
	rm -f "$T/port"
	python3 "$ROOT/tests/kube/apiserver.py" --port "$PORT" --state "$T/state.json" \
		--port-file "$T/port" --tls-cert "$T/certs/server.crt" --tls-key "$T/certs/server.key" \
		--token "$TOKEN" >/dev/null 2>>"$T/server.err" &
	SRV_PID=$!
	for _ in $(seq 100); do [ -s "$T/port" ] && break; sleep 0.1; done
	if [ ! -s "$T/port" ]; then
		echo "the API server did not start:"; cat "$T/server.err"
		echo "0 passed, 1 failed"
		exit 1
	fi
	PORT=$(cat "$T/port")
	URL="https://127.0.0.1:$PORT"
}
stop_server() { kill "$SRV_PID" && wait "$SRV_PID" 2>/dev/null; SRV_PID=""; }

HEALTH=127.0.0.1:$(free_port)
start_controller() {
	"$BUILD/podfence-controller" --source "kube:$T/kubeconfig" --health-bind "$HEALTH" \
		--max-pe-bytes "$MAX_PE_BYTES" --resync-period 60 2>>"$T/controller.log" &
	CTL_PID=$!
}
stop_controller() { kill "$CTL_PID" && wait "$CTL_PID"; local rc=$?; CTL_PID=""; return $rc; }
healthy() { curl -sf "http://$HEALTH/healthz" >/dev/null; }
metric() { curl -sf "http://$HEALTH/metrics" | awk -v m="$1" '$1 == m {print $2}'; }
writes() { curl -sf "http://$HEALTH/metrics" | awk '/^podfence_controller_policy_endpoint_writes_total/ {s += $2} END {print s}'; }

K() { timeout 30 kubectl --kubeconfig "$T/kubeconfig" "$@"; }
KA() { K apply --validate=false "$@"; }
get() { curl -sf --cacert "$T/certs/ca.crt" -H "Authorization: Bearer $TOKEN" "$URL$1"; }
PES=/apis/podfence.io/v1alpha1/policyendpoints

# The API's PolicyEndpoints against what the resolver makes of its
# namespaces, pods and policies (fixtures/kube-controller/check_pes.py).
converged() {
	python3 "$FIX/check_pes.py" --url "$URL" --cacert "$T/certs/ca.crt" --token "$TOKEN" \
		--controller "$BUILD/podfence-controller" --workdir "$T" --max-bytes "$MAX_PE_BYTES"
}
# pe_expr EXPR: a python expression over pes (the PolicyEndpoints, by
# "ns/name") is true
pe_expr() {
	get $PES | python3 -c 'import json,sys
pes = {o["metadata"]["namespace"] + "/" + o["metadata"]["name"]: o for o in json.load(sys.stdin)["items"]}
sys.exit(0 if eval(sys.argv[1]) else 1)' "$1"
}
# rvs POLICY: "name=resourceVersion" of the PolicyEndpoints of a policy (all: every one)
rvs() {
	get $PES | python3 -c 'import json,sys
for o in json.load(sys.stdin)["items"]:
    if sys.argv[1] in ("all", o["spec"]["policyRef"]["name"]):
        print(o["metadata"]["name"] + "=" + o["metadata"]["resourceVersion"])' "$1" | sort
}

start_server
cat >"$T/kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: test
  cluster: {server: "$URL", certificate-authority: "$T/certs/ca.crt"}
users:
- name: test
  user: {token: "$TOKEN"}
contexts:
- name: test
  context: {cluster: test, user: test}
current-context: test
EOF

# --- flags -------------------------------------------------------------------------
# refused STATUS TEXT CMD...: CMD exits with STATUS and says TEXT
refused() {
	local want=$1 text=$2 out rc
	shift 2
	out=$("$@" 2>&1)
	rc=$?
	echo "$out"
	[ "$rc" -eq "$want" ] && grep -qF -- "$text" <<<"$out"
}
check "--output with kube: is refused (exit 2)" refused 2 "--output and --once go with" \
	"$BUILD/podfence-controller" --source "kube:$T/kubeconfig" --output "$T/out"
check "--max-pe-bytes below 2048 is refused (exit 2)" refused 2 "--max-pe-bytes 100" \
	"$BUILD/podfence-controller" --source "kube:$T/kubeconfig" --max-pe-bytes 100
check "a kubeconfig that is not there: exit 1, naming it" refused 1 "kubeconfig $T/missing" \
	"$BUILD/podfence-controller" --source "kube:$T/missing"

# --- the first sync ---------------------------------------------------------------
check "kubectl apply: namespaces, pods, policies, a hand-made and a stale PolicyEndpoint" \
	KA -f "$FIX/model.yaml" -f "$FIX/policies.yaml" -f "$FIX/unpublishable.yaml"
start_controller
check "healthz answers 200 once the watches synced and the first pass wrote" eventually healthy
check "--check-health (the Deployment's exec probe) exits 0" "$BUILD/podfence-controller" --check-health "$HEALTH"
check "... and 1 where nothing answers" not "$BUILD/podfence-controller" --check-health "127.0.0.1:$(free_port)"
check "the PolicyEndpoints are what the resolver says, owned by their policies" eventually converged
check "kubectl get pfpe shows x/a selected by allow-from-b, x/b's address allowed on its named port" \
	sh -c "$(declare -f K); T=$T; K get pfpe -n x allow-from-b-e1of1-r1of1 -o json | python3 -c '
import json,sys; s=json.load(sys.stdin)[\"spec\"]
ep=s[\"podSelectorEndpoints\"]; r=s[\"ingress\"]
assert [(e[\"name\"], e[\"podIP\"]) for e in ep] == [(\"a\", \"10.244.1.10\")], ep
assert ep[0][\"namedPorts\"] == [{\"name\": \"serve-80-tcp\", \"protocol\": \"TCP\", \"port\": 80}], ep
assert [x[\"cidr\"] for x in r] == [\"10.244.1.11/32\"], r
assert {\"protocol\": \"TCP\", \"name\": \"serve-80-tcp\"} in r[0][\"ports\"], r'"
check "egress named ports are resolved per peer in y (5353 for y/a, 53 for y/b)" \
	pe_expr '{r["cidr"]: sorted(p.get("port", 0) for p in r["ports"] if p["protocol"] == "UDP") for r in pes["x/egress-to-y-e1of1-r1of1"]["spec"]["egress"]} == {"10.244.1.20/32": [5353], "fd00::20/128": [5353], "10.244.2.21/32": [53]}'
check "a PolicyEndpoint of ours whose policy does not exist is deleted" pe_expr '"x/ghost-e1of1-r1of1" not in pes'
check "a PolicyEndpoint someone else wrote is left alone" pe_expr '"x/hand-made" in pes'
check "the policy that does not validate is logged with its field" \
	grep -q 'NetworkPolicy x/broken: spec.ingress\[0\].ports\[0\].protocol' "$T/controller.log"
check "... and has no PolicyEndpoint" pe_expr 'not any("broken" in k for k in pes)'

# --- changes ----------------------------------------------------------------------
resolved() { metric podfence_controller_policies_resolved_total; }
resolved_before=$(resolved)
rvs from-cidr >"$T/untouched.before"
rvs deny-all >>"$T/untouched.before"
check "kubectl label pod x/c pod=a" K label pod -n x c pod=a --overwrite
check "x/c joins allow-from-b with its own number for serve-80-tcp" eventually \
	pe_expr '[(e["name"], e["namedPorts"][0]["port"]) for e in pes["x/allow-from-b-e1of1-r1of1"]["spec"]["podSelectorEndpoints"]] == [("a", 80), ("c", 8080)]'
check "and everything still matches the resolver" converged
# x/c (pod=c before, pod=a after) becomes a target of allow-from-b; it
# stays one of egress-to-y (podSelector {}: the label changes nothing
# there); from-cidr (pod=b) and deny-all (in y) do not select it
check "only the policy whose selector the label change flips was resolved again (metrics)" \
	test "$(($(resolved) - resolved_before))" -eq 1
rvs from-cidr >"$T/untouched.after"
rvs deny-all >>"$T/untouched.after"
check "... and the PolicyEndpoints of the others were not rewritten" \
	diff "$T/untouched.before" "$T/untouched.after"

# --- a policy too large for one object ---------------------------------------------
python3 - "$T/big.yaml" <<'EOF'
import sys
docs = []
for i in range(40):
    docs.append(f"""apiVersion: v1
kind: Pod
metadata: {{name: web-{i:02d}, namespace: z, labels: {{app: web}}}}
spec: {{nodeName: node-1, containers: [{{name: c, image: x, ports: [{{name: http, containerPort: {8000 + i}}}]}}]}}
status: {{podIP: 10.244.3.{i + 1}}}""")
for i in range(20):
    docs.append(f"""apiVersion: v1
kind: Pod
metadata: {{name: client-{i:02d}, namespace: z, labels: {{role: client}}}}
spec: {{nodeName: node-2, containers: [{{name: c, image: x}}]}}
status: {{podIP: 10.244.4.{i + 1}}}""")
blocks = "".join(f"\n  - from: [{{ipBlock: {{cidr: 172.16.{i}.0/24}}}}]\n    ports: [{{protocol: TCP, port: {9000 + i}}}]"
                 for i in range(30))
docs.append(f"""apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {{name: big, namespace: z}}
spec:
  podSelector: {{matchLabels: {{app: web}}}}
  ingress:
  - from: [{{podSelector: {{matchLabels: {{role: client}}}}}}]
    ports: [{{protocol: TCP, port: http}}]{blocks}""")
open(sys.argv[1], "w").write("\n---\n".join(docs) + "\n")
EOF
check "kubectl apply: 40 selected pods, 20 client pods, a policy with 50 peers" KA -f "$T/big.yaml"
check "the large policy's PolicyEndpoints match the resolver, each under $MAX_PE_BYTES bytes" \
	eventually converged
check "... split over several objects" \
	pe_expr 'sum(o["spec"]["policyRef"]["name"] == "big" for o in pes.values()) >= 4'
rvs big >"$T/big.before"
check "kubectl delete pod z/client-07 (one peer fewer)" K delete pod -n z client-07 --wait=false
check "the PolicyEndpoints match the resolver again" eventually converged
rvs big >"$T/big.after"
check "only the chunks that held the peer were rewritten (same names, not every object)" \
	python3 -c 'import sys
b = dict(l.split("=") for l in open(sys.argv[1]).read().split())
a = dict(l.split("=") for l in open(sys.argv[2]).read().split())
changed = [n for n in a if a[n] != b.get(n)]
print(len(changed), "of", len(a), "rewritten:", changed)
sys.exit(0 if set(a) == set(b) and 1 <= len(changed) < len(a) else 1)' "$T/big.before" "$T/big.after"

# --- a deleted policy --------------------------------------------------------------
check "kubectl delete networkpolicy x/allow-from-b" K delete networkpolicy -n x allow-from-b --wait=false
check "its PolicyEndpoints are gone" eventually pe_expr 'not any(o["spec"]["policyRef"]["name"] == "allow-from-b" for o in pes.values())'
check "and the rest still matches the resolver" converged
check "metrics count the writes" \
	test "$(metric 'podfence_controller_policy_endpoint_writes_total{op="create"}')" -ge 5

# --- a policy deleted and created again: new uid, new owner references -----------------
uid() { K get networkpolicy -n x from-cidr -o jsonpath='{.metadata.uid}'; }
uid_before=$(uid)
check "kubectl replace --force networkpolicy x/from-cidr (deleted, created again)" \
	sh -c "$(declare -f K); T=$T; K get networkpolicy -n x from-cidr -o yaml | K replace --force --validate=false -f -"
check "... it has a new uid" test -n "$(uid)" -a "$(uid)" != "$uid_before"
check "its PolicyEndpoints are published again, owned by the new uid (the resolver's check)" \
	eventually converged

# --- a controller restart rewrites nothing ------------------------------------------
rvs all >"$T/all.before"
check "the controller stops on SIGTERM with status 0" stop_controller
start_controller
check "a new controller becomes healthy" eventually healthy
sleep 1
rvs all >"$T/all.after"
check "... without rewriting a single PolicyEndpoint (resourceVersions unchanged)" \
	diff "$T/all.before" "$T/all.after"
check "... and with no write at all in its metrics" test "$(writes)" = 0

# --- the API server restarts from --state ------------------------------------------
stop_server
sleep 1
start_server
check "kubectl delete pfpe y/deny-all-e1of1-r1of1 (drift made by hand)" \
	K delete pfpe -n y deny-all-e1of1-r1of1 --wait=false
check "kubectl apply: a new pod y/c" KA -f - <<'EOF'
apiVersion: v1
kind: Pod
metadata: {name: c, namespace: "y", labels: {pod: c}}
spec: {nodeName: node-1, containers: [{name: c, image: x}]}
status: {podIP: 10.244.1.22}
EOF
check "after the restart the controller converges: drift repaired, the new pod in place" \
	eventually converged
check "healthz still answers 200" healthy
check "kubectl apply --dry-run=client accepts every file of deploy/" \
	KA --dry-run=client -f "$ROOT/deploy/"
check "no write was refused by the API server (a 409 or 404 from a watch behind is retried)" \
	sh -c "! grep -E 'PolicyEndpoint .*: HTTP [45]' '$T/controller.log' | grep -vE 'HTTP (409|404)'"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
