#!/usr/bin/env bash
# mount-scripts/archivefs-snapshot: dated rsync snapshots of a live mount
# or a sync folder, hard-linked to the previous one (issue 6). On a real
# mount of a demo database, comparing bytes and inode numbers:
#   - usage errors exit 2; SNAPDIR inside SOURCE (also through a symlink)
#     is refused with 2 and nothing is created; an empty folder (a
#     mountpoint whose mount is down) is refused with 1;
#   - the first snapshot is the mount byte for byte (diff -r, modes,
#     mtimes) and `archivefs verify` accepts it; `latest` points to it;
#   - the application changes one row (same size: only the mtime tells
#     rsync); the second snapshot has the new bytes in exactly the changed
#     files (the prayer's file and its history file), which are new
#     inodes, while every other file is the first snapshot's inode; the
#     first snapshot keeps the old bytes; `latest` moves;
#   - --keep 1 leaves only the newest complete snapshot;
#   - while a run is copying (a slowed rsync, into a SNAPDIR whose previous
#     snapshot has other mtimes, so every file is copied), nothing looks
#     complete, and a second run is refused with exit 3 and touches
#     nothing; kill -9 of the running job's process group leaves no
#     complete-looking snapshot and `latest` unchanged; SIGTERM stops its
#     rsync and exits 1; a failing rsync exits 1 and makes nothing; the
#     next run reuses the partial folder's files (same inodes) and is the
#     mount byte for byte; --keep leaves what is not a snapshot alone;
#   - rsync's exit 24 (files vanished) is a success, silent with --quiet;
#   - a sync folder (`archivefs sync`) snapshots the same way, without its
#     temporary files; the mount's .archivefs/ (status, rejected saves) is
#     not copied;
#   - a change within the same second as the previous copy, of the same
#     size, is copied (rsync compares whole seconds unless told otherwise).
. "$(dirname "$0")/lib/common.sh"

for c in sqlite3 rsync flock setsid pgrep; do
	command -v $c >/dev/null || { echo "SKIP: $c is not installed"; exit 77; }
done
SNAP=${ARCHIVEFS_SNAPSHOT:-$(cd "$(dirname "$0")/.." && pwd)/mount-scripts/archivefs-snapshot}
[ -x "$SNAP" ] || fail "$SNAP is not executable"
REAL_RSYNC=$(command -v rsync)
DB=$T/a.db M=$T/mnt LOG=$T/daemon.log S=$T/snaps
PID= JOB=
af demo "$DB" --prayers 100 --users 10 --quiet
mkdir -p "$M"
. "$(dirname "$0")/lib/mount.sh"
# A job this test started in its own process group: killed with its rsync,
# before the mount's last-resort unmount (first in the list).
cleanup_hooks=('[ -z "$JOB" ] || kill -9 -- "-$JOB" 2>/dev/null || true' "${cleanup_hooks[@]}")
db() { sqlite3 -cmd '.timeout 10000' "$DB" "$@"; }

# snap ARGS...: run the script; rc in $rc, output in $T/out and $T/err.
snap() { rc=0; "$SNAP" "$@" >"$T/out" 2>"$T/err" || rc=$?; }
complete() { (cd "$1" && ls -d [0-9][0-9][0-9][0-9]-*Z 2>/dev/null || true) | LC_ALL=C sort; }
# path, mode, mtime, size of every file and folder (not the root's time)
listing() { (cd "$1" && find . -mindepth 1 -path ./.archivefs -prune -o -printf '%P %y %m %T@ %s\n' | LC_ALL=C sort); }
same_tree() {   # $1 (a source) and $2 (a snapshot): same bytes, modes, mtimes
	diff -r -x .archivefs -x '.archivefs-tmp-*' "$1" "$2" >&2 || return 1
	diff <(listing "$1" | grep -v '\.archivefs-tmp-') <(listing "$2") >&2 || return 1
}
inodes() { (cd "$1" && find . -type f -printf '%P %i\n' | LC_ALL=C sort); }
# files of snapshot $2 that are not hard links to the same path in $1
not_linked() { LC_ALL=C join -a 2 <(inodes "$1") <(inodes "$2") | awk 'NF == 2 || $2 != $3 { print $1 }'; }

