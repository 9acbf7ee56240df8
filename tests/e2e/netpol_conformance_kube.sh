#!/usr/bin/env bash
# Every shared NetworkPolicy conformance case in kube mode: the model spread
# over the nodes of the simulated cluster (tests/e2e/lib/kube_cluster.py),
# policies applied with kubectl, resolved by podfence-controller, enforced by
# each node's podfence-agent (see tests/e2e/netpol/run --kube). NODES sets
# how many nodes (default 2). The runner removes everything it made on exit.
set -u
here=$(dirname "$0")
if ! command -v kubectl >/dev/null; then
	echo "SKIP: kubectl is not installed, so policies cannot be applied with it"
	echo "0 passed, 0 failed"
	exit 0
fi
runner=""
trap '[ -n "$runner" ] && kill "$runner" 2>/dev/null; wait' EXIT
trap 'exit 130' INT TERM
python3 "$here/netpol/run" --kube --nodes "${NODES:-2}" --build "${BUILD:-build}" \
	"$here"/netpol/cases/*.json &
runner=$!
wait "$runner"
rc=$?
runner=""
exit "$rc"
