#!/usr/bin/env bash
# Pod networking end to end, with the real pieces: in a "node" namespace,
# podfence-ipamd runs, podfence-init prepares the node and installs the plugin
# and its conflist (into temporary CNI directories), and pods are network
# namespaces plumbed by the installed podfence-cni with that conflist. Every
# pod reaches every other pod and the node over TCP; DEL leaves nothing; 50
# concurrent ADDs get 50 distinct addresses; kill -9 of ipamd in the middle of
# a burst of ADDs, then a restart: no address twice, none leaked.
set -u
. "$(dirname "$0")/lib/netns.sh"
BUILD=$(realpath "${BUILD:-build}")
PROBE=$(realpath "$(dirname "$0")/lib/netprobe.py")
TAG=$$
NODE=pfpn-node-$TAG
TMP=$(mktemp -d)
SOCK=$TMP/ipamd.sock AGENT_SOCK=$TMP/agent.sock
BIN=$TMP/cni-bin CONF=$TMP/cni-conf
ipamd_pid=""
pids=()
pods=()
passed=0 failed=0

cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	[ -n "$ipamd_pid" ] && kill -9 "$ipamd_pid" 2>/dev/null
	netns_del $(ip netns list | awk '{print $1}' | grep -- "-$TAG\$")
	rm -rf "$TMP"
}
trap cleanup EXIT INT TERM

check() { # name, command...
	local name=$1; shift
	if "$@"; then passed=$((passed + 1)); echo "ok   $name"
	else failed=$((failed + 1)); echo "FAIL $name"; fi
}
not() { ! "$@"; }
in_node() { nsenter --net=/run/netns/$NODE "$@"; }

start_ipamd() {
	nsenter --net=/run/netns/$NODE "$BUILD/podfence-ipamd" --pod-cidr 10.244.9.0/24 --socket "$SOCK" \
		--state-dir "$TMP/ipamd-state" >>"$TMP/ipamd.log" 2>&1 &
	ipamd_pid=$!
	for _ in $(seq 50); do [ -S "$SOCK" ] && return 0; sleep 0.1; done
	cat "$TMP/ipamd.log"; return 1
}

# cni COMMAND POD-NETNS CONTAINER-ID [POD-NAME]: the installed plugin with the
# installed conflist's plugin entry, as a runtime would call it.
cni() {
	local conf
	conf=$(python3 -c 'import json,sys; c=json.load(open(sys.argv[1])); p=c["plugins"][0]
p.update(cniVersion=c["cniVersion"], name=c["name"]); print(json.dumps(p))' "$CONF/10-podfence.conflist")
	local netns=""
	[ -n "$2" ] && netns=/run/netns/$2
	echo "$conf" | in_node env CNI_COMMAND="$1" CNI_CONTAINERID="$3" CNI_NETNS="$netns" \
		CNI_IFNAME=eth0 CNI_PATH="$BIN" CNI_ARGS="K8S_POD_NAMESPACE=e2e;K8S_POD_NAME=${4:-$3}" \
		"$BIN/podfence-cni"
}

add_pod() { # name -> prints the pod's address
	local ns=pfpn-$1-$TAG
	ip netns add "$ns" && ip -n "$ns" link set lo up
	cni ADD "$ns" "c-$1-$TAG" "$1" >"$TMP/$1.result" || { cat "$TMP/$1.result"; return 1; }
	python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["ips"][0]["address"].split("/")[0])' \
		"$TMP/$1.result"
}

assigned() { # addresses ipamd has handed out, one per line (introspection)
	in_node curl -sf http://127.0.0.1:61679/v1/pods |
		python3 -c 'import json,sys; d=json.load(sys.stdin)
for p in d.get("pods", d if isinstance(d, list) else []): print(p.get("ipv4") or p.get("ip") or "")' | sort
}

ip netns add "$NODE" || exit 1
ip -n "$NODE" link set lo up
# The node's own address (this kernel has no dummy links: lo holds it).
ip -n "$NODE" addr add 192.168.77.1/32 dev lo

check "ipamd starts" start_ipamd
check "podfence-ctl health ipamd: healthy (exit 0)" \
	in_node "$BUILD/podfence-ctl" health ipamd --socket "$SOCK"
check "podfence-ctl health ipamd on a dead socket: exit 1" \
	test "$(in_node "$BUILD/podfence-ctl" health ipamd --socket "$TMP/none.sock" 2>/dev/null; echo $?)" = 1
check "podfence-init prepares the node and installs the plugin" \
	in_node "$BUILD/podfence-init" --cni-bin-dir "$BIN" --cni-conf-dir "$CONF" \
	--plugin "$BUILD/podfence-cni" --ipamd-socket "$SOCK" --agent-socket "$AGENT_SOCK" \
	--plugin-log "$TMP/plugin.log" --run-dir "$TMP/run" --log-dir "$TMP/log" --wait-timeout 10
check "ip_forward is on in the node" test "$(in_node sysctl -n net.ipv4.ip_forward)" = 1
check "plugin installed executable" test -x "$BIN/podfence-cni"
check "conflist installed" python3 -c 'import json,sys; json.load(open(sys.argv[1]))' \
	"$CONF/10-podfence.conflist"

declare -A addr
for p in p1 p2 p3 p4; do
	addr[$p]=$(add_pod $p) && pods+=($p)
	nsenter --net=/run/netns/pfpn-$p-$TAG python3 "$PROBE" serve 80 >"$TMP/serve-$p" 2>&1 &
	pids+=($!)
