#!/usr/bin/env bash
# bench_mount.sh - what browsing and backing up cost through the mount,
# next to the same tree exported to disk, measured side by side in one run.
#
# For the --prayers N demo database: export it to a folder on disk, mount
# it, then for each run time every tool on both, cold (freshly mounted,
# page cache dropped with `echo 3 > /proc/sys/vm/drop_caches`, for the
# disk side too) and warm (the same command again):
#   find . | wc -l;  ls -lR;  du -s;  grep -r <absent word>;
#   tar cf - . | wc -c;  rsync -a into an empty folder;  rsync -a again (no-op)
# Reports the ratios mount/disk per tool, their geometric means, the mount
# time (until `archivefs mount` returns with the mount up) and the daemon's
# peak memory (VmHWM) after the runs. Goals (informative): warm geomean <=
# 1.2 and no ratio > 2; cold geomean <= 1.5 and none > 4; mount < 0.2 s;
# daemon peak < 64 MB. Exits non-zero only if a command failed or the
# mount does not serve exactly the exported tree.
#
# usage: tests/bench_mount.sh [--prayers N] [--runs R] [--workdir DIR]
#                             [--archivefs PATH] [--keep]
# Needs root (drop_caches), /dev/fuse, rsync, sqlite3, python3.
set -euo pipefail

die() { echo "bench_mount: $*" >&2; exit 1; }
repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
prayers=100000 runs=3 workdir='' keep=0
archivefs=$repo_root/build/fs/archivefs
while [ $# -gt 0 ]; do
	case "$1" in
	--prayers) prayers=$2; shift 2 ;;
	--runs) runs=$2; shift 2 ;;
	--workdir) workdir=$2; shift 2 ;;
	--archivefs) archivefs=$2; shift 2 ;;
	--keep) keep=1; shift ;;
	*) die "unknown argument '$1' (see the comment at the top)" ;;
	esac
done
[ -x "$archivefs" ] || die "no archivefs binary at $archivefs (build first)"
[ -w /proc/sys/vm/drop_caches ] || die "cannot drop caches (run as root)"
[ -c /dev/fuse ] || die "no /dev/fuse"
command -v rsync >/dev/null || die "rsync is missing"
command -v sqlite3 >/dev/null || die "sqlite3 is missing"
W=${workdir:-$(mktemp -d /var/tmp/bench_mount.XXXXXX)}
mkdir -p "$W"
M=$W/mnt
mkdir -p "$M"
cp "$archivefs" "$W/archivefs"
AF=$W/archivefs
pid=
cleanup() {
	mountpoint -q "$M" && { fusermount3 -u "$M" 2>/dev/null || fusermount3 -uz "$M"; }
	[ "$keep" = 1 ] || rm -rf "$W"
}
trap cleanup EXIT

times=$W/times.tsv
: >"$times"
drop() { sync; echo 3 >/proc/sys/vm/drop_caches; }
# measure LABEL SIDE TEMP DIR CMD: run CMD (a shell snippet) in DIR, record wall seconds.
measure() {
	local label=$1 side=$2 temp=$3 dir=$4 cmd=$5 t0 t1
	t0=$(date +%s.%N)
	(cd "$dir" && bash -c "$cmd") >/dev/null 2>"$W/err" || { cat "$W/err" >&2; die "$label on $side ($temp) failed"; }
	t1=$(date +%s.%N)
	printf '%s\t%s\t%s\t%s\n' "$label" "$side" "$temp" "$(python3 -c "print($t1 - $t0)")" >>"$times"
	printf '  %-12s %-5s %-4s %8.3fs\n' "$label" "$side" "$temp" "$(python3 -c "print($t1 - $t0)")" >&2
}

mount_it() {   # mount, record the time it took
	local t0 t1
	t0=$(date +%s.%N)
	"$AF" mount "$W/demo.db" "$M"
	t1=$(date +%s.%N)
	mountpoint -q "$M" || die "not mounted"
	python3 -c "print($t1 - $t0)" >>"$W/mount_times"
	pid=$(pgrep -f "archivefs mount $W/demo.db $M" | head -1)
}

echo "bench_mount: demo database ($prayers prayers) and its export in $W" >&2
"$AF" demo "$W/demo.db" --prayers "$prayers" --quiet
"$AF" export "$W/demo.db" "$W/disk" --quiet
files=$(find "$W/disk" -type f | wc -l)

