#!/usr/bin/env bash
# The datapath on real traffic: a "node" namespace and a "pod" namespace
# joined by a veth, podfence's programs on the node's end, real TCP and UDP
# connections allowed and denied as the rules say, replies let through by
# conntrack. Everything it makes is removed on exit, also on failure.
set -u
. "$(dirname "$0")/lib/netns.sh"
BUILD=${BUILD:-build}
CTL=$(realpath "$BUILD/podfence-ctl")
PROBE=$(realpath "$(dirname "$0")/lib/netprobe.py")
NODE=pfdp-node-$$ POD=pfdp-pod-$$
ROOT=/sys/fs/bpf/podfence-e2e-dp-$$
TMP=$(mktemp -d)
pids=()
passed=0 failed=0

cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	netns_del "$NODE" "$POD"
	rm -rf "$ROOT" "$TMP"
}
trap cleanup EXIT INT TERM

check() { # name, command...
	local name=$1; shift
	if "$@"; then passed=$((passed + 1)); echo "ok   $name"
	else failed=$((failed + 1)); echo "FAIL $name"; fi
}
not() { ! "$@"; }
in_node() { nsenter --net=/run/netns/$NODE "$@"; }
in_pod() { nsenter --net=/run/netns/$POD "$@"; }
ctl() { in_node "$CTL" --pin-root "$ROOT" "$@" >"$TMP/ctl.out" 2>&1 || { cat "$TMP/ctl.out"; return 1; }; }
# probe FROM(node|pod) tcp|udp ADDR PORT
probe() { "in_$1" python3 "$PROBE" probe "$2" "$3" "$4" --timeout 0.7; }
policy() { # set, json
	printf '%s\n' "$2" >"$TMP/policy.json"
	ctl datapath apply "$1" "$TMP/policy.json"
}

ip netns add "$NODE" && ip netns add "$POD" || exit 1
ip -n "$NODE" link add pfh0 type veth peer name eth0 netns "$POD"
ip -n "$NODE" link set lo up; ip -n "$POD" link set lo up
ip -n "$NODE" addr add 10.98.0.1/24 dev pfh0
ip -n "$NODE" addr add fd98::1/64 dev pfh0 nodad
ip -n "$POD" addr add 10.98.0.2/24 dev eth0
ip -n "$POD" addr add fd98::2/64 dev eth0 nodad
ip -n "$NODE" link set pfh0 up; ip -n "$POD" link set eth0 up
for ns in node pod; do
	"in_$ns" python3 "$PROBE" serve 80 81 >"$TMP/serve-$ns" 2>&1 &
	pids+=($!)
done
for _ in $(seq 50); do
	grep -q ready "$TMP/serve-node" && grep -q ready "$TMP/serve-pod" && break
	sleep 0.1
done

check "baseline: node reaches pod before podfence" probe node tcp 10.98.0.2 81
check "datapath loads" ctl datapath load --mode standard
check "attach to the pod's veth" ctl datapath attach pfh0
check "bind the veth to set 1" ctl datapath bind pfh0 1
check "standard mode, no policy yet: open" probe node tcp 10.98.0.2 81

policy 1 '{"ingress":{"isolated":true,"rules":[{"cidr":"10.98.0.1/32","ports":[{"protocol":"TCP","port":80}]}]}}'
check "ingress TCP 80 from the node: allowed" probe node tcp 10.98.0.2 80
check "ingress TCP 81: denied" not probe node tcp 10.98.0.2 81
check "ingress UDP 80: denied (rule is TCP only)" not probe node udp 10.98.0.2 80
check "egress not isolated: pod reaches node on TCP 81" probe pod tcp 10.98.0.1 81

policy 1 '{"ingress":{"isolated":true,"rules":[{"cidr":"10.98.0.0/24","except":["10.98.0.1/32"],"ports":[{"protocol":"UDP","port":81}]}]}}'
check "except hole: UDP 81 from the node denied" not probe node udp 10.98.0.2 81
policy 1 '{"ingress":{"isolated":true,"rules":[{"cidr":"10.98.0.0/24","except":["10.98.0.1/32"],"ports":[{"protocol":"UDP","port":81}]},{"cidr":"10.98.0.1/32","ports":[{"protocol":"UDP","port":80,"endPort":81}]}]}}'
check "a second rule re-allows the hole: UDP 81 (reply comes back)" probe node udp 10.98.0.2 81
check "TCP 80 no longer allowed" not probe node tcp 10.98.0.2 80

policy 1 '{"ingress":{"isolated":true,"rules":[{"cidr":"10.98.0.1/32","ports":[{"protocol":"TCP","port":80}]}]},"egress":{"isolated":true,"rules":[{"cidr":"10.98.0.1/32","ports":[{"protocol":"TCP","port":81},{"protocol":"UDP","port":81}]}]}}'
check "egress denies all but 81, yet replies to allowed ingress pass" probe node tcp 10.98.0.2 80
check "egress TCP 81 to the node: allowed, its replies pass ingress" probe pod tcp 10.98.0.1 81
check "egress UDP 81 round trip" probe pod udp 10.98.0.1 81
check "egress TCP 80: denied" not probe pod tcp 10.98.0.1 80

policy 1 '{"ingress":{"isolated":true,"rules":[{"cidr":"fd98::1/128","ports":[{"protocol":"TCP","port":80}]}]}}'
check "IPv6 ingress TCP 80 from fd98::1: allowed" probe node tcp fd98::2 80
check "IPv6 ingress TCP 81: denied" not probe node tcp fd98::2 81
check "IPv4 TCP 80 now denied (rule is IPv6 only)" not probe node tcp 10.98.0.2 80

# Revocation: a live TCP connection under the old rules, then the rules go.
policy 1 '{"ingress":{"isolated":true,"rules":[{"cidr":"10.98.0.1/32"}]}}'
check "all ports from the node allowed" probe node tcp 10.98.0.2 81
policy 1 '{"ingress":{"isolated":true,"rules":[]}}'
check "revoked: a new connection is refused at once" not probe node tcp 10.98.0.2 81
check "ctl shows the revoked set isolated with no rules" \
	bash -c "'$CTL' --pin-root '$ROOT' -o json ebpf dump-maps pf_sets | grep -q isolated"

check "strict mode: re-adopt and switch" ctl datapath load --mode strict
check "bind to set 2 which has no policy" ctl datapath bind pfh0 2
check "strict mode, no policy yet: denied" not probe node tcp 10.98.0.2 80
check "strict mode holds for egress too" not probe pod tcp 10.98.0.1 80
check "detach" ctl datapath detach pfh0
check "detached: traffic flows again" probe node tcp 10.98.0.2 80
check "unload removes the pins" ctl datapath unload
check "no pin left" test ! -e "$ROOT/pf_pods"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
