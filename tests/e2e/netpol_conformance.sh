#!/usr/bin/env bash
# Every shared NetworkPolicy conformance case on real traffic (see
# tests/e2e/netpol/run); more cases of the same format can be passed to the
# runner directly.
set -u
here=$(dirname "$0")
exec python3 "$here/netpol/run" --build "${BUILD:-build}" "$here"/netpol/cases/*.json
