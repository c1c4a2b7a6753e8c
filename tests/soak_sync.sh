#!/usr/bin/env bash
# soak_sync.sh - crash soak of the sync folder (issue 5, point 3), longer
# than the suite's 20 kills (tests/sync_dir.sh).
#
# For --minutes M: a -o rw mount with --sync-dir, the application
# committing every few ms (updates, inserts and deletes of marks), an
# editor saving users files through the mount; the daemon is killed with
# kill -9 at random moments (0.2 to 2 s apart) and restarted. Every
# --check-every K kills the storm pauses, the restarted daemon must bring
# DIR to exactly what the database renders (verify exits 0) within 30 s,
# and the storm resumes. Exits 0 only if every check passed.
#
# usage: tests/soak_sync.sh [--minutes M] [--check-every K] [--workdir DIR]
#                           [--archivefs PATH] [--keep]
set -euo pipefail

die() { echo "soak_sync: $*" >&2; exit 1; }
repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
minutes=10 every=10 workdir='' keep=0
archivefs=$repo_root/build/fs/archivefs
while [ $# -gt 0 ]; do
	case "$1" in
	--minutes) minutes=$2; shift 2 ;;
	--check-every) every=$2; shift 2 ;;
	--workdir) workdir=$2; shift 2 ;;
	--archivefs) archivefs=$2; shift 2 ;;
	--keep) keep=1; shift ;;
	*) die "unknown argument '$1' (see the comment at the top)" ;;
	esac
done
[ -x "$archivefs" ] || die "no archivefs binary at $archivefs (build first)"
W=${workdir:-$(mktemp -d /var/tmp/archivefs-soak.XXXXXX)}
mkdir -p "$W"
DB=$W/a.db M=$W/mnt D=$W/sync LOG=$W/daemon.log
PID= STORM= EDITOR=
cleanup() {
	touch "$W/stop"
	[ -n "$STORM" ] && { wait "$STORM" 2>/dev/null || true; }
	[ -n "$EDITOR" ] && { wait "$EDITOR" 2>/dev/null || true; }
	if grep -qF " $M " /proc/mounts; then
		fusermount3 -u "$M" 2>/dev/null || fusermount3 -uz "$M" 2>/dev/null || true
	fi
	[ -n "$PID" ] && { kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; }
	[ "$keep" = 1 ] || rm -rf "$W"
}
trap cleanup EXIT

rm -f "$DB"
"$archivefs" demo "$DB" --prayers 200 --quiet
mkdir -p "$M"
start_daemon() {
	"$archivefs" mount "$DB" "$M" -f -o rw --sync-dir "$D" 2>>"$LOG" &
	PID=$!
	for _ in $(seq 100); do mountpoint -q "$M" && return 0; sleep 0.1; done
	die "not mounted after 10 s (see $LOG)"
}
kill_daemon() {
	kill -9 "$PID"
	wait "$PID" 2>/dev/null || true
	PID=
	fusermount3 -u "$M" 2>/dev/null || fusermount3 -uz "$M"
}
start_storm() {
	rm -f "$W/pause"
	python3 - "$DB" "$W/stop" "$W/pause" <<'PY' &
import os, random, sqlite3, sys, time
db, stop, pause = sys.argv[1:4]
con = sqlite3.connect(db, timeout=30, isolation_level=None)
ids = [r[0] for r in con.execute("SELECT id FROM prayer WHERE typeof(id) = 'text'")]
user = con.execute("SELECT display_name FROM user LIMIT 1").fetchone()[0]
n = int(time.time() * 1000)
while not os.path.exists(stop) and not os.path.exists(pause):
    r = random.random()
    pid = random.choice(ids)
    if r < 0.6:
        con.execute("UPDATE prayer SET safety_score = ? WHERE id = ?", (round(random.random(), 3), pid))
    elif r < 0.85:
        con.execute("INSERT INTO prayermark(id, username, prayer_id, created_at) VALUES (?, ?, ?,"
                    " '2024-05-05 05:05:05')", ("soak%d" % n, user, pid))
    else:
        con.execute("DELETE FROM prayermark WHERE rowid = (SELECT min(rowid) FROM prayermark"
                    " WHERE id LIKE 'soak%')")
    n += 1
    time.sleep(0.003)
PY
	STORM=$!
	python3 - "$M" "$W/stop" "$W/pause" <<'PY' &
import glob, os, random, sys, time
mnt, stop, pause = sys.argv[1:4]
while not os.path.exists(stop) and not os.path.exists(pause):
    try:
        f = random.choice(glob.glob(os.path.join(mnt, "users", "*.txt")))
        text = open(f).read()
        a, b = ("welcome_message_dismissed: 0", "welcome_message_dismissed: 1")
        new = text.replace(a, b, 1) if random.random() < 0.5 else text.replace(b, a, 1)
        with open(f, "w") as out:
            out.write(new)
    except (OSError, IndexError):
        pass
    time.sleep(0.02)
PY
	EDITOR=$!
}
stop_storm() {
	touch "$W/pause"
	wait "$STORM" || die "the application's storm failed"
	wait "$EDITOR" || true
	STORM= EDITOR=
}

end=$((SECONDS + minutes * 60))
kills=0 checks=0
start_daemon
start_storm
while [ $SECONDS -lt $end ]; do
	sleep "$((RANDOM % 2)).$((RANDOM % 9 + 1))"
	kill_daemon
	kills=$((kills + 1))
	start_daemon
	if [ $((kills % every)) = 0 ]; then
		stop_storm
		deadline=$((SECONDS + 30))
		until "$archivefs" verify "$DB" "$D" >/dev/null 2>&1; do
			[ $SECONDS -lt $deadline ] || die "after $kills kills DIR did not converge within 30 s"
			sleep 0.2
		done
		checks=$((checks + 1))
		echo "$kills kills: DIR verified exactly equal to the database ($checks checks)"
		start_storm
	fi
done
stop_storm
fusermount3 -u "$M"
wait "$PID" || die "the daemon exited non-zero"
PID=
"$archivefs" verify "$DB" "$D" >/dev/null || die "DIR is not the database at the end"
echo "soak: $kills kills in $minutes min, $checks mid-run checks and the final one: DIR always converged"
