#!/usr/bin/env bash
# podfence-ctl pods, policies, explain and trace, end to end. A node
# namespace with two pod namespaces behind veth pairs, the datapath loaded,
# attached, bound and given policies with `podfence-ctl datapath ...`; a
# fixture (tests/e2e/fixtures/agent_api.py) answers for podfence-agent with
# those two pods and their real ifindexes. trace runs the real programs on
# the real maps: TCP, UDP, SCTP and ICMP, allowed and denied, both ways, its
# exit status and JSON checked, no conntrack entry left, and real TCP
# connections between the pods agreeing with what it says.
set -u
. "$(dirname "$0")/lib/netns.sh"
BUILD=${BUILD:-build}
CTL=$(realpath "$BUILD/podfence-ctl")
HERE=$(realpath "$(dirname "$0")")
PROBE=$HERE/lib/netprobe.py
NODE=pftr-node-$$ PODA=pftr-a-$$ PODB=pftr-b-$$
ROOT=/sys/fs/bpf/podfence-e2e-trace-$$
TMP=$(mktemp -d)
SOCK=$TMP/agent.sock
A=10.211.0.1 B=10.211.0.2 REMOTE=10.212.0.3 GW=169.254.1.1
pids=()
passed=0 failed=0

cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	netns_del "$NODE" "$PODA" "$PODB"
	rm -rf "$ROOT" "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

check() { # NAME COMMAND...: one test; output kept in $TMP/last
	local name=$1
	shift
	if "$@" >"$TMP/last" 2>&1; then
		echo "ok   - $name"
		passed=$((passed + 1))
	else
		echo "FAIL - $name"
		sed 's/^/       /' "$TMP/last"
		failed=$((failed + 1))
	fi
}
not() { ! "$@"; }
in_node() { nsenter --net="/run/netns/$NODE" "$@"; }
ctl() { in_node "$CTL" --pin-root "$ROOT" --agent-socket "$SOCK" "$@"; }

# runs RC PATTERN ARGS...: ctl ARGS exits RC; its stdout+stderr has a line
# matching the extended regex PATTERN.
runs() {
	local want=$1 pattern=$2 rc
	shift 2
	ctl "$@" >"$TMP/out" 2>&1
	rc=$?
	cat "$TMP/out"
	[ "$rc" -eq "$want" ] || { echo "exit $rc, expected $want"; return 1; }
	grep -Eq -- "$pattern" "$TMP/out" || { echo "no line matches: $pattern"; return 1; }
}

# traced RC CODE ARGS...: ctl -o json trace ARGS exits RC and the python
# assertions CODE hold on its document d.
traced() {
	local want=$1 code=$2 rc
	shift 2
	ctl -o json trace "$@" >"$TMP/trace.json" 2>"$TMP/trace.err"
	rc=$?
	cat "$TMP/trace.json" "$TMP/trace.err"
	[ "$rc" -eq "$want" ] || { echo "exit $rc, expected $want"; return 1; }
	py "$TMP/trace.json" "$code"
}

# py FILE CODE: python assertions on the JSON document in FILE as d, with
# the pods' ifindexes as IA and IB.
py() {
	python3 -c "import json, sys
d = json.load(open(sys.argv[1]))
IA, IB = int(sys.argv[2]), int(sys.argv[3])
def hop(i, program, ifindex, verdict, reason):
    h = d['hops'][i]
    assert (h['program'], h['ifindex'], h['verdict'], h['reason']) == \
        (program, ifindex, verdict, reason), h
    assert h['explained'] is True, h
    assert h['ct_entry_removed'] is (verdict == 'allow'), h
    return h
$2" "$1" "$IA" "$IB"
}

fail_setup() {
	echo "setup failed: $*"
	echo "$passed passed, $((failed + 1)) failed"
	exit 1
}

[ -x "$CTL" ] || fail_setup "$BUILD/podfence-ctl is not built"

