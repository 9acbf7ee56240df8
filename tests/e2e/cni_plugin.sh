#!/usr/bin/env bash
# podfence-cni end to end, inside a "node" network namespace of its own:
# pods plumbed by the real plugin reach each other and the node over TCP
# (IPv4 and IPv6); every command answers in its spec version's JSON; DEL is
# idempotent, also with no netns and no prevResult; a failed ADD (strict mode
# without the agent, the agent refusing, a plumbing failure, an exhausted
# pool) leaves no veth, route or assignment; bad input gets the spec's error.
#
# podfence-ipamd and podfence-agent are stood in for by the test fixture
# tests/e2e/fixtures/cni_daemons.py, which serves the socket contracts of
# docs/cni.md; the integration tests run the real daemons instead.
set -u
BUILD=${BUILD:-build}
PLUGIN=$(realpath "$BUILD/podfence-cni")
HERE=$(cd "$(dirname "$0")" && pwd)
DAEMONS=$HERE/fixtures/cni_daemons.py
J=$HERE/fixtures/cni_json.py
# Debian's python3 (scripts/debian-packages.txt): a pyenv shim would cost a
# second per start on a busy machine.
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
NODE=pfcni-$$
TMP=$(mktemp -d "/tmp/pfcni-$$.XXXXXX")
LOG=$TMP/plugin.log
passed=0 failed=0 log_mismatches=0
PIDS=()

