#!/usr/bin/env bash
# podfence-agent with the kube: source, end to end. One "node" network
# namespace runs the test API server (HTTPS, bearer token), podfence-ipamd
# and podfence-agent --source kube:KUBECONFIG; three pods are plumbed by the
# real podfence-cni. Pod objects (with spec.nodeName and the CNI's address)
# and PolicyEndpoints are written to the API with kubectl, and real TCP
# between the pods must follow the PolicyEndpoints: not ready before both
# watches listed, a deny, an allow (resolved by podfence-controller --once),
# one policy split over two objects (the union), deletions, a change across
# cut watches, the API server killed (enforcement unchanged) and restarted
# from its state with changes made meanwhile, the agent restarted while the
# API server is down (the pins keep enforcing, nothing is ready until the
# lists). Everything it makes is removed on exit, also on failure.
set -u
. "$(dirname "$0")/lib/netns.sh"
if ! command -v kubectl >/dev/null; then
	echo "SKIP: kubectl is not installed"
	echo "0 passed, 0 failed"
	exit 0
fi
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=$(realpath "${BUILD:-build}")
PROBE=$ROOT/tests/e2e/lib/netprobe.py
FIX=$ROOT/tests/e2e/fixtures/kube-agent
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
TAG=$$
NODE=pfak-node-$TAG
PINS=/sys/fs/bpf/podfence-test-$TAG-kagent
TMP=$(mktemp -d "/tmp/pfak-$TAG.XXXXXX")
SOCK=$TMP/agent.sock IPAMD_SOCK=$TMP/ipamd.sock LOG=$TMP/agent.log
KCFG=$TMP/kubeconfig TOKEN=pfak-token-$TAG API_PORT=16443
METRICS=127.0.0.1:18262 HEALTH=127.0.0.1:18263
declare -A IP
AGENT_PID="" API_PID="" IPAMD_PID="" PIDS=()
passed=0 failed=0

cleanup() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	for p in a b c; do [ -n "${IP[$p]:-}" ] && cni DEL "$p" >/dev/null 2>&1; done
	for p in "$AGENT_PID" "$API_PID" "$IPAMD_PID"; do [ -n "$p" ] && kill -9 "$p" 2>/dev/null; done
	wait 2>/dev/null
	netns_del "$NODE" "$NODE-a" "$NODE-b" "$NODE-c"
	rm -rf "$PINS"
	[ -n "${KEEP_TMP:-}" ] && echo "kept $TMP" || rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

pass() { echo "ok   $1"; passed=$((passed + 1)); }
fail() { echo "FAIL $1"; [ -n "${2:-}" ] && echo "     $2"; failed=$((failed + 1)); }
check() { # DESCRIPTION COMMAND...: passes when COMMAND succeeds
	local desc=$1 why
	shift
	if why=$("$@" 2>&1); then pass "$desc"; else fail "$desc" "$(tail -n 3 <<<"$why")"; fi
}
# eventually COMMAND...: COMMAND succeeds within 12 s (a watch event, a
# debounce and a reconcile; a relist after a reconnect backoff).
eventually() {
	local end=$((SECONDS + 12))
	until "$@"; do
		[ $SECONDS -ge $end ] && return 1
		sleep 0.2
	done
}
# stays COMMAND...: COMMAND succeeds three times over a second.
stays() { for _ in 1 2 3; do "$@" || return 1; sleep 0.3; done; }
in_node() { nsenter --net="/run/netns/$NODE" "$@"; }
in_pod() { local p=$1; shift; nsenter --net="/run/netns/$NODE-$p" "$@"; }
probe() { in_pod "$1" "$PY" "$PROBE" probe tcp "${IP[$2]}" "$3" --timeout "${TIMEOUT:-0.7}"; } # FROM TO PORT
denied() { ! TIMEOUT=0.4 probe "$@"; }
K() { in_node timeout 20 kubectl --kubeconfig "$KCFG" "$@"; }
# apply FILE: the fixture with the pods' addresses filled in.
fill() { sed -e "s/@A@/${IP[a]}/g; s/@B@/${IP[b]}/g; s/@C@/${IP[c]}/g" "$1"; }
apply() { fill "$1" >"$TMP/apply.json" && K apply --validate=false -f "$TMP/apply.json" >/dev/null; }
api() { curl -sS --fail-with-body --unix-socket "$SOCK" "http://agent$1"; }
api_jq() { api "$1" | jq -e "$2" >/dev/null; } # PATH FILTER
ready() { in_node curl -sf "http://$HEALTH/readyz" >/dev/null; }
readyz() { in_node curl -s "http://$HEALTH/readyz"; }
metric() { in_node curl -sS "http://$METRICS/metrics" | awk -v m="$1" '$1 == m {print $2}'; }
not_ready_unsynced() {
	! ready && readyz | jq -e '.source_loaded == false and .synced.pods == false and
		.synced.policyendpoints == false' >/dev/null
}
synced_both() { readyz | jq -e '.synced.pods and .synced.policyendpoints' >/dev/null; }
replace_pe() { apply "$1" && K delete -n x policyendpoint "$2" >/dev/null; } # FILE|DIR OLD
since_restart() { tail -n "+$((log_mark + 1))" "$LOG"; }
ctl_policies() { in_node "$BUILD/podfence-ctl" --agent-socket "$SOCK" policies; }
bound() { # POD: its veth's ifindex is a key of pf_pods
	local veth idx
	veth=$(jq -r '.interfaces[0].name' "$TMP/$1.result")
	idx=$(ip -n "$NODE" -j link show "$veth" | jq '.[0].ifindex')
	bpftool map dump pinned "$PINS/pf_pods" -j | jq -e "any(.[]; .formatted.key == $idx)" >/dev/null
}