# --- a node and two pods, plumbed as podfence-cni plumbs them: a /32 in the
# pod, a link-local gateway behind permanent neighbours, host routes.
for ns in "$NODE" "$PODA" "$PODB"; do ip netns add "$ns" || fail_setup "ip netns add $ns (root needed)"; done
plumb() { # POD_NS HOST_VETH ADDR
	local mac_host mac_pod
	ip -n "$NODE" link add "$2" type veth peer name eth0 netns "$1" || return 1
	ip -n "$NODE" link set "$2" up && ip -n "$1" link set eth0 up && ip -n "$1" link set lo up &&
		ip -n "$1" addr add "$3/32" dev eth0 || return 1
	mac_host=$(ip -n "$NODE" -o link show "$2" | sed -E 's/.*link\/ether ([0-9a-f:]+).*/\1/')
	mac_pod=$(ip -n "$1" -o link show eth0 | sed -E 's/.*link\/ether ([0-9a-f:]+).*/\1/')
	ip -n "$1" route add "$GW" dev eth0 scope link &&
		ip -n "$1" route add default via "$GW" dev eth0 &&
		ip -n "$1" neigh add "$GW" lladdr "$mac_host" dev eth0 nud permanent &&
		ip -n "$NODE" route add "$3/32" dev "$2" &&
		ip -n "$NODE" neigh add "$3" lladdr "$mac_pod" dev "$2" nud permanent
}
plumb "$PODA" hva "$A" && plumb "$PODB" hvb "$B" || fail_setup "plumb the pods"
ip netns exec "$NODE" sysctl -qw net.ipv4.ip_forward=1 || fail_setup "ip_forward in $NODE"
IA=$(ip -n "$NODE" -o link show hva | cut -d: -f1)
IB=$(ip -n "$NODE" -o link show hvb | cut -d: -f1)

nsenter --net="/run/netns/$PODB" python3 "$PROBE" serve 80 81 >"$TMP/serve" 2>&1 &
pids+=($!)
for _ in $(seq 50); do grep -q ready "$TMP/serve" && break; sleep 0.1; done

# --- the policies: pod A (set 1) may send to B on TCP 80-81, UDP 53 and
# SCTP 9000; its ingress has no policy. Pod B (set 2) takes TCP 80, UDP 53
# and SCTP 9000 from the pods' /24; its egress is open.
cat >"$TMP/a.json" <<EOF
{"egress": {"isolated": true, "rules": [{"cidr": "$B/32", "ports": [
  {"protocol": "TCP", "port": 80, "endPort": 81}, {"protocol": "UDP", "port": 53},
  {"protocol": "SCTP", "port": 9000}]}]}}
EOF
cat >"$TMP/b.json" <<EOF
{"ingress": {"isolated": true, "rules": [{"cidr": "10.211.0.0/24", "ports": [
  {"protocol": "TCP", "port": 80}, {"protocol": "UDP", "port": 53},
  {"protocol": "SCTP", "port": 9000}]}]},
 "egress": {"isolated": false, "rules": []}}
EOF
python3 - "$TMP" "$IA" "$IB" "$A" "$B" "$REMOTE" <<'EOF' || fail_setup "write the fixture state"
import json, sys
tmp, ia, ib, a, b, remote = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), *sys.argv[4:]
def pod(ns, name, local, veth, ifindex, ip, set_id, ingress, egress):
    return {"namespace": ns, "name": name, "local": local,
            "container_id": f"c-{name}" if local else None, "host_veth": veth,
            "ifindex": ifindex, "ipv4": ip, "ipv6": None, "labels": {"pod": name},
            "policy_set": set_id, "isolation": {"ingress": ingress, "egress": egress}}
state = {
    "pods": [pod("x", "a", True, "hva", ia, a, 1, "unknown", "isolated"),
             pod("x", "b", True, "hvb", ib, b, 2, "isolated", "open"),
             pod("y", "c", False, None, None, remote, None, "unknown", "unknown")],
    "policies": [{"namespace": "x", "name": "a-egress", "policy_types": ["Egress"],
                  "selects": ["x/a"]},
                 {"namespace": "x", "name": "b-ingress", "policy_types": ["Ingress"],
                  "selects": ["x/b"]}],
    "policy_endpoints": [],
    "specs": {"x/a": json.load(open(f"{tmp}/a.json")),
              "x/b": json.load(open(f"{tmp}/b.json"))},
}
json.dump(state, open(f"{tmp}/state.json", "w"))
EOF
python3 "$HERE/fixtures/agent_api.py" --socket "$SOCK" --state "$TMP/state.json" \
	--record "$TMP/record" >"$TMP/agent.out" 2>&1 &