cleanup() {
	local ns
	for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null; done
	wait 2>/dev/null
	for ns in $(ip netns list | awk '{print $1}' | grep -E "^$NODE(-|$)"); do
		ip netns del "$ns"
	done
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

pass() { echo "ok   $1"; passed=$((passed + 1)); }
fail() { echo "FAIL $1"; [ -n "${2:-}" ] && echo "     $2"; failed=$((failed + 1)); }
# expect DESCRIPTION COMMAND...: passes when COMMAND succeeds; its output says why not.
expect() {
	local desc=$1 why
	shift
	if why=$("$@" 2>&1); then pass "$desc"; else fail "$desc" "$why"; fi
}

not() { ! "$@"; }

# ---- fixtures ----

# daemon NAME ipamd|agent ARGS...: a fixture on $TMP/NAME.sock, requests in $TMP/NAME.jsonl
daemon() {
	local name=$1 kind=$2
	shift 2
	"$PY" "$DAEMONS" "$kind" --socket "$TMP/$name.sock" --record "$TMP/$name.jsonl" "$@" &
	PIDS+=($!)
	for _ in $(seq 50); do [ -S "$TMP/$name.sock" ] && return 0; sleep 0.1; done
	echo "fixture $name did not start" >&2
	exit 1
}

# recorded NAME PATH CONTAINER: the fixture NAME got PATH for CONTAINER
recorded() {
	[ -f "$TMP/$1.jsonl" ] && grep -F "\"path\": \"$2\"" "$TMP/$1.jsonl" |
		grep -qF "\"container_id\": \"$3\""
}

# assigned NAME CONTAINER: the IPv4 address fixture NAME handed CONTAINER
assigned() {
	grep -F '"path": "/v1/add-network"' "$TMP/$1.jsonl" | grep -F "\"container_id\": \"$2\"" |
		tail -n 1 | "$PY" "$J" get 'd["reply"]["ipv4"]["address"].split("/")[0]'
}

# conf VERSION [IPAMD [AGENT [EXTRA]]]: a network configuration; EXTRA is ',"key":value...'
conf() {
	printf '{"cniVersion":"%s","name":"podfence","type":"podfence-cni","ipamdSocket":"%s","agentSocket":"%s","logFile":"%s"%s}' \
		"$1" "$TMP/${2:-ipamd}.sock" "$TMP/${3:-agent}.sock" "$LOG" "${4:-}"
}

pod() { ip netns add "$NODE-$1" && ip -n "$NODE-$1" link set lo up; }

# cni COMMAND CONTAINER POD IFNAME CONF [LOGGED]: runs the plugin in the node
# namespace for pod POD (netns $NODE-POD; `NETNS= cni ...` gives an empty
# CNI_NETNS). Sets OUT and RC. LOGGED (1 or 0) is how many lines the call
# must add to $LOG. RUNAS, when set, is a command prefix (another user).
cni() {
	local netns=${NETNS-/run/netns/$NODE-$3} before after
	[ -n "$3" ] || netns=""
	before=$(cat "$LOG" 2>/dev/null | wc -l)
	OUT=$(printf '%s' "$5" | nsenter --net="/run/netns/$NODE" env -i PATH="$PATH" \
		CNI_COMMAND="$1" CNI_CONTAINERID="$2" CNI_NETNS="$netns" CNI_IFNAME="$4" \
		CNI_ARGS="IgnoreUnknown=1;K8S_POD_NAMESPACE=x;K8S_POD_NAME=${3:-$2}" \
		CNI_PATH=/opt/cni/bin ${RUNAS:-} "$PLUGIN" 2>"$TMP/stderr")
	RC=$?
	after=$(cat "$LOG" 2>/dev/null | wc -l)
	if [ $((after - before)) -ne "${6:-1}" ]; then
		log_mismatches=$((log_mismatches + 1))
		echo "     $1 $2 added $((after - before)) log lines, want ${6:-1}"
	fi
}

ok_result() { # VERSION POD
	[ "$RC" -eq 0 ] || { echo "exit $RC: $OUT"; return 1; }
	printf '%s' "$OUT" | "$PY" "$J" result "$1" "/run/netns/$NODE-$2" eth0
}
ok_silent() {
	[ "$RC" -eq 0 ] && [ -z "$OUT" ] || { echo "exit $RC: $OUT"; return 1; }
}
is_error() { # CODE TEXT
	[ "$RC" -ne 0 ] || { echo "exit 0: $OUT"; return 1; }
	printf '%s' "$OUT" | "$PY" "$J" error "$1" "$2"
}
get() { printf '%s' "$1" | "$PY" "$J" get "$2"; }

# ---- node state ----

has() { # DESCRIPTION-LESS: COMMAND... | grep -q PATTERN, with the output on failure
	local pattern=$1 out
	shift
	out=$("$@" 2>&1)
	printf '%s' "$out" | grep -qE -- "$pattern" || { echo "'$*' lacks /$pattern/: $out"; return 1; }
}
no_veth() { ! ip -n "$NODE" link show "$1" >/dev/null 2>&1 || { echo "veth $1 is still there"; return 1; }; }
no_route() { [ -z "$(ip -n "$NODE" route show "$1")" ] || { echo "route to $1 is still there"; return 1; }; }
no_pod_if() { ! ip -n "$NODE-$1" link show eth0 >/dev/null 2>&1 || { echo "eth0 is still in pod $1"; return 1; }; }
leftover_free() {
	local left
	left=$(ip -n "$NODE" -o link show | grep -E ': pf[0-9a-f]{11}' ; ip -n "$NODE" route show | grep ' dev pf')
	[ -z "$left" ] || { echo "left on the node: $left"; return 1; }
}

# ---- TCP ----

# serve NETNS NAME: a server on port 8080 (IPv4 and IPv6) that answers NAME
serve() {
	nsenter --net="/run/netns/$1" "$PY" -c '
import socket, sys
s = socket.socket(socket.AF_INET6)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
s.bind(("::", 8080))
s.listen(8)
while True:
    c, _ = s.accept()
    c.sendall(sys.argv[1].encode())
    c.close()
' "$2" &
	PIDS+=($!)
}

# reaches FROM_POD ADDR NAME: a TCP connection from the pod gets NAME back
reaches() {
	nsenter --net="/run/netns/$NODE-$1" "$PY" -c '
import socket, sys, time
deadline = time.time() + 5
while True:
    try:
        s = socket.create_connection((sys.argv[1], 8080), timeout=2)
        break
    except ConnectionRefusedError:  # the server may still be starting
        if time.time() > deadline:
            raise
        time.sleep(0.05)
got = s.recv(64).decode()
if got != sys.argv[2]:
    sys.exit("answered %r, want %r" % (got, sys.argv[2]))
' "$2" "$3"
}

# ---- the node ----

ip netns add "$NODE" || exit 1
ip -n "$NODE" link set lo up
ip -n "$NODE" addr add 10.99.0.1/32 dev lo
# The node routes between pods: the sysctls podfence-init sets on a node.
nsenter --net="/run/netns/$NODE" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 || exit 1

echo "# VERSION and STATUS"
cni VERSION "" "" "" '{"cniVersion":"1.0.0"}' 0
expect "VERSION lists every supported version in the asked version" \
	test "$(get "$OUT" '(d["cniVersion"], d["supportedVersions"])')" = \
	"('1.0.0', ['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'])"
cni STATUS "" "" "" "$(conf 1.1.0)"
expect "STATUS without ipamd: code 50" is_error 50 "podfence-ipamd is not reachable"
daemon ipamd ipamd --pool 10.244.1.0/24 --pool6 fd00:10:244:1::/120
cni STATUS "" "" "" "$(conf 1.1.0)"
expect "STATUS with ipamd healthy: success, no output" ok_silent
daemon ipamd-starting ipamd --health starting
cni STATUS "" "" "" "$(conf 1.1.0 ipamd-starting)"
expect "STATUS with ipamd not healthy: code 50" is_error 50 "ipamd is starting"
cni STATUS "" "" "" "$(conf 1.0.0)"
expect "STATUS with cniVersion 1.0.0: code 1" is_error 1 "does not have the STATUS command"
chmod 0711 "$TMP" # others may pass through, so the sockets' own 0600 is what stops them
RUNAS="setpriv --reuid=65534 --regid=65534 --clear-groups" cni STATUS "" "" "" "$(conf 1.1.0)" 0
expect "a non-root caller is refused by the 0600 socket" is_error 50 "Permission denied"
expect "... and a log file it cannot open goes to stderr" has "cannot open log file $LOG" cat "$TMP/stderr"

echo "# ADD in every version"
declare -A VER=([a]=1.0.0 [b]=0.4.0 [c]=1.1.0 [d]=0.3.1) RES V4 V6 VETH
for p in a b c d; do
	pod "$p"
	cni ADD "ctr-$p" "$p" eth0 "$(conf "${VER[$p]}")"
	RES[$p]=$OUT
	expect "ADD pod $p: a ${VER[$p]} result" ok_result "${VER[$p]}" "$p"
	V4[$p]=$(get "$OUT" '[i["address"] for i in d["ips"] if ":" not in i["address"]][0].split("/")[0]')
	V6[$p]=$(get "$OUT" '[i["address"] for i in d["ips"] if ":" in i["address"]][0].split("/")[0]')
	VETH[$p]=$(get "$OUT" 'd["interfaces"][0]["name"]')
done
expect "host veth is pf + sha1(namespace.name)[:11]" \
	test "${VETH[a]}" = "$("$PY" "$J" vethname pf x a)"
MAC_A=$(get "${RES[a]}" 'd["interfaces"][0]["mac"]')
expect "host veth is up with MTU 1500" has "mtu 1500 .*state UP" ip -n "$NODE" link show "${VETH[a]}"
expect "host veth carries its owner tag" has "alias podfence:ctr-a/eth0" ip -n "$NODE" link show "${VETH[a]}"
expect "node: /32 route to the pod over its veth" has "^${V4[a]} dev ${VETH[a]} .*scope link" \
	ip -n "$NODE" route show "${V4[a]}"
expect "node: /128 route to the pod over its veth" has "^${V6[a]} dev ${VETH[a]}" \
	ip -n "$NODE" -6 route show "${V6[a]}"
expect "pod: address /32 on eth0" has "inet ${V4[a]}/32 " ip -n "$NODE-a" addr show eth0
expect "pod: address /128 on eth0" has "inet6 ${V6[a]}/128 " ip -n "$NODE-a" addr show eth0
expect "pod: 169.254.1.1 on the link" has "169.254.1.1 dev eth0 .*scope link" ip -n "$NODE-a" route show 169.254.1.1
expect "pod: default route via 169.254.1.1" has "default via 169.254.1.1 dev eth0" ip -n "$NODE-a" route show default
expect "pod: IPv6 default route via fe80::1" has "default via fe80::1 dev eth0" ip -n "$NODE-a" -6 route show default
expect "pod: 169.254.1.1 is the host veth's MAC, permanent" has "lladdr $MAC_A PERMANENT" \
	ip -n "$NODE-a" neigh show 169.254.1.1
expect "pod: fe80::1 is the host veth's MAC, permanent" has "lladdr $MAC_A PERMANENT" \
	ip -n "$NODE-a" -6 neigh show fe80::1
expect "ipamd got the pod's identity" recorded ipamd /v1/add-network ctr-a

echo "# TCP between pods and to the node"
for p in a b c d; do serve "$NODE-$p" "pod-$p"; done
serve "$NODE" node
expect "pod a -> pod b over IPv4" reaches a "${V4[b]}" pod-b
expect "pod b -> pod a over IPv4" reaches b "${V4[a]}" pod-a
expect "pod c -> pod d over IPv4" reaches c "${V4[d]}" pod-d
expect "pod d -> pod c over IPv4" reaches d "${V4[c]}" pod-c
expect "pod a -> pod c over IPv6" reaches a "${V6[c]}" pod-c
expect "pod d -> pod b over IPv6" reaches d "${V6[b]}" pod-b
expect "pod b -> the node (10.99.0.1)" reaches b 10.99.0.1 node

echo "# CHECK"
cni CHECK ctr-a a eth0 "$(conf 1.0.0 ipamd agent ",\"prevResult\":${RES[a]}")"
expect "CHECK of an intact pod: success, no output" ok_silent
cni CHECK ctr-c c eth0 "$(conf 1.1.0 ipamd agent ",\"prevResult\":${RES[c]}")"
expect "CHECK 1.1.0 (with MTU): success" ok_silent
CHAINED=$(get "${RES[a]}" 'json.dumps(dict(d, interfaces=d["interfaces"] + [{"name": "bwp0"}], routes=d["routes"] + [{"dst": "10.9.0.0/16"}]))')
cni CHECK ctr-a a eth0 "$(conf 1.0.0 ipamd agent ",\"prevResult\":$CHAINED")"
expect "CHECK ignores what a later plugin of the chain added" ok_silent
cni CHECK ctr-d d eth0 "$(conf 0.3.1 ipamd agent ",\"prevResult\":${RES[d]}")"
expect "CHECK with cniVersion 0.3.1: code 1" is_error 1 "does not have the CHECK command"
cni CHECK ctr-a a eth0 "$(conf 1.0.0)"
expect "CHECK without prevResult: code 7" is_error 7 '"prevResult" is required for CHECK'
ip -n "$NODE-a" route del default
cni CHECK ctr-a a eth0 "$(conf 1.0.0 ipamd agent ",\"prevResult\":${RES[a]}")"
expect "CHECK names a missing route" is_error 101 "route 0.0.0.0/0 via 169.254.1.1 dev eth0 is missing"
ip -n "$NODE-a" route add default via 169.254.1.1 dev eth0

