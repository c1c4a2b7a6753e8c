#!/usr/bin/env bash
# Run the whole archivefs test suite from a clean clone:
#   1. install missing Debian packages (mount-scripts/setup-deps.sh);
#   2. build with warnings as errors and run every test (unit + scenario);
#   3. build again with AddressSanitizer + UndefinedBehaviorSanitizer and
#      run every test again;
#   4. run the unit tests once under valgrind;
#   5. run each libFuzzer target (tests/fuzz.sh, clang) for 30 s.
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
	count_log "$dir/meson-logs/testlog.json"
}

count_log() {   # count_log JSON: add its results to the totals
	local p f
	p=$(python3 -c 'import json,sys; r=[json.loads(l)["result"] for l in open(sys.argv[1])]; print(sum(x=="OK" for x in r))' "$1")
	f=$(python3 -c 'import json,sys; r=[json.loads(l)["result"] for l in open(sys.argv[1])]; print(sum(x not in ("OK","SKIP") for x in r))' "$1")
	passed=$((passed + p)) failed=$((failed + f))
}

run_build build
ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	run_build .build/asan -Db_sanitize=address,undefined -Db_lundef=false

# 4. the unit tests once more under valgrind (any error or definite leak
#    fails the test); 5. each libFuzzer target for 30 s from its corpus.
if [ -f build/build.ninja ]; then
	rm -f build/meson-logs/valgrind*.json
	meson test -C build --suite unit --logbase valgrind --print-errorlogs \
		--wrap='env ARCHIVEFS_VALGRIND=1 valgrind --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite --quiet' || true
	vlog=$(ls build/meson-logs/valgrind*.json 2>/dev/null | head -1)   # meson adds the wrapper's name
	if [ -n "$vlog" ]; then count_log "$vlog"; else failed=$((failed + 1)); fi
fi
fuzz_out=$(bash tests/fuzz.sh --seconds 30 2>&1)
echo "$fuzz_out"
read -r fp _ ff _ < <(echo "$fuzz_out" | grep -E '^[0-9]+ passed, [0-9]+ failed$' | tail -1)
if [ -n "${fp:-}" ]; then passed=$((passed + fp)) failed=$((failed + ff)); else failed=$((failed + 1)); fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