pids+=($!)
for _ in $(seq 50); do grep -q ready "$TMP/agent.out" && break; sleep 0.1; done

check "datapath load" runs 0 "^loaded " datapath load
for v in hva hvb; do check "attach $v" runs 0 "^attached " datapath attach "$v"; done
check "bind hva to set 1" runs 0 "^bound hva" datapath bind hva 1
check "bind hvb to set 2" runs 0 "^bound hvb" datapath bind hvb 2
check "apply pod A's policy" runs 0 "^applied policy set 1: .*egress isolated" datapath apply 1 "$TMP/a.json"
check "apply pod B's policy" runs 0 "^applied policy set 2: .*ingress isolated" datapath apply 2 "$TMP/b.json"

# --- questions to the agent (the fixture)
check "pods: a table with the contract's columns" \
	runs 0 "^NAMESPACE +NAME +LOCAL +IPV4 +HOST_VETH +SET +INGRESS +EGRESS$" pods
check "pods: the local pod's row" runs 0 "^x +a +yes +$A +hva +1 +unknown +isolated$" pods
check "pods: a remote pod has no veth or set" runs 0 "^y +c +no +$REMOTE +- +- +unknown +unknown$" pods
pods_json() {
	ctl -o json pods >"$TMP/pods.json" && py "$TMP/pods.json" '
assert [(p["namespace"], p["name"], p["ifindex"]) for p in d["pods"]] == \
    [("x", "a", IA), ("x", "b", IB), ("y", "c", None)], d'
}
check "pods -o json: the agent's reply as it came" pods_json
check "policies: a table" runs 0 "^x +b-ingress +Ingress +x/b$" policies
policies_json() {
	ctl -o json policies >"$TMP/pol.json" && py "$TMP/pol.json" '
assert [p["name"] for p in d["policies"]] == ["a-egress", "b-ingress"], d
assert d["policy_endpoints"] == [], d'
}
check "policies -o json" policies_json
check "explain: which policies select the pod" runs 0 "^policies: +x/b-ingress$" explain x/b
check "explain: where the pod is" runs 0 "^node: +local \(host veth hvb, ifindex $IB\)$" explain x/b
check "explain: isolation from its spec" runs 0 "^egress: +open$" explain x/b
check "explain: the flattened rules" \
	runs 0 "^ingress +10\.211\.0\.0/24 +tcp 80, udp 53, sctp 9000 +0$" explain x/b
explain_json() {
	ctl -o json explain x/a >"$TMP/explain.json" && py "$TMP/explain.json" '
assert d["policies"] == ["x/a-egress"] and d["policy_set"] == 1, d
assert d["entries"] == [{"direction": "egress", "cidr": "10.211.0.2/32",
                         "ports": ["tcp 80-81", "udp 53", "sctp 9000"], "rules": [0]}], d'
}
check "explain -o json: the reply and its flattened entries" explain_json
check "explain asked for the pod by name" grep -q '"path": "/v1/explain?pod=x/a"' "$TMP/record"
check "explain of an unknown pod: the agent's 404 and its error" \
	runs 1 "HTTP 404: pod x/zz is not known to this agent" explain x/zz
check "explain of a malformed name is a usage error" runs 2 "expected NAMESPACE/POD" explain X_/a

