#!/usr/bin/env bash
# containerd's CRI plugin drives podfence-cni, as kubelet would have it do:
# Debian's containerd (runc, cgroupfs) runs inside a "node" network namespace
# where the real podfence-ipamd runs and podfence-init has installed the plugin
# and its conflist into temporary CNI directories. A small CRI client
# (tests/e2e/lib/cri_client.py: gRPC with hand-encoded protobuf, no crictl)
# runs two pod sandboxes: containerd calls the plugin's ADD for each, the
# sandboxes get addresses ipamd lists and reach each other over TCP.
# StopPodSandbox has containerd call DEL, which gives the address back and
# leaves no veth or route; a second StopPodSandbox calls DEL again, without a
# network namespace, and that succeeds too; RemovePodSandbox forgets them.
#
# The sandbox ("pause") image is made from busybox-static by
# tests/e2e/lib/oci_image.py and imported with ctr: no registry. Everything
# containerd keeps lives under the test's temporary directory (root, state,
# socket, runc's state, the sandboxes' network namespaces), the sandboxes'
# cgroups under a cgroup parent named for the test. Two paths containerd 1.6
# does not let us move are cleaned by name: its shims' sockets
# (/run/containerd/s/<sha256 of socket/namespace/id>) and libcni's result
# cache (/var/lib/cni/results/<network>-<id>-<ifname>).
#
# containerd runs under `nsenter --net` (not `ip netns exec`, which would
# remount /sys and hide the bpffs from it), with restrict_oom_score_adj: the
# pause container's OOM score adjustment (-998) needs CAP_SYS_RESOURCE, which
# this machine does not give.
set -u
. "$(dirname "$0")/lib/netns.sh"
. "$(dirname "$0")/lib/runtime_node.sh"
LIB=$(realpath "$(dirname "$0")/lib")
BUILD=$(realpath "${BUILD:-build}")
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
for tool in containerd ctr containerd-shim-runc-v2; do
	if ! command -v "$tool" >/dev/null; then
		echo "SKIP: $tool is not installed (Debian package containerd)"
		echo "0 passed, 0 failed"
		exit 0
	fi
done
if ! "$PY" -c 'import grpc' 2>/dev/null; then
	echo "SKIP: python3-grpcio is not installed, so there is no CRI client"
	echo "0 passed, 0 failed"
	exit 0
fi

TAG=$$
NODE=pfcri-node-$TAG
NODE_ADDR=192.168.79.1
POD_CIDR=10.244.12.0/24
CGROUP_PARENT=pf-cri-$TAG
TMP=$(mktemp -d "/tmp/pfcri-$TAG.XXXXXX")
SOCK=$TMP/ipamd.sock
CRI_SOCK=$TMP/containerd/containerd.sock
CRI_STATE=$TMP/containerd/state
BIN=$TMP/cni-bin CONF=$TMP/cni-conf
PAUSE_IMAGE=localhost/pf-pause:$TAG
SNAPSHOTTER=overlayfs
SHIM_SOCKETS=/run/containerd/s
CNI_CACHE=/var/lib/cni/results
# Directories outside $TMP that containerd or libcni create when missing:
# removed afterwards (when empty) only when this test made them.
made_dirs=()
for d in /run/containerd "$SHIM_SOCKETS" /var/lib/cni "$CNI_CACHE"; do
	[ -e "$d" ] || made_dirs+=("$d")
done
ipamd_pid="" containerd_pid=""
servers=()
declare -A id addr netns pause_pid
passed=0 failed=0

cri() { timeout 70 "$PY" "$LIB/cri_client.py" --socket "$CRI_SOCK" "$@"; }

# Every sandbox this containerd made: those the test knows, and those whose
# directories a failed run left.
sandbox_ids() {
	{
		printf '%s\n' "${id[@]}"
		ls "$TMP/containerd/root/io.containerd.grpc.v1.cri/sandboxes" \
			"$CRI_STATE/io.containerd.grpc.v1.cri/sandboxes" 2>/dev/null
	} | grep -E '^[0-9a-f]{64}$' | sort -u
}

