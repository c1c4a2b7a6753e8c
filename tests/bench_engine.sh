#!/usr/bin/env bash
# bench_engine.sh - benchmark of the archive engine ("archive engine" issue).
#
# Measures, side by side in one run, interleaved so that machine noise hits
# every contender alike:
#   dump    sqlite3 DB .dump > dump.sql; sync      (baseline for export)
#   reload  sqlite3 new.db < dump.sql              (baseline for import)
#   export  archivefs export DB outdir_r --quiet   (fresh directory each run)
#   floor   bench_floor: the same files (paths, sizes) written atomically
#           (temp + rename) and synced, with no database and no rendering:
#           what the file system charges for the tree's shape
#   noop    archivefs export DB outdir_r           (again; must write 0 files)
#   import  archivefs import outdir_r new_r.db --quiet
# and reports median wall time, rows/s, peak RSS, and the ratios against the
# goals (export >= 0.5x dump rows/s, import >= 0.5x reload rows/s, peak
# memory < 100 MB). The goals are informative; the exit status is non-zero
# only if a command failed or a correctness check failed (verify of the
# last export, sorted .dump of the last import equal to the original's).
#
# usage: tests/bench_engine.sh [--prayers N] [--runs R] [--workdir DIR]
#                              [--archivefs PATH] [--keep]
# The binaries must already be built (default: build/fs/archivefs and
# build/tests/bench_floor under the repository root).

set -euo pipefail

usage() {
	sed -n 's/^# \{0,1\}//; /^usage:/,/^$/p' "$0" | sed '/^$/d' >&2
	exit 2
}

die() {
	echo "bench_engine: $*" >&2
	exit 1
}

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
prayers=100000
runs=3
workdir=
archivefs=$repo_root/build/fs/archivefs
floor=$repo_root/build/tests/bench_floor
keep=0

while [ $# -gt 0 ]; do
	case "$1" in
	--prayers) [ $# -ge 2 ] || usage; prayers=$2; shift 2 ;;
	--runs) [ $# -ge 2 ] || usage; runs=$2; shift 2 ;;
	--workdir) [ $# -ge 2 ] || usage; workdir=$2; shift 2 ;;
	--archivefs) [ $# -ge 2 ] || usage; archivefs=$2; shift 2 ;;
	--keep) keep=1; shift ;;
	-h | --help) usage ;;
	*) echo "bench_engine: unknown argument '$1'" >&2; usage ;;
	esac
done

case "$prayers" in '' | *[!0-9]*) die "--prayers needs a number, not '$prayers'" ;; esac
case "$runs" in '' | *[!0-9]* | 0) die "--runs needs a positive number, not '$runs'" ;; esac
[ -x "$floor" ] || die "bench_floor not found: $floor (build it first: meson compile -C build)"
[ -x "$archivefs" ] || die "archivefs binary not found or not executable: $archivefs (build it first: meson compile -C build)"
archivefs=$(cd "$(dirname "$archivefs")" && pwd)/$(basename "$archivefs")
command -v sqlite3 >/dev/null || die "sqlite3 not found"
command -v python3 >/dev/null || die "python3 not found"

# Timing: GNU time gives wall seconds and peak RSS; without it, bash's time
# keyword gives the wall time only.
if [ -x /usr/bin/time ] && /usr/bin/time -f '%e %M' -o /dev/null true 2>/dev/null; then
	have_gnu_time=1
else
	have_gnu_time=0
	echo "bench_engine: GNU time (/usr/bin/time) missing; timing with bash's TIMEFORMAT, memory n/a" >&2
fi

# Work directory: not on tmpfs (RAM would flatter every contender's I/O).
if [ -z "$workdir" ]; then
	workdir=$(mktemp -d /var/tmp/bench_engine.XXXXXX)
else
	if [ -e "$workdir" ] && [ -n "$(ls -A "$workdir")" ]; then
		die "--workdir $workdir exists and is not empty (it is removed at the end unless --keep)"
	fi
	mkdir -p "$workdir"
	workdir=$(cd "$workdir" && pwd)
fi
fstype=$(stat -f -c %T "$workdir")
if [ "$fstype" = tmpfs ]; then
	echo "bench_engine: warning: $workdir is on tmpfs; the numbers will not reflect a disk" >&2
fi

status=0
# shellcheck disable=SC2317  # invoked by the EXIT trap
cleanup() {
	local rc=$?
	if [ "$keep" = 1 ]; then
		echo "bench_engine: kept $workdir" >&2
	else
		rm -rf "$workdir"
	fi
	exit "$rc"
}
trap cleanup EXIT