echo "# DEL"
cni DEL ctr-b b eth0 "$(conf 0.4.0 ipamd agent ",\"prevResult\":${RES[b]}")"
expect "DEL with prevResult: success, no output" ok_silent
expect "DEL removed the host veth" no_veth "${VETH[b]}"
expect "DEL removed the route" no_route "${V4[b]}"
expect "DEL removed the pod's eth0" no_pod_if b
expect "DEL released the address" recorded ipamd /v1/del-network ctr-b
cni DEL ctr-b b eth0 "$(conf 0.4.0 ipamd agent ",\"prevResult\":${RES[b]}")"
expect "DEL again: success" ok_silent
NETNS= cni DEL ctr-c c eth0 "$(conf 1.1.0)"
expect "DEL with empty CNI_NETNS and no prevResult: success" ok_silent
expect "... and the host veth found by name is gone" no_veth "${VETH[c]}"
expect "... and its route" no_route "${V4[c]}"
expect "... and the address is released" recorded ipamd /v1/del-network ctr-c
cni DEL ctr-never "" eth0 "$(conf 1.0.0)"
expect "DEL of a container never added: success" ok_silent
pod b2
cni ADD ctr-b2 b eth0 "$(conf 1.0.0)" # a new sandbox of pod b: same host veth name
cni DEL ctr-b b eth0 "$(conf 1.0.0)"  # a late DEL of the old sandbox
expect "a late DEL of an old sandbox leaves the new sandbox's veth" \
	has "alias podfence:ctr-b2/eth0" ip -n "$NODE" link show "${VETH[b]}"