# --- trace: the real programs on the real maps
check "TCP 80 A -> B: allowed by both pods" traced 0 '
assert d["verdict"] == "allow" and len(d["hops"]) == 2, d
f = d["flow"]
assert (f["protocol"], f["src"], f["dst"], f["dport"]) == ("tcp", "10.211.0.1", "10.211.0.2", 80), f
assert 32768 <= f["sport"] <= 60999, f
h = hop(0, "pf_from_pod", IA, "allow", "policy-allow")
assert (h["pod"], h["direction"], h["ifname"], h["set_id"]) == ("x/a", "egress", "hva", 1), h
assert h["rule"]["map"] == "pf_hosts4" and h["rule"]["cidr"] == "10.211.0.2/32", h
assert h["rule"]["ports"] == ["tcp 80-81", "udp 53", "sctp 9000"], h
h = hop(1, "pf_to_pod", IB, "allow", "policy-allow")
assert (h["pod"], h["direction"], h["isolation"]) == ("x/b", "ingress", "isolated"), h
assert h["rule"]["map"] == "pf_hosts4" and h["rule"]["cidr"] == "10.211.0.0/24", h' \
	x/a x/b --port 80
check "TCP 81 A -> B: A lets it out, B refuses it" traced 1 '
assert d["verdict"] == "deny", d
hop(0, "pf_from_pod", IA, "allow", "policy-allow")
h = hop(1, "pf_to_pod", IB, "deny", "policy-deny")
assert h["rule"]["cidr"] == "10.211.0.0/24" and "tcp 81" not in h["rule"]["ports"], h' \
	x/a x/b --port 81
check "UDP 53 A -> B: allowed" traced 0 '
hop(0, "pf_from_pod", IA, "allow", "policy-allow"); hop(1, "pf_to_pod", IB, "allow", "policy-allow")
assert d["flow"]["protocol"] == "udp", d' x/a x/b --port 53 --protocol UDP
check "UDP 54 A -> B: refused on both sides" traced 1 '
hop(0, "pf_from_pod", IA, "deny", "policy-deny"); hop(1, "pf_to_pod", IB, "deny", "policy-deny")' \
	x/a x/b --port 54 --protocol udp
check "SCTP 9000 A -> B: allowed" traced 0 '
hop(0, "pf_from_pod", IA, "allow", "policy-allow"); hop(1, "pf_to_pod", IB, "allow", "policy-allow")
assert d["flow"]["protocol"] == "sctp", d' x/a x/b --port 9000 --protocol SCTP
check "SCTP 9001 A -> B: denied" traced 1 '
hop(0, "pf_from_pod", IA, "deny", "policy-deny"); hop(1, "pf_to_pod", IB, "deny", "policy-deny")' \
	x/a x/b --port 9001 --protocol SCTP
check "TCP 9000 A -> B: denied (SCTP is not TCP)" traced 1 '
hop(0, "pf_from_pod", IA, "deny", "policy-deny")' x/a x/b --port 9000
check "TCP 80 B -> A: B's egress open, A's ingress has no policy" traced 0 '
hop(0, "pf_from_pod", IB, "allow", "not-isolated")
h = hop(1, "pf_to_pod", IA, "allow", "mode-default-allow")
assert h["rule"] is None and h["isolation"] == "unknown" and h["mode"] == "standard", h' \
	x/b x/a --port 80
check "SCTP 9001 B -> A: allowed" traced 0 'assert len(d["hops"]) == 2' x/b x/a --port 9001 --protocol SCTP
check "UDP 54 B -> A: allowed" traced 0 'assert len(d["hops"]) == 2' x/b x/a --port 54 --protocol UDP
check "ICMP echo A -> B: only an every-port rule allows it" traced 1 '
hop(0, "pf_from_pod", IA, "deny", "policy-deny")
assert d["flow"]["sport"] is None and d["flow"]["echo_id"] > 0, d' x/a x/b --protocol ICMP
check "to an address outside the cluster: one hop" traced 1 '
assert len(d["hops"]) == 1 and d["to"] == {"given": "192.0.2.10", "pod": None,
    "address": "192.0.2.10", "local": False, "ifindex": None}, d
