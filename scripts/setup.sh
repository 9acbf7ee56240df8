#!/usr/bin/env bash
# The one set-up command for a fresh Debian 12 machine (as root): installs
# the packages podfence needs, builds everything, and runs the demos.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/ensure-bpffs.sh
make -j"$(nproc)"
make demo