W=$workdir
# Run a private copy: all runs then measure the same build, even if the
# tree's binary is rebuilt while the benchmark runs.
archivefs_src=$archivefs
cp "$archivefs_src" "$W/archivefs" || die "cannot copy $archivefs_src"
archivefs=$W/archivefs
times=$W/times.tsv     # contender <TAB> run <TAB> seconds <TAB> peak KB (or n/a)
: >"$times"

# measure CONTENDER RUN OUTFILE CMD [ARGS...]: sync, then run CMD with its
# stdout to OUTFILE, recording wall time and peak RSS; abort on failure.
measure() {
	local name=$1 run=$2 out=$3 rc=0 secs kb
	shift 3
	sync
	if [ "$have_gnu_time" = 1 ]; then
		/usr/bin/time -f '%e %M' -o "$W/time.out" "$@" >"$out" 2>"$W/stderr.out" || rc=$?
		[ "$rc" = 0 ] || { cat "$W/stderr.out" >&2; die "run $run: $name failed (exit $rc): $*"; }
		read -r secs kb <"$W/time.out"
	else
		local TIMEFORMAT=%R
		{ time "$@" >"$out" 2>"$W/stderr.out"; } 2>"$W/time.out" || rc=$?
		[ "$rc" = 0 ] || { cat "$W/stderr.out" >&2; die "run $run: $name failed (exit $rc): $*"; }
		secs=$(tail -n 1 "$W/time.out")
		kb=n/a
	fi
	printf '%s\t%s\t%s\t%s\n' "$name" "$run" "$secs" "$kb" >>"$times"
	printf '  run %s %-7s %8ss  %s KB\n' "$run" "$name" "$secs" "$kb" >&2
}

DB=$W/demo.db
echo "bench_engine: creating demo database ($prayers prayers) in $W" >&2
"$archivefs" demo "$DB" --prayers "$prayers" --quiet || die "archivefs demo failed"

count_sql=$(sqlite3 "$DB" "SELECT 'SELECT ' || group_concat('(SELECT count(*) FROM \"' || replace(name, '\"', '\"\"') || '\")', ' + ') FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
[ -n "$count_sql" ] || die "no tables in $DB"
rows=$(sqlite3 "$DB" "$count_sql")
echo "bench_engine: $rows rows" >&2

for r in $(seq 1 "$runs"); do
	dump=$W/dump_$r.sql
	# Separate files per run: nothing is deleted before a measured step.
	# shellcheck disable=SC2016  # $1, $2 are the inner shell's
	measure dump "$r" /dev/null sh -c 'sqlite3 "$1" .dump >"$2" && sync' sh "$DB" "$dump"
	# shellcheck disable=SC2016
	measure reload "$r" /dev/null sh -c 'sqlite3 "$1" <"$2"' sh "$W/reload_$r.db" "$dump"
	measure export "$r" /dev/null "$archivefs" export "$DB" "$W/out_$r" --quiet
	[ -s "$W/manifest" ] || (cd "$W/out_$r" && find . -type f -printf '%s\t%P\n') >"$W/manifest"
	measure floor "$r" /dev/null "$floor" "$W/manifest" "$W/floor_$r"
	measure noop "$r" "$W/noop_$r.out" "$archivefs" export "$DB" "$W/out_$r"
	case "$(cat "$W/noop_$r.out")" in
	"0 written, "*) ;;
	*) cat "$W/noop_$r.out" >&2; die "run $r: the second export wrote files" ;;
	esac
	measure import "$r" /dev/null "$archivefs" import "$W/out_$r" "$W/import_$r.db" --quiet
done

# Correctness of the last run: a benchmark of a wrong result is worthless.
last=$runs
checks=()
if "$archivefs" verify "$DB" "$W/out_$last" >"$W/verify.out" 2>&1; then
	checks+=("verify DB out_$last: PASS")
else
	cat "$W/verify.out" >&2
	checks+=("verify DB out_$last: FAIL")
	status=1
fi
sum_a=$(sqlite3 "$DB" .dump | LC_ALL=C sort | sha256sum | cut -d' ' -f1)
sum_b=$(sqlite3 "$W/import_$last.db" .dump | LC_ALL=C sort | sha256sum | cut -d' ' -f1)
if [ "$sum_a" = "$sum_b" ]; then
	checks+=("sorted .dump of import_$last.db equals DB's (sha256 ${sum_a:0:16}...): PASS")
