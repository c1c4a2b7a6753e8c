#!/usr/bin/env bash
# The mount follows the application: rows changed by another process (the
# sqlite3 shell here, like the app) show in cat, ls -l and stat within one
# second, with real mtimes: only the files whose bytes changed get a new
# mtime, a no-op UPDATE changes none, a remount changes none, so a second
# rsync copies nothing and after one change copies exactly one file.
# A database that cannot be written is served without live updates, with
# a notice. The daemon exits 0 with a clean log, nothing is left mounted.
. "$(dirname "$0")/lib/common.sh"

for p in sqlite3 rsync; do
	command -v $p >/dev/null || { echo "SKIP: $p is not installed"; exit 77; }
done

DB=$T/a.db X=$T/export M=$T/mnt B=$T/backup LOG=$T/daemon.log
PID=
af demo "$DB" --prayers 40 --users 10 --quiet
mkdir -p "$M" "$B"

# FUSE available? (skips otherwise); mount helpers and cleanup, plus the
# read-only bind mount of the last check.
. "$(dirname "$0")/lib/mount.sh"
ro_last_resort() {
	if [ -n "${RO:-}" ] && grep -qF " $RO " /proc/mounts; then
		umount "$RO" 2>/dev/null || umount -l "$RO" 2>/dev/null || true
	fi
}
cleanup_hooks+=(ro_last_resort)

# The application: another process, with a busy timeout like any real one
# (the watcher briefly holds the write lock while it records mtimes).
app() { sqlite3 -cmd '.timeout 5000' "$DB" "$@" >/dev/null; }

# within_1s WHAT CMD...: CMD succeeds within one second (from now).
within_1s() {
	local what=$1 start
	shift
	start=$(date +%s%N)
	until "$@"; do
		[ $(( $(date +%s%N) - start )) -lt 1000000000 ] || fail "$what: not within 1 s"
		sleep 0.02
	done
}

snapshot() {   # mtime, size and path of every node, by path
	(cd "$M" && find . -mindepth 1 -printf '%T@ %s %P\n' | LC_ALL=C sort -k3)
}

ID=f1d850b2bd20f31024ea17139a173dea
P=prayers/2023/01/2023_01_19_prayer_$ID.txt

mount_fs
wait_live
[ -f "$M/$P" ] || fail "$P is not in the mount"
snapshot >"$T/s0"
! awk '$1 + 0 == 0' "$T/s0" | grep . >/dev/null || fail "an mtime is 0"
cat "$M/$P" >/dev/null               # its pages are in the kernel's cache now
old_mtime=$(stat -c %Y "$M/$P")
ok "mounted read-write-journaled, $(wc -l <"$T/s0") nodes, no mtime 0"

# --- (a) an UPDATE shows within 1 s; only that file's mtime moves --------
sleep 1.1   # so the new mtime is another second than the install time
app "UPDATE prayer SET text = 'Live text, changed by the app.' WHERE id = '$ID'"
shows_new_text() { grep -q 'Live text, changed by the app.' "$M/$P"; }
within_1s "cat shows the updated text" shows_new_text
af cat "$DB" "$P" >"$T/p.expected"
size=$(stat -c %s "$T/p.expected")
[ "$(stat -c %s "$M/$P")" = "$size" ] || fail "stat size $(stat -c %s "$M/$P"), expected $size"
cmp -s "$M/$P" "$T/p.expected" || fail "$P differs from what archivefs cat renders"
[ "$(stat -c %Y "$M/$P")" != "$old_mtime" ] || fail "$P kept its mtime $old_mtime after an UPDATE"
[ "$(stat -c %Y "$M/$P")" -ge "$old_mtime" ] || fail "$P's mtime went back in time"
ls -l "$M/$(dirname "$P")" | grep " $size .*$(basename "$P")" >/dev/null || fail "ls -l does not show the new size"
snapshot >"$T/s1"
# besides the file, only the history of the change appears (issue 5)
EV=system/event_log/prayer_events_$(date -u +%Y_%m).txt
diff <(grep -vF " $P" "$T/s0") <(grep -vF " $P" "$T/s1" | grep -v ' system/event_log') >&2 ||
	fail "other files' mtimes or sizes changed"
grep " $EV\$" "$T/s1" >/dev/null || fail "the update's history file $EV is not in the mount"
grep -A3 '^\[new\]' "$M/$EV" | grep 'Live text, changed by the app.' >/dev/null ||
	fail "the history file does not show the new text: $(cat "$M/$EV")"
ok "UPDATE: cat, stat size and mtime, ls -l show it within 1 s; no other file changed"

# --- (b) an INSERT in a new month: file and folders appear ---------------
! ls "$M/prayers/2026" >/dev/null 2>&1 || fail "prayers/2026 exists before the insert"
ls "$M/prayers" >/dev/null           # a cached listing to invalidate
N=prayers/2026/07/2026_07_04_prayer_live0001.txt
app "CREATE TEMP TABLE t AS SELECT * FROM prayer WHERE id = '$ID';
     UPDATE t SET id = 'live0001', created_at = '2026-07-04 10:00:00.000000',
                  text = 'A prayer that arrived while mounted.';
     INSERT INTO prayer SELECT * FROM t;"
