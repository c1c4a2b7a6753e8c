#!/usr/bin/env bash
# The real tools save through a `-o rw` mount (issue 4, fs/EDITING.md), in
# each of the three ways editors save a file, and every check asserts the
# rows in SQLite, not just the text:
#   - rename the original away, create it anew: vim's default, emacs' first
#     save (their backups stay as scratch files);
#   - a temporary renamed over the original: sed -i, perl -pi, python
#     write + fsync + os.replace, mv, rsync (whose -t time is kept);
#   - in place: nano (through tmux), cp, a new file in the right folder;
#   - scratch files (swap, 4913, name~, .#name links, temporaries, folders)
#     behave like files and never reach the database;
#   - touch -d sets the mtime (kept across a remount), chmod/chown to what
#     is there succeed and to anything else fail with EPERM;
#   - refusals: a bad edit in each of the three ways fails where the tool
#     sees it, the database is unchanged, the text is kept under
#     .archivefs/rejected/ and the reason with line and column is in
#     .archivefs/status; a second editor's save over the first one's gets
#     ESTALE; so does vim's when the application changed the row.
. "$(dirname "$0")/lib/common.sh"

for p in sqlite3 python3 vim sed perl rsync tmux nano; do
	command -v $p >/dev/null || { echo "SKIP: $p is not installed"; exit 77; }
done

DB=$T/a.db M=$T/mnt LOG=$T/daemon.log
PID=
af demo "$DB" --prayers 30 --users 6 --quiet
mkdir -p "$M"
. "$(dirname "$0")/lib/mount.sh"
MOUNT_OPTS=rw
mount_fs
wait_live
TMUX_SOCK=$T/tmux.sock
cleanup_hooks+=('tmux -S "$TMUX_SOCK" kill-server 2>/dev/null')

db() { sqlite3 -cmd '.timeout 5000' "$DB" "$@"; }
dump() { sqlite3 -cmd '.timeout 5000' "$DB" .dump | grep -av archivefs_ | LC_ALL=C sort; }
# The dump lines that changed since $T/before (a snapshot from snap).
snap() { dump >"$T/before"; }
changed() { dump | diff -a "$T/before" - | grep -ac '^[<>]' || true; }
settle() { sleep 0.3; }   # the watcher tells the kernel within 100 ms

