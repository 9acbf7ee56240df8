#!/usr/bin/env bash
# A real container runtime drives podfence-cni: podman with its CNI backend
# (Debian's podman and runc), started inside a "node" network namespace where
# the real podfence-ipamd runs and podfence-init has installed the plugin and
# its conflist into temporary CNI directories. Two containers of a local image
# made from busybox-static (no registry) run on the "podfence" network, reach
# each other over TCP, and hold addresses ipamd lists; `podman rm -f` has the
# plugin give them back and leaves no veth, route or namespace.
#
# Everything podman keeps lives under the test's temporary directory: storage
# (--root/--runroot), its tmp dir, file locks (not /dev/shm), the events log,
# the containers' cgroups under a cgroup parent named for the test.
#
# podman runs under `nsenter --net` (not `ip netns exec`, which would remount
# /sys and hide the bpffs from it).
set -u
. "$(dirname "$0")/lib/netns.sh"
. "$(dirname "$0")/lib/runtime_node.sh"
BUILD=$(realpath "${BUILD:-build}")
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
TAG=$$
NODE=pfpm-node-$TAG
NODE_ADDR=192.168.78.1
POD_CIDR=10.244.11.0/24
CGROUP_PARENT=pf-podman-$TAG
TMP=$(mktemp -d "/tmp/pfpm-$TAG.XXXXXX")
SOCK=$TMP/ipamd.sock
BIN=$TMP/cni-bin CONF=$TMP/cni-conf
IMAGE=localhost/pf-busybox-$TAG
# podman import writes containers/image's blob-info cache under
# /var/lib/containers/cache whatever --root says: removed afterwards only when
# this test made it.
BLOB_CACHE=/var/lib/containers/cache
blob_cache_existed=0
[ -e "$BLOB_CACHE" ] && blob_cache_existed=1
ipamd_pid=""
sandboxes=()
passed=0 failed=0

pm() { # podman with the test's configuration and storage, in the node
	nsenter --net=/run/netns/$NODE env CONTAINERS_CONF="$TMP/containers.conf" \
		timeout 60 podman --root "$TMP/storage" --runroot "$TMP/runroot" "$@"
}