# The first mount records the tree in the background (the mount serves by
# rendering meanwhile): let it finish, so every measured mount is a mount
# of a recorded database, and time it apart.
t0=$(date +%s.%N)
"$AF" mount "$W/demo.db" "$M"
until [ "$(sqlite3 "$W/demo.db" "SELECT v FROM archivefs_state WHERE k = 'seeded'" 2>/dev/null)" = 1 ]; do
	sleep 0.2
done
t1=$(date +%s.%N)
sleep 0.5   # the watcher turns live serving on right after
fusermount3 -u "$M"
echo "bench_mount: first mount recorded the tree in $(python3 -c "print(round($t1 - $t0, 1))") s" >&2

ops=(find lsR du grep tar rsync rsync2)
op_cmd() {
	case "$1" in
	find) echo "find . | wc -l" ;;
	lsR) echo "ls -lR ." ;;
	du) echo "du -s ." ;;
	grep) echo "grep -r zzqqxxyy_absent . || true" ;;
	tar) echo "tar cf - . | wc -c" ;;
	rsync) echo "rsync -a ./ '$2/'" ;;
	rsync2) echo "rsync -a ./ '$2/'" ;;
	esac
}

peak=0
for r in $(seq 1 "$runs"); do
	for temp in cold warm; do
		for side in disk mount; do
			if [ "$side" = mount ] && [ "$temp" = cold ]; then
				mountpoint -q "$M" && fusermount3 -u "$M"
				drop
				mount_it
			fi
			src=$W/disk
			[ "$side" = mount ] && src=$M
			[ "$side" = mount ] && [ "$r" = 1 ] && [ "$temp" = cold ] && {
				diff -r "$M" "$W/disk" >/dev/null || die "the mount differs from the export"
				drop
			}
			for op in "${ops[@]}"; do
				[ "$temp" = cold ] && [ "$side" = disk ] && [ "$op" != rsync2 ] && drop
				[ "$temp" = cold ] && [ "$side" = mount ] && [ "$op" != rsync2 ] && {
					fusermount3 -u "$M"; drop; mount_it; }
				dest=$W/rs_${r}_${temp}_${side}
				measure "$op" "$side" "$temp" "$src" "$(op_cmd "$op" "$dest")"
			done
		done
	done
	if [ -n "$pid" ]; then
		hwm=$(awk '/VmHWM/ { print $2 }' "/proc/$pid/status")
		[ "$hwm" -gt "$peak" ] && peak=$hwm
	fi
done

python3 - "$times" "$W/mount_times" "$peak" "$files" "$prayers" <<'PY'
import math, statistics, sys
times, mt, peak, files, prayers = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]
t = {}
for line in open(times):
    op, side, temp, s = line.split("\t")
    t.setdefault((op, side, temp), []).append(float(s))
med = {k: statistics.median(v) for k, v in t.items()}
ops = ["find", "lsR", "du", "grep", "tar", "rsync", "rsync2"]
names = {"find": "find", "lsR": "ls -lR", "du": "du -s", "grep": "grep -r", "tar": "tar cf - | wc -c",
         "rsync": "rsync -a (into empty)", "rsync2": "rsync -a (again, no-op)"}
print("- tree: demo --prayers %s, %s files; medians of runs" % (prayers, files))
print()
print("| tool | disk cold s | mount cold s | cold ratio | disk warm s | mount warm s | warm ratio |")
print("|---|---:|---:|---:|---:|---:|---:|")
ratios = {"cold": [], "warm": []}
for op in ops:
    row = [names[op]]
    for temp in ("cold", "warm"):
        d, m = med[(op, "disk", temp)], med[(op, "mount", temp)]
        r = m / d if d > 0 else float("inf")
        ratios[temp].append(r)
        row += ["%.3f" % d, "%.3f" % m, "%.2fx" % r]
    print("| " + " | ".join(row) + " |")
def gm(v): return math.exp(sum(math.log(max(x, 1e-9)) for x in v) / len(v))
print()
mts = [float(x) for x in open(mt)]
print("| measure | value | goal |")
print("|---|---:|---|")
print("| warm geometric mean | %.2fx (max %.2fx) | <= 1.2, none > 2 |" % (gm(ratios["warm"]), max(ratios["warm"])))
print("| cold geometric mean | %.2fx (max %.2fx) | <= 1.5, none > 4 |" % (gm(ratios["cold"]), max(ratios["cold"])))
print("| mount time (median of %d) | %.3f s | < 0.2 s |" % (len(mts), statistics.median(mts)))
print("| daemon peak memory (VmHWM) | %.1f MB | < 64 MB |" % (peak / 1024))
PY
