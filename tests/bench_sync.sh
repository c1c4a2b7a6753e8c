#!/usr/bin/env bash
# bench_sync.sh - how far the sync folder lags behind the application, and
# what archivefs' change-journal triggers cost the application's commits.
#
# 1. Trigger cost: the same single-row INSERT, committed alone, N times,
#    into three copies of one demo database, interleaved: one without
#    archivefs objects, one with the change journal installed (history on,
#    the default: each change also records its old and new values), one
#    with history off (no mount running: the cost is the triggers' alone). Reports p50/p99 and the
#    p50 ratio. Goal (issue 5): under 1.5x.
# 2. Sync lag: a demo database in WAL mode, mounted with --sync-dir; the
#    application commits one-row updates at 100, 1,000 and 5,000 commits/s
#    for a few seconds, each writing a sequence number into one of 50
#    prayers; a reader polls those 50 files in the sync folder every 2 ms
#    and, for each sequence number it sees, takes the time from its commit
#    to its appearance on disk. (A number overwritten before the sync
#    wrote it is never seen; the lag of the one that replaced it counts.)
#    Reports p50/p99/max and the commit rate reached. Goal: p99 under 1 s
#    at 1,000 commits/s.
#
# usage: tests/bench_sync.sh [--prayers N] [--seconds S] [--workdir DIR]
#                            [--archivefs PATH] [--keep]
set -euo pipefail

die() { echo "bench_sync: $*" >&2; exit 1; }
repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
prayers=1000 seconds=4 workdir='' keep=0
archivefs=$repo_root/build/fs/archivefs
while [ $# -gt 0 ]; do
	case "$1" in
	--prayers) prayers=$2; shift 2 ;;
	--seconds) seconds=$2; shift 2 ;;
	--workdir) workdir=$2; shift 2 ;;
	--archivefs) archivefs=$2; shift 2 ;;
	--keep) keep=1; shift ;;
	*) die "unknown argument '$1' (see the comment at the top)" ;;
	esac
done
[ -x "$archivefs" ] || die "no archivefs binary at $archivefs (build first)"
[ -c /dev/fuse ] || die "no /dev/fuse"
for p in sqlite3 python3 fusermount3; do command -v $p >/dev/null || die "$p is missing"; done

W=${workdir:-$(mktemp -d /var/tmp/archivefs-bench-sync.XXXXXX)}
mkdir -p "$W"
M=$W/mnt D=$W/sync
PID=
cleanup() {
	if grep -qF " $M " /proc/mounts; then
		fusermount3 -u "$M" 2>/dev/null || fusermount3 -uz "$M" 2>/dev/null || true
	fi
	[ -n "$PID" ] && { wait "$PID" 2>/dev/null || true; }
	[ "$keep" = 1 ] || rm -rf "$W"
}
trap cleanup EXIT

echo "# demo database: $prayers prayers"
rm -f "$W/plain.db" "$W/journal.db" "$W/nohistory.db"
"$archivefs" demo "$W/plain.db" --prayers "$prayers" --quiet
cp "$W/plain.db" "$W/journal.db"
"$archivefs" sync "$W/journal.db" "$W/seeded" --quiet   # installs the journal
cp "$W/plain.db" "$W/nohistory.db"
"$archivefs" history "$W/nohistory.db" --keep-months 0 >/dev/null   # journal, no events

echo "## 1. trigger cost: one-row INSERT commits (rollback journal, synchronous FULL)"
python3 - "$W/plain.db" "$W/journal.db" "$W/nohistory.db" <<'PY'
import sqlite3, sys, time
plain, journal, nohistory = sys.argv[1:4]
cons = {name: sqlite3.connect(path, isolation_level=None) for name, path in
        (("without triggers", plain), ("with archivefs triggers (journal + history)", journal),
         ("with archivefs triggers, history off", nohistory))}
user = cons["without triggers"].execute("SELECT display_name FROM user LIMIT 1").fetchone()[0]
pid = cons["without triggers"].execute("SELECT id FROM prayer LIMIT 1").fetchone()[0]
times = {name: [] for name in cons}
for i in range(600):
    for name, con in cons.items():
        t0 = time.perf_counter()
        con.execute("INSERT INTO prayermark(id, username, prayer_id, created_at)"
                    " VALUES (?, ?, ?, '2024-01-01 00:00:00')", ("bench%d" % i, user, pid))
        times[name].append(time.perf_counter() - t0)