# --- usage and refusals -----------------------------------------------------------
mount_fs
wait_live
snap; [ $rc = 2 ] || fail "no arguments: exit $rc, want 2"
snap "$M"; [ $rc = 2 ] || fail "one argument: exit $rc, want 2"
snap "$M" "$S" extra; [ $rc = 2 ] || fail "three arguments: exit $rc, want 2"
for k in 0 -1 x 1.5 ''; do
	snap "$M" "$S" --keep "$k"; [ $rc = 2 ] || fail "--keep '$k': exit $rc, want 2"
done
snap "$M" "$S" --keep; [ $rc = 2 ] || fail "--keep without a number: exit $rc, want 2"
snap "$M" "$S" --frobnicate; [ $rc = 2 ] || fail "an unknown option: exit $rc, want 2"
grep 'unknown option' "$T/err" >/dev/null || fail "no reason for an unknown option: $(cat "$T/err")"
snap --help; [ $rc = 0 ] && grep '^usage: archivefs-snapshot SOURCE SNAPDIR' "$T/out" >/dev/null || fail "--help: exit $rc"
[ ! -e "$S" ] || fail "a usage error created SNAPDIR"
ok "usage errors exit 2 and create nothing; --help exits 0"

snap "$M" "$M/snaps"; [ $rc = 2 ] || fail "SNAPDIR inside the mount: exit $rc, want 2"
grep 'inside SOURCE' "$T/err" >/dev/null || fail "no reason: $(cat "$T/err")"
snap "$M" "$M"; [ $rc = 2 ] || fail "SNAPDIR = SOURCE: exit $rc, want 2"
ln -s "$M/prayers" "$T/link"
snap "$M" "$T/link/snaps"; [ $rc = 2 ] || fail "SNAPDIR inside the mount through a symlink: exit $rc, want 2"
snap "$M/prayers" "$M"; [ $rc = 2 ] || fail "SOURCE inside SNAPDIR: exit $rc, want 2"
[ ! -e "$M/snaps" ] && [ ! -e "$M/prayers/snaps" ] || fail "a refused run created something in the mount"
mkdir "$T/down"
snap "$T/down" "$S"; [ $rc = 1 ] || fail "an empty SOURCE (mount down): exit $rc, want 1"
grep 'README.txt' "$T/err" >/dev/null || fail "no reason for an empty SOURCE: $(cat "$T/err")"
[ -z "$(complete "$S" 2>/dev/null)" ] || fail "a snapshot of an empty SOURCE was made"
snap "$T/missing" "$S"; [ $rc = 1 ] || fail "a missing SOURCE: exit $rc, want 1"
ok "SNAPDIR inside SOURCE (also through a symlink) exits 2; an empty or missing SOURCE exits 1; nothing made"

# --- first snapshot ---------------------------------------------------------------
snap "$M" "$S"
[ $rc = 0 ] || fail "first snapshot: exit $rc: $(cat "$T/err")"
[ "$(complete "$S" | wc -l)" = 1 ] || fail "not one snapshot after the first run: $(ls -a "$S")"
S1=$(complete "$S")
[ "$(readlink "$S/latest")" = "$S1" ] || fail "latest does not point to $S1"
same_tree "$M" "$S/$S1" || fail "the first snapshot is not the mount"
af verify "$DB" "$S/$S1" >/dev/null || fail "verify rejects the first snapshot"
nfiles=$(find "$M" -type f | wc -l)
grep -E "^archivefs-snapshot: $S/$S1: $nfiles files in [0-9]+ folders, [0-9]+ bytes; $nfiles copied .*first snapshot" "$T/out" >/dev/null ||
	fail "summary line: $(cat "$T/out")"
[ "$(stat -c %a "$S")" = 700 ] || fail "SNAPDIR is not 0700"
ok "first snapshot $S1: the mount byte for byte (bytes, modes, mtimes), verify exits 0, latest -> it, one summary line"

