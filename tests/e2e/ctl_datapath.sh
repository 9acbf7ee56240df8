#!/usr/bin/env bash
# podfence-ctl end to end: load, attach, bind and apply a policy set on a veth
# in a network namespace of our own, read it all back through the ebpf
# inspection commands (table and JSON), check that bad policy files are
# refused by name and change nothing, then detach and unload.
set -u
. "$(dirname "$0")/lib/netns.sh"
BUILD=${BUILD:-build}
CTL=$(realpath "$BUILD/podfence-ctl")
NS=pfctl-$$
ROOT=/sys/fs/bpf/podfence-e2e-ctl-$$
TMP=$(mktemp -d)
passed=0 failed=0

cleanup() {
	# The veth and its TC filters go with the namespace; pins are files.
	netns_del "$NS"
	rm -rf "$ROOT" "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ctl() {
	nsenter --net="/run/netns/$NS" "$CTL" --pin-root "$ROOT" "$@"
}

# check NAME COMMAND...: one test; its output is kept in $TMP/last.
check() {
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

# runs EXPECTED_RC PATTERN ARGS...: ctl ARGS exits with EXPECTED_RC and its
# stdout+stderr match the extended regex PATTERN (on one line).
runs() {
	local want=$1 pattern=$2 rc
	shift 2
	ctl "$@" >"$TMP/out" 2>&1
	rc=$?
	cat "$TMP/out"
	[ "$rc" -eq "$want" ] || { echo "exit $rc, expected $want"; return 1; }
	grep -Eq -- "$pattern" "$TMP/out" || { echo "no line matches: $pattern"; return 1; }
}

# py JSON_FILE CODE [ARGS...]: python assertions on the document as d; ARGS
# are sys.argv[2:].
py() {
	local file=$1 code=$2
	shift 2
	python3 -c "import json, sys
d = json.load(open(sys.argv[1]))
$code" "$file" "$@"
}

json_of() { # FILE ARGS...: ctl -o json ARGS > FILE, must succeed
	local f=$1
	shift
	ctl -o json "$@" >"$f" || { echo "ctl $* failed"; return 1; }
}

if [ ! -x "$CTL" ]; then
	echo "$BUILD/podfence-ctl is not built"
	echo "0 passed, 1 failed"
	exit 1
fi
ip netns add "$NS" &&
	ip -n "$NS" link add pfc0 type veth peer name pfc0p &&
	ip -n "$NS" link set pfc0 up && ip -n "$NS" link set pfc0p up || {
	echo "cannot make network namespace $NS with a veth (root needed)"
	echo "0 passed, 1 failed"
	exit 1
}

cat >"$TMP/policy.json" <<'EOF'
{"ingress": {"isolated": true, "rules": [
   {"cidr": "10.0.0.0/8", "except": ["10.1.0.0/16"],
    "ports": [{"protocol": "TCP", "port": 80},
              {"protocol": "UDP", "port": 1000, "endPort": 2000}]}]},
 "egress": {"isolated": true, "rules": [
   {"cidr": "fd00::/64", "ports": [{"protocol": "SCTP"}]},
   {"cidr": "192.168.7.7/32"}]}}
EOF
# Five prefix lengths in one direction and family: the prefixes go to the
# pf_rules trie; six port ranges: more than an entry holds, so pf_ports.
cat >"$TMP/wide.json" <<'EOF'
{"ingress": {"isolated": true, "rules": [
   {"cidr": "10.0.0.0/8", "ports": [{"port": 1}, {"port": 3}, {"port": 5},
                                    {"port": 7}, {"port": 9}, {"port": 11}]},
   {"cidr": "10.1.0.0/16", "ports": [{"protocol": "UDP", "port": 1}]},
   {"cidr": "10.1.2.0/24", "ports": [{"protocol": "UDP", "port": 2}]},
   {"cidr": "10.1.2.128/25", "ports": [{"protocol": "UDP", "port": 3}]},
   {"cidr": "10.1.2.4/30", "ports": [{"protocol": "UDP", "port": 4}]}]}}
EOF
echo '{"ingress": {"rules": [{"cidr": "10.0.0.300/8"}]}}' >"$TMP/bad-cidr.json"
echo '{"ingress": {"rules": [{"cidr": "10.0.0.0/8",
  "ports": [{"protocol": "TCP", "port": 9090, "endPort": 8080}]}]}}' >"$TMP/bad-range.json"