cni DEL ctr-b2 b eth0 "$(conf 1.0.0)"
expect "... which its own DEL removes" no_veth "${VETH[b]}"
pod u
cni ADD ctr-u u eth0 "$(conf 1.0.0)"
VETH[u]=$(get "$OUT" 'd["interfaces"][0]["name"]')
cni DEL ctr-u u eth0 "$(conf 1.0.0 ipamd-gone)"
expect "DEL with ipamd unreachable: code 11, so the runtime retries" \
	is_error 11 "podfence-ipamd is not reachable"
expect "... the host veth is removed all the same" no_veth "${VETH[u]}"
cni DEL ctr-u u eth0 "$(conf 1.0.0)"
expect "... and the retried DEL succeeds" ok_silent
expect "... and releases the address" recorded ipamd /v1/del-network ctr-u

echo "# bad input"
cni ADD ctr-m m eth0 '{"cniVersion":"1.0.0","name":' 0
expect "malformed JSON on stdin: code 6" is_error 6 "not valid JSON"
expect "... logged to stderr" has '"code":6' cat "$TMP/stderr"
cni ADD ctr-nope nope eth0 "$(conf 1.0.0)"
expect "netns that does not exist: code 3 naming it" is_error 3 "/run/netns/$NODE-nope does not exist"
expect "... before ipamd was asked" not recorded ipamd /v1/add-network ctr-nope
cni ADD ctr-long a eth0123456789abc "$(conf 1.0.0)"
expect "ifname longer than 15: code 4 naming it" is_error 4 'CNI_IFNAME "eth0123456789abc" is longer than 15'
cni ADD ctr-v a eth0 "$(conf 0.2.0)"
expect "unknown cniVersion: code 1" is_error 1 'cniVersion "0.2.0" is not supported'
cni ADD ctr-t a eth0 "$(conf 1.0.0 ipamd agent ',"mtu":"big"')"
expect "mtu of the wrong type: code 7 naming it" is_error 7 '"mtu" must be an integer'
cni ADD "" a eth0 "$(conf 1.0.0)"
expect "no CNI_CONTAINERID: code 4 naming it" is_error 4 "CNI_CONTAINERID is not set"

