#!/usr/bin/env bash
# Runs the test suites named by $1 (unit, bpf, e2e or all) and ends with one
# "N passed, N failed" line summing every suite. cmocka binaries report their
# own counts; e2e scripts end with their own "N passed, N failed" line.
set -u
BUILD=${BUILD:-build}
what=${1:-all}
passed=0 failed=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT

count_cmocka() { # file
	local p f
	p=$(grep -Eo '^\[  PASSED  \] [0-9]+' "$1" | awk '{s+=$NF} END {print s+0}')
	f=$(grep -Eo '^\[  FAILED  \] [0-9]+' "$1" | awk '{s+=$NF} END {print s+0}')
	echo "$p $f"
}

run_binaries() { # dir
	local t p f
	for t in "$BUILD/tests/$1"/test_*; do
		[ -x "$t" ] || continue
		echo "== $t"
		"$t" >"$log" 2>&1
		local rc=$?
		cat "$log"
		read -r p f < <(count_cmocka "$log")
		if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
		passed=$((passed + p)) failed=$((failed + f))
	done
}

run_scripts() {
	local t p f line
	for t in tests/e2e/*.sh; do
		[ -x "$t" ] || continue
		echo "== $t"
		BUILD=$BUILD "$t" >"$log" 2>&1
		local rc=$?
		cat "$log"
		line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$log" | tail -n 1)
		p=${line%% passed*}; p=${p:-0}
		f=$(echo "$line" | sed -nE 's/.* ([0-9]+) failed.*/\1/p'); f=${f:-0}
		if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
		passed=$((passed + p)) failed=$((failed + f))
	done
}

case "$what" in
unit) run_binaries unit ;;
bpf) run_binaries bpf ;;
e2e) run_scripts ;;
all) run_binaries unit; run_binaries bpf; run_scripts ;;
*) echo "usage: $0 unit|bpf|e2e|all" >&2; exit 2 ;;
esac
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
