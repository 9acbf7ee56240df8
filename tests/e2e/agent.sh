#!/usr/bin/env bash
# podfence-agent end to end: a "node" network namespace and three pod
# namespaces plumbed by hand as the CNI plugin plumbs them (veth pairs with
# the host sides in the node, /32 addresses, the pod's default route via
# 169.254.1.1 with a permanent neighbour for the host veth's MAC, a host /32
# route per pod, forwarding on). The real agent runs in the node namespace
# on a temporary manifest directory, socket, state directory and pin root;
# pods are registered through its socket, and real TCP and UDP between the
# pods must follow the manifests: policies, an edit, a bad manifest (logged,
# previous rules kept), a deletion, the event log, metrics and health,
# kill -9 and restart (no allowed flow dropped, nothing denied let through,
# pinned state re-adopted with unchanged set ids), SIGTERM (the datapath
# stays), strict mode, release and a veth going away. Everything it makes
# is removed on exit, also on failure.
set -u
. "$(dirname "$0")/lib/netns.sh"
BUILD=${BUILD:-build}
AGENT=$(realpath "$BUILD/podfence-agent")
PROBE=$(realpath "$(dirname "$0")/lib/netprobe.py")
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
NODE=pfag-node-$$
ROOT=/sys/fs/bpf/podfence-e2e-agent-$$
TMP=$(mktemp -d "/tmp/pfag-$$.XXXXXX")
MAN=$TMP/manifests SOCK=$TMP/agent.sock STATE=$TMP/state LOG=$TMP/agent.log
EVENTS=$TMP/events.log
METRICS=127.0.0.1:18162 HEALTH=127.0.0.1:18163
declare -A IP=([a]=10.77.0.10 [b]=10.77.0.11 [c]=10.77.0.12)
AGENT_PID="" PIDS=()
passed=0 failed=0

