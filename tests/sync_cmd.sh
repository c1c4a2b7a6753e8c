#!/usr/bin/env bash
# archivefs sync DB DIR [--watch]: the sync folder without a mount.
#   - one pass on a database never mounted records the tree, then makes DIR
#     exactly the tree (verify exits 0); a second pass writes nothing;
#   - the files' mtimes are the ones a mount shows;
#   - --watch follows the application's commits into DIR, and stops
#     cleanly (exit 0) on SIGTERM;
#   - while a mount follows the database, --watch is refused with the
#     reason, and a one-shot pass still works.
. "$(dirname "$0")/lib/common.sh"

command -v sqlite3 >/dev/null || { echo "SKIP: sqlite3 is not installed"; exit 77; }
DB=$T/a.db D=$T/sync M=$T/mnt LOG=$T/daemon.log
PID=
af demo "$DB" --prayers 30 --users 5 --quiet
db() { sqlite3 -cmd '.timeout 10000' "$DB" "$@"; }

af sync "$DB" "$D" >"$T/out1" || fail "sync failed: $(cat "$T/stderr.last")"
af verify "$DB" "$D" >/dev/null || fail "after sync, verify does not exit 0"
af sync "$DB" "$D" >"$T/out2" || fail "a second sync failed"
grep '^.*: 0 written, 0 retimed, 0 removed, [0-9]* unchanged' "$T/out2" >/dev/null ||
	fail "a second sync changed something: $(cat "$T/out2")"
ok "sync records the tree and makes DIR exactly it; a second pass writes nothing"

"$ARCHIVEFS" sync "$DB" "$D" --watch >"$T/watch.out" 2>"$T/watch.err" &
W=$!
cleanup_hooks+=('kill $W 2>/dev/null; wait $W 2>/dev/null')
sleep 0.5
db "UPDATE prayer SET text = text || ' (watched)' WHERE rowid = 7"
converged 2 || fail "--watch did not bring the change to DIR within 2 s"
db "DELETE FROM prayermark WHERE rowid IN (SELECT rowid FROM prayermark LIMIT 3)"
converged 2 || fail "--watch did not bring the deletions to DIR within 2 s"
kill -TERM $W
wait $W || fail "sync --watch exited $? on SIGTERM: $(cat "$T/watch.err")"
ok "sync --watch follows the application's commits into DIR; SIGTERM stops it cleanly"

mkdir -p "$M"
. "$(dirname "$0")/lib/mount.sh"
mount_fs
wait_live
times() { (cd "$1" && find . -type f -printf '%P %T@\n' | LC_ALL=C sort); }
diff <(times "$M") <(times "$D") >/dev/null || fail "DIR's mtimes are not the mount's"
if af sync "$DB" "$D" --watch; then fail "--watch ran beside a mount"; fi
grep 'another archivefs process' "$T/stderr.last" >/dev/null || fail "no reason given: $(cat "$T/stderr.last")"
db "UPDATE prayer SET text = text || ' (mounted)' WHERE rowid = 8"
sleep 0.5
af sync "$DB" "$D" >/dev/null || fail "a one-shot sync beside the mount failed"
af verify "$DB" "$D" >/dev/null || fail "the one-shot sync beside the mount left DIR behind"
diff <(times "$M") <(times "$D") >/dev/null || fail "beside the mount, DIR's mtimes are not the mount's"
unmount_fs
ok "beside a mount: the same mtimes, --watch refused with the reason, a one-shot pass works"
echo "$checks checks passed"
