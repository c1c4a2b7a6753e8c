#!/usr/bin/env bash
# Run the whole archivefs test suite from a clean clone:
#   1. install missing Debian packages (mount-scripts/setup-deps.sh);
#   2. build with warnings as errors and run every test (unit + scenario);
#   3. build again with AddressSanitizer + UndefinedBehaviorSanitizer and
#      run every test again.
# Ends with one line "N passed, N failed" (N counts test programs over both
# builds); exit status 0 only if nothing failed.
set -uo pipefail
cd "$(dirname "$0")/.."
bash mount-scripts/setup-deps.sh || { echo "0 passed, 1 failed"; exit 1; }

passed=0 failed=0
run_build() {   # run_build DIR [meson options...]
	local dir=$1; shift
	if ! { [ -d "$dir" ] && meson setup --reconfigure "$dir" "$@" >/dev/null ||
	       meson setup "$dir" "$@" >/dev/null; } || ! ninja -C "$dir" >"$dir/ninja.log" 2>&1; then
		tail -40 "$dir/ninja.log" 2>/dev/null
		echo "build in $dir failed" >&2
		failed=$((failed + 1))
		return
	fi
	meson test -C "$dir" --print-errorlogs --num-processes 2 || true
	local json="$dir/meson-logs/testlog.json"
	local p f
	p=$(python3 -c 'import json,sys; r=[json.loads(l)["result"] for l in open(sys.argv[1])]; print(sum(x=="OK" for x in r))' "$json")
	f=$(python3 -c 'import json,sys; r=[json.loads(l)["result"] for l in open(sys.argv[1])]; print(sum(x not in ("OK","SKIP") for x in r))' "$json")
	passed=$((passed + p)) failed=$((failed + f))
}

run_build build
ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	run_build build-asan -Db_sanitize=address,undefined -Db_lundef=false

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
