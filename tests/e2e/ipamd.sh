#!/usr/bin/env bash
# podfence-ipamd end to end, in a network namespace of its own: the socket
# API (add, idempotent add, del twice), 50 concurrent adds, exhaustion,
# root-only socket, introspection and metrics on the namespace's loopback,
# kill -9 in the middle of a burst of adds and a restart, a corrupt
# checkpoint, a second daemon on the same state, bad flags, clean shutdown.
set -u
. "$(dirname "$0")/lib/netns.sh"
BUILD=${BUILD:-build}
BIN=$(realpath "$BUILD/podfence-ipamd")
NS=pfipam-$$
TMP=$(mktemp -d /tmp/pfipam.XXXXXX)
SOCK=$TMP/ipamd.sock
pass=0 fail=0
IPAMD_PID=

cleanup() {
	if [ -n "$IPAMD_PID" ]; then
		kill -9 "$IPAMD_PID" 2>/dev/null
		wait "$IPAMD_PID" 2>/dev/null
	fi
	netns_del "$NS"
	chattr -i "$TMP"/state-*/ipam.json 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ok() { pass=$((pass + 1)); echo "ok   $1"; }
bad() { fail=$((fail + 1)); echo "FAIL $1"; }
check() { # description command...
	local what=$1
	shift
	if "$@"; then ok "$what"; else bad "$what"; fi
}
in_ns() { nsenter --net=/run/netns/"$NS" "$@"; }

# POST path json -> prints "CODE BODY"; CODE is 000 when no reply came.
post() {
	local out
	out=$(curl -s --max-time 10 --unix-socket "$SOCK" -o - -w '\n%{http_code}' \
		-H 'Content-Type: application/json' -X POST -d "$2" "http://ipamd$1")
	echo "$(tail -n 1 <<<"$out") $(head -n -1 <<<"$out")"
}
add() { post /v1/add-network "{\"container_id\":\"$1\",\"ifname\":\"${2:-eth0}\",\"netns\":\"/proc/1/ns/net\",\"pod_namespace\":\"e2e\",\"pod_name\":\"pod-$1\"}"; }
del() { post /v1/del-network "{\"container_id\":\"$1\",\"ifname\":\"${2:-eth0}\"}"; }
ipv4_of() { jq -r '.ipv4.address // empty' <<<"${1#* }"; }
get() { in_ns curl -s --max-time 5 "http://127.0.0.1:$1$2"; }

# N adds of containers PREFIX1..PREFIXn, all in flight at once: one curl
# runs them in parallel (N separate curls would trickle in as they spawn).
# Each reply ends up in DIR/PREFIXi as "CODE BODY", like post's output.
burst() { # dir prefix n
	local dir=$1 prefix=$2 n=$3 i id code raw=$1.raw
	mkdir -p "$dir" "$raw"
	for i in $(seq 1 "$n"); do
		id=$prefix$i
		[ "$i" -gt 1 ] && echo next
		cat <<-EOF
			url = "http://ipamd/v1/add-network"
			unix-socket = "$SOCK"
			max-time = 10
			header = "Content-Type: application/json"
			data = "{\\"container_id\\":\\"$id\\",\\"ifname\\":\\"eth0\\",\\"pod_namespace\\":\\"e2e\\",\\"pod_name\\":\\"pod-$id\\"}"
			output = "$raw/$id"
			write-out = "$id %{http_code}\\n"
		EOF
	done >"$raw/curl.cfg"
	curl -s -Z --parallel-immediate --parallel-max "$n" -K "$raw/curl.cfg" \
		>"$raw/codes" 2>/dev/null
	while read -r id code; do
		echo "$code $(cat "$raw/$id" 2>/dev/null)" >"$dir/$id"
	done <"$raw/codes"
}

start_ipamd() { # state-dir pod-cidr [more flags]
	local state=$1 cidr=$2
	shift 2
	# Not through in_ns: a backgrounded function is a subshell, and $!
	# must be ipamd itself (nsenter execs it) for the signals below.
	nsenter --net=/run/netns/"$NS" "$BIN" --pod-cidr "$cidr" --state-dir "$state" \
		--socket "$SOCK" --log-file "$TMP/ipamd.log" "$@" &
	IPAMD_PID=$!
	for _ in $(seq 50); do
		curl -s --max-time 1 --unix-socket "$SOCK" http://ipamd/v1/health >/dev/null 2>&1 &&
			return 0
		kill -0 "$IPAMD_PID" 2>/dev/null || break
		sleep 0.1
	done
	echo "ipamd did not come up; its log:"
	tail -n 5 "$TMP/ipamd.log"
	return 1
}
stop_ipamd() { # signal; sets STOP_RC
	kill "-$1" "$IPAMD_PID"
	wait "$IPAMD_PID"
	STOP_RC=$?
	IPAMD_PID=
}

# Searchable by anyone, so the socket's own mode is what keeps non-root out.
chmod 755 "$TMP"
ip netns add "$NS" || { echo "cannot create netns $NS"; echo "0 passed, 1 failed"; exit 1; }
ip -n "$NS" link set lo up

# --- bad flags: exit 2 and the message names what was wrong
flag_error() { # expected-word args...
	local want=$1 err rc
	shift
	err=$("$BIN" --state-dir "$TMP/never" "$@" 2>&1 >/dev/null)
	rc=$?
	[ "$rc" -eq 2 ] && grep -q -- "$want" <<<"$err" && [ ! -e "$TMP/never" ]
}
check "bad CIDR exits 2 naming --pod-cidr" flag_error --pod-cidr --pod-cidr 10.0.0.0/33
check "IPv6 CIDR in --pod-cidr is refused" flag_error "not an IPv4 CIDR" --pod-cidr fd00::/64
check "missing --pod-cidr exits 2" flag_error "--pod-cidr is required"
check "unknown flag exits 2 naming it" flag_error --bogus --pod-cidr 10.0.0.0/24 --bogus
check "flag without value exits 2 naming it" flag_error --socket --pod-cidr 10.0.0.0/24 --socket
WARM_IP_TARGET=lots check "bad WARM_IP_TARGET exits 2 naming it" \
	flag_error WARM_IP_TARGET --pod-cidr 10.0.0.0/24
NETWORK_POLICY_ENFORCING_MODE=lax check "bad NETWORK_POLICY_ENFORCING_MODE exits 2 naming it" \
	flag_error NETWORK_POLICY_ENFORCING_MODE --pod-cidr 10.0.0.0/24
echo '{"pod-cidr": "10.0.0.0/24", "colour": "blue"}' >"$TMP/bad.json"
check "unknown config key exits 2 naming it" flag_error colour --config "$TMP/bad.json"

# --- the socket API on a /24
start_ipamd "$TMP/state-a" 10.244.1.0/24 --pod-cidr6 fd00:10:244:1::/64 || bad "ipamd starts"
check "socket is mode 0600" test "$(stat -c %a "$SOCK")" = 600
r=$(add c1)
a1=$(ipv4_of "$r")
check "add gives 200 with a /32 from the pod CIDR" \
	bash -c "[[ '${r%% *}' == 200 && '$a1' == 10.244.1.*/32 ]]"
check "add reply has IPv6, routes and the policy mode" \
	test "$(jq -r '[.ipv6.address, .ipv4.gateway, .ipv6.gateway, (.routes|length), .network_policy_mode]|join(" ")' <<<"${r#* }")" \
	= "fd00:10:244:1::2/128 169.254.1.1 fe80::1 2 standard"
check "add again (same container, ifname) gives the same address" test "$(ipv4_of "$(add c1)")" = "$a1"
check "another ifname of the container gets another address" \
	bash -c "[[ '$(ipv4_of "$(add c1 net1)")' != '$a1' ]]"
r=$(del c1)
check "del releases the address" test "$r" = "200 {\"released\":true,\"ipv4\":\"${a1%/32}\",\"ipv6\":\"fd00:10:244:1::2\"}"
check "del again is idempotent" test "$(del c1)" = '200 {"released":false}'
check "missing field is a 400 naming it" \
	test "$(post /v1/add-network '{"container_id":"x"}')" = '400 {"error":"\"ifname\" is required"}'
check "bad JSON is a 400" bash -c "[[ '$(post /v1/add-network 'nope' | cut -c1-3)' == 400 ]]"
check "health answers with the free count" \
	test "$(curl -s --unix-socket "$SOCK" http://ipamd/v1/health)" = '{"status":"ok","pool_free":252}'

# --- a non-root client cannot connect
out=$(setpriv --reuid=65534 --regid=65534 --clear-groups \
	curl -s --max-time 5 --unix-socket "$SOCK" -o /dev/null -w '%{http_code}' \
	-X POST -d '{"container_id":"intruder","ifname":"eth0"}' http://ipamd/v1/add-network)
rc=$?
check "non-root request is refused at connect (curl exit 7)" \
	bash -c "[ $rc -eq 7 ] && [ '$out' = 000 ]"

# --- 50 concurrent adds
burst "$TMP/burst50" par 50
codes=$(cut -d' ' -f1 "$TMP"/burst50/* | sort | uniq -c | tr -s ' ')
addrs=$(cut -d' ' -f2- "$TMP"/burst50/* | jq -r .ipv4.address | sort -u | wc -l)
check "50 concurrent adds all get 200 ($codes)" test "$codes" = " 50 200"
check "50 concurrent adds get 50 distinct addresses" test "$addrs" -eq 50

# --- introspection and metrics on 127.0.0.1 in the namespace
check "/v1/pods lists the 51 assignments" test "$(get 61679 /v1/pods | jq .count)" -eq 51
check "/v1/pods has the pod's name and address" \
	test "$(get 61679 /v1/pods | jq -r '.pods[] | select(.container_id=="par7") | .pod_name')" = pod-par7
check "/v1/enis shows both pools" \
	test "$(get 61679 /v1/enis | jq -r '[.pools[] | "\(.name) \(.assigned)"] | join(",")')" \
	= "10.244.1.0/24 51,fd00:10:244:1::/64 51"
check "/v1/eni-configs is an honest empty list" \
	test "$(get 61679 /v1/eni-configs | jq -c .eni_configs)" = "[]"
check "/v1/ipamd-env-settings shows where settings came from" \
	test "$(get 61679 /v1/ipamd-env-settings | jq -r '.settings["pod-cidr"].from')" = --pod-cidr
check "/v1/networkutils-env-settings names the gateway" \
	test "$(get 61679 /v1/networkutils-env-settings | jq -r .pod_gateway_ipv4)" = 169.254.1.1
check "/healthz answers ok" test "$(get 61679 /healthz | jq -r .status)" = ok
check "introspection is read-only" \
	test "$(in_ns curl -s -o /dev/null -w '%{http_code}' -X POST http://127.0.0.1:61679/v1/pods)" = 405
metrics=$(get 61678 /metrics)
check "metrics: assigned gauge" grep -qx 'podfence_ipamd_pool_assigned{family="ipv4"} 51' <<<"$metrics"
check "metrics: pool size gauge" grep -qx 'podfence_ipamd_pool_size{family="ipv4"} 253' <<<"$metrics"
check "metrics: add counter" grep -qx 'podfence_ipamd_add_network_total{result="assigned"} 52' <<<"$metrics"
check "metrics: add latency histogram" grep -q '^podfence_ipamd_add_network_seconds_count 5[0-9]$' <<<"$metrics"
check "metrics: errors by kind" grep -qx 'podfence_ipamd_errors_total{kind="bad_request"} 2' <<<"$metrics"

# --- a second daemon on the same state directory is refused
in_ns "$BIN" --pod-cidr 10.244.1.0/24 --state-dir "$TMP/state-a" --socket "$TMP/other.sock" \
	--introspection-bind 127.0.0.1:61680 --metrics-bind 127.0.0.1:61681 \
	--log-file "$TMP/second.log"
check "second daemon on the same --state-dir exits 1" test $? -eq 1
check "... and says why" grep -q "another podfence-ipamd uses this --state-dir" "$TMP/second.log"

# --- SIGTERM: clean exit, socket removed
stop_ipamd TERM
check "SIGTERM exits 0" test "$STOP_RC" -eq 0
check "SIGTERM removes the socket" test ! -e "$SOCK"

# --- a restart keeps every assignment
start_ipamd "$TMP/state-a" 10.244.1.0/24 --pod-cidr6 fd00:10:244:1::/64 || bad "ipamd restarts"
check "restart keeps all 51 assignments" test "$(get 61679 /v1/pods | jq .count)" -eq 51

# --- a checkpoint that cannot be saved: nothing is answered that the disk
# does not hold (an immutable file makes the rename fail)
if chattr +i "$TMP/state-a/ipam.json" 2>/dev/null; then
	r=$(add unsaved)
	check "add whose save fails is a 500" \
		bash -c "[[ '${r%% *}' == 500 && '$r' == *'nothing assigned'* ]]"
	check "... and assigns nothing" test "$(get 61679 /v1/pods | jq .count)" -eq 51
	r=$(del par1)
	check "del whose save fails is a 500 and keeps the address" \
		bash -c "[[ '${r%% *}' == 500 && '$(get 61679 /v1/pods | jq '[.pods[] | select(.container_id=="par1")] | length')' == 1 ]]"
	chattr -i "$TMP/state-a/ipam.json"
	r=$(del par1)
	check "once the disk takes it, the del goes through" \
		test "${r%% *} $(jq -r .released <<<"${r#* }") $(get 61679 /v1/pods | jq .count)" = "200 true 50"
else
	echo "     (skipping the failed-save checks: chattr +i does not work here)"
fi
stop_ipamd INT
check "SIGINT exits 0" test "$STOP_RC" -eq 0

# --- exhaustion on a /29 (5 usable addresses)
start_ipamd "$TMP/state-b" 10.9.9.0/29 || bad "ipamd starts on a /29"
for i in 1 2 3 4 5; do add "ex$i" >/dev/null; done
r=$(add ex6)
check "sixth add on a /29 is a 503" test "${r%% *}" = 503
check "... naming the pool" grep -q '10.9.9.0/29 has no free address (5 of 5 assigned)' <<<"$r"
del ex3 >/dev/null
check "after a del the pool has room again" test "$(ipv4_of "$(add ex6)")" = 10.9.9.4/32
stop_ipamd TERM

# --- kill -9 in the middle of a burst of 30 adds, then restart
start_ipamd "$TMP/state-c" 10.7.0.0/24 || bad "ipamd starts for the crash test"
burst "$TMP/burst30" crash 30 &
BURST_PID=$!
# Kill once a few adds are on disk, while the rest are in flight.
for _ in $(seq 500); do
	[ "$(grep -c '"container_id"' "$TMP/state-c/ipam.json" 2>/dev/null)" -ge 3 ] && break
	sleep 0.002
done
kill -9 "$IPAMD_PID"
wait "$IPAMD_PID" 2>/dev/null # no "Killed" notice
IPAMD_PID=
wait "$BURST_PID"
replied=$(grep -l '^200 ' "$TMP"/burst30/* | wc -l)
echo "     $replied of 30 adds were answered before the kill"
start_ipamd "$TMP/state-c" 10.7.0.0/24 || bad "ipamd restarts after kill -9"
pods=$(get 61679 /v1/pods)
kept=$(jq .count <<<"$pods")
declare -A held # container id -> address the restarted ipamd holds
while read -r id addr; do held[$id]=$addr; done < <(jq -r '.pods[] | "\(.container_id) \(.ipv4)"' <<<"$pods")
lost=0
while read -r f addr; do
	id=${f##*/}
	[ "${addr%/32}" = "${held[$id]:-}" ] ||
		{ lost=$((lost + 1)); echo "     $id: replied $addr, after restart '${held[$id]:-}'"; }
done < <(grep -H '^200 ' "$TMP"/burst30/* | sed 's/:200 / /' |
	while read -r f body; do echo "$f $(jq -r .ipv4.address <<<"$body")"; done)
check "every answered add survives kill -9 with its address" test "$lost" -eq 0
check "no address twice after the restart" \
	test "$(jq -r '.pods[].ipv4' <<<"$pods" | sort | uniq -d | wc -l)" -eq 0
echo "     $kept assignments after the restart: $((kept - replied)) unanswered adds were kept"
check "assigned after the restart >= answered, all from the burst" \
	test "$kept" -ge "$replied" -a \
	"$(jq -r '.pods[].container_id' <<<"$pods" | grep -cvxE 'crash([1-9]|[12][0-9]|30)')" -eq 0
# An unanswered add that was kept is found again by retrying it: the retry
# returns the kept address. Either way every container ends with one.
mismatch=0
for i in $(seq 1 30); do
	id=crash$i
	grep -q '^200 ' "$TMP/burst30/$id" && continue
	got=$(ipv4_of "$(add "$id")")
	if [ -z "$got" ] || { [ -n "${held[$id]:-}" ] && [ "${got%/32}" != "${held[$id]}" ]; }; then
		mismatch=$((mismatch + 1))
		echo "     $id: kept '${held[$id]:-}', retry gave '$got'"
	fi
done
check "retried unanswered adds get their kept address back" test "$mismatch" -eq 0
pods=$(get 61679 /v1/pods)
check "30 containers, 30 distinct addresses after the retries" \
	test "$(jq -r '.pods[].ipv4' <<<"$pods" | sort -u | wc -l) $(jq .count <<<"$pods")" = "30 30"
for i in $(seq 1 30); do del "crash$i" >/dev/null; done
check "no leak: after deleting all, the whole pool is free" \
	test "$(curl -s --unix-socket "$SOCK" http://ipamd/v1/health)" = '{"status":"ok","pool_free":253}'
stop_ipamd TERM

# --- a corrupt checkpoint stops the start instead of risking duplicates
mkdir -p "$TMP/state-d"
echo '{"version": 1, "assignments": [{"container_id": "a", "ifn' >"$TMP/state-d/ipam.json"
in_ns "$BIN" --pod-cidr 10.6.0.0/24 --state-dir "$TMP/state-d" --socket "$SOCK" \
	--log-file "$TMP/ipamd.log"
check "corrupt checkpoint: exit 1" test $? -eq 1
check "... with a clear error" grep -q 'ipam.json is corrupt: not valid JSON' "$TMP/ipamd.log"
check "... and no socket" test ! -e "$SOCK"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