# Prayers with flagged = 0, one per check, and their files.
mapfile -t IDS < <(db "SELECT id FROM prayer WHERE flagged = 0 AND typeof(id) = 'text'
                        AND length(id) = 32 AND id GLOB '[a-f0-9]*' ORDER BY id")
[ "${#IDS[@]}" -ge 12 ] || fail "the demo has only ${#IDS[@]} unflagged prayers"
next=0
pick() {   # sets ID and F to the next unused prayer and its file
	ID=${IDS[$next]}
	next=$((next + 1))
	F=$M/$(cd "$M" && ls prayers/*/*/*"_prayer_$ID.txt")
	[ -f "$F" ] || fail "no file for prayer $ID"
}
flagged() { db "SELECT flagged FROM prayer WHERE id = '$ID'"; }
# One prayer row changed (its flagged), nothing else.
expect_flagged() {   # TOOL
	[ "$(flagged)" = 1 ] || { tail -5 "$LOG" >&2; fail "$1: the row was not updated"; }
	[ "$(changed)" = 2 ] || { dump | diff "$T/before" - >&2; fail "$1: more than the one row changed"; }
	settle
	grep -q '^flagged: 1$' "$F" || fail "$1: the mount does not show the saved row"
}

# --- rename away, create anew ----------------------------------------------
pick; snap
vim -N -es -n -u NONE -i NONE -c 'set backupskip=' \
	-c '%s/^flagged: 0$/flagged: 1/' -c 'wq' "$F" </dev/null || fail "vim failed to save"
expect_flagged vim
ls -a "$(dirname "$F")" | grep -E '^4913$|~$' >/dev/null && fail "vim's 4913 or backup is left"
ok "vim, default save (4913 probe, rename to name~, write, fsync, unlink): one row updated"

if command -v emacs >/dev/null; then
	pick; snap
	cp "$F" "$T/emacs-before"
	emacs --batch -Q --eval '(setq backup-enable-predicate (lambda (f) t))' "$F" \
		--eval '(progn (goto-char (point-min)) (re-search-forward "^flagged: 0$")
		         (replace-match "flagged: 1") (save-buffer))' 2>"$T/emacs.err" ||
		{ cat "$T/emacs.err" >&2; fail "emacs failed to save"; }
	expect_flagged emacs
	cmp -s "$F~" "$T/emacs-before" || fail "emacs' backup does not hold the old text"
	af ls "$DB" "$(dirname "${F#$M/}")" | grep '~' >/dev/null && fail "the backup reached the database"
	ok "emacs --batch, first save (lock link, rename to name~, write): one row updated, name~ is a scratch file with the old text"
else
	echo "# emacs is not installed: its check is skipped"
fi

# --- a temporary renamed over the original ---------------------------------
pick; snap
sed -i 's/^flagged: 0$/flagged: 1/' "$F" || fail "sed -i failed"
expect_flagged "sed -i"
ok "sed -i: one row updated"

pick; snap
perl -pi -e 's/^flagged: 0$/flagged: 1/' "$F" || fail "perl -pi failed"
expect_flagged "perl -pi"
ok "perl -pi: one row updated"

pick; snap
python3 - "$F" <<'PY' || fail "python write + fsync + os.replace"
import os, sys
path = sys.argv[1]
text = open(path).read().replace('\nflagged: 0\n', '\nflagged: 1\n')
tmp = os.path.join(os.path.dirname(path), '.tmp-%d' % os.getpid())
with open(tmp, 'w') as f:
    f.write(text)
    f.flush()
    os.fsync(f.fileno())
os.replace(tmp, path)
PY
expect_flagged "os.replace"
ok "python write + fsync + os.replace: one row updated"

pick; snap
sed 's/^flagged: 0$/flagged: 1/' "$F" >"$T/x"
cp "$T/x" "$(dirname "$F")/scratch.txt~" && mv "$(dirname "$F")/scratch.txt~" "$F" || fail "cp + mv"
expect_flagged "mv"
ok "cp to a scratch name, mv over the record file: one row updated"

pick; snap
sed 's/^flagged: 0$/flagged: 1/' "$F" >"$T/rs.txt"
touch -d '2021-02-03 04:05:06.5' "$T/rs.txt"
rsync -t "$T/rs.txt" "$F" || fail "rsync into the mount failed"
expect_flagged rsync
[ "$(stat -c %Y.%y "$F")" = "$(stat -c %Y.%y "$T/rs.txt")" ] || fail "rsync -t: the time was not kept"
[ -z "$(rsync -ti "$T/rs.txt" "$F")" ] || fail "a second rsync copied the file again"
ok "rsync -t (temporary .name.XXXXXX renamed over): one row updated, its time kept, a second run copies nothing"

# --- in place --------------------------------------------------------------
pick; snap
sed 's/^flagged: 0$/flagged: 1/' "$F" >"$T/x"
cp "$T/x" "$F" || fail "cp onto the record file failed"
expect_flagged cp
ok "cp onto a record file: one row updated"

pick; snap
tmux -S "$TMUX_SOCK" new-session -d -x 120 -y 40 "nano --ignorercfiles '$F'"
sleep 0.5
tmux -S "$TMUX_SOCK" send-keys 'M-r'; sleep 0.2
tmux -S "$TMUX_SOCK" send-keys 'flagged: 0' Enter; sleep 0.2
tmux -S "$TMUX_SOCK" send-keys 'flagged: 1' Enter; sleep 0.2
tmux -S "$TMUX_SOCK" send-keys 'a'; sleep 0.2
tmux -S "$TMUX_SOCK" send-keys C-s; sleep 0.5
tmux -S "$TMUX_SOCK" capture-pane -p | grep 'Wrote' >/dev/null ||
	{ tmux -S "$TMUX_SOCK" capture-pane -p >&2; fail "nano did not write"; }
tmux -S "$TMUX_SOCK" send-keys C-x; sleep 0.3
expect_flagged nano
ok "nano (through tmux: replace, ^S, ^X): one row updated"

# A new file in the right folder: new rows. (users/YYYY_MM_users.txt)
snap
cat >"$T/newuser" <<'EOF'
[user]
display_name: newcomer
created_at: 2022-03-04 05:06:07.000000
invited_by_username: NULL
invite_token_used: NULL
welcome_message_dismissed: 0
text_file_path: NULL
is_supporter: 0
supporter_since: NULL
supporter_type: NULL
EOF
cp "$T/newuser" "$M/users/2022_03_users.txt" || fail "creating a record file failed"
[ "$(db "SELECT created_at, welcome_message_dismissed FROM user WHERE display_name = 'newcomer'")" = "2022-03-04 05:06:07.000000|0" ] ||
	fail "the new file's row is not in the database"
[ "$(changed)" = 1 ] || fail "creating the file changed more than one row"
settle
grep -q '^display_name: newcomer$' "$M/users/2022_03_users.txt" || fail "the new file does not read back"
ok "a new file in the right folder inserts its row"

# A new prayer in a month that has none yet: mkdir -p, then the file.
snap
pick
NEW=feedfacefeedfacefeedfacefeedface
python3 - "$F" "$T/newprayer" "$NEW" <<'PY'
import re, sys
src, dst, new = sys.argv[1:4]
text = open(src).read()
first = text.index('\n[prayer]\n')
rest = text.find('\n[', first + 1)
rec = text[first + 1: rest + 1 if rest > 0 else len(text)]
rec = re.sub(r'(?m)^id: .*$', 'id: ' + new, rec, count=1)
rec = re.sub(r'(?m)^created_at: .*$', 'created_at: 2027-01-05 10:00:00', rec, count=1)
open(dst, 'w').write(rec)
PY
mkdir -p "$M/prayers/2027/01" || fail "mkdir -p of a new month"
cp "$T/newprayer" "$M/prayers/2027/01/2027_01_05_prayer_$NEW.txt" || fail "creating a prayer file"
[ "$(db "SELECT created_at FROM prayer WHERE id = '$NEW'")" = "2027-01-05 10:00:00" ] ||
	fail "the new prayer is not in the database"
[ "$(changed)" = 1 ] || fail "the new prayer file changed more than its row"
settle
[ "$(ls "$M/prayers/2027")" = 01 ] || fail "prayers/2027 lists: $(ls "$M/prayers/2027")"
[ "$(ls "$M/prayers/2027/01")" = "2027_01_05_prayer_$NEW.txt" ] || fail "prayers/2027/01 lists: $(ls "$M/prayers/2027/01")"
rmdir "$M/prayers/2027/01" 2>/dev/null && fail "rmdir of a folder holding a record file succeeded"
ok "mkdir -p of a new month and a new prayer file in it: its row is inserted, each name listed once"

# A busy database: the application holds the write lock past the save's
# busy timeout (5 s): EBUSY at close, nothing changed, the text kept.
pick; snap
r0=$({ find "$M/.archivefs/rejected" -type f 2>/dev/null || true; } | wc -l)
python3 - "$F" "$DB" <<'PY' || fail "EBUSY case"
import errno, sqlite3, sys, threading, time
path, db = sys.argv[1:3]
text = open(path).read()
app = sqlite3.connect(db, isolation_level=None, check_same_thread=False)
app.execute("BEGIN IMMEDIATE")
threading.Timer(7.0, lambda: app.execute("ROLLBACK")).start()
f = open(path, 'w')
f.write(text.replace('\nflagged: 0\n', '\nflagged: 1\n'))
t0 = time.time()
try:
    f.close()
    sys.exit('close returned 0 while the database was locked')
except OSError as e:
    assert e.errno == errno.EBUSY, errno.errorcode[e.errno]
assert time.time() - t0 < 6.9, 'the save waited for the lock to go'
PY
sleep 1
[ "$(flagged)" = 0 ] || fail "EBUSY: the row changed"
[ "$(changed)" = 0 ] || fail "EBUSY: the database changed"
r1=$({ find "$M/.archivefs/rejected" -type f 2>/dev/null || true; } | wc -l)
[ "$r1" = $((r0 + 1)) ] || fail "EBUSY: the text was not kept"
grep -q "EBUSY ${F#$M/}" "$M/.archivefs/status" || fail "EBUSY: no status line"
ok "a database locked past the busy timeout: EBUSY at close, nothing changed, the text kept"

# --- touch, chmod, chown -----------------------------------------------------
pick
touch -d '2020-05-06 07:08:09' "$F" || fail "touch -d failed"
[ "$(stat -c %y "$F")" = "2020-05-06 07:08:09.000000000 +0000" ] || fail "touch -d: mtime is $(stat -c %y "$F")"
TOUCHED=$F
mode=$(stat -c %a "$F")
chmod "$mode" "$F" || fail "chmod to the current mode failed"
chown "$(id -u):$(id -g)" "$F" || fail "chown to the current owner failed"
chmod 0666 "$F" 2>"$T/err" && fail "chmod to another mode succeeded"
grep -q 'not permitted' "$T/err" || fail "chmod: not EPERM: $(cat "$T/err")"
chown 65534 "$F" 2>"$T/err" && fail "chown to another owner succeeded"
grep -q 'not permitted' "$T/err" || fail "chown: not EPERM: $(cat "$T/err")"
ok "touch -d sets a record file's mtime; chmod/chown to the current mode and owner succeed, to others EPERM"

# --- scratch files never reach the database -----------------------------------
snap
D=$(dirname "$F")
echo "swap" >"$D/.x.swp" && echo "probe" >"$D/4913" && echo "old" >"$D/x.txt~"
echo "emacs" >"$D/#x.txt#" && ln -s "user@host.1" "$D/.#x.txt"
[ "$(readlink "$D/.#x.txt")" = "user@host.1" ] || fail "the lock link does not read back"
[ "$(cat "$D/.x.swp")" = swap ] || fail "a scratch file does not read back"
printf 'abcdef' >"$D/sedAbC123" && truncate -s 3 "$D/sedAbC123"
[ "$(cat "$D/sedAbC123")" = abc ] || fail "truncating a scratch file"
mv "$D/.x.swp" "$D/.x.swo" && [ "$(cat "$D/.x.swo")" = swap ] || fail "renaming a scratch file"
mkdir "$D/tmpdir" && echo in >"$D/tmpdir/f" || fail "a scratch folder"
rmdir "$D/tmpdir" 2>/dev/null && fail "rmdir of a non-empty scratch folder succeeded"
ls -a "$D" | grep -x '.x.swo' >/dev/null || fail "scratch files are not listed"
[ "$(changed)" = 0 ] || fail "scratch files changed the database"
af ls "$DB" "${D#$M/}" | grep -E 'swo|4913|~|#|sedAbC' >/dev/null && fail "a scratch file is in the tree"
rm "$D/.x.swo" "$D/4913" "$D/x.txt~" "$D/#x.txt#" "$D/.#x.txt" "$D/sedAbC123" "$D/tmpdir/f"
rmdir "$D/tmpdir" || fail "rmdir of an empty scratch folder"
[ "$(ls -a "$D" | grep -cvE '^\.\.?$|\.txt$')" = 0 ] || fail "scratch files are left: $(ls -a "$D")"
[ "$(changed)" = 0 ] || fail "removing scratch files changed the database"
ok "scratch files (swap, 4913, name~, #name#, .#name link, sedXXXXXX, a folder) work and never reach the database"

# --- refusals, in each of the three ways --------------------------------------
rejected() { { find "$M/.archivefs/rejected" -type f 2>/dev/null || true; } | wc -l; }
pick; snap
r0=$(rejected)
python3 - "$F" <<'PY' || fail "in place: the bad save did not fail with EINVAL at close"
import errno, sys
path = sys.argv[1]
text = open(path).read()
f = open(path, 'w')
f.write(text.replace('\nflagged: 0\n', '\nflagged: maybe\n'))
try:
    f.close()
except OSError as e:
    sys.exit(0 if e.errno == errno.EINVAL else 'errno %s' % errno.errorcode[e.errno])
sys.exit('close returned 0')
PY
settle
[ "$(changed)" = 0 ] || fail "in place: a refused save changed the database"
[ "$(rejected)" = $((r0 + 1)) ] || fail "in place: the text was not kept"
K=$(grep -l 'flagged: maybe' "$M/.archivefs/rejected/${F#$M/}"@* | head -1)
[ -n "$K" ] || fail "the kept text is not the rejected one"
grep -q "EINVAL ${F#$M/}: line [0-9]*, column [0-9]*: .*BOOLEAN" "$M/.archivefs/status" ||
	{ cat "$M/.archivefs/status" >&2; fail "status has no line:column reason"; }
ok "in place: a bad save fails at close (EINVAL), nothing changes, the text is kept, status gives line and column"

settle
if vim -N -es -n -u NONE -i NONE -c 'set backupskip=' \
	-c '%s/^flagged: 0$/flagged 0/' -c 'wq' "$F" </dev/null >/dev/null 2>&1; then
	fail "vim's bad save succeeded"
fi
[ "$(changed)" = 0 ] || fail "vim: a refused save changed the database"
[ "$(rejected)" = $((r0 + 2)) ] || fail "vim: the text was not kept"
grep -q "^flagged: 0$" "$F" || fail "vim: the record file lost its text"
ok "vim's default save of bad text fails (EINVAL at fsync), nothing changes, the text is kept, the file is whole"

if sed -i 's/^flagged: 0$/flagged: 2.5/' "$F" 2>"$T/err"; then fail "sed -i of a bad edit succeeded"; fi
grep -q 'Invalid argument' "$T/err" || fail "sed -i: not EINVAL from rename: $(cat "$T/err")"
[ "$(changed)" = 0 ] || fail "sed -i: a refused save changed the database"
[ "$(rejected)" = $((r0 + 3)) ] || fail "sed -i: the text was not kept"
ok "sed -i of bad text fails at rename (EINVAL), nothing changes, the text is kept"

# --- two editors on one file ----------------------------------------------------
pick; snap
python3 - "$F" "$DB" "$ID" <<'PY' || fail "two editors"
import errno, os, sqlite3, subprocess, sys
path, db, pid = sys.argv[1:4]
mine = open(path).read()            # editor A reads
subprocess.run(['vim', '-N', '-es', '-n', '-u', 'NONE', '-i', 'NONE', '-c', 'set backupskip=',
                '-c', '%s/^flagged: 0$/flagged: 1/', '-c', 'wq', path],
               stdin=subprocess.DEVNULL, check=True)   # editor B saves
f = open(path, 'w')                 # A saves its own change over B's
f.write(mine.replace('\nsafety_flags: ', '\nsafety_flags: "edited by A"\n#', 1))
try:
    f.close()
    sys.exit('the second save returned 0')
except OSError as e:
    assert e.errno == errno.ESTALE, errno.errorcode[e.errno]
con = sqlite3.connect(db, timeout=5)
assert con.execute("SELECT flagged FROM prayer WHERE id = ?", (pid,)).fetchone()[0] == 1
PY
[ "$(changed)" = 2 ] || fail "two editors: more than B's change reached the database"
grep -q "ESTALE ${F#$M/}" "$M/.archivefs/status" || fail "two editors: no ESTALE line in status"
grep -lq 'edited by A' "$M/.archivefs/rejected/${F#$M/}"@* || fail "two editors: A's text was not kept"
ok "two editors: the second save gets ESTALE, the first one's row stays, the second one's text is kept"

# --- vim open while the application changes the row --------------------------------
pick; snap
tmux -S "$TMUX_SOCK" new-session -d -x 150 -y 40 \
	"vim -N -n -u NONE -i NONE -c 'set backupskip=' '$F'"
sleep 0.7
db "UPDATE prayer SET safety_score = 0.125 WHERE id = '$ID'"
settle
tmux -S "$TMUX_SOCK" send-keys ':%s/^flagged: 0$/flagged: 1/' Enter; sleep 0.2
tmux -S "$TMUX_SOCK" send-keys ':w' Enter; sleep 0.5
# vim warns that the file changed since it read it; write anyway
tmux -S "$TMUX_SOCK" send-keys 'y'; sleep 0.2
tmux -S "$TMUX_SOCK" send-keys Enter; sleep 0.5
screen=$(tmux -S "$TMUX_SOCK" capture-pane -p)
tmux -S "$TMUX_SOCK" send-keys Escape ':qa!' Enter; sleep 0.3
[ "$(db "SELECT flagged, safety_score FROM prayer WHERE id = '$ID'")" = "0|0.125" ] ||
	{ echo "$screen" >&2; fail "vim's save went over the application's change"; }
grep -q "ESTALE ${F#$M/}" "$M/.archivefs/status" || { echo "$screen" >&2; fail "no ESTALE for vim"; }
ok "vim open while the application changed the row: the save is refused (ESTALE), the application's change stays"

# The mtime set by touch is the file's record: it survives a remount.
unmount_fs_quiet() {
	fusermount3 -u "$M" || fail "fusermount3 -u failed"
	wait "$PID" || fail "the daemon exited non-zero"
	PID=
	if grep -qE "$sanitizer_re" "$LOG"; then cat "$LOG" >&2; fail "sanitizer report from the daemon"; fi
}
unmount_fs_quiet
MOUNT_OPTS=
mount_fs
wait_live
[ "$(stat -c %y "$TOUCHED")" = "2020-05-06 07:08:09.000000000 +0000" ] || fail "touch -d's mtime was lost by a remount"
[ ! -e "$M/.archivefs" ] || fail "scratch files outlived the mount"
unmount_fs
ok "touch -d's time survives a remount; scratch files do not"
echo "$checks checks passed"
