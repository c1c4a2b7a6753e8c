#!/usr/bin/env bash
# archivefs mount --sync-dir DIR: a real folder kept identical to the tree
# (issue 5). Every check ends with `archivefs verify DB DIR` exiting 0, the
# exact comparison of every file's bytes with what the database renders:
#   - the first pass writes the tree, with the mount's mtimes;
#   - the application's commits (an update, a new prayer in a new month, a
#     prayer deleted with its folder) reach DIR within 2 s, and only the
#     files whose bytes changed are rewritten (inode numbers of the others
#     stay);
#   - a save through a -o rw mount is in DIR when the save returns;
#   - kill -9 of the daemon at random moments during a storm of application
#     commits and mount edits, 20 times, then a restart: DIR converges, and
#     no committed change is missing.
. "$(dirname "$0")/lib/common.sh"

command -v sqlite3 >/dev/null || { echo "SKIP: sqlite3 is not installed"; exit 77; }
DB=$T/a.db M=$T/mnt LOG=$T/daemon.log D=$T/sync
PID=
af demo "$DB" --prayers 40 --users 6 --quiet
mkdir -p "$M"
. "$(dirname "$0")/lib/mount.sh"
db() { sqlite3 -cmd '.timeout 10000' "$DB" "$@"; }
times() { (cd "$1" && find . -path ./.archivefs -prune -o -type f -printf '%P %T@ %s\n' | LC_ALL=C sort); }

MOUNT_ARGS=(--sync-dir "$D")
mount_sync() {   # mount_fs with --sync-dir
	: >"$LOG"
	"$ARCHIVEFS" mount "$DB" "$M" -f ${MOUNT_OPTS:+-o "$MOUNT_OPTS"} "${MOUNT_ARGS[@]}" 2>>"$LOG" &
	PID=$!
	for _ in $(seq 100); do
		mountpoint -q "$M" && return 0
		kill -0 "$PID" 2>/dev/null || { cat "$LOG" >&2; fail "the daemon died before mounting"; }
		sleep 0.1
	done
	fail "not mounted after 10 s"
}

mount_sync
wait_live
converged 10 || fail "the first pass did not make DIR the tree"
times "$M" >"$T/m" && times "$D" >"$T/d"
diff "$T/m" "$T/d" >&2 || fail "DIR's mtimes are not the mount's"
ok "the first pass writes the tree: verify exits 0, bytes and mtimes equal the mount's"

# One process follows a database's journal: a second mount of it serves
# without live updates, and cannot keep a sync folder.
M2=$T/mnt2
mkdir -p "$M2"
if "$ARCHIVEFS" mount "$DB" "$M2" --sync-dir "$T/sync2" 2>"$T/err2"; then
	fusermount3 -u "$M2"; fail "a second mount with --sync-dir succeeded"
fi
grep 'another archivefs process' "$T/err2" >/dev/null || fail "no clear reason: $(cat "$T/err2")"
"$ARCHIVEFS" mount "$DB" "$M2" 2>"$T/err2" || fail "a second plain mount failed: $(cat "$T/err2")"
cleanup_hooks+=('fusermount3 -u "$M2" 2>/dev/null || true')
grep 'serving it without live updates' "$T/err2" >/dev/null || fail "the second mount did not say it is static"
cmp -s "$M2/README.txt" "$M/README.txt" || fail "the second mount does not serve the tree"
fusermount3 -u "$M2"
ok "a second mount of the database serves without live updates, and refuses --sync-dir, with the reason"

# --- the application's commits ------------------------------------------------
(cd "$D" && find . -type f -printf '%i %P\n' | LC_ALL=C sort -k2) >"$T/inodes.before"
ID=$(db "SELECT id FROM prayer WHERE typeof(id) = 'text' AND length(id) = 32 ORDER BY id LIMIT 1")
F=$(cd "$D" && ls prayers/*/*/*"_prayer_$ID.txt")
db "UPDATE prayer SET text = text || ' (edited)' WHERE id = '$ID'"
converged 2 || fail "an update did not reach DIR within 2 s"
(cd "$D" && find . -type f -printf '%i %P\n' | LC_ALL=C sort -k2) >"$T/inodes.after"
changed=$({ diff "$T/inodes.before" "$T/inodes.after" || true; } | grep '^>' | awk '{print $3}')
EV=system/event_log/prayer_events_$(date -u +%Y_%m).txt
[ "$changed" = "$(printf '%s\n%s' "$F" "$EV")" ] || fail "rewritten: '$changed', want only $F and its history $EV"
times "$M" | diff - <(times "$D") >/dev/null || fail "after an update, DIR's mtimes are not the mount's"
ok "an update reaches DIR within 2 s; only its file is rewritten, with the mount's mtime"

