#!/usr/bin/env bash
# fuzz.sh - run the libFuzzer targets (tests/fuzz/fuzz_*.c).
#
# Builds .build/fuzz/ with clang (-Dfuzz=true, AddressSanitizer and
# UndefinedBehaviorSanitizer) if needed, then runs each target for the
# given time, starting from its committed corpus (tests/fuzz/corpus/NAME/,
# read only) plus a scratch folder for what the run finds. A crash, a leak,
# a sanitizer report or a failed property (the targets abort()) stops the
# target: the input that did it is kept under .build/fuzz/crashes/ and named
# on stderr, and the exit status is 1.
#
# usage: tests/fuzz.sh [--seconds N] [--merge] [TARGET...]
#   --seconds N  per target (default 60; CI runs 30)
#   --merge      add the inputs that found new coverage to the committed
#                corpus (minimised with -merge=1), for a long run's result
#   TARGET       format, names (default: both)
# Prints one line per target, "fuzz NAME: ok (R runs, C corpus)" or
# "fuzz NAME: FAILED", then "N passed, N failed".
set -uo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
seconds=60 merge=0 targets=()
while [ $# -gt 0 ]; do
	case $1 in
	--seconds) seconds=$2; shift 2 ;;
	--merge) merge=1; shift ;;
	-h|--help) sed -n 's/^# \{0,1\}//; 2,/^$/p' "$0"; exit 0 ;;
	-*) echo "fuzz.sh: unknown option $1" >&2; exit 2 ;;
	*) targets+=("$1"); shift ;;
	esac
done
[ ${#targets[@]} -gt 0 ] || targets=(format names)
command -v clang >/dev/null || { echo "fuzz.sh: clang is not installed (mount-scripts/setup-deps.sh installs it)" >&2; exit 1; }

B=$repo/.build/fuzz
if [ ! -f "$B/build.ninja" ]; then
	CC=clang meson setup "$B" "$repo" -Dfuzz=true -Db_sanitize=address,undefined \
		-Db_lundef=false -Dbuildtype=debugoptimized >/dev/null || exit 1
fi
ninja -C "$B" $(printf 'tests/fuzz_%s ' "${targets[@]}") >"$B/ninja-fuzz.log" 2>&1 ||
	{ tail -30 "$B/ninja-fuzz.log" >&2; echo "fuzz.sh: build failed" >&2; exit 1; }

mkdir -p "$B/crashes"
passed=0 failed=0
for t in "${targets[@]}"; do
	corpus=$repo/tests/fuzz/corpus/$t
	scratch=$(mktemp -d "${TMPDIR:-/tmp}/fuzz-$t.XXXXXX")
	mkdir -p "$corpus"
	log=$B/fuzz-$t.log
	UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 ASAN_OPTIONS=detect_leaks=1 \
		"$B/tests/fuzz_$t" "$scratch" "$corpus" -max_total_time="$seconds" \
		-max_len=65536 -timeout=10 -rss_limit_mb=2048 \
		-artifact_prefix="$B/crashes/$t-" -print_final_stats=1 >"$log" 2>&1
	rc=$?
	runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$')
	if [ $rc -eq 0 ]; then
		passed=$((passed + 1))
		echo "fuzz $t: ok (${runs:-?} runs in ${seconds} s, corpus $(ls "$corpus" | wc -l) + $(ls "$scratch" | wc -l) new)"
		if [ $merge -eq 1 ] && [ -n "$(ls "$scratch")" ]; then
			"$B/tests/fuzz_$t" -merge=1 "$corpus" "$scratch" >>"$log" 2>&1 &&
				echo "fuzz $t: corpus now $(ls "$corpus" | wc -l) inputs"
		fi
	else
		failed=$((failed + 1))
		echo "fuzz $t: FAILED (exit $rc); the input is in $B/crashes/, the log in $log" >&2
		grep -E 'ERROR|SUMMARY|deadly signal|==[0-9]+==' "$log" | head -20 >&2
	fi
	rm -rf "$scratch"
done
echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