def pct(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, int(round(p / 100.0 * (len(v) - 1))))]
base = pct(times["without triggers"], 50)
print("| commits | p50 ms | p99 ms | p50 ratio |")
print("|---|---:|---:|---:|")
for name, v in times.items():
    print("| %s | %.3f | %.3f | %.2fx |" % (name, pct(v, 50) * 1e3, pct(v, 99) * 1e3,
                                           pct(v, 50) / base))
PY

echo "## 2. sync lag (WAL, application at synchronous NORMAL)"
rm -f "$W/lag.db"*
cp "$W/plain.db" "$W/lag.db"
sqlite3 "$W/lag.db" "PRAGMA journal_mode = WAL" >/dev/null
mkdir -p "$M"
"$archivefs" mount "$W/lag.db" "$M" -f --sync-dir "$D" 2>"$W/daemon.log" &
PID=$!
for _ in $(seq 600); do
	grep -q 'in sync in' "$W/daemon.log" && break
	kill -0 "$PID" 2>/dev/null || { cat "$W/daemon.log" >&2; die "the daemon died"; }
	sleep 0.1
done
grep -q 'in sync in' "$W/daemon.log" || die "the sync folder was not in sync after 60 s"
python3 - "$W/lag.db" "$D" "$seconds" <<'PY'
import glob, os, re, sqlite3, sys, threading, time
db, sync, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
con = sqlite3.connect(db, isolation_level=None, timeout=10, check_same_thread=False)
con.execute("PRAGMA synchronous = NORMAL")
ids = [r[0] for r in con.execute(
    "SELECT id FROM prayer WHERE typeof(id) = 'text' AND length(id) = 32 ORDER BY id LIMIT 50")]
files = {}
for pid in ids:
    hit = glob.glob(os.path.join(sync, "prayers", "*", "*", "*_prayer_%s.txt" % pid))
    assert len(hit) == 1, (pid, hit)
    files[pid] = hit[0]
marker = re.compile(rb"lagseq (\d+) ")

def pct(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, int(round(p / 100.0 * (len(v) - 1))))]

print("| target commits/s | reached | seen | p50 ms | p99 ms | max ms |")
print("|---:|---:|---:|---:|---:|---:|")
seq = 0
for rate in (100, 1000, 5000):
    committed = {}
    seen = {}
    done = threading.Event()
    def reader():
        last = {}
        while not done.is_set() or len(seen) < 1:
            now = time.perf_counter()
            for pid, path in files.items():
                try:
                    with open(path, "rb") as f:
                        m = marker.search(f.read())
                except OSError:
                    continue
                if m:
                    n = int(m.group(1))
                    if n not in seen and n in committed:
                        seen[n] = now
            time.sleep(0.002)
            if done.is_set() and time.perf_counter() - done_at[0] > 3:
                break
    done_at = [0.0]
    t = threading.Thread(target=reader)
    t.start()
    start = time.perf_counter()
    n = 0
    while True:
        now = time.perf_counter()
        if now - start >= seconds:
            break
        due = start + n / rate
        if now < due:
            time.sleep(due - now)
        seq += 1
        pid = ids[seq % len(ids)]
        con.execute("UPDATE prayer SET text = ? WHERE id = ?",
                    ("lagseq %d " % seq + "x" * 40, pid))
        committed[seq] = time.perf_counter()
        n += 1
    reached = n / (time.perf_counter() - start)
    done_at[0] = time.perf_counter()
    # the last write of each file must arrive: wait for it
    last = {ids[s % len(ids)]: s for s in committed}
    deadline = time.perf_counter() + 10
    while time.perf_counter() < deadline and not all(s in seen for s in last.values()):
        time.sleep(0.01)
    done.set()
    t.join()
    missing = [s for s in last.values() if s not in seen]
    if missing:
        sys.exit("rate %d: the last write of %d files never reached the sync folder" % (rate, len(missing)))
    lags = [seen[s] - committed[s] for s in seen]
    print("| %d | %.0f | %d | %.1f | %.1f | %.1f |" % (
        rate, reached, len(lags), pct(lags, 50) * 1e3, pct(lags, 99) * 1e3, max(lags) * 1e3))
PY
fusermount3 -u "$M"
wait "$PID" || die "the daemon exited non-zero"
PID=
"$archivefs" verify "$W/lag.db" "$D" >/dev/null || die "the sync folder is not exactly the database at the end"
echo "# the sync folder verified exactly equal to the database at the end"
