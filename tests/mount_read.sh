#!/usr/bin/env bash
# The read-only mount serves exactly the exported tree: same files, bytes,
# sizes (before any read), modes; inode numbers unique and the same after a
# remount; mtimes never 0 and never moved by reads or remounts; the tools
# users run (grep -r, tar, ls -lR, du) work; writes fail with EROFS;
# unmount leaves nothing mounted and the daemon exits 0 with a clean log.
# Bad arguments fail before anything is mounted.
. "$(dirname "$0")/lib/common.sh"

DB=$T/a.db X=$T/export M=$T/mnt LOG=$T/daemon.log
PID=
af demo "$DB" --prayers 40 --users 10 --quiet
af export "$DB" "$X" --quiet

# --- errors, before anything is mounted ---------------------------------
mkdir -p "$M"
expect_fail() {   # expect_fail WHAT PATTERN ARGS...
	local what=$1 pat=$2 rc=0
	shift 2
	af mount "$@" -f >/dev/null || rc=$?
	[ "$rc" = 1 ] || fail "$what: exit $rc, expected 1"
	grep -qiE "$pat" "$T/stderr.last" || fail "$what: unclear error: $(cat "$T/stderr.last")"
	! grep -qF " $M " /proc/mounts || fail "$what: something got mounted"
}
expect_fail "missing database" "No such file" "$T/nope.db" "$M"
echo "not a database, not at all, but long enough to look like one........" >"$T/junk.db"
expect_fail "not a database" "not a database" "$T/junk.db" "$M"
expect_fail "missing mountpoint" "mountpoint.*No such file" "$DB" "$T/nope"
touch "$T/file"
expect_fail "mountpoint is a file" "not a folder" "$DB" "$T/file"
ok "a bad database or mountpoint fails with the reason, nothing mounted"

# --- FUSE available? (skips otherwise); mount helpers and cleanup ----
. "$(dirname "$0")/lib/mount.sh"

listing() {   # what stat says, before or after reads: inode, mtime, size
	(cd "$1" && find . -mindepth 1 -printf '%i %T@ %s %y %P\n' | LC_ALL=C sort -k5)
}

mount_fs
ok "mounted"

# Stat everything before reading anything: sizes must already be exact.
listing "$M" >"$T/before"
(cd "$X" && find . -mindepth 1 -type f -printf '%s %P\n' | LC_ALL=C sort -k2) >"$T/x.sizes"
awk '$4 == "f" { print $3, $5 }' "$T/before" >"$T/m.sizes"
diff "$T/x.sizes" "$T/m.sizes" >&2 || fail "sizes before any read differ from the export"
nfiles=$(wc -l <"$T/x.sizes")
ok "sizes of all $nfiles files are exact before any read"

diff -r "$M" "$X" >&2 || fail "diff -r mount export is not empty"
ok "diff -r mount export is empty"

(cd "$M" && find . -mindepth 1 -printf '%m %y %P\n' | LC_ALL=C sort -k3) >"$T/m.modes"
(cd "$X" && find . -mindepth 1 -printf '%m %y %P\n' | LC_ALL=C sort -k3) >"$T/x.modes"
diff "$T/x.modes" "$T/m.modes" >&2 || fail "modes differ from the export"
ok "modes and types equal the export's"

n=$(wc -l <"$T/before")
[ "$(cut -d' ' -f1 "$T/before" | sort -u | wc -l)" = "$n" ] || fail "inode numbers are not unique"
! awk '$1 <= 1' "$T/before" | grep . >/dev/null || fail "an inode number is 0 or 1"
! awk '$2 + 0 == 0' "$T/before" | grep . >/dev/null || fail "an mtime is 0"
# mtimes are the change journal's (tests/mount_live.sh): here, where
# nothing changed since mounting, they are never 0 and never move on reads
# (checked below) nor across a remount (checked at the end).
ok "$n inode numbers unique, no mtime is 0"

grep -rq 'prayer' "$M" || fail "grep -r found nothing"
grep -rc . "$M" >/dev/null || fail "grep -rc failed"
bytes=$(cd "$M" && tar cf - . | wc -c)
[ "$bytes" -gt 10240 ] || fail "tar produced $bytes bytes"
ls -lR "$M" >/dev/null || fail "ls -lR failed"
du -s "$M" >/dev/null || fail "du -s failed"
ok "grep -r, tar c, ls -lR and du -s run ($bytes bytes of tar)"

listing "$M" >"$T/after"
diff "$T/before" "$T/after" >&2 || fail "reads changed what stat says"
ok "inodes, mtimes and sizes unchanged by reading every file"

f=$(cd "$M" && find . -type f -name '*.txt' -print -quit)
for w in "touch $M/x" "echo >>$M/$f" "mkdir $M/d" "rm -f $M/$f" "mv $M/$f $M/y" "chmod 600 $M/$f"; do
	if out=$(eval "$w" 2>&1); then fail "$w succeeded on a read-only mount"; fi
	grep -q 'Read-only file system' <<<"$out" || fail "$w: expected EROFS, got: $out"
done
cmp -s "$M/$f" "$X/$f" || fail "$f changed after refused writes"
ok "writes fail with EROFS and change nothing"

unmount_fs
ok "unmounted: nothing mounted, daemon exited 0, clean log"

mount_fs
listing "$M" >"$T/remount"
diff "$T/before" "$T/remount" >&2 || fail "inodes, mtimes or sizes changed across a remount"
diff -r "$M" "$X" >&2 || fail "diff -r after remount is not empty"
unmount_fs
ok "after a remount: same inode numbers, mtimes, sizes and bytes"
echo "$checks checks passed"