# --- the application changes one row; second snapshot ----------------------------
ID=$(db "SELECT id FROM prayer WHERE typeof(id) = 'text' AND length(id) = 32 ORDER BY id LIMIT 1")
F=$(cd "$M" && ls prayers/*/*/*"_prayer_$ID.txt")
EV=system/event_log/prayer_events_$(date -u +%Y_%m).txt
cp "$M/$F" "$T/old"
db "UPDATE prayer SET flagged = 1 - flagged WHERE id = '$ID'"
for _ in $(seq 50); do
	cmp -s "$M/$F" "$T/old" || break
	sleep 0.1
done
! cmp -s "$M/$F" "$T/old" || fail "the mount does not show the update after 5 s"
[ "$(stat -c %s "$M/$F")" = "$(stat -c %s "$T/old")" ] || fail "the update changed the file's size (the test wants the mtime to tell)"
for _ in $(seq 50); do [ -f "$M/$EV" ] && break; sleep 0.1; done
af cat "$DB" "$F" >"$T/new"
cmp -s "$M/$F" "$T/new" || fail "the mount does not show what the database renders"

snap "$M" "$S"
[ $rc = 0 ] || fail "second snapshot: exit $rc: $(cat "$T/err")"
S2=$(complete "$S" | tail -n 1)
[ "$S2" != "$S1" ] && [ "$(complete "$S" | wc -l)" = 2 ] || fail "no second snapshot: $(complete "$S")"
[ "$(readlink "$S/latest")" = "$S2" ] || fail "latest does not point to $S2"
same_tree "$M" "$S/$S2" || fail "the second snapshot is not the mount"
cmp -s "$S/$S2/$F" "$T/new" || fail "the second snapshot lacks the new bytes of $F"
cmp -s "$S/$S1/$F" "$T/old" || fail "the first snapshot lost the old bytes of $F"
got=$(not_linked "$S/$S1" "$S/$S2" | tr '\n' ' ')
want=$(printf '%s\n' "$F" "$EV" | LC_ALL=C sort | tr '\n' ' ')
[ "$got" = "$want" ] || fail "files not hard-linked to the first snapshot: '${got:0:300}', want '$want'"
n=$(inodes "$S/$S2" | wc -l)
[ "$(LC_ALL=C join <(inodes "$S/$S1") <(inodes "$S/$S2") | awk '$2 == $3' | wc -l)" = $((n - 2)) ] ||
	fail "not every unchanged file is the first snapshot's inode"
grep -E "$S2: $n files .* 2 copied .* $((n - 2)) unchanged .* hard-linked to $S1" "$T/out" >/dev/null ||
	fail "summary line: $(cat "$T/out")"
ok "second snapshot: $((n - 2)) unchanged files are hard links to $S1's, the 2 changed ($F, its history) new bytes in new inodes; $S1 keeps the old bytes"

# --- --keep -----------------------------------------------------------------------
snap "$M" "$S" --keep 1
[ $rc = 0 ] || fail "--keep 1: exit $rc: $(cat "$T/err")"
S3=$(complete "$S")
[ "$(complete "$S" | wc -l)" = 1 ] && [ "$S3" \> "$S2" ] || fail "--keep 1 left: $(complete "$S" | tr '\n' ' ')"
[ "$(readlink "$S/latest")" = "$S3" ] || fail "latest does not point to $S3"
same_tree "$M" "$S/$S3" || fail "the kept snapshot is not the mount"
[ -z "$(cd "$S" && ls -d .partial-* .deleting-* 2>/dev/null)" ] || fail "leftovers: $(ls -a "$S")"
ok "--keep 1 leaves only the newest complete snapshot ($S3), latest -> it"

