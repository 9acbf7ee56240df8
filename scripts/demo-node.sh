#!/usr/bin/env bash
# The whole node in a minute: in a "node" network namespace, podfence-ipamd
# and podfence-agent run, podfence-init installs the plugin, two pods are
# plumbed by podfence-cni, and a NetworkPolicy written to the agent's dir:
# source lets one pod reach the other on TCP 80 only. Real connections show
# it; podfence-ctl shows what the agent did. Leaves nothing behind.
set -u
. "$(dirname "$0")/../tests/e2e/lib/netns.sh"
BUILD=$(realpath "${BUILD:-build}")
PROBE=$(realpath "$(dirname "$0")/../tests/e2e/lib/netprobe.py")
TAG=$$
NODE=pfdemo-node-$TAG
TMP=$(mktemp -d)
ROOT=/sys/fs/bpf/podfence-demo-node-$TAG
pids=()

cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	netns_del $(ip netns list | awk '{print $1}' | grep -- "-$TAG\$")
	rm -rf "$TMP" "$ROOT"
}
trap cleanup EXIT INT TERM

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
node() { nsenter --net=/run/netns/$NODE "$@"; }
ctl() { echo "\$ podfence-ctl $*"; node "$BUILD/podfence-ctl" --pin-root "$ROOT" \
	--agent-socket "$TMP/agent.sock" "$@"; }
wait_for() { for _ in $(seq 100); do [ -e "$1" ] && return 0; sleep 0.1; done
	echo "$2 did not start; its log:"; cat "$3"; exit 1; }

step "a node: podfence-ipamd and podfence-agent, then podfence-init installs the plugin"
ip netns add "$NODE" && ip -n "$NODE" link set lo up || exit 1
mkdir -p "$TMP/manifests"
node "$BUILD/podfence-ipamd" --pod-cidr 10.244.5.0/24 --socket "$TMP/ipamd.sock" \
	--state-dir "$TMP/ipamd" >"$TMP/ipamd.log" 2>&1 &
pids+=($!)
wait_for "$TMP/ipamd.sock" podfence-ipamd "$TMP/ipamd.log"
node "$BUILD/podfence-agent" --enable-network-policy=true --source "dir:$TMP/manifests" \
	--socket "$TMP/agent.sock" --state-dir "$TMP/agent" --pin-root "$ROOT" \
	--node-name demo-node >"$TMP/agent.log" 2>&1 &
pids+=($!)
wait_for "$TMP/agent.sock" podfence-agent "$TMP/agent.log"
node "$BUILD/podfence-init" --cni-bin-dir "$TMP/cni-bin" --cni-conf-dir "$TMP/cni-conf" \
	--plugin "$BUILD/podfence-cni" --ipamd-socket "$TMP/ipamd.sock" \
	--agent-socket "$TMP/agent.sock" --plugin-log "$TMP/plugin.log" --run-dir "$TMP/run" \
	--log-dir "$TMP/log" 2>&1 | sed 's/^/  /'
cat "$TMP/cni-conf/10-podfence.conflist"

step "two pods, plumbed by the installed plugin (CNI ADD)"
conf=$(python3 -c 'import json,sys; c=json.load(open(sys.argv[1])); p=c["plugins"][0]
p.update(cniVersion=c["cniVersion"], name=c["name"]); print(json.dumps(p))' \
	"$TMP/cni-conf/10-podfence.conflist")
declare -A ip
for pod in web client; do
	ip netns add "pfdemo-$pod-$TAG" && ip -n "pfdemo-$pod-$TAG" link set lo up
	echo "$conf" | node env CNI_COMMAND=ADD CNI_CONTAINERID="demo-$pod-$TAG" \
		CNI_NETNS="/run/netns/pfdemo-$pod-$TAG" CNI_IFNAME=eth0 \
		CNI_ARGS="K8S_POD_NAMESPACE=demo;K8S_POD_NAME=$pod" "$TMP/cni-bin/podfence-cni" \
		>"$TMP/$pod.json" || { cat "$TMP/$pod.json"; exit 1; }
	ip[$pod]=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["ips"][0]["address"].split("/")[0])' "$TMP/$pod.json")
	echo "$pod: ${ip[$pod]}"
done
nsenter --net=/run/netns/pfdemo-web-$TAG python3 "$PROBE" serve 80 81 >/dev/null 2>&1 &
pids+=($!)
sleep 0.3
try() {
	if nsenter --net=/run/netns/pfdemo-client-$TAG python3 "$PROBE" probe tcp "${ip[web]}" "$1" \
		--timeout 0.7; then echo "client -> web tcp/$1: connected"
	else echo "client -> web tcp/$1: blocked"; fi
}
try 80; try 81

step "the pods' objects, and a NetworkPolicy: web admits app=client on TCP 80 only"
cat >"$TMP/manifests/pods.yaml" <<EOF
apiVersion: v1
kind: Namespace
metadata: {name: demo, labels: {kubernetes.io/metadata.name: demo}}
---
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: demo, labels: {app: web}}
spec: {nodeName: demo-node, containers: [{name: web, image: web}]}
---
apiVersion: v1
kind: Pod
metadata: {name: client, namespace: demo, labels: {app: client}}
spec: {nodeName: demo-node, containers: [{name: client, image: client}]}
EOF
cat >"$TMP/manifests/web-policy.yaml" <<EOF
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web-from-client, namespace: demo}
spec:
  podSelector: {matchLabels: {app: web}}
  ingress:
  - from: [{podSelector: {matchLabels: {app: client}}}]
    ports: [{protocol: TCP, port: 80}]
EOF
cat "$TMP/manifests/web-policy.yaml"
sleep 0.5
try 80; try 81

step "what the agent did"
ctl pods
ctl explain demo/web
ctl trace demo/client demo/web --port 81
ctl trace demo/client demo/web --port 80 --protocol SCTP

step "clean up: CNI DEL of both pods"
for pod in web client; do
	echo "$conf" | node env CNI_COMMAND=DEL CNI_CONTAINERID="demo-$pod-$TAG" \
		CNI_NETNS="/run/netns/pfdemo-$pod-$TAG" CNI_IFNAME=eth0 \
		CNI_ARGS="K8S_POD_NAMESPACE=demo;K8S_POD_NAME=$pod" "$TMP/cni-bin/podfence-cni" &&
		echo "deleted $pod"
done
