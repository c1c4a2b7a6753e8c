#!/usr/bin/env bash
# The application migrates its schema while the database is mounted
# (issue 5, point 1): the mount follows without a remount.
#   - a new column (ALTER TABLE ADD COLUMN ... DEFAULT): every file of the
#     table shows it, as `archivefs cat` renders it, and the sync folder
#     follows (verify exits 0);
#   - a new table: its files appear, and later updates of its rows show
#     (its change-journal triggers were installed);
#   - a table rebuilt (create, copy, drop, rename: the triggers go with the
#     dropped table): updates of its rows still show;
#   - a save through the mount after the migration writes the new column.
. "$(dirname "$0")/lib/common.sh"

command -v sqlite3 >/dev/null || { echo "SKIP: sqlite3 is not installed"; exit 77; }
DB=$T/a.db M=$T/mnt LOG=$T/daemon.log D=$T/sync
PID=
af demo "$DB" --prayers 20 --users 5 --quiet
mkdir -p "$M"
. "$(dirname "$0")/lib/mount.sh"
db() { sqlite3 -cmd '.timeout 10000' "$DB" "$@"; }
same_as_db() { af cat "$DB" "$1" | cmp -s - "$M/$1"; }
MOUNT_OPTS=rw SYNC_DIR=$D mount_fs
wait_live
within 10 af verify "$DB" "$D" || fail "the sync folder did not start in sync"
F=$(cd "$M" && ls prayers/*/*/*.txt | head -1)
G=$(cd "$M" && ls prayers/*/*/*.txt | tail -1)
cat "$M/$F" >/dev/null   # cached by the kernel before the migration

db "ALTER TABLE prayer ADD COLUMN mood TEXT DEFAULT 'calm'"
within 3 grep -x 'mood: calm' "$M/$F" || { tail -5 "$LOG" >&2; fail "the new column does not show"; }
same_as_db "$F" && same_as_db "$G" || fail "after ADD COLUMN the mount differs from archivefs cat"
within 3 af verify "$DB" "$D" || fail "the sync folder did not follow the new column"
# The sync folder gets the files before the daemon logs the line.
within 3 grep 'the schema changed: following it' "$LOG" || fail "the migration was not logged"
ok "ADD COLUMN: every prayer file shows the new column, the sync folder follows"

db "CREATE TABLE gadget(id INTEGER PRIMARY KEY, name TEXT NOT NULL); INSERT INTO gadget VALUES (1, 'spanner')"
P=$(af ls "$DB" tables/gadget | head -1)
[ -n "$P" ] || fail "archivefs ls does not list the new table"
within 3 grep -x "name: spanner" "$M/tables/gadget/$P" || { ls -la "$M/tables" "$M/tables/gadget" >&2 || true; cat "$LOG" >&2; echo "P=$P" >&2; fail "the new table's file does not show"; }
db "UPDATE gadget SET name = 'wrench' WHERE id = 1"
within 3 grep -x 'name: wrench' "$M/tables/gadget/$P" || fail "an update of the new table does not show"
# (a -o rw mount renders at every open; the sync folder follows the journal)
within 3 af verify "$DB" "$D" || fail "the sync folder did not get the new table's update: no triggers?"
ok "a new table: its files appear, and updates of its rows reach the mount and the sync folder"

N=$(af ls "$DB" tables/app_note | head -1)
db "BEGIN; CREATE TABLE app_note_new AS SELECT * FROM app_note; DROP TABLE app_note;
    ALTER TABLE app_note_new RENAME TO app_note; COMMIT"
sleep 0.5
db "UPDATE app_note SET body = 'rebuilt and updated' WHERE rowid = (SELECT min(rowid) FROM app_note)"
N=$(af ls "$DB" tables/app_note | head -1)
within 3 grep -x 'body: rebuilt and updated' "$M/tables/app_note/$N" ||
	{ tail -5 "$LOG" >&2; fail "after a table rebuild, its updates do not show"; }
within 3 af verify "$DB" "$D" || fail "the sync folder did not get the rebuilt table's update: no triggers?"
ok "a table rebuilt (its triggers dropped with it): its updates still reach the mount and the sync folder"

sed -i 's/^mood: calm$/mood: hopeful/' "$M/$F" || fail "saving the new column failed"
ID=$(grep -A1 '^id:' "$M/$F" | head -1 | sed 's/^id: //')
[ "$(db "SELECT count(*) FROM prayer WHERE mood = 'hopeful'")" = 1 ] || fail "the save did not write the new column"
within 3 af verify "$DB" "$D" || fail "the sync folder is behind at the end"
unmount_fs
ok "a save through the mount after the migration writes the new column; the sync folder is exact"
echo "$checks checks passed"