# --- interrupted and failed runs, a concurrent run ---------------------------------
# In SNAPDIR K, a previous snapshot K0 whose files have other mtimes (cp
# without -p), so every file must be copied; and things that are not
# snapshots, to be left alone. A slow rsync (50 KB/s) in front of the real
# one makes the copy take ~30 s.
K=$T/ksnaps K0=2000-01-01T000000Z
mkdir -p "$K/keepme"
cp -r "$M" "$K/$K0"
ln -s "$K0" "$K/latest"
echo 'not a snapshot' >"$K/notes.txt"
mkdir -p "$T/slow" "$T/fail23" "$T/vanish24"
printf '#!/bin/sh\ntouch "%s"\nexec %s --bwlimit=50 "$@"\n' "$T/slow.started" "$REAL_RSYNC" >"$T/slow/rsync"
printf '#!/bin/sh\n%s "$@"\necho "rsync: read errors mapping \\"x\\": Input/output error (5)" >&2\nexit 23\n' "$REAL_RSYNC" >"$T/fail23/rsync"
printf '#!/bin/sh\n%s "$@" || exit\necho "file has vanished: \\"x\\"" >&2\nexit 24\n' "$REAL_RSYNC" >"$T/vanish24/rsync"
chmod +x "$T"/slow/rsync "$T"/fail23/rsync "$T"/vanish24/rsync
pfiles() { find "$K" -mindepth 1 -path "$K/$K0" -prune -o -type f ! -name notes.txt ! -name .lock -print | wc -l; }
start_slow() {   # the script with the slow rsync, in its own process group ($JOB)
	rm -f "$T/slow.started"
	PATH=$T/slow:$PATH setsid "$SNAP" "$M" "$K" >"$T/job.out" 2>"$T/job.err" &
	JOB=$!
	for _ in $(seq 100); do
		[ -e "$T/slow.started" ] && [ "$(pfiles)" -ge $(($1 + 10)) ] && return 0
		sleep 0.1
	done
	cat "$T/job.err" >&2; fail "the slow run copies nothing"
}
partials() { (cd "$K" && ls -d .partial-* 2>/dev/null || true); }

start_slow 0
[ "$(ps -o pgid= -p "$JOB" | tr -d ' ')" = "$JOB" ] || fail "the job is not its own process group"
[ "$(complete "$K")" = "$K0" ] || fail "a run in progress looks like a complete snapshot: $(complete "$K" | tr '\n' ' ')"
snap "$M" "$K"
[ $rc = 3 ] || fail "a concurrent run: exit $rc, want 3"
grep 'another archivefs-snapshot is running' "$T/err" >/dev/null || fail "no reason for the refusal: $(cat "$T/err")"
[ "$(complete "$K")" = "$K0" ] && [ "$(partials | wc -l)" = 1 ] || fail "the refused run changed SNAPDIR: $(ls -a "$K")"
ok "a second run while one copies exits 3 with the reason, and touches nothing"

got=$(pfiles)
[ "$got" -lt "$nfiles" ] || fail "the slow run is not mid-copy"
{ kill -9 -- "-$JOB"; wait "$JOB"; } 2>/dev/null || true
JOB=
[ "$(complete "$K")" = "$K0" ] || fail "a killed run left a complete-looking snapshot: $(complete "$K")"
[ "$(readlink "$K/latest")" = "$K0" ] || fail "a killed run moved latest"
[ "$(partials | wc -l)" = 1 ] || fail "no partial folder left by the killed run: $(ls -a "$K")"
ok "kill -9 after $got of $nfiles files: no new complete-looking snapshot, latest unchanged, one .partial- folder"

start_slow "$(pfiles)"
kill -TERM "$JOB"
rc=0; wait "$JOB" || rc=$?
[ $rc = 1 ] || fail "SIGTERM: exit $rc, want 1"
grep 'interrupted by SIGTERM' "$T/job.err" >/dev/null || fail "no reason after SIGTERM: $(cat "$T/job.err")"
for _ in $(seq 50); do pgrep -g "$JOB" >/dev/null || break; sleep 0.1; done
! pgrep -g "$JOB" >/dev/null || fail "SIGTERM left its rsync running"
JOB=
[ "$(complete "$K")" = "$K0" ] && [ "$(readlink "$K/latest")" = "$K0" ] && [ "$(partials | wc -l)" = 1 ] ||
	fail "after SIGTERM: $(ls -a "$K")"
ok "SIGTERM mid-copy (resuming the killed run's folder: $(pfiles) files now) stops rsync, exits 1; no new snapshot"

PATH=$T/fail23:$PATH snap "$M" "$K"
[ $rc = 1 ] || fail "rsync exit 23: exit $rc, want 1"
grep 'rsync failed (exit 23)' "$T/err" >/dev/null && grep 'Input/output error' "$T/err" >/dev/null ||
	fail "no reason for the failure: $(cat "$T/err")"
