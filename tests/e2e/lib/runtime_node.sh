# Sourced by the container runtime tests (podman.sh, containerd_cri.sh): a
# "node" network namespace where the real podfence-ipamd runs and
# podfence-init has installed podfence-cni and its conflist into temporary
# CNI directories, for the runtime to find there.
# The caller sets NODE NODE_ADDR BUILD TMP SOCK POD_CIDR BIN CONF PY and
# defines pass, expect and cannot; ipamd_pid is set here.

in_node() { nsenter --net=/run/netns/$NODE "$@"; }

start_ipamd() {
	# nsenter itself in the background (not a shell function), so $! is the
	# process that becomes podfence-ipamd.
	nsenter --net=/run/netns/$NODE "$BUILD/podfence-ipamd" --pod-cidr "$POD_CIDR" --socket "$SOCK" \
		--state-dir "$TMP/ipamd-state" >>"$TMP/ipamd.log" 2>&1 &
	ipamd_pid=$!
	for _ in $(seq 50); do [ -S "$SOCK" ] && return 0; sleep 0.1; done
	return 1
}

# runtime_node_up RUNTIME: the node, ipamd in it, the plugin installed for
# RUNTIME (named in the messages); each step a check, a failure ends the test.
runtime_node_up() {
	ip netns add "$NODE" || cannot "cannot create network namespace $NODE"
	ip -n "$NODE" link set lo up
	# The node's own address (lo holds it, as in pod_network.sh).
	ip -n "$NODE" addr add "$NODE_ADDR/32" dev lo
	# Not through expect: its command substitution would keep ipamd_pid to itself.
	if start_ipamd; then pass "podfence-ipamd starts in the node"
	else cannot "podfence-ipamd did not start: $(cat "$TMP/ipamd.log")"; fi
	expect "podfence-init installs the plugin and the conflist" \
		in_node "$BUILD/podfence-init" --cni-bin-dir "$BIN" --cni-conf-dir "$CONF" \
		--plugin "$BUILD/podfence-cni" --ipamd-socket "$SOCK" --agent-socket "$TMP/agent.sock" \
		--plugin-log "$TMP/plugin.log" --run-dir "$TMP/run" --log-dir "$TMP/log" --wait-timeout 10
	[ -f "$CONF/10-podfence.conflist" ] || cannot "no conflist to give $1"
}

assignments() { # "container_id ipv4" per assignment ipamd holds
	curl -sf --unix-socket "$SOCK" http://ipamd/v1/assignments |
		"$PY" -c 'import json,sys
for a in json.load(sys.stdin)["assignments"]: print(a["container_id"], a["ipv4"])'
}
