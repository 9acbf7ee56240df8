#!/usr/bin/env bash
# Mounts the BPF filesystem at /sys/fs/bpf when it is not mounted yet: the
# datapath pins its maps and programs there.
set -euo pipefail
if ! mount -t bpf | grep -q ' /sys/fs/bpf '; then
	mount -t bpf bpf /sys/fs/bpf
	echo "mounted bpffs at /sys/fs/bpf"
fi
