#!/usr/bin/env bash
# A short look at the datapath working: a "node" and a "pod" namespace joined
# by a veth, podfence's programs on the node's end, a policy that lets the
# node reach the pod on TCP 80 only, and real connections showing it.
# Leaves nothing behind (namespaces, pins, processes).
set -u
. "$(dirname "$0")/../tests/e2e/lib/netns.sh"
BUILD=${BUILD:-build}
CTL=$(realpath "$BUILD/podfence-ctl")
PROBE=$(realpath "$(dirname "$0")/../tests/e2e/lib/netprobe.py")
NODE=pfdemo-node-$$ POD=pfdemo-pod-$$
ROOT=/sys/fs/bpf/podfence-demo-$$
TMP=$(mktemp -d)
server=""

cleanup() {
	[ -n "$server" ] && kill "$server" 2>/dev/null
	netns_del "$NODE" "$POD"
	rm -rf "$ROOT" "$TMP"
}
trap cleanup EXIT INT TERM

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
node() { nsenter --net=/run/netns/$NODE "$@"; }
ctl() { echo "\$ podfence-ctl $*"; node "$CTL" --pin-root "$ROOT" "$@"; }
try() { # proto port
	if node python3 "$PROBE" probe "$1" 10.98.0.2 "$2" --timeout 0.7; then
		echo "node -> pod $1/$2: connected"
	else
		echo "node -> pod $1/$2: blocked"
	fi
}

step "a node and a pod joined by a veth (10.98.0.1 <-> 10.98.0.2)"
ip netns add "$NODE" && ip netns add "$POD" || exit 1
ip -n "$NODE" link add pfh0 type veth peer name eth0 netns "$POD"
ip -n "$NODE" addr add 10.98.0.1/24 dev pfh0
ip -n "$POD" addr add 10.98.0.2/24 dev eth0
ip -n "$NODE" link set pfh0 up
ip -n "$POD" link set eth0 up
nsenter --net=/run/netns/$POD python3 "$PROBE" serve 80 81 >"$TMP/serve" 2>&1 &
server=$!
for _ in $(seq 50); do grep -q ready "$TMP/serve" && break; sleep 0.1; done
try tcp 80; try tcp 81

step "load the datapath, attach it to the pod's veth, bind it to policy set 1"
ctl datapath load --mode standard || exit 1
ctl datapath attach pfh0 || exit 1
ctl datapath bind pfh0 1 || exit 1

step "policy set 1: ingress isolated, TCP 80 from the node only"
cat >"$TMP/policy.json" <<'JSON'
{"ingress": {"isolated": true,
             "rules": [{"cidr": "10.98.0.0/24", "except": ["10.98.0.128/25"],
                        "ports": [{"protocol": "TCP", "port": 80}]}]}}
JSON
cat "$TMP/policy.json"
ctl datapath apply 1 "$TMP/policy.json" || exit 1
try tcp 80; try tcp 81; try udp 80

step "what is loaded"
ctl ebpf loaded-ebpfdata
ctl ebpf dump-maps pf_rules
step "verdict counters"
ctl datapath metrics

step "a bad policy is refused, naming what is wrong; the rules in force stay"
echo '{"ingress":{"isolated":true,"rules":[{"cidr":"10.98.0.300/32"}]}}' >"$TMP/bad.json"
ctl datapath apply 1 "$TMP/bad.json"
try tcp 80

step "clean up"
ctl datapath detach pfh0
ctl datapath unload
