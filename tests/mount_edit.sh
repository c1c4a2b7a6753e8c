#!/usr/bin/env bash
# Editing through a `-o rw` mount, the in-place saves (fs/EDITING.md): the
# text written to a record file is applied to SQLite as the rows it adds,
# changes and removes, at close or fsync, and a bad save fails there with
# the database unchanged. Every check asserts rows in SQLite.
#   - a shell's `cat new > file` (O_TRUNC, write, close);
#   - python: write + fsync (committed before close), then close;
#   - vim with backupcopy=yes, nobackup (writes in place);
#   - truncate -s 0 of a generic row file deletes its row; rm deletes the
#     rows of the file (a prayer and its marks);
#   - refused: text that does not parse, a BOOLEAN set to "maybe" (EINVAL
#     at close), a save over a row the application changed after the file
#     was opened (ESTALE), a write to README.txt (EACCES at open).
# Saves that rename or create files (vim's default, sed -i, rsync) come
# with scratch files, next.
. "$(dirname "$0")/lib/common.sh"

for p in sqlite3 python3; do
	command -v $p >/dev/null || { echo "SKIP: $p is not installed"; exit 77; }
done

DB=$T/a.db M=$T/mnt LOG=$T/daemon.log
PID=
af demo "$DB" --prayers 20 --users 6 --quiet
mkdir -p "$M"
. "$(dirname "$0")/lib/mount.sh"
MOUNT_OPTS=rw
mount_fs
wait_live
db() { sqlite3 -cmd '.timeout 5000' "$DB" "$@"; }
db_sum() { sqlite3 -cmd '.timeout 5000' "$DB" .dump | grep -v archivefs_ | sha256sum; }

# A prayer with flagged = 0 and its file.
ID=$(db "SELECT id FROM prayer WHERE flagged = 0 AND typeof(id) = 'text' AND id GLOB '[a-f0-9]*' LIMIT 1")
F=$(cd "$M" && ls prayers/*/*/*"_prayer_$ID.txt")
[ -f "$M/$F" ] || fail "no file for prayer $ID"

# --- shell redirect --------------------------------------------------------
sed 's/^flagged: 0$/flagged: 1/' "$M/$F" >"$T/new"
cat "$T/new" >"$M/$F"
[ "$(db "SELECT flagged FROM prayer WHERE id = '$ID'")" = 1 ] || fail "cat > file did not update the row"
cmp -s "$M/$F" "$T/new" || fail "the file does not read back as written"
grep -q 'saved .*0 inserted, 1 updated, 0 deleted' "$LOG" || { cat "$LOG" >&2; fail "not exactly one update"; }
ok "cat new > file: the row is updated (one UPDATE), the file reads back as written"

# --- python: fsync commits before close; a bad save fails at close ---------
python3 - "$M/$F" "$DB" <<'PY' || fail "python write/fsync/close"
import os, sqlite3, sys
path, db = sys.argv[1], sys.argv[2]
text = open(path).read()
fd = os.open(path, os.O_WRONLY | os.O_TRUNC)
os.write(fd, text.replace('flagged: 1', 'flagged: 0').encode())
os.fsync(fd)   # committed now, before close
con = sqlite3.connect(db, timeout=5)
id_line = [l for l in text.splitlines() if l.startswith('id: ')][0]
got = con.execute("SELECT flagged FROM prayer WHERE id = ?", (id_line[4:],)).fetchone()[0]
assert got == 0, "after fsync the row is not committed: flagged = %r" % got
os.close(fd)
PY
ok "write + fsync: the row is committed when fsync returns"

before=$(db_sum)
expect_close_error() {   # FILE ERRNO-NAME PYTHON-REPLACE-FROM TO
	python3 - "$@" <<'PY'
import errno, os, sys
path, want, old, new = sys.argv[1:5]
text = open(path).read()
assert old in text, old
f = open(path, 'w')
f.write(text.replace(old, new, 1))
try:
    f.close()
except OSError as e:
    if e.errno != getattr(errno, want):
        sys.exit("close failed with %s, want %s" % (errno.errorcode[e.errno], want))
    sys.exit(0)
sys.exit("close returned 0 for a bad save")
PY
}
expect_close_error "$M/$F" EINVAL 'flagged: 0' 'flagged 0' || fail "a save that does not parse did not fail with EINVAL at close"
expect_close_error "$M/$F" EINVAL 'flagged: 0' 'flagged: maybe' || fail "flagged: maybe did not fail with EINVAL at close"
[ "$(db_sum)" = "$before" ] || fail "a refused save changed the database"
grep -q 'save refused (Invalid argument): .*line 1[0-9], column' "$LOG" || { cat "$LOG" >&2; fail "the log has no reason with line and column"; }
ok "bad saves fail at close with EINVAL, the reason (line, column) is logged, the database is unchanged"