# cni COMMAND POD: the real plugin, as a runtime calls it.
cni() {
	echo "{\"cniVersion\":\"1.0.0\",\"name\":\"podfence\",\"type\":\"podfence-cni\",\"ipamdSocket\":\"$IPAMD_SOCK\",\"agentSocket\":\"$SOCK\",\"logFile\":\"$TMP/plugin.log\"}" |
		in_node env CNI_COMMAND="$1" CNI_CONTAINERID="ctr-$2-$TAG" CNI_NETNS="/run/netns/$NODE-$2" \
			CNI_IFNAME=eth0 CNI_PATH="$BUILD" CNI_ARGS="K8S_POD_NAMESPACE=x;K8S_POD_NAME=$2" \
			"$BUILD/podfence-cni"
}

start_api() {
	rm -f "$TMP/api.port"
	nsenter --net="/run/netns/$NODE" "$PY" "$ROOT/tests/kube/apiserver.py" --address 127.0.0.1 \
		--port "$API_PORT" --port-file "$TMP/api.port" --state "$TMP/api-state.json" \
		--tls-cert "$TMP/certs/server.crt" --tls-key "$TMP/certs/server.key" --token "$TOKEN" \
		</dev/null >>"$TMP/api.out" 2>&1 &
	API_PID=$!
	for _ in $(seq 100); do [ -s "$TMP/api.port" ] && return 0; sleep 0.05; done
	cat "$TMP/api.out" >&2
	return 1
}
# api_started DESCRIPTION: not through check, whose subshell would keep API_PID.
api_started() { if start_api; then pass "$1"; else fail "$1" "$(tail -n 3 "$TMP/api.out")"; fi; }
stop_api() { kill -9 "$API_PID"; wait "$API_PID" 2>/dev/null; API_PID=""; }
api_hook() { # PATH: a test hook of the API server
	in_node curl -sf --cacert "$TMP/certs/ca.crt" -H "Authorization: Bearer $TOKEN" -X POST \
		"https://127.0.0.1:$API_PORT$1" >/dev/null
}

start_agent() {
	# nsenter execs the agent: $! is the agent itself, for kill -9.
	nsenter --net="/run/netns/$NODE" "$BUILD/podfence-agent" --enable-network-policy=true \
		--source "kube:$KCFG" --node-name node-1 --socket "$SOCK" --state-dir "$TMP/agent-state" \
		--pin-root "$PINS" --log-file "$LOG" --metrics-bind-addr "$METRICS" \
		--enable-policy-event-logs=true --policy-event-log "$TMP/events.log" \
		--health-probe-bind-addr "$HEALTH" </dev/null >>"$TMP/agent.out" 2>&1 &
	AGENT_PID=$!
	for _ in $(seq 100); do
		in_node curl -sf "http://$HEALTH/healthz" >/dev/null && return 0
		kill -0 "$AGENT_PID" 2>/dev/null || break
		sleep 0.05
	done
	tail -n 20 "$LOG" >&2
	return 1
}
# started DESCRIPTION: without an agent nothing else can be judged.
started() {
	if start_agent; then pass "$1"; else
		fail "$1"
		echo "$passed passed, $failed failed"
		exit 1
	fi
}
stop_agent() { kill -9 "$AGENT_PID"; wait "$AGENT_PID" 2>/dev/null; AGENT_PID=""; }

# ---- the node, its daemons, the API server's credentials ----
ip netns add "$NODE" || exit 1
ip -n "$NODE" link set lo up
in_node sysctl -qw net.ipv4.ip_forward=1 || exit 1
"$ROOT/tests/kube/make-certs.sh" "$TMP/certs" >/dev/null || exit 1
cat >"$KCFG" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: test
  cluster: {server: "https://127.0.0.1:$API_PORT", certificate-authority: $TMP/certs/ca.crt}