new_visible() {
	ls "$M/prayers" | grep -x 2026 >/dev/null && ls "$M/prayers/2026" | grep -x 07 >/dev/null &&
		ls "$M/prayers/2026/07" | grep -xF "$(basename "$N")" >/dev/null
}
within_1s "the new file and its folders in ls" new_visible
af cat "$DB" "$N" | cmp -s - "$M/$N" || fail "$N differs from what archivefs cat renders"
ok "INSERT in a new month: prayers/2026/07 and the file appear in ls within 1 s"

# --- (c) DELETE it: gone, and its now empty folders too ------------------
app "DELETE FROM prayer WHERE id = 'live0001'"
new_gone() {
	! ls "$M/prayers" | grep -x 2026 >/dev/null && [ ! -e "$M/$N" ] && ! ls "$M/prayers/2026" >/dev/null 2>&1
}
within_1s "the deleted file and its folders gone" new_gone
ok "DELETE: the file and its empty folders are gone within 1 s"

# --- (d) an UPDATE that changes no byte changes no mtime ------------------
snapshot >"$T/s2"
sleep 1.1
app "UPDATE prayer SET text = text WHERE id = '$ID'; UPDATE user SET display_name = display_name"
sleep 0.5
snapshot >"$T/s3"
diff "$T/s2" "$T/s3" >&2 || fail "a no-op UPDATE changed mtimes or sizes"
ok "a no-op UPDATE changes no mtime"

# --- (e) remount: same mtimes ---------------------------------------------
unmount_fs
mount_fs
snapshot >"$T/s4"
diff "$T/s3" "$T/s4" >&2 || fail "mtimes or sizes changed across a remount"
ok "after a remount: identical mtimes and sizes"

# --- (f) rsync copies only what changed ------------------------------------
rsync -a "$M/" "$B/"
out=$(rsync -a --itemize-changes "$M/" "$B/")
[ -z "$out" ] || { echo "$out" >&2; fail "a second rsync copied something"; }
MARK=4721b7fc4381353f211b5ce56c23e6ce   # a mark on prayer $ID
before=$(cat "$M/$P")
sleep 1.1   # another second, so rsync's quick check sees the new mtime
app "UPDATE prayermark SET created_at = '2023-02-14 18:17:25.000000' WHERE id = '$MARK'"
mark_visible() { [ "$(cat "$M/$P")" != "$before" ]; }
within_1s "the prayer file holding the updated mark" mark_visible
out=$(rsync -a --itemize-changes "$M/" "$B/")
lines=$(grep '^>f' <<<"$out" | awk '{print $2}' | LC_ALL=C sort || true)
EVM=system/event_log/prayermark_events_$(date -u +%Y_%m).txt
[ "$lines" = "$(printf '%s\n%s' "$P" "$EVM" | LC_ALL=C sort)" ] ||
	{ echo "$out" >&2; fail "rsync after one mark UPDATE did not copy exactly $P and its history $EVM"; }
[ "$(wc -l <<<"$out")" = 2 ] || { echo "$out" >&2; fail "rsync changed more than $P and $EVM"; }
ok "rsync: a second run copies nothing; after one mark UPDATE, exactly $P"

af export "$DB" "$X" --quiet
diff -r "$M" "$X" >&2 || fail "diff -r mount export is not empty after the changes"
diff -r "$B" "$X" >&2 || fail "the rsync copy differs from the export"
ok "diff -r mount export is empty after all changes"

unmount_fs
ok "unmounted: nothing mounted, daemon exited 0, clean log"

# --- a database that cannot be written: served, without live updates ----
# Needs a read-only bind mount (root with CAP_SYS_ADMIN); skipped without.
mkdir -p "$T/rosrc" "$T/ro"
af demo "$T/rosrc/b.db" --prayers 5 --users 3 --quiet
RO=$T/ro
if mount --bind "$T/rosrc" "$RO" 2>/dev/null && mount -o remount,ro,bind "$RO" 2>/dev/null; then
	DB=$RO/b.db
	mount_fs
	grep -q 'cannot be written.*without live updates' "$LOG" || { cat "$LOG" >&2; fail "no notice about the read-only database"; }
	db_mtime=$(stat -c %Y "$DB")
	(cd "$M" && find . -mindepth 1 -printf '%T@\n') | cut -d. -f1 | sort -u >"$T/ro.mtimes"
	[ "$(cat "$T/ro.mtimes")" = "$db_mtime" ] || fail "mtimes are not the read-only database file's"
	af export "$DB" "$T/ro.export" --quiet
	diff -r "$M" "$T/ro.export" >&2 || fail "diff -r mount export of a read-only database is not empty"
	unmount_fs
	umount "$RO"
	ok "a read-only database is served without live updates, with a notice, its mtime on every node"
else
	umount "$RO" 2>/dev/null || true
	echo "# read-only database case skipped: cannot make a read-only bind mount"
fi
echo "$checks checks passed"
