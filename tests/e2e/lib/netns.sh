# Sourced by the e2e scripts and demos.
# netns_del NAME...: kills whatever still runs inside each namespace (a
# server started through a shell function leaves $! pointing at a subshell,
# not at the server), then deletes it. Quiet about namespaces already gone.
netns_del() {
	local ns
	for ns in "$@"; do
		ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null
		ip netns del "$ns" 2>/dev/null
	done
	return 0
}