done
check "four pods added" test ${#pods[@]} -eq 4
nsenter --net=/run/netns/$NODE python3 "$PROBE" serve 8080 >"$TMP/serve-node" 2>&1 &
pids+=($!)
sleep 0.5
for a in "${pods[@]}"; do
	for b in "${pods[@]}"; do
		[ "$a" = "$b" ] && continue
		check "$a reaches $b (${addr[$b]}) over TCP" \
			nsenter --net=/run/netns/pfpn-$a-$TAG python3 "$PROBE" probe tcp "${addr[$b]}" 80
	done
	check "$a reaches the node over TCP" \
		nsenter --net=/run/netns/pfpn-$a-$TAG python3 "$PROBE" probe tcp 192.168.77.1 8080
	check "the node reaches $a over TCP" in_node python3 "$PROBE" probe tcp "${addr[$a]}" 80
done
check "four distinct addresses" test "$(printf '%s\n' "${addr[@]}" | sort -u | wc -l)" -eq 4
check "CHECK passes for a plumbed pod" \
	bash -c "python3 -c 'import json,sys; c=json.load(open(sys.argv[1])); p=c[\"plugins\"][0]
p.update(cniVersion=c[\"cniVersion\"], name=c[\"name\"], prevResult=json.load(open(sys.argv[2]))); print(json.dumps(p))' \
	'$CONF/10-podfence.conflist' '$TMP/p1.result' | nsenter --net=/run/netns/$NODE env CNI_COMMAND=CHECK \
	CNI_CONTAINERID=c-p1-$TAG CNI_NETNS=/run/netns/pfpn-p1-$TAG CNI_IFNAME=eth0 CNI_PATH='$BIN' \
	CNI_ARGS='K8S_POD_NAMESPACE=e2e;K8S_POD_NAME=p1' '$BIN/podfence-cni'"

routes_before=$(in_node ip route | wc -l)
check "DEL p4" cni DEL "pfpn-p4-$TAG" "c-p4-$TAG" p4
check "DEL p4 again (idempotent)" cni DEL "pfpn-p4-$TAG" "c-p4-$TAG" p4
check "DEL with an empty CNI_NETNS" cni DEL "" "c-p4-$TAG" p4
check "p4's host route is gone" not bash -c "nsenter --net=/run/netns/$NODE ip route | grep -qw '${addr[p4]}'"
check "one route fewer on the node" test "$(in_node ip route | wc -l)" -eq $((routes_before - 1))
check "p4's address is released" not bash -c "$(declare -f assigned in_node); NODE=$NODE; assigned | grep -qx '${addr[p4]}'"
check "p4 no longer reachable" not in_node python3 "$PROBE" probe tcp "${addr[p4]}" 80 --timeout 0.5

# 50 concurrent ADDs.
for i in $(seq 50); do ip netns add "pfpn-c$i-$TAG"; done
burst=()
wait_burst() { wait "${burst[@]}"; burst=(); }
for i in $(seq 50); do cni ADD "pfpn-c$i-$TAG" "burst-$i-$TAG" "c$i" >"$TMP/burst-$i" 2>&1 & burst+=($!); done
wait_burst
ok=0
for i in $(seq 50); do grep -q '"ips"' "$TMP/burst-$i" && ok=$((ok + 1)); done
check "50 concurrent ADDs all succeed" test "$ok" -eq 50
check "50 concurrent ADDs got 50 distinct addresses" test "$(cat "$TMP"/burst-* |
	grep -o '"address": *"[0-9.]*' | sort -u | wc -l)" -eq 50
for i in $(seq 50); do cni DEL "pfpn-c$i-$TAG" "burst-$i-$TAG" "c$i" >/dev/null & burst+=($!); done
wait_burst
check "after 50 DELs only the 3 pods hold addresses" test "$(assigned | grep -c .)" -eq 3
check "no host veth left from the burst" test "$(in_node ip -o link show type veth | wc -l)" -eq 3

# kill -9 ipamd in the middle of a burst of ADDs, restart, then no duplicates
# and no leaks: every address held belongs to a pod that got a result or that
# can repeat its ADD and get the same address.
for i in $(seq 30); do ip netns add "pfpn-k$i-$TAG" 2>/dev/null; done
for i in $(seq 30); do cni ADD "pfpn-k$i-$TAG" "kill-$i-$TAG" "k$i" >"$TMP/kill-$i" 2>&1 & burst+=($!); done
sleep 0.05
kill -9 "$ipamd_pid"
wait_burst
check "ipamd restarts after kill -9" start_ipamd
for i in $(seq 30); do
	grep -q '"ips"' "$TMP/kill-$i" || cni ADD "pfpn-k$i-$TAG" "kill-$i-$TAG" "k$i" >"$TMP/kill-$i" 2>&1
done
ok=0
for i in $(seq 30); do grep -q '"ips"' "$TMP/kill-$i" && ok=$((ok + 1)); done
check "every ADD of the burst succeeds (retried after the restart)" test "$ok" -eq 30
check "no address handed out twice" test "$(assigned | grep . | sort | uniq -d | wc -l)" -eq 0
check "no leak: 3 pods + 30 burst pods hold addresses" test "$(assigned | grep -c .)" -eq 33
for i in $(seq 30); do cni DEL "pfpn-k$i-$TAG" "kill-$i-$TAG" "k$i" >/dev/null & burst+=($!); done
wait_burst
check "after the DELs only the 3 pods hold addresses" test "$(assigned | grep -c .)" -eq 3

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
