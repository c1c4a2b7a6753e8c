#!/usr/bin/env bash
# export gives each file the mtime the mount shows (the time its bytes last
# changed, from the change journal's records), so `rsync -a` between the
# mount and an export, or two exports, copies only real changes:
#   - after the application changed a prayer, every exported file's mtime
#     (to the nanosecond) and bytes equal the mount's;
#   - a file whose bytes are right but whose mtime was changed on disk is
#     only retimed by the next export, not rewritten;
#   - a second export writes and retimes nothing.
. "$(dirname "$0")/lib/common.sh"

command -v sqlite3 >/dev/null || { echo "SKIP: sqlite3 is not installed"; exit 77; }
DB=$T/a.db M=$T/mnt LOG=$T/daemon.log D=$T/out
PID=
af demo "$DB" --prayers 40 --users 6 --quiet
mkdir -p "$M"
. "$(dirname "$0")/lib/mount.sh"
mount_fs
wait_live
sleep 0.2
sqlite3 -cmd '.timeout 5000' "$DB" "UPDATE prayer SET flagged = 1 - flagged WHERE rowid = 3"
sleep 1   # the watcher records the change and its time

times() { (cd "$1" && find . -type f -printf '%P %T@ %s\n' | LC_ALL=C sort); }
af export "$DB" "$D" --quiet || fail "export failed"
times "$M" >"$T/mount.times"
times "$D" >"$T/disk.times"
diff "$T/mount.times" "$T/disk.times" >&2 || fail "exported mtimes differ from the mount's"
diff -r "$M" "$D" >/dev/null || fail "exported bytes differ from the mount's"
[ "$(awk '{print $2}' "$T/mount.times" | sort -u | wc -l)" -ge 2 ] || fail "every file has one time: the change's time is missing"
ok "export: every file's bytes and mtime (ns) equal the mount's, the changed prayer's too"

F=$(head -1 "$T/disk.times" | cut -d' ' -f1)
touch -d '2001-01-01' "$D/$F"
out=$(af export "$DB" "$D")
echo "$out" | grep '^0 written, [0-9]* unchanged, 1 retimed' >/dev/null || fail "export did not just retime one file: $out"
times "$D" | diff "$T/mount.times" - >/dev/null || fail "the retimed file's mtime is not the mount's"
out=$(af export "$DB" "$D")
echo "$out" | grep '^0 written, [0-9]* unchanged, 0 pruned' >/dev/null || fail "a second export changed something: $out"
ok "a file with another mtime is retimed, not rewritten; a second export changes nothing"
unmount_fs
ok "clean unmount"
echo "$checks checks passed"