# --- ESTALE: the application changed the row after the file was opened -----
python3 - "$M/$F" "$DB" "$ID" <<'PY' || fail "ESTALE case"
import errno, os, sqlite3, sys
path, db, pid = sys.argv[1:4]
f = open(path, 'r+')
text = f.read()
con = sqlite3.connect(db, timeout=5, isolation_level=None)
con.execute("UPDATE prayer SET safety_score = 0.25 WHERE id = ?", (pid,))
f.seek(0)
f.truncate()
f.write(text.replace('flagged: 0', 'flagged: 1'))
try:
    f.close()
    sys.exit("close returned 0 over the application's change")
except OSError as e:
    assert e.errno == errno.ESTALE, errno.errorcode[e.errno]
row = con.execute("SELECT flagged, safety_score FROM prayer WHERE id = ?", (pid,)).fetchone()
assert row == (0, 0.25), row
PY
ok "a save over rows the application changed since open fails with ESTALE; the application's change stays"

# --- vim, writing in place --------------------------------------------------
# (after the mount has shown the application's change: vim would rightly
# refuse to overwrite a file whose mtime moved while it had it open)
sleep 0.5
vim -es -n -u NONE -i NONE -c 'set nobackup nowritebackup backupcopy=yes' \
	-c '%s/^flagged: 0$/flagged: 1/' -c 'wq' "$M/$F" </dev/null || fail "vim failed to save"
[ "$(db "SELECT flagged FROM prayer WHERE id = '$ID'")" = 1 ] || fail "vim's save did not update the row"
ok "vim (backupcopy=yes, nobackup) saves in place: the row is updated"

# --- truncate by name: an emptied generic row file deletes its row ---------
N=$(cd "$M" && ls tables/app_note | head -1)
n0=$(db "SELECT count(*) FROM app_note")
truncate -s 0 "$M/tables/app_note/$N" || fail "truncate -s 0 failed"
[ "$(db "SELECT count(*) FROM app_note")" = $((n0 - 1)) ] || fail "truncating a row file did not delete exactly its row"
ok "truncate -s 0 of tables/app_note/$N deletes its row"

# --- rm: the rows go ----------------------------------------------------------
N2=$(db "SELECT max(rowid) FROM app_note").txt
n0=$(db "SELECT count(*) FROM app_note")
rm "$M/tables/app_note/$N2" || fail "rm of a row file failed"
[ "$(db "SELECT count(*) FROM app_note")" = $((n0 - 1)) ] || fail "rm did not delete exactly its row"
[ ! -e "$M/tables/app_note/$N2" ] || fail "the removed file is still listed"
P2=$(db "SELECT p.id FROM prayer p WHERE EXISTS (SELECT 1 FROM prayermark m WHERE m.prayer_id = p.id) AND p.id != '$ID' AND typeof(p.id) = 'text' AND p.id GLOB '[a-f0-9]*' LIMIT 1")
F2=$(cd "$M" && ls prayers/*/*/*"_prayer_$P2.txt")
rm "$M/$F2" || fail "rm of a prayer file failed"
[ "$(db "SELECT count(*) FROM prayer WHERE id = '$P2'")" = 0 ] || fail "rm left the prayer"
[ "$(db "SELECT count(*) FROM prayermark WHERE prayer_id = '$P2'")" = 0 ] || fail "rm left the prayer's marks"
if rm "$M/README.txt" 2>/dev/null; then fail "rm README.txt succeeded"; fi
ok "rm deletes a row file's row, a prayer file's prayer and marks; README.txt cannot be removed"

# --- not rows: EACCES at open ------------------------------------------------
if out=$(echo x 2>&1 >>"$M/README.txt"); then fail "writing README.txt succeeded"; fi
echo "$out" | grep 'Permission denied' >/dev/null || fail "README.txt: not EACCES: $out"
ok "README.txt refuses writes with EACCES"

# The mount shows the database's rows afterwards.
af cat "$DB" "$F" >"$T/now"
sleep 0.3
cmp -s "$M/$F" "$T/now" || fail "the mount does not show the saved rows"
ok "the mount shows what the database renders"
unmount_fs_allow_warnings() {
	fusermount3 -u "$M" || fail "fusermount3 -u failed"
	wait "$PID" || fail "the daemon exited non-zero"
	PID=
	if grep -qE "$sanitizer_re" "$LOG"; then cat "$LOG" >&2; fail "sanitizer report from the daemon"; fi
}
unmount_fs_allow_warnings
ok "clean unmount"
echo "$checks checks passed"