cleanup() {
	local sid m d p
	for p in "${servers[@]}"; do kill "$p" 2>/dev/null; done
	if [ -n "$containerd_pid" ] && kill -0 "$containerd_pid" 2>/dev/null; then
		for sid in $(cri --timeout 10 list 2>/dev/null | awk '{print $1}'); do
			cri --timeout 20 stop "$sid" >/dev/null 2>&1
			cri --timeout 20 remove "$sid" >/dev/null 2>&1
		done
		kill "$containerd_pid" 2>/dev/null && wait "$containerd_pid" 2>/dev/null
	fi
	[ -n "$ipamd_pid" ] && kill "$ipamd_pid" 2>/dev/null && wait "$ipamd_pid" 2>/dev/null
	# What the CRI calls did not stop: the sandboxes' processes (by their
	# cgroups), then shims and anything else started with our paths (shims
	# outlive containerd by design).
	for d in /sys/fs/cgroup/*/"$CGROUP_PARENT"; do
		[ -d "$d" ] && find "$d" -name cgroup.procs -exec cat {} + 2>/dev/null | xargs -r kill -9 2>/dev/null
	done
	grep -lsF -- "$TMP/" /proc/[0-9]*/cmdline | sed -n 's|^/proc/\([0-9]*\)/cmdline$|\1|p' |
		xargs -r kill -9 2>/dev/null
	netns_del "$NODE"
	# Mounts containerd may leave under its root and state: snapshots, the
	# sandboxes' /dev/shm and network namespaces.
	for m in $(awk -v t="$TMP/" 'index($2, t) == 1 {print $2}' /proc/self/mounts | sort -r); do
		umount -l "$m"
	done
	for d in "/sys/fs/cgroup/$CGROUP_PARENT" /sys/fs/cgroup/*/"$CGROUP_PARENT"; do
		[ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} + 2>/dev/null
	done
	for sid in $(sandbox_ids); do
		rm -f "$SHIM_SOCKETS/$(printf %s "$CRI_SOCK/k8s.io/$sid" | sha256sum | cut -d' ' -f1)"
		rm -f "$CNI_CACHE"/*-"$sid"-*
	done
	for d in $(printf '%s\n' "${made_dirs[@]}" | sort -r); do rmdir "$d" 2>/dev/null; done
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

pass() { echo "ok   $1"; passed=$((passed + 1)); }
fail() { echo "FAIL $1"; [ -n "${2:-}" ] && printf '     %s\n' "$2"; failed=$((failed + 1)); }
# expect DESCRIPTION COMMAND...: passes when COMMAND succeeds; its output says why not.
expect() {
	local desc=$1 why
	shift
	if why=$("$@" 2>&1); then pass "$desc"; else fail "$desc" "$why"; fi
}
summary() { echo "$passed passed, $failed failed"; [ "$failed" -eq 0 ]; exit; }
# cannot REASON: containerd cannot be driven here; a failure, never a skip.
cannot() {
	fail "containerd's CRI plugin can drive podfence-cni on this machine" "$1"
	[ -f "$TMP/containerd.log" ] && grep -E 'level=(error|fatal)' "$TMP/containerd.log" | tail -n 5 |
		sed 's/^/     containerd: /'
	summary
}

# ---- preconditions ----
for tool in runc nsenter curl; do
	command -v "$tool" >/dev/null || cannot "$tool is not installed (scripts/debian-packages.txt)"
done
# containerd's CRI always runs the standard loopback plugin for the sandbox's lo.
LOOPBACK=/usr/lib/cni/loopback
[ -x "$LOOPBACK" ] || cannot "$LOOPBACK is missing (Debian package containernetworking-plugins)"
BUSYBOX=$(command -v busybox) || cannot "busybox is not installed (busybox-static)"
# A static busybox runs in an image that holds nothing else.
ldd "$BUSYBOX" >/dev/null 2>&1 && cannot "$BUSYBOX is dynamically linked: install busybox-static"

# ---- the node ----
runtime_node_up containerd
ln -s "$LOOPBACK" "$BIN/loopback"

# ---- containerd ----
# The opt plugin would install into /opt/containerd; the snapshotters left out
# need what this machine has not.
cat >"$TMP/containerd.toml" <<EOF
version = 2
root = "$TMP/containerd/root"
state = "$CRI_STATE"
oom_score = 0
disabled_plugins = ["io.containerd.internal.v1.opt", "io.containerd.snapshotter.v1.aufs",
  "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.snapshotter.v1.zfs"]

[grpc]
  address = "$CRI_SOCK"

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$PAUSE_IMAGE"
  restrict_oom_score_adj = true
  disable_apparmor = true
  netns_mounts_under_state_dir = true
  stream_server_address = "127.0.0.1"

  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "$BIN"
    conf_dir = "$CONF"
    max_conf_num = 1

  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "$SNAPSHOTTER"
    default_runtime_name = "runc"

    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"

      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        Root = "$TMP/containerd/runc"
EOF

start_containerd() {
	nsenter --net=/run/netns/$NODE containerd --config "$TMP/containerd.toml" \
		>>"$TMP/containerd.log" 2>&1 &
	containerd_pid=$!
	for _ in $(seq 100); do
		[ -S "$CRI_SOCK" ] && cri --timeout 2 version >/dev/null 2>&1 && return 0
		kill -0 "$containerd_pid" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}
if start_containerd; then pass "containerd starts in the node and serves CRI"
else cannot "containerd did not start or does not answer CRI Version"; fi
speaks_cri_v1() { cri version | grep '"runtime_name": "containerd".*"runtime_api_version": "v1"'; }
expect "containerd answers CRI Version as runtime.v1" speaks_cri_v1

why=$("$PY" "$LIB/oci_image.py" --busybox "$BUSYBOX" --name "$PAUSE_IMAGE" \
	--out "$TMP/pause.tar" -- /bin/sleep 2147483647 2>&1) || cannot "cannot write the pause image: $why"
why=$(timeout 60 ctr --address "$CRI_SOCK" --namespace k8s.io images import \
	--snapshotter "$SNAPSHOTTER" "$TMP/pause.tar" 2>&1) ||
	cannot "ctr images import of the pause image failed: $why"
pass "a pause image made from busybox-static is imported"

# ---- two pod sandboxes ----
in_cidr() {
	"$PY" -c 'import ipaddress,sys
sys.exit(ipaddress.ip_address(sys.argv[1]) not in ipaddress.ip_network(sys.argv[2]))' "$1" "$2"
}
under_tmp() { case "$1" in "$TMP"/*) test -e "$1" ;; *) echo "$1 is not under $TMP"; false ;; esac; }
holds_addr() { # pod: its eth0 has its address
	nsenter --net="${netns[$1]}" ip -o -4 addr show dev eth0 | grep "inet ${addr[$1]}/"
}
for pod in pfa pfb; do
	if why=$(cri run-sandbox --name "$pod" --namespace pfcri --uid "uid-$pod-$TAG" \
		--log-dir "$TMP/pods/$pod" --cgroup-parent "/$CGROUP_PARENT" 2>&1); then
		id[$pod]=$why
		pass "RunPodSandbox runs $pod"
	else
		cannot "RunPodSandbox $pod failed: $why"
	fi
	status=$(cri status "${id[$pod]}") || cannot "PodSandboxStatus ${id[$pod]} failed"
	read -r state addr[$pod] netns[$pod] pause_pid[$pod] < <(echo "$status" | "$PY" -c \
		'import json,sys; s = json.load(sys.stdin); print(s["state"], s["ip"] or "-", s["netns"] or "-", s["pid"])')
	expect "$pod is ready" test "$state" = SANDBOX_READY
	expect "$pod's address ${addr[$pod]} is from $POD_CIDR" in_cidr "${addr[$pod]}" "$POD_CIDR"
	expect "$pod's network namespace is containerd's, under its state" under_tmp "${netns[$pod]}"
	expect "$pod's eth0 holds ${addr[$pod]}" holds_addr $pod
done
expect "the two sandboxes have distinct addresses" test "${addr[pfa]}" != "${addr[pfb]}"

both_assigned() {
	diff <(assignments | sort) <(printf '%s\n' "${id[pfa]} ${addr[pfa]}" "${id[pfb]} ${addr[pfb]}" | sort)
}
expect "ipamd's assignments are exactly the two sandboxes with their addresses" both_assigned
has_veth() { in_node ip -o link show type veth | grep "alias podfence:${id[$1]}/eth0"; }
has_route() { in_node ip route show "${addr[$1]}" | grep 'dev pf'; }
# The log line's fields, in the order docs/cni.md gives them.
logged() { # command pod [netns]: the plugin logged that call for the pod, and it succeeded
	grep "\"command\":\"$1\",\"container_id\":\"${id[$2]}\",\"ifname\":\"eth0\",\"netns\":\"${3-[^\"]*}\",\"pod_namespace\":\"pfcri\",\"pod_name\":\"$2\",\"result\":\"ok\"" \
		"$TMP/plugin.log"
}
for pod in pfa pfb; do
	expect "the node has a host veth tagged podfence:<$pod's sandbox id>/eth0" has_veth $pod
	expect "the node routes ${addr[$pod]} over a pf veth" has_route $pod
	expect "the plugin logged containerd's ADD of pfcri/$pod in its namespace" logged ADD $pod "${netns[$pod]}"
done

# ---- TCP between the sandboxes ----
serve_in() { # pod: a netprobe echo server on 8080 in the pod's namespace
	nsenter --net="${netns[$1]}" "$PY" "$LIB/netprobe.py" serve 8080 >"$TMP/serve-$1.log" 2>&1 &
	servers+=($!)
	for _ in $(seq 50); do grep -q ready "$TMP/serve-$1.log" && return 0; sleep 0.1; done
	return 1
}
probe_from() { # pod address
	nsenter --net="${netns[$1]}" "$PY" "$LIB/netprobe.py" probe tcp "$2" 8080 --timeout 5
}
for pod in pfa pfb; do serve_in $pod || cannot "no echo server in $pod: $(cat "$TMP/serve-$pod.log")"; done
expect "pfb reaches pfa (${addr[pfa]}) over TCP" probe_from pfb "${addr[pfa]}"
expect "pfa reaches pfb (${addr[pfb]}) over TCP" probe_from pfa "${addr[pfb]}"
expect "the node reaches pfa over TCP" in_node "$PY" "$LIB/netprobe.py" probe tcp "${addr[pfa]}" 8080 --timeout 5
for p in "${servers[@]}"; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
servers=()

# ---- StopPodSandbox gives the network back, RemovePodSandbox forgets ----
released() { # pod: nothing of its network is left in the node
	! assignments | grep "^${id[$1]} " &&
		! in_node ip -o link show type veth | grep "alias podfence:${id[$1]}/" &&
		! in_node ip route show "${addr[$1]}" | grep .
}
dels() { logged DEL "$1" | wc -l; }
del_again() { # pod count: more DELs than count, the last without a netns
	[ "$(dels "$1")" -gt "$2" ] || { echo "no DEL after the first one"; return 1; }
	logged DEL "$1" "" | grep -q . || { echo "no successful DEL without a netns"; return 1; }
}
exited() { ! kill -0 "$1" 2>/dev/null; }
not_listed() { ! cri list | grep "^${id[$1]} "; }
for pod in pfa pfb; do
	expect "StopPodSandbox stops $pod" cri stop "${id[$pod]}"
	expect "$pod's pause process (${pause_pid[$pod]}) is gone" exited "${pause_pid[$pod]}"
	expect "the plugin logged containerd's DEL of pfcri/$pod in its namespace" \
		logged DEL $pod "${netns[$pod]}"
	expect "the DEL gave $pod's address back and left no veth or route" released $pod
	before=$(dels $pod)
	expect "StopPodSandbox of the stopped $pod succeeds again" cri stop "${id[$pod]}"
	expect "containerd called DEL again without a netns, and it succeeded" del_again $pod "$before"
	expect "RemovePodSandbox removes $pod" cri remove "${id[$pod]}"
	expect "containerd no longer lists $pod" not_listed $pod
	expect "$pod's network namespace is gone" test ! -e "${netns[$pod]}"
done
expect "ipamd holds no assignment" test -z "$(assignments)"
expect "the whole pool is free again" bash -c \
	"curl -sf --unix-socket $SOCK http://ipamd/v1/health | grep -q '\"pool_free\": *253'"
expect "no veth is left in the node" test -z "$(in_node ip -o link show type veth)"
expect "no plugin call failed" bash -c "! grep '\"result\":\"error\"' '$TMP/plugin.log'"

summary