echo '{"egress": {"rules": [{"cidr": "10.0.0.0/8",
  "ports": [{"protocol": "FOO", "port": 53}]}]}}' >"$TMP/bad-proto.json"

check "inspecting an empty root says nothing is pinned" \
	runs 1 "^podfence-ctl: no podfence datapath pinned under $ROOT\$" ebpf maps
check "load pins a new datapath" runs 0 "^loaded $ROOT " datapath load
check "load again adopts it and applies the options given" \
	runs 0 "^adopted $ROOT \(mode strict, events on\)" datapath load --mode strict --events on
check "attach by interface name" runs 0 "^attached .* to pfc0 \(ifindex [0-9]+\)" datapath attach pfc0
check "bind the veth to set 7" runs 0 "^bound pfc0 .* to policy set 7" datapath bind pfc0 7
check "apply a policy set with a CIDR, an except and ports" \
	runs 0 "^applied policy set 7: generation [0-9]+, ingress isolated, egress isolated" \
	datapath apply 7 "$TMP/policy.json"

maps_json() {
	json_of "$TMP/maps.json" ebpf maps && py "$TMP/maps.json" '
m = {x["name"]: x for x in d}
assert set(m) == {"pf_pods", "pf_sets", "pf_rules", "pf_hosts4", "pf_hosts6", "pf_ports",
                  "pf_ct4", "pf_ct6", "pf_frags", "pf_config", "pf_metrics", "pf_events"}, sorted(m)
assert m["pf_hosts4"]["type"] == "hash" and m["pf_hosts4"]["key_size"] == 12, m["pf_hosts4"]
assert m["pf_hosts4"]["entries"] == 3 and m["pf_hosts6"]["entries"] == 1, m
assert m["pf_rules"]["entries"] == 0 and m["pf_ports"]["entries"] == 0, m
assert m["pf_ct4"]["key_size"] == 20 and m["pf_ct6"]["key_size"] == 24, m
assert m["pf_pods"]["entries"] == 1
assert m["pf_config"]["entries"] == 1 and m["pf_events"]["entries"] is None
'
}
check "ebpf maps -o json: every map with its entry count" maps_json
check "ebpf maps table: a header row" runs 0 "^NAME +ID +TYPE +KEY +VALUE +MAX_ENTRIES +ENTRIES" \
	ebpf maps
check "ebpf maps table: aligned rows" runs 0 "^pf_hosts4 +[0-9]+ +hash +12 +48 +1048576 +3 " \
	ebpf maps

hosts_json() {
	json_of "$TMP/hosts.json" ebpf dump-maps pf_hosts4 && py "$TMP/hosts.json" '
assert d["map"] == "pf_hosts4" and d["type"] == "hash"
e = {(x["direction"], x["cidr"]): x for x in d["entries"]}
assert e[("ingress", "10.0.0.0/8")]["ports"] == ["tcp 80", "udp 1000-2000"], e
assert e[("ingress", "10.0.0.0/8")]["n_inline"] == 2, e
assert e[("ingress", "10.1.0.0/16")]["ports"] == [], e
assert e[("egress", "192.168.7.7/32")]["ports"] == ["all"], e
assert len({x["gen"] for x in d["entries"]}) == 1
'
}
check "dump-maps pf_hosts4 -o json: the CIDRs, the except hole and the ports" hosts_json
check "dump-maps pf_hosts4: the /32 rule allows every port" \
	runs 0 "egress +ipv4 +192\.168\.7\.7/32 .* all-ports .* all$" ebpf dump-maps pf_hosts4
