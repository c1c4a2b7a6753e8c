#!/usr/bin/env bash
# bench_save.sh - how long a save through a `-o rw` mount takes: from the
# editor starting to write the file to its close(2) returning, which is
# when the rows are committed (synchronous = FULL). Each save is checked
# afterwards (outside the timing): the row holds the new value.
#
# On a --prayers N demo database, for a small prayer file (few marks) and
# a large one (a prayer given --marks M marks), R saves each that flip the
# prayer's `flagged`, two ways:
#   in place    open(O_WRONLY|O_TRUNC), write, close   (cat >, nano, cp)
#   rename      write a temporary, fsync, rename over   (sed -i, rsync)
# and, side by side in the same run, the floor: the same UPDATE committed
# by the application directly (python sqlite3, synchronous = FULL).
# Reports p50, p99 and max in ms, and the p50 ratio save/direct. Goal
# (issue 4): p99 under 10 ms for the 1,000-mark prayer file.
#
# usage: tests/bench_save.sh [--prayers N] [--marks M] [--runs R]
#                            [--workdir DIR] [--archivefs PATH] [--keep]
# Needs /dev/fuse, sqlite3, python3.
set -euo pipefail

die() { echo "bench_save: $*" >&2; exit 1; }
repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
prayers=1000 marks=1000 runs=200 workdir='' keep=0
archivefs=$repo_root/build/fs/archivefs
while [ $# -gt 0 ]; do
	case "$1" in
	--prayers) prayers=$2; shift 2 ;;
	--marks) marks=$2; shift 2 ;;
	--runs) runs=$2; shift 2 ;;
	--workdir) workdir=$2; shift 2 ;;
	--archivefs) archivefs=$2; shift 2 ;;
	--keep) keep=1; shift ;;
	*) die "unknown argument '$1' (see the comment at the top)" ;;
	esac
done
[ -x "$archivefs" ] || die "no archivefs binary at $archivefs (build first)"
[ -c /dev/fuse ] || die "no /dev/fuse"
for p in sqlite3 python3 fusermount3; do command -v $p >/dev/null || die "$p is missing"; done

W=${workdir:-$(mktemp -d /var/tmp/archivefs-bench-save.XXXXXX)}
mkdir -p "$W"
DB=$W/bench.db M=$W/mnt
PID=
cleanup() {
	if grep -qF " $M " /proc/mounts; then
		fusermount3 -u "$M" 2>/dev/null || fusermount3 -uz "$M" 2>/dev/null || true
	fi
	[ -n "$PID" ] && { wait "$PID" 2>/dev/null || true; }
	[ "$keep" = 1 ] || rm -rf "$W"
}
trap cleanup EXIT

echo "# demo database: $prayers prayers; a large prayer gets $marks marks"
rm -f "$DB"
"$archivefs" demo "$DB" --prayers "$prayers" --quiet
mkdir -p "$M"
"$archivefs" mount "$DB" "$M" -f -o rw 2>"$W/daemon.log" &
PID=$!
for _ in $(seq 600); do
	grep -qE 'live updates on(\)|$)' "$W/daemon.log" && break
	kill -0 "$PID" 2>/dev/null || { cat "$W/daemon.log" >&2; die "the daemon died"; }
	sleep 0.1
done
grep -qE 'live updates on(\)|$)' "$W/daemon.log" || die "live updates not on after 60 s"

python3 - "$DB" "$M" "$marks" "$runs" <<'PY'
import glob, os, sqlite3, sys, time

db, mnt, marks, runs = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
con = sqlite3.connect(db, timeout=10, isolation_level=None)
con.execute("PRAGMA synchronous = FULL")

def prayer_ids(n):
    return [r[0] for r in con.execute(
        "SELECT p.id FROM prayer p WHERE typeof(p.id) = 'text' AND length(p.id) = 32"
        " AND p.flagged IN (0, 1) AND (SELECT count(*) FROM prayermark m"
        " WHERE m.prayer_id = p.id) <= 3 ORDER BY p.id LIMIT ?", (n,))]

small, big = prayer_ids(2)
users = [r[0] for r in con.execute("SELECT display_name FROM user LIMIT 20")]
con.execute("BEGIN")
for i in range(marks):
    con.execute("INSERT INTO prayermark(id, username, prayer_id, created_at)"
                " VALUES (?, ?, ?, ?)",
                ("bench%06d" % i, users[i % len(users)], big,
                 "2024-01-01 00:%02d:%02d.%06d" % (i // 3600 % 60, i // 60 % 60, i)))
con.execute("COMMIT")
time.sleep(1.0)   # the watcher records the grown file

def path_of(pid):
    hits = glob.glob(os.path.join(mnt, "prayers", "*", "*", "*_prayer_%s.txt" % pid))
    assert len(hits) == 1, hits
    return hits[0]

def flagged(pid):
    return con.execute("SELECT flagged FROM prayer WHERE id = ?", (pid,)).fetchone()[0]

def flip(text):
    if "\nflagged: 0\n" in text:
        return text.replace("\nflagged: 0\n", "\nflagged: 1\n"), 1
    return text.replace("\nflagged: 1\n", "\nflagged: 0\n"), 0

def save_in_place(path, data):
    t0 = time.perf_counter()
    fd = os.open(path, os.O_WRONLY | os.O_TRUNC)
    os.write(fd, data)
    os.close(fd)
    return time.perf_counter() - t0

def save_rename(path, data):
    tmp = os.path.join(os.path.dirname(path), ".bench.tmp")
    t0 = time.perf_counter()
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.write(fd, data)
    os.fsync(fd)
    os.close(fd)
    os.rename(tmp, path)
    return time.perf_counter() - t0

def direct(pid, value):
    t0 = time.perf_counter()
    con.execute("UPDATE prayer SET flagged = ? WHERE id = ?", (value, pid))
    return time.perf_counter() - t0

def pct(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, int(round(p / 100.0 * (len(v) - 1))))]

def ms(x):
    return "%.2f" % (x * 1000)

print("| file | bytes | way | p50 ms | p99 ms | max ms | p50 vs direct |")
print("|---|---:|---|---:|---:|---:|---:|")
for label, pid in (("small prayer", small), ("prayer + %d marks" % marks, big)):
    path = path_of(pid)
    size = os.path.getsize(path)
    times = {"in place": [], "rename": [], "direct UPDATE": []}
    for i in range(runs):
        for way in ("in place", "rename", "direct UPDATE"):
            time.sleep(0.12)   # past the watcher's tick: no conflict with the last change
            text = open(path).read()
            new, value = flip(text)
            if way == "direct UPDATE":
                times[way].append(direct(pid, value))
            else:
                fn = save_in_place if way == "in place" else save_rename
                times[way].append(fn(path, new.encode()))
            got = flagged(pid)
            if got != value:
                sys.exit("%s %s: after the save flagged is %r, not %r" % (label, way, got, value))
    floor = pct(times["direct UPDATE"], 50)
    for way, v in times.items():
        print("| %s | %d | %s | %s | %s | %s | %.1fx |" % (
            label, size, way, ms(pct(v, 50)), ms(pct(v, 99)), ms(max(v)),
            pct(v, 50) / floor))
PY
fusermount3 -u "$M"
wait "$PID" || die "the daemon exited non-zero"
PID=
grep -q 'save refused' "$W/daemon.log" && { grep 'save refused' "$W/daemon.log" >&2; die "a save was refused"; }
echo "# every save was checked: the row held the new value when close/rename returned"