users:
- name: test
  user: {token: $TOKEN}
contexts:
- name: test
  context: {cluster: test, user: test}
current-context: test
EOF
in_node "$BUILD/podfence-ipamd" --pod-cidr 10.244.8.0/24 --socket "$IPAMD_SOCK" \
	--state-dir "$TMP/ipamd-state" </dev/null >>"$TMP/ipamd.out" 2>&1 &
IPAMD_PID=$!
for _ in $(seq 100); do [ -S "$IPAMD_SOCK" ] && break; sleep 0.05; done

# ---- no API server yet: running, not ready ----
started "the agent starts with the API server down"
check "not ready before the watches listed" not_ready_unsynced
api_started "the API server starts (HTTPS, token)"
check "ready once both watches listed and a reconcile ran" eventually ready
check "/readyz says both watches synced" synced_both

# ---- pods: plumbed by the CNI, created on the API ----
for p in a b c; do
	ip netns add "$NODE-$p" && ip -n "$NODE-$p" link set lo up
	if cni ADD "$p" >"$TMP/$p.result"; then
		IP[$p]=$(jq -r '.ips[0].address | split("/")[0]' "$TMP/$p.result")
	fi
	in_pod "$p" "$PY" "$PROBE" serve 80 81 >"$TMP/serve-$p" 2>&1 &
	PIDS+=($!)
done
check "three pods plumbed by podfence-cni" test -n "${IP[a]:-}" -a -n "${IP[b]:-}" -a -n "${IP[c]:-}"
for p in a b c; do
	for _ in $(seq 50); do grep -q ready "$TMP/serve-$p" && break; sleep 0.1; done
done
check "Pod objects created on the API" apply "$FIX/pods.yaml"
check "the node's pods are in the agent's cache with their labels" eventually \
	api_jq /v1/pods '[.pods[] | select(.local and .labels.app == .name)] | length == 3'
check "a pod of another node is not watched" \
	api_jq /v1/pods '[.pods[] | select(.name == "far")] | length == 0'
check "no PolicyEndpoint: a reaches b on 80" probe a b 80
check "no PolicyEndpoint: c reaches b on 81" probe c b 81

# ---- a deny, an allow, a split policy, deletions ----
check "PolicyEndpoint x/deny-b applied" apply "$FIX/deny-b.json"
check "deny: a to b on 80 denied" eventually denied a b 80
check "deny: c to b on 81 denied" denied c b 81
check "deny: b still reaches a (egress not isolated)" probe b a 80
check "the event log names both pods and the policy of a denied flow" jq -s -e \
	'any(.[]; .verdict == "deny" and .src.name == "c" and .dst.name == "b" and .policies == ["x/deny-b"])' \
	"$TMP/events.log"
mkdir -p "$TMP/ctl-src"
fill "$FIX/pods.yaml" >"$TMP/ctl-src/pods.yaml"
cp "$FIX/allow-a.yaml" "$TMP/ctl-src/"
check "podfence-controller --once resolves x/allow-a" \
	"$BUILD/podfence-controller" --source "dir:$TMP/ctl-src" --output "$TMP/ctl-out" --once
check "its PolicyEndpoint applied, x/deny-b deleted" \
	replace_pe "$TMP/ctl-out/pe-x--allow-a.json" deny-b
check "allow: a to b on 80 allowed" eventually probe a b 80
check "allow: a to b on 81 denied" denied a b 81
check "allow: c to b on 80 denied" denied c b 80
check "PolicyEndpoints of x/split (two objects) applied, x/allow-a deleted" \
	replace_pe "$FIX/split.json" allow-a
check "split: a to b on 81 allowed (the second object)" eventually probe a b 81
check "split: a to b on 80 allowed (the first object)" probe a b 80
check "split: c to b on 80 denied" denied c b 80
check "/v1/policies: x/split from both objects, selecting x/b" api_jq /v1/policies \
	'.policies == [{"namespace": "x", "name": "split", "selects": ["x/b"], "policy_endpoints": ["x/split-0", "x/split-1"], "policy_types": ["Ingress"]}] and (.policy_endpoints | length == 2)'
check "/v1/explain x/b: one policy, isolated for ingress" api_jq '/v1/explain?pod=x/b' \
	'.policies == ["x/split"] and .pod.isolation.ingress == "isolated" and .pod.isolation.egress == "open"'