cleanup() {
	local key m d
	if [ -f "$TMP/containers.conf" ] && [ -e "/run/netns/$NODE" ]; then
		pm rm -f -t 0 -a >/dev/null 2>&1
		pm unmount -a >/dev/null 2>&1
	fi
	# Mounts podman may leave under the storage (overlay, shm).
	for m in $(awk -v t="$TMP/" 'index($2, t) == 1 {print $2}' /proc/self/mounts | sort -r); do
		umount -l "$m"
	done
	# A container's network namespace podman did not get to remove.
	for key in "${sandboxes[@]}"; do
		[ -e "$key" ] || continue
		umount "$key" 2>/dev/null
		rm -f "$key"
	done
	[ -n "$ipamd_pid" ] && kill "$ipamd_pid" 2>/dev/null && wait "$ipamd_pid" 2>/dev/null
	netns_del "$NODE"
	for d in /sys/fs/cgroup/$CGROUP_PARENT /sys/fs/cgroup/*/$CGROUP_PARENT; do
		[ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} + 2>/dev/null
	done
	if [ "$blob_cache_existed" -eq 0 ] && [ -d "$BLOB_CACHE" ]; then
		rm -f "$BLOB_CACHE"/blob-info-cache-v1.boltdb
		rmdir "$BLOB_CACHE" /var/lib/containers 2>/dev/null
	fi
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
not() { ! "$@"; }
summary() { echo "$passed passed, $failed failed"; [ "$failed" -eq 0 ]; exit; }
# cannot REASON: the runtime cannot be driven here; a failure, never a skip.
cannot() { fail "podman can drive podfence-cni on this machine" "$1"; summary; }

# ---- preconditions ----
for tool in podman runc nsenter curl; do
	command -v "$tool" >/dev/null || cannot "$tool is not installed (scripts/debian-packages.txt)"
done
BUSYBOX=$(command -v busybox) || cannot "busybox is not installed (busybox-static)"
# A static busybox runs in an image that holds nothing else.
ldd "$BUSYBOX" >/dev/null 2>&1 && cannot "$BUSYBOX is dynamically linked: install busybox-static"

# ---- the node ----
runtime_node_up podman

# ---- podman's configuration and image ----
# nproc as well as nofile: podman asks for 1048576 processes by default, more
# than the hard limit here, and runc cannot raise it without CAP_SYS_RESOURCE.
cat >"$TMP/containers.conf" <<EOF
[containers]
default_ulimits = ["nofile=4096:4096", "nproc=4096:4096"]

[network]
network_backend = "cni"
cni_plugin_dirs = ["$BIN"]
network_config_dir = "$CONF"

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "$TMP/podman-tmp/events.log"
lock_type = "file"
tmp_dir = "$TMP/podman-tmp"
static_dir = "$TMP/storage/libpod"
volume_path = "$TMP/storage/volumes"
EOF

make_image() {
	local root=$TMP/rootfs tool
	mkdir -p "$root/bin" "$root/www" "$root/tmp" "$root/etc"
	cp "$BUSYBOX" "$root/bin/busybox"
	for tool in sh httpd wget nc ip sleep timeout cat echo; do ln -s busybox "$root/bin/$tool"; done
	tar -C "$root" -c . | pm import - "$IMAGE"
}
why=$(make_image 2>&1) || cannot "podman import failed: $why"
pass "a local image from busybox-static is imported"
expect "podman lists the podfence network, driven by podfence-cni" \
	bash -c "$(declare -f pm); NODE=$NODE TMP=$TMP; pm network ls --format '{{.Name}} {{.Driver}}' | grep -qx 'podfence podfence-cni'"

# ---- two containers on the podfence network ----
declare -A addr id
run_container() { # name: serves "served-by-NAME" over HTTP on 8080
	pm run -d --name "$1" --network podfence --cgroup-parent "/$CGROUP_PARENT" "$IMAGE" \
		/bin/sh -c "echo served-by-$1 >/www/index.html && exec httpd -f -p 8080 -h /www"
}
for c in pfa pfb; do
	if why=$(run_container $c 2>&1); then
		pass "podman runs container $c on the podfence network"
	else
		cannot "podman run $c failed: $why"
	fi
	id[$c]=$(pm inspect "$c" --format '{{.Id}}')
	addr[$c]=$(pm inspect "$c" --format '{{.NetworkSettings.Networks.podfence.IPAddress}}')
	sandboxes+=("$(pm inspect "$c" --format '{{.NetworkSettings.SandboxKey}}')")
	expect "$c's address ${addr[$c]} is from $POD_CIDR" "$PY" -c \
		'import ipaddress,sys; sys.exit(ipaddress.ip_address(sys.argv[1]) not in ipaddress.ip_network(sys.argv[2]))' \
		"${addr[$c]}" "$POD_CIDR"
done
expect "the two containers have distinct addresses" test "${addr[pfa]}" != "${addr[pfb]}"

fetch() { # from-container to-address: the page served there
	pm exec "$1" timeout 10 wget -O - "http://$2:8080/index.html" 2>/dev/null
}
expect "pfb reaches pfa (${addr[pfa]}) over TCP" bash -c "$(declare -f pm fetch); NODE=$NODE TMP=$TMP
	fetch pfb ${addr[pfa]} | grep -qx served-by-pfa"
expect "pfa reaches pfb (${addr[pfb]}) over TCP" bash -c "$(declare -f pm fetch); NODE=$NODE TMP=$TMP
	fetch pfa ${addr[pfb]} | grep -qx served-by-pfb"
expect "the node reaches pfa over TCP" bash -c \
	"nsenter --net=/run/netns/$NODE curl -sf --max-time 10 http://${addr[pfa]}:8080/index.html | grep -qx served-by-pfa"

expect "ipamd's assignments are exactly the two containers with their addresses" bash -c "
	$(declare -f assignments); SOCK=$SOCK PY=$PY
	diff <(assignments | sort) <(printf '%s\n' '${id[pfa]} ${addr[pfa]}' '${id[pfb]} ${addr[pfb]}' | sort)"
for c in pfa pfb; do
	expect "the node has a host veth tagged podfence:<$c's id>/eth0" bash -c \
		"nsenter --net=/run/netns/$NODE ip -o link show type veth | grep -q 'alias podfence:${id[$c]}/eth0'"
	expect "the node routes ${addr[$c]} over a pf veth" bash -c \
		"nsenter --net=/run/netns/$NODE ip route show ${addr[$c]} | grep -q 'dev pf'"
	expect "the plugin logged podman's ADD of $c" grep -q \
		"\"command\":\"ADD\",\"container_id\":\"${id[$c]}\".*\"pod_name\":\"$c\",\"result\":\"ok\"" "$TMP/plugin.log"
done

# ---- podman rm gives everything back ----
expect "podman rm -f removes both containers" pm rm -f -t 0 pfa pfb
expect "ipamd holds no assignment" bash -c "$(declare -f assignments); SOCK=$SOCK PY=$PY
	test -z \"\$(assignments)\""
expect "the whole pool is free again" bash -c \
	"curl -sf --unix-socket $SOCK http://ipamd/v1/health | grep -q '\"pool_free\": *253'"
expect "no veth is left in the node" test -z "$(in_node ip -o link show type veth)"
for c in pfa pfb; do
	expect "no route to ${addr[$c]} is left in the node" test -z "$(in_node ip route show "${addr[$c]}")"
	expect "the plugin logged podman's DEL of $c" grep -q \
		"\"command\":\"DEL\",\"container_id\":\"${id[$c]}\".*\"result\":\"ok\"" "$TMP/plugin.log"
done
expect "podman removed the containers' network namespaces" bash -c \
	"for k in ${sandboxes[*]}; do test ! -e \$k || exit 1; done"

summary