h = hop(0, "pf_from_pod", IA, "deny", "policy-deny")
assert h["rule"] is None, h' x/a 192.0.2.10 --port 443
check "from an outside address in B's CIDR: B's hop alone" traced 0 '
assert len(d["hops"]) == 1, d
hop(0, "pf_to_pod", IB, "allow", "policy-allow")' 10.211.0.99 x/b --port 80
check "a pod's address is that pod" traced 1 '
assert d["from"]["pod"] == "x/a" and len(d["hops"]) == 2, d' "$A" x/b --port 81
check "to a pod on another node: the source's hop alone" traced 1 '
assert d["to"]["pod"] == "y/c" and not d["to"]["local"] and len(d["hops"]) == 1, d
hop(0, "pf_from_pod", IA, "deny", "policy-deny")' x/a y/c --port 80
check "trace table: the hops and the verdict" runs 1 "^verdict: deny$" trace x/a x/b --port 81
check "trace table: a hop row" \
	runs 0 "^pf_from_pod +hva \($IA\) +x/a +egress +allow +policy-allow +1 +isolated +pf_hosts4 10\.211\.0\.2/32 +tcp 80-81, udp 53, sctp 9000$" \
	trace x/a x/b --port 80
# As the conformance runner does: many traces at once, each on its own port.
parallel_traces() {
	local i running=()
	for i in $(seq 9); do
		ctl -o json trace x/a x/b --port 80 --protocol SCTP >"$TMP/par$i" 2>&1 &
		running+=($!)
		ctl -o json trace x/a x/b --port 9000 --protocol SCTP >"$TMP/parok$i" 2>&1 &
		running+=($!)
	done
	wait "${running[@]}"
	for i in $(seq 9); do
		grep -q '"verdict": "deny"' "$TMP/par$i" || { cat "$TMP/par$i"; return 1; }
		grep -q '"verdict": "allow"' "$TMP/parok$i" || { cat "$TMP/parok$i"; return 1; }
	done
}
check "18 traces at once all get their verdict" parallel_traces

# Only flows of the pods' IPv4 addresses (pf_ct4): the kernel's own IPv6
# multicast listener reports from the veths are tracked too (pf_ct6), and
# are none of ours.
no_ct_left() {
	ctl -o json ebpf dump-maps pf_ct4 >"$TMP/ct.json" && py "$TMP/ct.json" '
assert d["entries"] == [], d["entries"]'
}
check "traces left no conntrack entry" no_ct_left

# --- no verdict: exit 2, never 1
check "an unknown pod" runs 2 "no pod x/zz known to podfence-agent" trace x/a x/zz --port 80
check "--port is required" runs 2 "trace TCP needs --port N" trace x/a x/b
check "an unknown protocol" runs 2 "--protocol FOO: expected TCP, UDP, SCTP or ICMP" \
	trace x/a x/b --port 80 --protocol FOO
check "a port out of range" runs 2 "--port 70000: expected 1 to 65535" trace x/a x/b --port 70000
check "neither end on this node" runs 2 "neither 192.0.2.1 nor 192.0.2.2 is a pod on this node" \
	trace 192.0.2.1 192.0.2.2 --port 80
check "mixed address families" runs 2 "fd00::1 is not an ipv4 address" trace "$A" fd00::1 --port 80
check "a pod without an address of the family" runs 2 "pod x/a has no IPv6 address" \
	trace x/a fd00::1 --port 80
check "no agent" runs 2 "ask podfence-agent: .*nope.sock" \
	--agent-socket "$TMP/nope.sock" trace x/a x/b --port 80
check "no datapath pinned" runs 2 "no podfence datapath pinned under /sys/fs/bpf/podfence-e2e-none" \
	--pin-root /sys/fs/bpf/podfence-e2e-none-$$ trace x/a x/b --port 80

# --- real TCP between the pods agrees with trace
probe_a() { nsenter --net="/run/netns/$PODA" python3 "$PROBE" probe tcp "$B" "$1" --timeout 1; }
check "TCP 80: trace says allow" runs 0 "^verdict: allow$" trace x/a x/b --port 80
check "TCP 80: a real connection from A to B succeeds" probe_a 80
check "TCP 81: trace says deny" runs 1 "^verdict: deny$" trace x/a x/b --port 81
check "TCP 81: a real connection from A to B fails" not probe_a 81

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