check "podfence-ctl policies lists x/split" eval 'ctl_policies | grep -qw split'
check "one object of x/split deleted" K delete -n x policyendpoint split-1
check "split: a to b on 81 denied once its object is gone" eventually denied a b 81
check "split: a to b on 80 still allowed" probe a b 80
check "the last PolicyEndpoint deleted" K delete -n x policyendpoint split-0
check "deleted: c reaches b on 80 again" eventually probe c b 80
check "deleted: a reaches b on 81 again" probe a b 81

# ---- cut watches, then a change ----
check "the API server cuts every watch" api_hook /podfence-test/cut-watches
check "a change right after the cut is applied" apply "$FIX/deny-b.json"
check "cut: the change converges (a to b on 80 denied)" eventually denied a b 80
check "metrics: both resources listed" \
	test "$(metric 'podfence_kube_watch_lists_total{resource="policyendpoints"}')" -ge 1 -a \
	"$(metric 'podfence_kube_watch_lists_total{resource="pods"}')" -ge 1
check "metrics: both watches connected again" eventually \
	test "$(metric 'podfence_kube_watch_connected{resource="policyendpoints"}')" = 1 -a \
	"$(metric 'podfence_kube_watch_connected{resource="pods"}')" = 1
check "metrics: events counted" \
	test "$(metric 'podfence_kube_watch_events_total{resource="policyendpoints"}')" -gt 0

# ---- the API server killed, restarted from its state ----
check "x/split-0 applied again (allows a on 80)" apply "$FIX/split.json"
check "a to b on 80 and 81 allowed (split-0, split-1 beside deny-b)" eventually probe a b 81
stop_api
check "API down: a to b on 80 still allowed" stays probe a b 80
check "API down: c to b on 80 still denied" denied c b 80
check "API down: the agent stays ready" ready
check "API down: the watches say disconnected" eventually \
	test "$(metric 'podfence_kube_watch_connected{resource="policyendpoints"}')" = 0
# Meanwhile x/split-1 goes (and the resourceVersion moves, as a deletion
# moves it): only a relist can tell, the watch history is not kept over the
# restart.
jq '.objects |= map(select(.object.metadata.name != "split-1")) |
	.resourceVersion = (.resourceVersion | tonumber + 1 | tostring)' \
	"$TMP/api-state.json" >"$TMP/state.new" &&
	mv "$TMP/state.new" "$TMP/api-state.json"
api_started "the API server restarts from its state"
check "relist: split-1, deleted while down, is gone (a to b on 81 denied)" eventually denied a b 81
check "relist: a to b on 80 still allowed" probe a b 80
check "a change after the restart: x/split-0 deleted" K delete -n x policyendpoint split-0
check "it converges: a to b on 80 denied (only deny-b left)" eventually denied a b 80

# ---- the agent restarted while the API server is down ----
check "x/split applied again" apply "$FIX/split.json"
check "a to b on 81 allowed" eventually probe a b 81
sets_before=$(api /v1/pods | jq -c '[.pods[] | select(.local) | {name, policy_set}]')
stop_agent
stop_api
log_mark=$(wc -l <"$LOG")
started "the agent restarts with the API server down"
check "restarted, API down: not ready" not_ready_unsynced
check "restarted, API down: a to b on 81 still allowed (pins)" stays probe a b 81
check "restarted, API down: c to b on 80 still denied (pins)" denied c b 80
check "restarted, API down: b still bound" bound b
check "restarted, API down: the pods are known from the state file" \
	api_jq /v1/pods '[.pods[] | select(.local)] | length == 3'
api_started "the API server restarts"
check "ready once listed" eventually ready
check "the pinned sets were adopted, not rewritten" eval 'since_restart | grep -q "policy set [0-9]* adopted"'
check "set ids unchanged" \
	test "$(api /v1/pods | jq -c '[.pods[] | select(.local) | {name, policy_set}]')" = "$sets_before"
check "after the lists: a to b on 81 allowed" probe a b 81
check "after the lists: c to b on 80 denied" denied c b 80
check "a change converges" K delete -n x policyendpoint deny-b split-0 split-1
check "every PolicyEndpoint gone: c reaches b on 80" eventually probe c b 80

bad_source() { # VALUE: refused with status 2, naming the flag
	local out rc
	out=$("$BUILD/podfence-agent" --source "$1" 2>&1)
	rc=$?
	[ "$rc" -eq 2 ] && grep -qF -- "--source" <<<"$out"
}
check "--source kube:relative is refused (status 2)" bad_source kube:relative/kubeconfig
bad_resync() { "$BUILD/podfence-agent" --source kube: --kube-resync-period -1 >/dev/null 2>&1; test $? -eq 2; }
check "--kube-resync-period -1 is refused (status 2)" bad_resync

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
