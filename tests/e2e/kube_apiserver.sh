#!/usr/bin/env bash
# The test API server (tests/kube/apiserver.py) against the real kubectl and
# curl: namespaces, NetworkPolicies from the netpol cases, pods by node,
# PolicyEndpoints, a watch stream (ADDED/MODIFIED/DELETED, BOOKMARK), 410
# Expired after compaction, a restart from --state, and deploy/ dry-run.
set -u
# kubectl is not a Debian package; the machines this runs on carry it. Where
# it is missing the test cannot prove anything, and says so instead of failing
# the whole suite.
if ! command -v kubectl >/dev/null; then
	echo "SKIP: kubectl is not installed, so the API server cannot be proven against it"
	echo "0 passed, 0 failed"
	exit 0
fi
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
T=$(mktemp -d /tmp/podfence-kube-apiserver-XXXXXX)
PASS=0
FAIL=0
SRV_PID=""
PORT=0

cleanup() {
    if [ -n "$SRV_PID" ]; then
        kill "$SRV_PID" 2>/dev/null
        wait "$SRV_PID" 2>/dev/null
    fi
    rm -rf "$T"
}
trap cleanup EXIT INT TERM

ok() { PASS=$((PASS + 1)); echo "ok: $1"; }
bad() { FAIL=$((FAIL + 1)); echo "FAIL: $1"; [ -s "$T/last" ] && sed 's/^/    /' "$T/last" | head -20; }
# check DESC CMD...: passes when CMD exits 0; its output is kept in $T/last
check() {
    local desc=$1
    shift
    if "$@" >"$T/last" 2>&1; then ok "$desc"; else bad "$desc"; fi
}

start_server() {   # start_server [extra flags]: keeps PORT once it is known
    rm -f "$T/port"
    python3 "$ROOT/tests/kube/apiserver.py" --port "$PORT" --state "$T/state.json" \
        --port-file "$T/port" "$@" >"$T/server.out" 2>>"$T/server.err" &
    SRV_PID=$!
    for _ in $(seq 100); do [ -s "$T/port" ] && break; sleep 0.1; done
    if [ ! -s "$T/port" ]; then
        echo "the API server did not start:"; cat "$T/server.err"
        echo "0 passed, 1 failed"
        exit 1
    fi
    PORT=$(cat "$T/port")
    URL="http://127.0.0.1:$PORT"
}

stop_server() {
    kill "$SRV_PID" && wait "$SRV_PID" 2>/dev/null
    SRV_PID=""
}