echo "# failed ADDs leave nothing behind"
pod e
ip -n "$NODE-e" link add eth0 type veth peer name taken0
cni ADD ctr-e e eth0 "$(conf 1.0.0)"
expect "plumbing failure (eth0 taken): code 101" is_error 101 "an interface named eth0 already exists"
expect "... no host veth" no_veth "$("$PY" "$J" vethname pf x e)"
expect "... no route" no_route "$(assigned ipamd ctr-e)"
expect "... the address was released" recorded ipamd /v1/del-network ctr-e
ip -n "$NODE-e" link del eth0

daemon strict ipamd --mode strict --pool 10.244.3.0/24
pod g
cni ADD ctr-g g eth0 "$(conf 1.0.0 strict)"
expect "strict mode, agent down: code 102" is_error 102 "podfence-agent is not reachable"
expect "... no host veth" no_veth "$("$PY" "$J" vethname pf x g)"
expect "... no route" no_route "$(assigned strict ctr-g)"
expect "... no eth0 in the pod" no_pod_if g
expect "... the address was released" recorded strict /v1/del-network ctr-g
daemon agent-504 agent --fail
cni ADD ctr-g g eth0 "$(conf 1.0.0 strict agent-504)"
expect "strict mode, agent answers 504: code 102" is_error 102 "HTTP 504"
expect "... no host veth" no_veth "$("$PY" "$J" vethname pf x g)"
expect "... no eth0 in the pod" no_pod_if g
daemon agent agent
cni ADD ctr-g g eth0 "$(conf 1.0.0 strict)"
expect "strict mode, agent enforces: success" ok_result 1.0.0 g
VETH[g]=$(get "$OUT" 'd["interfaces"][0]["name"]')
expect "... the agent was asked with the host veth" \
	has "\"host_veth\": \"${VETH[g]}\", \"ipv4\": \"$(assigned strict ctr-g)\"" cat "$TMP/agent.jsonl"
serve "$NODE-g" pod-g
expect "... and the pod is reachable" reaches a "$(assigned strict ctr-g)" pod-g