NEW=abcdefabcdefabcdefabcdefabcdef01
db "INSERT INTO prayer(id, author_username, text, created_at, flagged, safety_score,
      safety_flags, categorization_method, specificity_type, specificity_confidence,
      subject_category)
    SELECT '$NEW', author_username, 'new in 2031', '2031-07-01 10:00:00', 0, safety_score,
      safety_flags, categorization_method, specificity_type, specificity_confidence,
      subject_category FROM prayer WHERE id = '$ID'"
converged 2 || fail "a new prayer did not reach DIR within 2 s"
[ -f "$D/prayers/2031/07/2031_07_01_prayer_$NEW.txt" ] || fail "the new prayer's file is not in DIR"
db "DELETE FROM prayer WHERE id = '$NEW'"
converged 2 || fail "a deletion did not reach DIR within 2 s"
[ ! -e "$D/prayers/2031" ] || fail "the emptied folders are left in DIR"
ok "a new prayer in a new month appears in DIR; deleted, its file and emptied folders go"
unmount_fs

# --- a save is in DIR when it returns -----------------------------------------
MOUNT_OPTS=rw
mount_sync
wait_live
converged 10 || fail "remounted, DIR is not the tree"
F=$(cd "$M" && ls prayers/*/*/*.txt | head -1)
grep '^flagged: [01]$' "$M/$F" >/dev/null || fail "no flagged line in $F"
python3 - "$M/$F" "$D/$F" <<'PY' || fail "a save is not in DIR when it returns"
import sys
mnt, disk = sys.argv[1:3]
text = open(mnt).read()
new = text.replace('\nflagged: 0\n', '\nflagged: 1\n') if '\nflagged: 0\n' in text \
      else text.replace('\nflagged: 1\n', '\nflagged: 0\n')
with open(mnt, 'w') as f:
    f.write(new)
# close returned: the file must already be in DIR
got = open(disk).read()
assert got == new, "DIR has the old text after the save returned"
PY
ok "a save through the mount is in DIR, written, when close returns"

# --- kill -9 during a storm ------------------------------------------------------
python3 - "$DB" "$T/storm.stop" <<'PY' &
import os, random, sqlite3, sys, time
db, stop = sys.argv[1:3]
con = sqlite3.connect(db, timeout=10, isolation_level=None)
ids = [r[0] for r in con.execute("SELECT id FROM prayer WHERE typeof(id) = 'text'")]
n = 0
while not os.path.exists(stop):
    pid = random.choice(ids)
    con.execute("UPDATE prayer SET safety_score = ? WHERE id = ?", (round(random.random(), 3), pid))
    if n % 7 == 0:
        con.execute("INSERT INTO prayermark(id, username, prayer_id, created_at)"
                    " SELECT ?, display_name, ?, '2024-05-05 05:05:05'"
                    " FROM user LIMIT 1", ('storm%d' % n, pid))
    n += 1
    time.sleep(0.005)
PY
STORM=$!
cleanup_hooks+=('touch "$T/storm.stop"; wait $STORM 2>/dev/null')
python3 - "$M" "$T/storm.stop" <<'PY' &
import glob, os, random, sys, time
mnt, stop = sys.argv[1:3]
while not os.path.exists(stop):
    try:
        files = glob.glob(os.path.join(mnt, 'users', '*.txt'))
        f = random.choice(files)
        text = open(f).read()
        new = text.replace('welcome_message_dismissed: 0', 'welcome_message_dismissed: 1', 1) \
              if random.random() < 0.5 else \
              text.replace('welcome_message_dismissed: 1', 'welcome_message_dismissed: 0', 1)
        with open(f, 'w') as out:
            out.write(new)
    except (OSError, IndexError):
        pass   # refused, or the daemon was just killed
    time.sleep(0.02)
PY
EDITOR_PID=$!
cleanup_hooks+=('wait $EDITOR_PID 2>/dev/null')
for k in $(seq 20); do
	sleep "0.$((RANDOM % 5 + 1))"
	kill -9 "$PID"
	wait "$PID" 2>/dev/null || true
	PID=
	fusermount3 -u "$M" 2>/dev/null || fusermount3 -uz "$M"
	if grep -E "$sanitizer_re" "$LOG" >/dev/null; then cat "$LOG" >&2; fail "sanitizer report"; fi
	mount_sync
done
touch "$T/storm.stop"
wait "$STORM" || fail "the application's storm failed"
wait "$EDITOR_PID" || true
wait_live
converged 30 || fail "after 20 kills and a restart, DIR did not converge"
times "$M" | diff - <(times "$D") >/dev/null || fail "after the kills, DIR's mtimes are not the mount's"
ok "kill -9 of the daemon 20 times during application commits and mount edits: after a restart DIR is exactly the database"
db "UPDATE prayer SET text = text || ' (last words)' WHERE rowid = 2"
unmount_fs
af verify "$DB" "$D" >/dev/null || fail "a commit just before the unmount is not in DIR"
ok "clean unmount; a commit made just before it is in DIR"
echo "$checks checks passed"