check "dump-maps pf_hosts6: the IPv6 prefix allows every SCTP port" \
	runs 0 "egress +ipv6 +fd00::/64 .* sctp-all .* sctp all$" ebpf dump-maps pf_hosts6
sets_json() {
	json_of "$TMP/sets.json" ebpf dump-maps pf_sets && py "$TMP/sets.json" '
[s] = d["entries"]
assert s["set_id"] == 7 and s["lookup"] == {"ingress": {"ipv4": [16, 8], "ipv6": []},
                                            "egress": {"ipv4": [32], "ipv6": [64]}}, s
'
}
check "dump-maps pf_sets -o json: the prefix lengths each direction is hashed by" sets_json
check "apply a set with five prefix lengths and six port ranges" \
	runs 0 "^applied policy set 9: " datapath apply 9 "$TMP/wide.json"
rules_json() {
	json_of "$TMP/rules.json" ebpf dump-maps pf_rules && py "$TMP/rules.json" '
assert d["map"] == "pf_rules" and d["type"] == "lpm_trie"
e = {x["cidr"]: x for x in d["entries"]}
assert set(e) == {"10.0.0.0/8", "10.1.0.0/16", "10.1.2.0/24", "10.1.2.128/25",
                  "10.1.2.4/30"}, e
assert e["10.0.0.0/8"]["ports"] == ["tcp %d" % p for p in (1, 3, 5, 7, 9, 11)], e
assert e["10.0.0.0/8"]["n_chunks"] == 1 and e["10.0.0.0/8"]["n_inline"] == 0, e
assert e["10.1.2.4/30"]["ports"] == e["10.0.0.0/8"]["ports"] + ["udp 1-2", "udp 4"], e
'
}
check "dump-maps pf_rules -o json: the prefixes of a set with many lengths" rules_json
check "dump-maps pf_ports: ranges as protocol and ports" \
	runs 0 "tcp 1, tcp 3, tcp 5, tcp 7, tcp 9, tcp 11" ebpf dump-maps pf_ports
check "delete the set with many lengths" runs 0 "^deleted policy set 9$" datapath delete 9
check "dump-maps pf_events says it cannot be dumped" \
	runs 0 "pf_events \(ringbuf\): .*cannot be dumped" ebpf dump-maps pf_events
check "dump-maps of every map decodes config and metrics" \
	runs 0 "^strict +on$" ebpf dump-maps
check "dump-maps of an unknown map is a usage error" runs 2 "unknown map \"pf_nope\"" \
	ebpf dump-maps pf_nope

loaded_json() {
	json_of "$TMP/loaded.json" ebpf loaded-ebpfdata && py "$TMP/loaded.json" '
assert d["root"] == sys.argv[2] and d["mode"] == "strict" and d["events"] == "on", d
assert [p["name"] for p in d["programs"]] == ["pf_to_pod", "pf_from_pod"], d
[p] = d["pods"]
assert p["ifname"] == "pfc0" and p["set_id"] == 7, p
assert p["ingress"] == "isolated" and p["egress"] == "isolated", p
assert p["pf_to_pod"] == "attached" and p["pf_from_pod"] == "attached", p
assert p["rules"] == 3 and p["hosts"] == 1, p
' "$ROOT"
}
check "loaded-ebpfdata -o json: the veth, its set, attached" loaded_json
check "loaded-ebpfdata table: the veth row" \
	runs 0 "^[0-9]+ +pfc0 +7 +[0-9]+ +isolated +isolated +attached +attached +3 +1$" \
	ebpf loaded-ebpfdata