[ "$(complete "$K")" = "$K0" ] && [ "$(readlink "$K/latest")" = "$K0" ] || fail "a failed rsync made a snapshot"
[ "$(partials | wc -l)" = 1 ] || fail "a failed rsync left $(partials | wc -l) partial folders"
ok "a failing rsync exits 1 with its error; no snapshot, latest unchanged"

P=$(partials)
inodes "$K/$P" >"$T/partial.inodes"
snap "$M" "$K" --keep 1
[ $rc = 0 ] || fail "the run after the killed ones: exit $rc: $(cat "$T/err")"
K1=$(complete "$K")
[ "$K1" != "$K0" ] && [ "$(readlink "$K/latest")" = "$K1" ] || fail "no new snapshot after the killed runs: $(ls -a "$K")"
[ -z "$(partials)" ] || fail "the partial folder is still there: $(ls -a "$K")"
grep "resumed $P" "$T/out" >/dev/null || fail "the partial folder was not reused: $(cat "$T/out")"
same_tree "$M" "$K/$K1" || fail "the snapshot after the killed runs is not the mount"
inodes "$K/$K1" | diff "$T/partial.inodes" - >/dev/null || fail "the partial folder's files were copied again"
[ "$(cat "$K/notes.txt")" = 'not a snapshot' ] && [ -d "$K/keepme" ] || fail "--keep touched what is not a snapshot"
ok "the next run reuses the partial folder (its files, not copies): the mount byte for byte; --keep 1 deleted only $K0"

PATH=$T/vanish24:$PATH snap "$M" "$S" --quiet
[ $rc = 0 ] || fail "rsync exit 24 (files vanished): exit $rc, want 0: $(cat "$T/err")"
[ ! -s "$T/out" ] && [ ! -s "$T/err" ] || fail "--quiet printed: $(cat "$T/out" "$T/err")"
S4=$(complete "$S" | tail -n 1)
[ "$S4" \> "$S3" ] && [ "$(readlink "$S/latest")" = "$S4" ] || fail "no snapshot after rsync's exit 24"
same_tree "$M" "$S/$S4" || fail "the snapshot after rsync's exit 24 is not the mount"
PATH=$T/vanish24:$PATH snap "$M" "$S"
[ $rc = 0 ] && grep 'vanished' "$T/err" >/dev/null || fail "exit 24 without --quiet: exit $rc, no warning: $(cat "$T/err")"
ok "rsync's exit 24 (files vanished) makes the snapshot and exits 0: silent with --quiet, a warning without"

# --- a sync folder -----------------------------------------------------------------
D=$T/sync SS=$T/syncsnaps
af sync "$DB" "$D" --quiet || fail "archivefs sync failed: $(cat "$T/stderr.last")"
snap "$D" "$D/snaps"; [ $rc = 2 ] || fail "SNAPDIR inside the sync folder: exit $rc, want 2"
ln -s "$D" "$T/dlink"
snap "$D" "$T/dlink/snaps"; [ $rc = 2 ] || fail "SNAPDIR inside the sync folder through a symlink: exit $rc, want 2"
[ ! -e "$D/snaps" ] || fail "a refused run created SNAPDIR in the sync folder"
echo 'half written' >"$D/users/.archivefs-tmp-999-1"   # a write in progress
snap "$D" "$SS"
[ $rc = 0 ] || fail "snapshot of the sync folder: exit $rc: $(cat "$T/err")"
D1=$(complete "$SS")
same_tree "$D" "$SS/$D1" || fail "the sync folder's snapshot is not the folder"
af verify "$DB" "$SS/$D1" >/dev/null || fail "verify rejects the sync folder's snapshot (a temporary file copied?)"
rm "$D/users/.archivefs-tmp-999-1"
cp "$D/$F" "$T/old"
db "UPDATE prayer SET flagged = 1 - flagged WHERE id = '$ID'"
af sync "$DB" "$D" --quiet || fail "archivefs sync failed: $(cat "$T/stderr.last")"
snap "$D" "$SS"
[ $rc = 0 ] || fail "second snapshot of the sync folder: exit $rc: $(cat "$T/err")"
D2=$(complete "$SS" | tail -n 1)
af verify "$DB" "$SS/$D2" >/dev/null || fail "verify rejects the second snapshot of the sync folder"
cmp -s "$SS/$D1/$F" "$T/old" || fail "the sync folder's first snapshot lost the old bytes"
got=$(not_linked "$SS/$D1" "$SS/$D2" | tr '\n' ' ')
[ "$got" = "$want" ] || fail "sync folder: files not hard-linked to the first snapshot: '${got:0:300}', want '$want'"
ok "a sync folder: snapshots verify against the database, without its temporary files; unchanged files hard-linked"
unmount_fs