daemon small ipamd --pool 10.244.2.0/30
for p in f1 f2 f3; do pod "$p"; cni ADD "ctr-$p" "$p" eth0 "$(conf 1.0.0 small)"; done
expect "pool exhausted: code 11 (try again later)" is_error 11 "address pool exhausted"
expect "... no host veth" no_veth "$("$PY" "$J" vethname pf x f3)"
expect "... no eth0 in the pod" no_pod_if f3
for p in f1 f2; do cni DEL "ctr-$p" "$p" eth0 "$(conf 1.0.0 small)"; done

echo "# GC"
pod h
cni ADD ctr-h h eth0 "$(conf 1.1.0)"
ip netns del "$NODE-h" # the sandbox died without a DEL
cni GC "" "" "" "$(conf 1.1.0 ipamd agent ',"cni.dev/valid-attachments":[{"containerID":"ctr-a","ifname":"eth0"},{"containerID":"ctr-d","ifname":"eth0"}]')"
expect "GC: success, no output" ok_silent
expect "GC released the stale attachment" recorded ipamd /v1/del-network ctr-h
expect "GC kept the valid ones" not recorded ipamd /v1/del-network ctr-a
expect "... both of them" not recorded ipamd /v1/del-network ctr-d
cni GC "" "" "" "$(conf 1.1.0)"
expect "GC without valid-attachments: code 7" is_error 7 "cni.dev/valid-attachments"

echo "# concurrent calls"
# ADDs run concurrently for different pods (the spec allows it): each gets
# its own veth and address, and concurrent DELs leave nothing.
burst() { # COMMAND: the command for pods p1..p10 at once; exit codes in $TMP/burst.*
	local i pids=()
	for i in $(seq 10); do
		(printf '%s' "$(conf 1.0.0)" | nsenter --net="/run/netns/$NODE" env -i PATH="$PATH" \
			CNI_COMMAND="$1" CNI_CONTAINERID="ctr-p$i" CNI_NETNS="/run/netns/$NODE-p$i" \
			CNI_IFNAME=eth0 CNI_ARGS="K8S_POD_NAMESPACE=x;K8S_POD_NAME=p$i" "$PLUGIN" \
			>"$TMP/burst.$i.out" 2>/dev/null
		 echo $? >"$TMP/burst.$i.rc") &
		pids+=($!)
	done
	wait "${pids[@]}" # not a bare wait: the fixtures and servers run on
}
burst_ok() {
	local i
	for i in $(seq 10); do
		[ "$(cat "$TMP/burst.$i.rc")" = 0 ] || { echo "pod p$i: $(cat "$TMP/burst.$i.out")"; return 1; }
	done
}
for i in $(seq 10); do pod "p$i"; done
burst ADD
expect "10 concurrent ADDs succeed" burst_ok
expect "... with 10 distinct veths on the node" \
	test "$(ip -n "$NODE" -o link show | grep -c 'alias podfence:ctr-p')" -eq 10
expect "... and 10 distinct addresses" test "$(cat "$TMP"/burst.*.out | "$PY" -c '
import json, sys
print(len({json.loads(l)["ips"][0]["address"] for l in sys.stdin}))')" -eq 10
serve "$NODE-p10" pod-p10
expect "pod p1 -> pod p10 over IPv4" \
	reaches p1 "$(get "$(cat "$TMP/burst.10.out")" 'd["ips"][0]["address"].split("/")[0]')" pod-p10
burst DEL
expect "10 concurrent DELs succeed" burst_ok

echo "# teardown"
for p in a d; do cni DEL "ctr-$p" "$p" eth0 "$(conf "${VER[$p]}" ipamd agent ",\"prevResult\":${RES[$p]}")"; done
cni DEL ctr-g g eth0 "$(conf 1.0.0 strict)"
expect "after every DEL nothing is left on the node" leftover_free

echo "# plugin log"
expect "every call logged exactly one line" test "$log_mismatches" -eq 0
expect "every line is a complete JSON call record" "$PY" "$J" log "$LOG"
expect "the ADD line names container, pod, result and duration" has \
	'"command":"ADD","container_id":"ctr-a","ifname":"eth0","netns":"[^"]+","pod_namespace":"x","pod_name":"a","result":"ok","duration_ms":[0-9.]+' \
	cat "$LOG"
expect "a failed ADD logs its code and the rollback" has \
	'"container_id":"ctr-g".*"result":"error","code":102,.*"rolled_back":true' cat "$LOG"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
