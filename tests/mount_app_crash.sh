#!/usr/bin/env bash
# The application is killed in the middle of a transaction, its changed
# pages already in the database file: a hot journal (rollback-journal
# mode). The mount's readers are read-only connections, which SQLite does
# not let roll a hot journal back. A reader that comes first must still
# answer, with the last commit, and never "Read-only file system": the
# client did nothing wrong. Twelve crashes, each followed at once by reads
# of files nobody read before (so the kernel and the daemon have nothing
# cached), each compared byte for byte with an export of the last commit.
. "$(dirname "$0")/lib/common.sh"

command -v sqlite3 >/dev/null || { echo "SKIP: sqlite3 is not installed"; exit 77; }
DB=$T/a.db M=$T/mnt LOG=$T/daemon.log
PID=
af demo "$DB" --prayers 60 --users 5 --quiet
[ "$(sqlite3 "$DB" 'PRAGMA journal_mode')" = delete ] || fail "the demo database is not in rollback-journal mode"
af export "$DB" "$T/x" >/dev/null
(cd "$T/x" && ls prayers/*/*/*.txt) >"$T/files"
[ "$(wc -l <"$T/files")" -ge 24 ] || fail "too few prayer files"
mkdir -p "$M"
. "$(dirname "$0")/lib/mount.sh"
mount_fs
wait_live

crash() {   # an UPDATE of every prayer, spilled into the file, never committed
	python3 - "$DB" <<-'PYEOF'
	import os, sqlite3, sys
	c = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=10)
	c.execute("PRAGMA cache_size = 2")
	c.execute("BEGIN")
	c.execute("UPDATE prayer SET text = text || ' (never committed)'")
	os._exit(0)   # no commit, no rollback: as kill -9
	PYEOF
}
bad=0
for k in $(seq 1 12); do
	crash
	[ -s "$DB-journal" ] || fail "crash $k left no hot journal"
	for f in $(sed -n "$((2 * k - 1)),$((2 * k))p" "$T/files"); do
		if ! cat "$M/$f" >"$T/read" 2>"$T/err"; then
			bad=$((bad + 1)); sed -n 1p "$T/err" >&2
		elif ! cmp -s "$T/read" "$T/x/$f"; then
			fail "crash $k: $f is not the last commit's bytes"
		fi
	done
	sleep 0.2   # the watcher's tick has rolled it back by now, if nobody did
done
[ "$bad" = 0 ] || fail "$bad of 24 reads right after a crashed application failed"
[ "$(sqlite3 "$DB" "SELECT count(*) FROM prayer WHERE text LIKE '%never committed%'")" = 0 ] ||
	fail "an uncommitted change is in the database"
ok "12 applications killed mid-transaction: all 24 reads right after answer the last commit, byte for byte"
unmount_fs
ok "unmounted: daemon exited 0, clean log"