# --- the mount's .archivefs/ is not copied -------------------------------------------
MOUNT_OPTS=rw
mount_fs
wait_live
U=$(cd "$M" && ls users/*_users.txt | sed -n 1p)
echo 'not a record [' >"$M/$U" 2>/dev/null || true   # refused: EINVAL
[ -f "$M/.archivefs/status" ] || fail "no .archivefs/status after a refused save"
snap "$M" "$S" --keep 2
[ $rc = 0 ] || fail "snapshot of the rw mount: exit $rc: $(cat "$T/err")"
L=$(readlink "$S/latest")
[ ! -e "$S/$L/.archivefs" ] || fail ".archivefs/ was copied into the snapshot"
same_tree "$M" "$S/$L" || fail "the snapshot of the rw mount is not the mount"
af verify "$DB" "$S/$L" >/dev/null || fail "verify rejects the snapshot of the rw mount"
[ "$(complete "$S" | wc -l)" = 2 ] || fail "--keep 2 left $(complete "$S" | wc -l)"
ok "the mount's .archivefs/ (status, rejected saves) is not in the snapshot; --keep 2 keeps 2"

# A change within the same second as the copy before, same size: rsync's
# default (whole seconds) would take it as unchanged and hard-link the old
# bytes. touch -d through the rw mount sets the two mtimes 0.5 s apart.
touch -d @1700000000.2 "$M/$F"
[ "$(stat -c %.9Y "$M/$F")" = 1700000000.200000000 ] || fail "touch -d did not set the mtime"
snap "$M" "$S"
[ $rc = 0 ] || fail "snapshot: exit $rc: $(cat "$T/err")"
A=$(readlink "$S/latest")
cp "$M/$F" "$T/old"
db "UPDATE prayer SET flagged = 1 - flagged WHERE id = '$ID'"
for _ in $(seq 50); do   # new bytes, and the commit's mtime recorded (or it would undo the touch below)
	cmp -s "$M/$F" "$T/old" || [ "$(stat -c %.9Y "$M/$F")" = 1700000000.200000000 ] || break
	sleep 0.1
done
! cmp -s "$M/$F" "$T/old" || fail "the mount does not show the update after 5 s"
[ "$(stat -c %.9Y "$M/$F")" != 1700000000.200000000 ] || fail "the update's mtime is not recorded after 5 s"
touch -d @1700000000.7 "$M/$F"
[ "$(stat -c %.9Y "$M/$F")" = 1700000000.700000000 ] && [ "$(stat -c %s "$M/$F")" = "$(stat -c %s "$T/old")" ] ||
	fail "not the same size and second: $(stat -c '%s %.9Y' "$M/$F" "$T/old")"
snap "$M" "$S"
[ $rc = 0 ] || fail "snapshot: exit $rc: $(cat "$T/err")"
B=$(readlink "$S/latest")
[ "$(stat -c %.9Y "$M/$F")" = 1700000000.700000000 ] || fail "the mtime moved during the snapshot: not the same second"
cmp -s "$S/$B/$F" "$M/$F" || fail "a change in the same second, same size, was taken as unchanged (old bytes hard-linked)"
cmp -s "$S/$A/$F" "$T/old" || fail "the snapshot before lost the old bytes"
[ "$(stat -c %i "$S/$A/$F")" != "$(stat -c %i "$S/$B/$F")" ] || fail "the changed file is a hard link to the old one"
same_tree "$M" "$S/$B" || fail "the snapshot is not the mount"
ok "a change within the same second and of the same size is copied (mtimes compared to the nanosecond)"
unmount_fs
echo "$checks checks passed"