else
	checks+=("sorted .dump of import_$last.db differs from DB's ($sum_b vs $sum_a): FAIL")
	status=1
fi

files=$(find "$W/out_$last" -type f | wc -l)
bytes=$(du -sb "$W/out_$last" | cut -f1)
mem_total=$(free -g | awk '/^Mem:/ { print $2 }')

report=$W/results.md
{
	echo "# archive engine benchmark"
	echo
	echo "- date: $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
	echo "- machine: $(nproc) CPUs, ${mem_total} GB RAM, workdir on $fstype ($W)"
	echo "- sqlite3 $(sqlite3 --version | cut -d' ' -f1-2)"
	echo "- archivefs: $archivefs_src ($("$archivefs" --version 2>/dev/null || echo 'version n/a'), sha256 $(sha256sum "$archivefs" | cut -c1-12))"
	echo "- data: demo --prayers $prayers: $rows rows; export tree: $files files, $bytes bytes"
	echo "- runs: $runs, interleaved dump, reload, export, floor, no-op export, import; sync before each"
	echo
	python3 - "$times" "$rows" <<'EOF'
import statistics
import sys

path, rows = sys.argv[1], int(sys.argv[2])
t, kb = {}, {}
for line in open(path):
    name, _run, secs, peak = line.rstrip("\n").split("\t")
    t.setdefault(name, []).append(float(secs))
    if peak != "n/a":
        kb[name] = max(kb.get(name, 0), int(peak))

labels = {
    "dump": "sqlite3 .dump + sync (baseline A)",
    "reload": "sqlite3 new.db < dump (baseline B)",
    "export": "archivefs export (fresh dir)",
    "floor": "floor: same files, temp+rename+syncfs, no DB",
    "noop": "archivefs export (no-op, again)",
    "import": "archivefs import (new db)",
}
med = {n: statistics.median(v) for n, v in t.items()}


def rate(n):
    return rows / med[n] if med[n] > 0 else float("inf")


def mb(n):
    return "%.1f" % (kb[n] / 1024) if n in kb else "n/a"


print("| contender | median wall s | rows/s | peak RSS MB | runs (s) |")
print("|---|---:|---:|---:|---|")
for n in ("dump", "reload", "export", "floor", "noop", "import"):
    print("| %s | %.2f | %s | %s | %s |" % (
        labels[n], med[n], "{:,.0f}".format(rate(n)), mb(n),
        ", ".join("%.2f" % x for x in t[n])))
print()

exp_ratio = rate("export") / rate("dump")
imp_ratio = rate("import") / rate("reload")
peak = [kb[n] / 1024 for n in ("export", "noop", "import") if n in kb]
print("| ratio | value | goal | |")
print("|---|---:|---|---|")
print("| export rows/s / dump rows/s | %.2fx | >= 0.5x | %s |"
      % (exp_ratio, "PASS" if exp_ratio >= 0.5 else "MISS"))
print("| import rows/s / reload rows/s | %.2fx | >= 0.5x | %s |"
      % (imp_ratio, "PASS" if imp_ratio >= 0.5 else "MISS"))
if peak:
    print("| peak RSS, export and import | %.1f MB | < 100 MB | %s |"
          % (max(peak), "PASS" if max(peak) < 100 else "MISS"))
else:
    print("| peak RSS, export and import | n/a | < 100 MB | n/a |")
print("| no-op export time (median) | %.2f s | | |" % med["noop"])
print("| export time / floor time (writing the same files, nothing else) | %.2fx | | |"
      % (med["export"] / med["floor"]))
print("| floor rows/s / dump rows/s (best any one-file-per-prayer export can do) | %.2fx | | |"
      % (rate("floor") / rate("dump")))
print()
print("Goals: export >= 0.5x dump rows/s: %s; import >= 0.5x reload rows/s: %s;"
      " peak memory < 100 MB for both: %s (informative only)."
      % ("PASS" if exp_ratio >= 0.5 else "MISS",
         "PASS" if imp_ratio >= 0.5 else "MISS",
         ("PASS" if max(peak) < 100 else "MISS") if peak else "n/a"))
EOF
	echo
	echo "Checks (these decide the exit status):"
	echo
	for c in "${checks[@]}"; do echo "- $c"; done
} >"$report"

cat "$report"
[ "$status" = 0 ] || echo "bench_engine: a correctness check failed" >&2
exit "$status"
