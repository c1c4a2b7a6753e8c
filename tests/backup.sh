#!/usr/bin/env bash
# archivefs backup / restore (issue 6):
#   - a backup taken while the application commits (WAL, one row per
#     commit, numbered) is one consistent snapshot: its numbers are 1..k
#     with no gap, integrity_check passes, `sha256sum -c` accepts its
#     checksum file; an existing DEST is never overwritten;
#   - restore puts the backup's exact rows back (sorted .dump equal) and
#     keeps the database before it as DB.pre-restore-<time> (its .dump the
#     one before the restore);
#   - a damaged backup, or one without its checksum file, is refused with
#     the reason and the database is untouched;
#   - restore is refused while a mount follows the database.
. "$(dirname "$0")/lib/common.sh"

command -v sqlite3 >/dev/null || { echo "SKIP: sqlite3 is not installed"; exit 77; }
command -v sha256sum >/dev/null || { echo "SKIP: sha256sum is not installed"; exit 77; }
DB=$T/a.db B=$T/backups
mkdir -p "$B"
af demo "$DB" --prayers 200 --users 10 --quiet
sqlite3 "$DB" "PRAGMA journal_mode = WAL; CREATE TABLE ticks(n INTEGER PRIMARY KEY, at TEXT)" >/dev/null

# The application: one numbered row per commit, as fast as it can.
python3 - "$DB" "$T/stop" <<'PY' &
import sqlite3, sys, os
con = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=10)
con.execute("PRAGMA synchronous = NORMAL")
n = 0
while not os.path.exists(sys.argv[2]):
    n += 1
    con.execute("INSERT INTO ticks VALUES (?, datetime('now'))", (n,))
PY
APP=$!
cleanup_hooks+=('touch "$T/stop"; kill $APP 2>/dev/null || true')
sleep 0.5
for i in 1 2 3; do
	af backup "$DB" "$B/b$i.db" >/dev/null || fail "backup $i while the application writes failed: $(cat "$T/stderr.last")"
done
touch "$T/stop"
wait "$APP"
total=$(sqlite3 "$DB" "SELECT count(*) FROM ticks")
for i in 1 2 3; do
	read -r c mn mx < <(sqlite3 -separator ' ' "$B/b$i.db" "SELECT count(*), min(n), max(n) FROM ticks")
	[ "$c" -gt 0 ] && [ "$mn" = 1 ] && [ "$mx" = "$c" ] || fail "backup $i is not a consistent snapshot: $c rows, $mn..$mx"
	[ "$c" -le "$total" ] || fail "backup $i has more rows than the database"
	[ "$(sqlite3 "$B/b$i.db" 'PRAGMA integrity_check')" = ok ] || fail "backup $i fails integrity_check"
	(cd "$B" && sha256sum -c "b$i.db.sha256" >/dev/null) || fail "sha256sum -c rejects backup $i's checksum file"
	[ "$(sqlite3 "$B/b$i.db" 'SELECT count(*) FROM prayer')" = "$(sqlite3 "$DB" 'SELECT count(*) FROM prayer')" ] ||
		fail "backup $i lacks prayers"
done
[ "$(stat -c %a "$DB")" = 600 ] && [ "$(stat -c %a "$B/b1.db")" = 600 ] ||
	fail "the backup of a private database is mode $(stat -c %a "$B/b1.db") (the database $(stat -c %a "$DB"))"
echo "# 3 backups during $total application commits"
if af backup "$DB" "$B/b1.db" 2>/dev/null; then fail "a backup overwrote an existing file"; fi
grep 'exists' "$T/stderr.last" >/dev/null || fail "no reason given for refusing an existing DEST"
af backup "$DB" "$B" >/dev/null || fail "backup into a folder failed"
ls "$B"/a-*.db "$B"/a-*.db.sha256 >/dev/null || fail "no dated backup in the folder"
ok "backups while the application writes: consistent snapshots, integrity ok, sha256sum -c ok, as private as the database, never overwrite"

# --- restore ----------------------------------------------------------------------
dump_sorted "$B/b2.db" >"$T/b2.dump"
sqlite3 "$DB" "DELETE FROM prayermark; UPDATE prayer SET text = 'changed after the backup'"
dump_sorted "$DB" >"$T/before.dump"
af restore "$B/b2.db" "$DB" >"$T/restore.out" || fail "restore failed: $(cat "$T/stderr.last")"
dump_sorted "$DB" | diff - "$T/b2.dump" >/dev/null || fail "the restored database is not the backup's rows"
KEPT=$(ls "$DB".pre-restore-* | grep -v sha256 | head -1)
[ -n "$KEPT" ] || fail "no pre-restore copy kept"
grep -F "$KEPT" "$T/restore.out" >/dev/null || fail "restore does not say where the old database is"
dump_sorted "$KEPT" | diff - "$T/before.dump" >/dev/null || fail "the pre-restore copy is not the database before"
ok "restore: the backup's exact rows; the database before kept as $(basename "$KEPT")"

# --- refusals ---------------------------------------------------------------------
dump_sorted "$DB" >"$T/now.dump"
cp "$B/b3.db" "$T/bad.db" && cp "$B/b3.db.sha256" "$T/bad.db.sha256"
sed -i "s/ b3.db$/ bad.db/" "$T/bad.db.sha256"
printf '\x42' | dd of="$T/bad.db" bs=1 seek=5000 conv=notrunc 2>/dev/null
if af restore "$T/bad.db" "$DB"; then fail "a damaged backup was restored"; fi
grep 'does not match its checksum' "$T/stderr.last" >/dev/null || fail "no clear reason: $(cat "$T/stderr.last")"
cp "$B/b3.db" "$T/nosum.db"
if af restore "$T/nosum.db" "$DB"; then fail "a backup without a checksum file was restored"; fi
grep 'no checksum file' "$T/stderr.last" >/dev/null || fail "no clear reason: $(cat "$T/stderr.last")"
dump_sorted "$DB" | diff - "$T/now.dump" >/dev/null || fail "a refused restore changed the database"
ok "a damaged backup and one without its checksum are refused, the database untouched"

if [ -c /dev/fuse ] && command -v fusermount3 >/dev/null; then
	M=$T/mnt LOG=$T/daemon.log PID=
	mkdir -p "$M"
	. "$(dirname "$0")/lib/mount.sh"
	mount_fs
	wait_live
	if af restore "$B/b3.db" "$DB"; then fail "restore under a live mount succeeded"; fi
	grep 'follows it' "$T/stderr.last" >/dev/null || fail "no clear reason: $(cat "$T/stderr.last")"
	unmount_fs
	# (the mount added its archivefs_* objects: compare the application's rows)
	for t in prayer prayermark user ticks; do
		sqlite3 "$DB" ".dump $t" | grep -a '^INSERT' | LC_ALL=C sort >"$T/t.now"
		grep -a "^INSERT INTO $t VALUES" "$T/now.dump" | diff - "$T/t.now" >/dev/null ||
			fail "the refused restore changed table $t"
	done
	ok "restore is refused while a mount follows the database"
fi
echo "$checks checks passed"