progs_json() {
	json_of "$TMP/progs.json" ebpf progs && py "$TMP/progs.json" '
p = {x["name"]: x for x in d}
assert set(p) == {"pf_to_pod", "pf_from_pod"}, d
for name, hook in (("pf_to_pod", "tc-egress"), ("pf_from_pod", "tc-ingress")):
    assert p[name]["type"] == "sched_cls" and len(p[name]["tag"]) == 16, p[name]
    assert p[name]["id"] > 0 and p[name]["loaded_at"].endswith("Z"), p[name]
    assert [(a["ifname"], a["hook"]) for a in p[name]["attached"]] == [("pfc0", hook)], p[name]
'
}
check "ebpf progs -o json: both programs and where they are attached" progs_json
check "ebpf progs table" runs 0 "^pf_to_pod +[0-9]+ +sched_cls +[0-9a-f]{16} .* pfc0 tc-egress$" \
	ebpf progs

# The policy maps, to compare before and after a refused apply.
policy_state() {
	local m
	for m in pf_pods pf_sets pf_rules pf_hosts4 pf_hosts6 pf_ports pf_config; do
		ctl -o json ebpf dump-maps "$m" || return 1
	done
}
policy_state >"$TMP/state.before"
check "a bad CIDR is refused by value" \
	runs 1 '^podfence-ctl: policy file .*bad-cidr.json: ingress\.rules\[0\]\.cidr: invalid CIDR "10\.0\.0\.300/8"' \
	datapath apply 7 "$TMP/bad-cidr.json"
check "an endPort below its port is refused by value" \
	runs 1 '^podfence-ctl: policy file .*bad-range.json: .*ports\[0\]: port range 9090-8080' \
	datapath apply 7 "$TMP/bad-range.json"
check "an unknown protocol is refused by value" \
	runs 1 '^podfence-ctl: policy file .*bad-proto.json: egress\.rules\[0\]\.ports\[0\]: unknown protocol "FOO"' \
	datapath apply 7 "$TMP/bad-proto.json"
policy_state >"$TMP/state.after"
check "refused files left every map as it was" cmp "$TMP/state.before" "$TMP/state.after"

check "usage errors exit 2" runs 2 "takes two arguments: SET_ID FILE" datapath apply 7
check "a bad -o is a usage error" runs 2 "^podfence-ctl: -o xml: expected table or json" -o xml ebpf maps
apply_stdin() {
	echo '{"egress": {"isolated": false}}' | ctl datapath apply 8 - |
		grep -E "^applied policy set 8: .*egress open"
}
check "apply from stdin" apply_stdin
check "delete a set" runs 0 "^deleted policy set 8$" datapath delete 8

metrics_json() {
	json_of "$TMP/metrics.json" datapath metrics && py "$TMP/metrics.json" '
assert [m["reason"] for m in d][:2] == ["ct-established", "policy-allow"], d
assert len(d) == 9 and all(m["packets"] >= 0 for m in d), d
assert {m["verdict"] for m in d} == {"allow", "deny"}, d
'
}
check "datapath metrics: every reason, summed" metrics_json
check "sweep says how many flows went" runs 0 "^removed [0-9]+ tracked flows? idle for more than 300 s$" \
	datapath sweep
check "unbind forgets the veth" runs 0 "^unbound pfc0 " datapath unbind pfc0
check "bind again" runs 0 "^bound pfc0" datapath bind pfc0 7
check "detach" runs 0 "^detached pf_to_pod and pf_from_pod from pfc0" datapath detach pfc0
check "loaded-ebpfdata shows it detached" \
	runs 0 "pfc0 +7 .* not attached +not attached" ebpf loaded-ebpfdata
check "unload removes the pins and says it does not detach" \
	runs 0 "^unpinned everything under $ROOT; programs stay attached" datapath unload
check "nothing is left under the root" test ! -e "$ROOT"
check "after unload, inspection says nothing is pinned" \
	runs 1 "no podfence datapath pinned under $ROOT" ebpf loaded-ebpfdata

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