K() { timeout 30 kubectl --kubeconfig "$T/kubeconfig" "$@"; }
KA() { K apply --validate=false "$@"; }
list_rv() { curl -sf "$URL$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["metadata"]["resourceVersion"])'; }

start_server
cat >"$T/kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: test
  cluster: {server: "$URL"}
users:
- name: test
  user: {}
contexts:
- name: test
  context: {cluster: test, user: test}
current-context: test
EOF

# --- discovery ---------------------------------------------------------------------
check "kubectl api-resources lists policyendpoints in podfence.io" \
    sh -c "$(declare -f K); T=$T; K api-resources | grep -E '^policyendpoints +pfpe +podfence.io/v1alpha1 +true +PolicyEndpoint'"
check "kubectl version reaches the server" sh -c "$(declare -f K); T=$T; K version | grep -q 'Server Version'"

# --- namespaces -----------------------------------------------------------------------
for ns in x y z; do printf 'apiVersion: v1\nkind: Namespace\nmetadata: {name: "%s"}\n---\n' "$ns"; done >"$T/ns.yaml"
check "kubectl apply creates namespaces x, y, z" KA -f "$T/ns.yaml"
check "namespaces carry kubernetes.io/metadata.name" \
    sh -c "$(declare -f K); T=$T; K get ns -l kubernetes.io/metadata.name=y -o name | grep -qx namespace/y"

# --- NetworkPolicies from the netpol cases -------------------------------------------
mkdir -p "$T/np"
python3 - "$ROOT/tests/e2e/netpol/cases" "$T/np" >"$T/np.expected" <<'EOF'
import json, sys, os
cases, out = sys.argv[1], sys.argv[2]
seen = set()
for case in ["01-default-deny-ingress", "03-allow-from-podselector-same-ns", "14-ingress-by-port",
             "17-ingress-named-port", "27-ingress-and-egress-together", "35-egress-ipblock-except",
             "49-pa-ingress-endport-tcp-53-80"]:
    doc = json.load(open(os.path.join(cases, case + ".json")))
    for obj in doc["steps"][0].get("apply", []):
        if obj.get("kind") != "NetworkPolicy":
            continue
        ns, name = obj["metadata"].get("namespace", "default"), obj["metadata"]["name"]
        if (ns, name) in seen:
            continue
        seen.add((ns, name))
        with open(os.path.join(out, f"{case}-{ns}-{name}.json"), "w") as f:
            json.dump(obj, f)
for ns, name in sorted(seen):
    print(f"{ns}/{name}")
EOF
check "kubectl apply -f of the netpol cases' policies" KA -f "$T/np"
K get networkpolicies -A -o json >"$T/np.json" 2>"$T/last"
check "kubectl get networkpolicies -A -o json shows every one" \
    sh -c "python3 -c 'import json,sys; print(\"\n\".join(sorted(i[\"metadata\"][\"namespace\"]+\"/\"+i[\"metadata\"][\"name\"] for i in json.load(open(sys.argv[1]))[\"items\"])))' $T/np.json | diff - $T/np.expected"

# --- the watch stream: ADDED, MODIFIED, DELETED in order, and a BOOKMARK --------------
RV0=$(list_rv /apis/networking.k8s.io/v1/networkpolicies)
cat >"$T/w.json" <<'EOF'
{"apiVersion":"networking.k8s.io/v1","kind":"NetworkPolicy","metadata":{"name":"watched","namespace":"x"},
 "spec":{"podSelector":{},"policyTypes":["Ingress"],"ingress":[{}]}}
EOF
check "apply a new policy" KA -f "$T/w.json"
sed -i 's/"ingress":\[{}\]/"ingress":[]/' "$T/w.json"
check "apply the changed policy (configured)" sh -c "$(declare -f K KA); T=$T; KA -f $T/w.json | grep -q configured"
check "kubectl delete the policy" K delete -f "$T/w.json"
curl -sN --max-time 10 "$URL/apis/networking.k8s.io/v1/networkpolicies?watch=true&resourceVersion=$RV0&allowWatchBookmarks=true&timeoutSeconds=3" >"$T/watch.out"
check "watch from rv $RV0 sees ADDED, MODIFIED, DELETED in order, then a BOOKMARK" python3 - "$T/watch.out" <<'EOF'
import json, sys
evs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
mine = [e["type"] for e in evs if e["object"].get("metadata", {}).get("name") == "watched"]
assert mine == ["ADDED", "MODIFIED", "DELETED"], mine
assert any(e["type"] == "BOOKMARK" and e["object"]["metadata"]["resourceVersion"] for e in evs), evs
rvs = [int(e["object"]["metadata"]["resourceVersion"]) for e in evs if e["type"] != "BOOKMARK"]
assert rvs == sorted(rvs), rvs
EOF
check "watch honours timeoutSeconds (ends in about 3 s)" sh -c "
    s=\$(date +%s); curl -sN --max-time 10 '$URL/api/v1/namespaces?watch=true&resourceVersion=$RV0&timeoutSeconds=2' >/dev/null
    e=\$(date +%s); [ \$((e - s)) -ge 1 ] && [ \$((e - s)) -le 5 ]"

# --- create, replace and their conflicts ---------------------------------------------------
NP="$URL/apis/networking.k8s.io/v1/namespaces/y/networkpolicies"
BODY='{"apiVersion":"networking.k8s.io/v1","kind":"NetworkPolicy","metadata":{"name":"dup"},"spec":{"podSelector":{}}}'
curl -sf -X POST -H 'Content-Type: application/json' -d "$BODY" "$NP" >/dev/null
check "a second create is 409 AlreadyExists" sh -c "
    curl -s -o $T/c.json -w '%{http_code}' -X POST -H 'Content-Type: application/json' -d '$BODY' '$NP' | grep -qx 409 &&
    grep -q '\"reason\": \"AlreadyExists\"' $T/c.json"
STALE='{"apiVersion":"networking.k8s.io/v1","kind":"NetworkPolicy","metadata":{"name":"dup","resourceVersion":"1"},"spec":{"podSelector":{}}}'
check "a replace with a stale resourceVersion is 409 Conflict" sh -c "
    curl -s -o $T/c.json -w '%{http_code}' -X PUT -H 'Content-Type: application/json' -d '$STALE' '$NP/dup' | grep -qx 409 &&
    grep -q '\"reason\": \"Conflict\"' $T/c.json"
check "a get of a missing object is a 404 NotFound Status" sh -c "
    curl -s -o $T/c.json -w '%{http_code}' '$NP/none' | grep -qx 404 && grep -q '\"kind\": \"Status\"' $T/c.json"

# --- pods by node -----------------------------------------------------------------------------
for p in a:node-1 b:node-2 c:node-1; do
    printf 'apiVersion: v1\nkind: Pod\nmetadata: {name: %s, namespace: x, labels: {pod: %s}}\nspec:\n  nodeName: %s\n  containers: [{name: c, image: busybox}]\n---\n' \
        "${p%%:*}" "${p%%:*}" "${p#*:}"
done >"$T/pods.yaml"
check "kubectl apply of pods" KA -f "$T/pods.yaml"
check "kubectl get pods --field-selector spec.nodeName=node-1 lists a and c only" sh -c "
    $(declare -f K); T=$T; [ \"\$(K get pods -A --field-selector spec.nodeName=node-1 -o name | tr '\n' ' ')\" = 'pod/a pod/c ' ]"
check "kubectl get pods -l 'pod in (b,c)' lists b and c" sh -c "
    $(declare -f K); T=$T; [ \"\$(K get pods -n x -l 'pod in (b,c)' -o name | tr '\n' ' ')\" = 'pod/b pod/c ' ]"

curl -sN --max-time 10 "$URL/api/v1/pods?watch=true&fieldSelector=spec.nodeName%3Dnode-1&timeoutSeconds=1" >"$T/podwatch.out"
check "a watch from resourceVersion 0 with spec.nodeName=node-1 starts with ADDED a and c only" python3 - "$T/podwatch.out" <<'EOF2'
import json, sys
evs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
assert [(e["type"], e["object"]["metadata"]["name"]) for e in evs] == [("ADDED", "a"), ("ADDED", "c")], evs
EOF2
curl -sN --max-time 20 "$URL/api/v1/pods?watch=true&timeoutSeconds=15" >/dev/null &
CURL_PID=$!
sleep 0.5
curl -sf -X POST "$URL/podfence-test/cut-watches" >/dev/null
check "the cut-watches hook ends an open watch at once" sh -c "
    for _ in \$(seq 30); do kill -0 $CURL_PID 2>/dev/null || exit 0; sleep 0.1; done; exit 1"
kill "$CURL_PID" 2>/dev/null
wait "$CURL_PID" 2>/dev/null

# --- PolicyEndpoints (podfence.io) --------------------------------------------------------------
cat >"$T/pe.yaml" <<'EOF'
apiVersion: podfence.io/v1alpha1
kind: PolicyEndpoint
metadata: {name: web, namespace: x}
spec:
  policyRef: {name: web, namespace: x}
  podSelector: {matchLabels: {pod: a}}
  podSelectorEndpoints: [{name: a, namespace: x, podIP: 10.244.1.10}]
  podIsolation: [Ingress]
  ingress: [{cidr: 10.244.1.11/32, ports: [{protocol: TCP, port: 80}]}]
EOF
check "kubectl apply of the CRD and a PolicyEndpoint" KA -f "$ROOT/deploy/crd-policyendpoints.yaml" -f "$T/pe.yaml"
check "kubectl get pfpe returns it with the podfence.io group" sh -c "
    $(declare -f K); T=$T; K get pfpe -n x web -o jsonpath='{.apiVersion} {.spec.ingress[0].cidr}' | grep -qx 'podfence.io/v1alpha1 10.244.1.11/32'"

# --- deploy/ dry-run ------------------------------------------------------------------------------
check "kubectl apply --dry-run=client accepts every file of deploy/" \
    K apply --dry-run=client --validate=false -f "$ROOT/deploy/"

# --- compaction: 410 Expired ---------------------------------------------------------------------
curl -sf -X POST "$URL/podfence-test/compact" >/dev/null
curl -sN --max-time 10 "$URL/apis/networking.k8s.io/v1/networkpolicies?watch=true&resourceVersion=$RV0" >"$T/expired.out"
check "a watch from a compacted resourceVersion gets a 410 Expired Status" python3 - "$T/expired.out" <<'EOF'
import json, sys
evs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
assert len(evs) == 1 and evs[0]["type"] == "ERROR", evs
st = evs[0]["object"]
assert st["kind"] == "Status" and st["code"] == 410 and st["reason"] == "Expired", st
EOF

# --- restart from --state ----------------------------------------------------------------------------
K get networkpolicies,pods,policyendpoints -A -o name 2>"$T/last" | sort >"$T/before"
stop_server
start_server --expired-as-http
K get networkpolicies,pods,policyendpoints -A -o name 2>"$T/last" | sort >"$T/after"
check "kubectl get after a restart from --state shows the same objects" sh -c "[ -s $T/before ] && diff $T/before $T/after"
check "after the restart, a watch from an old resourceVersion is HTTP 410 (--expired-as-http)" sh -c "
    curl -s -o $T/c.json -w '%{http_code}' '$URL/api/v1/pods?watch=true&resourceVersion=$RV0' | grep -qx 410 &&
    grep -q '\"reason\": \"Expired\"' $T/c.json"
RV1=$(list_rv /api/v1/pods)
check "resourceVersions keep growing across the restart" sh -c "[ $RV1 -gt $RV0 ]"
check "deleting a namespace deletes its objects" sh -c "
    $(declare -f K); T=$T; K delete ns x >/dev/null && [ -z \"\$(K get pods,networkpolicies,pfpe -n x -o name)\" ]"

# --- a bounded history: --history 2 keeps only the last two events ------------------------------
stop_server
start_server --history 2
RV2=$(list_rv /api/v1/namespaces)
for ns in h1 h2 h3; do printf 'apiVersion: v1\nkind: Namespace\nmetadata: {name: "%s"}\n---\n' "$ns"; done >"$T/h.yaml"
KA -f "$T/h.yaml" >"$T/last" 2>&1
curl -sN --max-time 10 "$URL/api/v1/namespaces?watch=true&resourceVersion=$((RV2 + 1))&timeoutSeconds=1" >"$T/h1.out"
curl -sN --max-time 10 "$URL/api/v1/namespaces?watch=true&resourceVersion=$RV2&timeoutSeconds=1" >"$T/h0.out"
check "--history 2: a watch resumes within the kept events and gets 410 before them" sh -c "
    [ \"\$(grep -o '\"name\": \"h[0-9]\"' $T/h1.out | head -2 | tr '\n' ' ')\" = '\"name\": \"h2\" \"name\": \"h3\" ' ] &&
    grep -q '\"type\": \"ERROR\".*\"code\": 410' $T/h0.out"

echo "$PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