cleanup() {
	[ -n "$AGENT_PID" ] && kill -9 "$AGENT_PID" 2>/dev/null
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	netns_del "$NODE" "$NODE-a" "$NODE-b" "$NODE-c"
	rm -rf "$ROOT"; [ -n "${KEEP_TMP:-}" ] && echo "kept $TMP" || rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

pass() { echo "ok   $1"; passed=$((passed + 1)); }
fail() { echo "FAIL $1"; [ -n "${2:-}" ] && echo "     $2"; failed=$((failed + 1)); }
# check DESCRIPTION COMMAND...: passes when COMMAND succeeds.
check() {
	local desc=$1 why
	shift
	if why=$("$@" 2>&1); then pass "$desc"; else fail "$desc" "$why"; fi
}
not() { ! "$@"; }
in_node() { nsenter --net="/run/netns/$NODE" "$@"; }
in_pod() { local p=$1; shift; nsenter --net="/run/netns/$NODE-$p" "$@"; }
veth() { echo "pf$1$$"; }

# probe FROM tcp|udp TO PORT: a real connection from pod FROM to pod TO.
probe() { in_pod "$1" "$PY" "$PROBE" probe "$2" "${IP[$3]}" "$4" --timeout "${TIMEOUT:-0.7}"; }
denied() { ! TIMEOUT=0.4 probe "$@"; }

# api METHOD PATH [BODY]: the agent's socket; prints the body, fails on non-2xx.
api() {
	if [ $# -gt 2 ]; then
		curl -sS --fail-with-body --unix-socket "$SOCK" -X "$1" -H 'Content-Type: application/json' \
			-d "$3" "http://agent$2"
	else
		curl -sS --fail-with-body --unix-socket "$SOCK" -X "$1" "http://agent$2"
	fi
}
enforce() { # POD
	api POST /v1/enforce-pod "{\"pod_namespace\":\"x\",\"pod_name\":\"$1\",\"container_id\":\"ctr-$1\",\"ifname\":\"eth0\",\"host_veth\":\"$(veth "$1")\",\"ipv4\":\"${IP[$1]}\"}"
}
enforced() { enforce "$1" | jq -e '.enforced == true and .policy_set > 0' >/dev/null; }
release() { # POD -> prints released true|false
	api POST /v1/release-pod "{\"pod_namespace\":\"x\",\"pod_name\":\"$1\",\"container_id\":\"ctr-$1\"}" | jq -r .released
}
api_jq() { api GET "$1" | jq -e "$2" >/dev/null; } # PATH FILTER
http_status() { curl -s -o /dev/null -w '%{http_code}' --unix-socket "$SOCK" "http://agent$1"; }
refused_unknown_veth() {
	local out
	out=$(api POST /v1/enforce-pod \
		'{"pod_namespace":"x","pod_name":"z","container_id":"z","host_veth":"nosuch0"}' 2>&1) &&
		return 1
	grep -q '"host_veth\\" \\"nosuch0\\": no such interface' <<<"$out"
}
event() { jq -s -e "any(.[]; $1)" "$EVENTS" >/dev/null; } # FILTER: some line matches
bound() { # POD: its veth's ifindex is a key of pf_pods
	local idx
	idx=$(ip -n "$NODE" -j link show "$(veth "$1")" | jq '.[0].ifindex')
	bpftool map dump pinned "$ROOT/pf_pods" -j | jq -e "any(.[]; .formatted.key == $idx)" >/dev/null
}
attached() { ip netns exec "$NODE" tc filter show dev "$(veth "$1")" egress | grep -q pf_to_pod; }
metrics() { in_node curl -sS "http://$METRICS/metrics"; }
metric() { metrics | awk -v m="$1" '$1 == m {print $2}'; }
reconciles() { metric podfence_agent_reconcile_seconds_count; }

# manifest FILE: stdin becomes FILE in the watched directory (written in
# one go, as an editor saving it); waits until the agent has reconciled it.
manifest() {
	local before
	before=$(reconciles)
	cat >"$TMP/.next" && mv "$TMP/.next" "$MAN/$1"
	settle "$before"
}
unmanifest() {
	local before
	before=$(reconciles)
	rm "$MAN/$1"
	settle "$before"
}
settle() { # RECONCILES_BEFORE
	for _ in $(seq 60); do
		[ "$(reconciles)" != "$1" ] && return 0
		sleep 0.05
	done
	echo "the agent did not reconcile within 3 s" >&2
	return 1
}

start_agent() { # extra flags...
	# nsenter execs the agent: $! is the agent itself, for kill -9.
	nsenter --net="/run/netns/$NODE" "$AGENT" --enable-network-policy=true --enable-policy-event-logs=true \
		--source "dir:$MAN" --socket "$SOCK" --state-dir "$STATE" --pin-root "$ROOT" \
		--log-file "$LOG" --policy-event-log "$EVENTS" --metrics-bind-addr "$METRICS" \
		--health-probe-bind-addr "$HEALTH" --node-name node-1 \
		--conntrack-cache-cleanup-period 60 "$@" </dev/null >>"$TMP/agent.out" 2>&1 &
	AGENT_PID=$!
	for _ in $(seq 100); do
		api GET /v1/health >/dev/null 2>&1 && return 0
		kill -0 "$AGENT_PID" 2>/dev/null || break
		sleep 0.05
	done
	echo "the agent did not start; its log:" >&2
	tail -n 20 "$LOG" >&2
	return 1
}
# started DESCRIPTION [FLAGS...]: not through check, whose $(...) would
# wait for the agent's end.
# Without an agent nothing else can be judged: the test ends there.
started() {
	local desc=$1
	shift
	if start_agent "$@"; then
		pass "$desc"
	else
		fail "$desc"
		echo "$passed passed, $failed failed"
		exit 1
	fi
}
stop_agent() { # SIGNAL
	kill "-$1" "$AGENT_PID"
	wait "$AGENT_PID" 2>/dev/null
	AGENT_PID=""
}

# ---- the node and its pods ----
ip netns add "$NODE" || exit 1
ip -n "$NODE" link set lo up
ip -n "$NODE" addr add 10.77.255.1/32 dev lo # the source of the node's ARP requests
in_node sysctl -qw net.ipv4.ip_forward=1 || exit 1
for p in a b c; do
	ip netns add "$NODE-$p" || exit 1
	ip -n "$NODE" link add "$(veth $p)" type veth peer name eth0 netns "$NODE-$p"
	ip -n "$NODE-$p" link set lo up
	ip -n "$NODE-$p" link set eth0 up
	ip -n "$NODE" link set "$(veth $p)" up
	ip -n "$NODE-$p" addr add "${IP[$p]}/32" dev eth0
	mac=$(ip -n "$NODE" -j link show "$(veth $p)" | jq -r '.[0].address')
	ip -n "$NODE-$p" route add 169.254.1.1 dev eth0 scope link
	ip -n "$NODE-$p" route add default via 169.254.1.1 dev eth0
	ip -n "$NODE-$p" neigh add 169.254.1.1 lladdr "$mac" dev eth0 nud permanent
	ip -n "$NODE" route add "${IP[$p]}/32" dev "$(veth $p)" scope link
	in_pod "$p" "$PY" "$PROBE" serve 80 81 >"$TMP/serve-$p" 2>&1 &
	PIDS+=($!)
done
for p in a b c; do
	for _ in $(seq 50); do grep -q ready "$TMP/serve-$p" && break; sleep 0.1; done
done
mkdir -p "$MAN"
cat >"$MAN/pods.yaml" <<EOF
apiVersion: v1
kind: Namespace
metadata: {name: x, labels: {team: blue}}
---
apiVersion: v1
kind: Pod
metadata: {namespace: x, name: a, labels: {app: a}}
---
apiVersion: v1
kind: Pod
metadata: {namespace: x, name: b, labels: {app: b}}
spec:
  containers:
  - name: web
    ports: [{name: web, containerPort: 80}]
EOF

check "baseline: pod a reaches pod b before podfence" probe a tcp b 81

# ---- standard mode ----
started "the agent starts"
check "/healthz answers" in_node curl -sSf "http://$HEALTH/healthz"
check "/readyz: source loaded and reconciled" in_node curl -sSf "http://$HEALTH/readyz"
check "enforce-pod a" enforced a
check "enforce-pod b" enforced b
check "programs attached to b's veth" attached b
check "enforce-pod of an unknown veth is refused, naming it" refused_unknown_veth
check "no policy, standard mode: a reaches b on TCP 81" probe a tcp b 81
check "no policy, standard mode: UDP 80 too" probe a udp b 80

manifest policy.yaml <<EOF
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {namespace: x, name: b-ingress}
spec:
  podSelector: {matchLabels: {app: b}}
  ingress:
  - from: [{podSelector: {matchLabels: {app: a}}}]
    ports: [{protocol: TCP, port: web}, {protocol: UDP, port: 81}]
EOF
check "policy: a reaches b on TCP 80 (a named port)" probe a tcp b 80
check "policy: TCP 81 to b denied" denied a tcp b 81
check "policy: UDP 81 to b allowed (the echo comes back)" probe a udp b 81
check "policy: UDP 80 to b denied" denied a udp b 80
check "policy: c (app unset) denied to b" denied c tcp b 80
check "policy: b is not isolated for egress, reaches a" probe b tcp a 81

manifest policy.yaml <<EOF
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {namespace: x, name: b-ingress}
spec:
  podSelector: {matchLabels: {app: b}}
  ingress:
  - from: [{podSelector: {matchLabels: {app: a}}}]
    ports: [{protocol: TCP, port: 81}]
EOF
check "edit: TCP 81 to b now allowed" probe a tcp b 81
check "edit: TCP 80 to b now denied" denied a tcp b 80
check "edit: UDP 81 to b now denied" denied a udp b 81

errors_before=$(metric podfence_agent_manifest_errors_total)
manifest policy.yaml <<EOF
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {namespace: x, name: b-ingress}
spec:
  podSelector: {matchLabels: {app: b}}
  ingress:
  - ports: [{protocol: TCP, port: 80, endPort: 70}]
EOF
check "bad manifest: the error names file, object and field" \
	grep -q 'policy.yaml document 1 (line 1): NetworkPolicy x/b-ingress: spec.ingress\[0\].ports\[0\].endPort 70 is less than port 80' "$LOG"
check "bad manifest: counted in the metrics" \
	test "$(metric podfence_agent_manifest_errors_total)" -gt "$errors_before"
check "bad manifest: the previous rules stay (TCP 81 allowed)" probe a tcp b 81
check "bad manifest: the previous rules stay (TCP 80 denied)" denied a tcp b 80
manifest broken.yaml <<EOF
kind: NetworkPolicy
metadata: {name: [unclosed
EOF
check "unparsable file: the error names the file and line" grep -q 'broken.yaml.*line' "$LOG"
check "unparsable file: rules unchanged" denied a tcp b 80
unmanifest broken.yaml

# Egress on a: only UDP to b, and TCP 81 to b.
manifest egress.yaml <<EOF
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {namespace: x, name: a-egress}
spec:
  podSelector: {matchLabels: {app: a}}
  policyTypes: [Egress]
  egress:
  - to: [{namespaceSelector: {matchLabels: {team: blue}}, podSelector: {matchLabels: {app: b}}}]
    ports: [{protocol: TCP, port: 81}]
EOF
check "egress: a reaches b on TCP 81 (allowed both ways)" probe a tcp b 81
check "egress: a to c denied by a's egress" denied a tcp c 81
check "egress: replies of c's connection to a pass a's egress" probe c tcp a 80

check "the event log names both pods of a denied flow" event \
	'.verdict == "deny" and .direction == "ingress" and .dst.namespace == "x" and .dst.name == "b" and .src.name == "a"'
check "the event log names the selecting policy" event '.policies == ["x/b-ingress"]'
check "the event log has allowed flows too" event '.verdict == "allow" and .reason == "policy-allow"'
check "metrics: both pods enforced" test "$(metric podfence_agent_pods_enforced)" = 2
check "metrics: policy denies counted" \
	test "$(metric 'podfence_agent_verdicts_total{reason="policy-deny"}')" -gt 0
check "metrics: host entries exported" test "$(metric 'podfence_agent_map_entries{map="hosts"}')" -gt 0
check "/v1/pods: a and b local with a policy set" \
	api_jq /v1/pods '[.pods[] | select(.local and .policy_set != null)] | length == 2'
check "/v1/policies lists what b-ingress selects" \
	api_jq /v1/policies '.policies[] | select(.name == "b-ingress") | .selects == ["x/b"]'
check "/v1/explain x/b: its policy and isolation" api_jq '/v1/explain?pod=x/b' \
	'.policies == ["x/b-ingress"] and .pod.isolation.ingress == "isolated" and .pod.isolation.egress == "open"'
check "/v1/explain of an unknown pod: 404" test "$(http_status '/v1/explain?pod=x/nope')" = 404

# ---- kill -9 and restart ----
sets_before=$(api GET /v1/pods | jq -c '[.pods[] | select(.local) | {name, policy_set}]')
bpftool map dump pinned "$ROOT/pf_sets" -j >"$TMP/sets-before.json"
# Probes run through the kill and the restart: the allowed port must never
# fail, the denied one never succeed.
(
	end=$((SECONDS + 4))
	while [ $SECONDS -lt $end ]; do
		probe a tcp b 81 || echo "allowed TCP 81 failed" >>"$TMP/restart-violations"
		TIMEOUT=0.2 probe a tcp b 80 && echo "denied TCP 80 got through" >>"$TMP/restart-violations"
		sleep 0.05
	done
) &
prober=$!
sleep 0.5
stop_agent 9
check "agent killed: the programs stay attached" attached b
sleep 1
started "the agent restarts"
wait "$prober"
check "during the restart no allowed flow failed and nothing denied got through" \
	test ! -s "$TMP/restart-violations"
check "restart: the pinned datapath was adopted" grep -q 'datapath adopted under' "$LOG"
check "restart: the policy sets were adopted, not rewritten" grep -q 'policy set [0-9]* adopted' "$LOG"
check "restart: set ids unchanged" \
	test "$(api GET /v1/pods | jq -c '[.pods[] | select(.local) | {name, policy_set}]')" = "$sets_before"
bpftool map dump pinned "$ROOT/pf_sets" -j >"$TMP/sets-after.json"
# policy.yaml still holds the bad version: its last good one stays in force
# across the restart, so nothing is rewritten.
check "restart: pf_sets untouched (same generations)" cmp -s "$TMP/sets-before.json" "$TMP/sets-after.json"
check "restart: TCP 81 to b still allowed" probe a tcp b 81
check "restart: TCP 80 to b still denied" denied a tcp b 80

# ---- deleting the policies ----
unmanifest egress.yaml
unmanifest policy.yaml
check "policies deleted: TCP 80 to b open again" probe a tcp b 80
check "policies deleted: a reaches c again" probe a tcp c 81

# ---- SIGTERM keeps the datapath; strict mode ----
manifest policy.yaml <<EOF
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {namespace: x, name: b-ingress}
spec:
  podSelector: {matchLabels: {app: b}}
  ingress:
  - from: [{podSelector: {matchLabels: {app: a}}}]
    ports: [{protocol: TCP, port: 81}]
EOF
stop_agent TERM
check "SIGTERM: the pins stay" test -e "$ROOT/pf_pods"
check "SIGTERM: still enforced with no agent (TCP 80 to b denied)" denied a tcp b 80
check "SIGTERM: still enforced with no agent (TCP 81 to b allowed)" probe a tcp b 81
check "SIGTERM: the socket is gone" test ! -e "$SOCK"
started "the agent restarts in strict mode" --network-policy-mode=strict
check "strict: a pod no policy selects is closed (b to a)" denied b tcp a 80
check "strict: egress of a, which no policy selects, is closed" denied a tcp b 81
check "enforce-pod c in strict mode" enforced c
check "c's veth is bound in pf_pods" bound c
check "strict: c, registered with no policy, is denied" denied c tcp b 81
check "strict: nothing reaches c" denied b tcp c 80
manifest egress.yaml <<EOF
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {namespace: x, name: a-egress}
spec:
  podSelector: {matchLabels: {app: a}}
  policyTypes: [Egress]
  egress:
  - to: [{podSelector: {matchLabels: {app: b}}}]
EOF
check "strict: with egress for a and ingress for b, a reaches b on TCP 81" probe a tcp b 81
check "strict: b's ingress still denies TCP 80" denied a tcp b 80

# ---- release and a veth going away ----
check "release-pod c" test "$(release c)" = true
check "released: c's veth has no program" not attached c
check "released: c is not local any more" \
	api_jq /v1/pods '[.pods[] | select(.name == "c" and .local)] | length == 0'
check "released: c's veth is unbound from pf_pods" not bound c
check "release-pod again: nothing to release" test "$(release c)" = false
ip -n "$NODE" link del "$(veth b)"
gone=""
for _ in $(seq 40); do
	api_jq /v1/pods '[.pods[] | select(.name == "b" and .local)] | length == 0' && gone=1 && break
	sleep 0.05
done
check "b's veth deleted: the agent forgets the pod" test -n "$gone"
check "the state file lists only a" jq -e '[.pods[].name] == ["a"]' "$STATE/state.json"
stop_agent TERM
check "clean exit logged" grep -q '"msg":"exit 0"' "$LOG"

# ---- network policy disabled (the seed's default) ----
started "the agent starts with --enable-network-policy=false" --enable-network-policy=false
check "disabled: enforce-pod succeeds at once, with no set" \
	test "$(enforce c)" = '{"enforced":true,"policy_set":null}'
check "disabled: nothing attached to c" not attached c
stop_agent TERM

bad_flag() { # FLAG: refused with status 2, naming it
	local out rc
	out=$("$AGENT" "$1" 2>&1)
	rc=$?
	[ "$rc" -eq 2 ] && grep -qF -- "${1%%=*}" <<<"$out"
}
check "a bad mode is refused, naming the flag (status 2)" bad_flag --network-policy-mode=lax
check "a bad boolean is refused, naming the flag (status 2)" bad_flag --enable-ipv6=maybe
check "a bad period is refused, naming the flag (status 2)" \
	bad_flag --conntrack-cache-cleanup-period=-1

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
