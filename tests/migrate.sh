#!/usr/bin/env bash
# archivefs migrate / rollback (issue 6): schema changes by rebuilding the
# database from its archive.
#   - adding a column (with a default, in the middle of a table) and a
#     table: every old row comes back with exactly its values (compared by
#     column name, storage class included), the new column holds its
#     default, the schema is NEW.sql's, the history survives, a checked
#     pre-migration backup exists, the work folder is gone;
#   - a column renamed with --map keeps its values; --map T.C= drops one;
#   - refusals before anything is touched (the database byte-identical, no
#     backup made): a removed column holding data, a removed table holding
#     rows, a new NOT NULL column without a default, a type change that
#     would convert stored values (caught by the row verification);
#   - --dry-run changes nothing and says it would succeed;
#   - rollback puts the exact old database back;
#   - an application writing numbered rows all through the migration
#     loses none of them;
#   - kill -9 at any moment leaves the old or the new database, never a
#     mix, and the next run succeeds;
#   - refused while archivefs sync --watch follows the database.
. "$(dirname "$0")/lib/common.sh"

# The application's schema (archivefs's own objects left out), as SQL.
schema_of() { sqlite3 "$1" "SELECT sql || ';' FROM sqlite_schema WHERE name NOT LIKE 'archivefs%' AND name NOT LIKE 'sqlite_%' AND sql IS NOT NULL"; }
calc() { awk "BEGIN { printf \"%.3f\", $1 }"; }

command -v sqlite3 >/dev/null || { echo "SKIP: sqlite3 is not installed"; exit 77; }
DB=$T/a.db DIR=$T/archive
af demo "$DB" --prayers 150 --users 12 --quiet
af sync "$DB" "$DIR" --quiet >/dev/null   # journal and history on
sqlite3 "$DB" "UPDATE prayer SET text = text || ' (edited)' WHERE rowid <= 3; PRAGMA user_version = 7"
schema_of "$DB" >"$T/old.sql"

# rows_match OLD NEW [RENAME...]: every row of every table of OLD is in NEW
# with the same values (by column name, exact type and bytes); NEW's extra
# columns are listed as "table.col=value-set".
rows_match() {
	python3 - "$@" <<'PY'
import sqlite3, sys
old, new, renames = sys.argv[1], sys.argv[2], dict(a.split("=", 1) for a in sys.argv[3:])
o = sqlite3.connect(old); n = sqlite3.connect(new)
for c in (o, n):
    c.text_factory = bytes
tables = [r[0].decode() for r in o.execute("SELECT name FROM sqlite_schema WHERE type='table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE 'archivefs_%'")]
extra = set()
for t in tables:
    oc = [r[1].decode() for r in o.execute(f'PRAGMA table_info("{t}")')]
    nc = [r[1].decode() for r in n.execute(f'PRAGMA table_info("{t}")')]
    mapped = [renames.get(f"{t}.{c}", c) for c in oc]
    keep = [(c, m) for c, m in zip(oc, mapped) if m]
    def q(cols, tb):
        parts = ['typeof("%s"), quote("%s"), hex("%s")' % (c, c, c) for c in cols]
        return 'SELECT %s FROM "%s"' % (", ".join(parts), tb)
    a = sorted(o.execute(q([c for c, _ in keep], t)).fetchall())
    b = sorted(n.execute(q([m for _, m in keep], t)).fetchall())
    if a != b:
        sys.exit(f"table {t}: rows differ ({len(a)} before, {len(b)} after)")
    for c in nc:
        if c not in mapped:
            vals = {r[0] for r in n.execute(f'SELECT quote("{c}") FROM "{t}"')}
            extra.add(f"{t}.{c}=" + ",".join(sorted(v.decode() for v in vals)))
print(" ".join(sorted(extra)))
PY
}

# --- add a column and a table -------------------------------------------------------
sed 's/^\tsafety_score FLOAT NOT NULL,$/&\n\tmood VARCHAR DEFAULT '"'"'calm'"'"' NOT NULL,/' "$T/old.sql" >"$T/add.sql"
printf 'CREATE TABLE reaction (id INTEGER PRIMARY KEY AUTOINCREMENT, prayer_id VARCHAR NOT NULL, kind TEXT);\nPRAGMA user_version = 8;\n' >>"$T/add.sql"
grep mood "$T/add.sql" >/dev/null || fail "the test's NEW.sql lacks the new column"
cp "$DB" "$T/before.db"
events_before=$(sqlite3 "$DB" "SELECT count(*) FROM archivefs_event")
af migrate "$DB" --schema "$T/add.sql" >"$T/out" || fail "adding a column and a table failed: $(cat "$T/stderr.last")"
grep -F 'add column prayer.mood (default '"'calm'"')' "$T/out" >/dev/null || fail "the plan does not show the new column"
grep -F 'add table reaction' "$T/out" >/dev/null || fail "the plan does not show the new table"
extra=$(rows_match "$T/before.db" "$DB") || fail "rows changed: $extra"
[ "$extra" = "prayer.mood='calm'" ] || fail "new columns hold: '$extra'"
sqlite3 "$T/fresh.db" <"$T/add.sql"
[ "$(sqlite3 "$DB" "SELECT type, name, sql FROM sqlite_schema WHERE name NOT LIKE 'archivefs%' ORDER BY name")" = \
  "$(sqlite3 "$T/fresh.db" "SELECT type, name, sql FROM sqlite_schema ORDER BY name")" ] || fail "the schema is not NEW.sql's"
[ "$(sqlite3 "$DB" "PRAGMA user_version")" = 8 ] || fail "user_version is not NEW.sql's"
[ "$(sqlite3 "$DB" "SELECT count(*) FROM archivefs_event")" = "$events_before" ] || fail "the history did not survive"
[ "$(sqlite3 "$DB" "PRAGMA integrity_check")" = ok ] || fail "integrity_check after the migration"
pre=$(ls "$DB".pre-migrate-* | grep -v sha256)
(cd "$T" && sha256sum -c "$(basename "$pre").sha256" >/dev/null) || fail "the pre-migration backup's checksum does not match"
[ "$(stat -c %a "$pre")" = 600 ] || fail "the pre-migration backup of a private database is mode $(stat -c %a "$pre")"
[ "$(dump_sorted "$pre")" = "$(dump_sorted "$T/before.db")" ] || fail "the pre-migration backup is not the database before"
[ ! -e "$DB.migrate-work" ] || fail "the work folder was left behind"
af sync "$DB" "$DIR" --quiet >/dev/null || fail "sync after the migration failed"
af verify "$DB" "$DIR" >/dev/null || fail "the sync folder is not the new tree"
grep -rlx "mood: calm" "$DIR/prayers" >/dev/null || fail "the sync folder's prayers lack the new column"
ok "a new column (default, mid-table) and a new table: $(sqlite3 "$DB" 'SELECT count(*) FROM prayer') prayers, every row exact, schema and user_version NEW.sql's, history kept, backup checked"

# --- rollback ---------------------------------------------------------------------------
af rollback "$DB" >/dev/null || fail "rollback failed: $(cat "$T/stderr.last")"
[ "$(dump_sorted "$DB")" = "$(dump_sorted "$T/before.db")" ] || fail "rollback did not put the exact old database back"
ls "$DB".pre-rollback-* >/dev/null || fail "rollback did not keep the database it replaced"
ok "rollback: the old database back exactly (sorted .dump), the migrated one kept"
rm -f "$DB".pre-*

# --- refusals: nothing touched ------------------------------------------------------------
refused() {   # refused SQL-FILE PATTERN [ARGS]: migrate must stop, say PATTERN, touch nothing
	local sql=$1 pat=$2 sum
	shift 2
	sum=$(file_sum "$DB")
	if af migrate "$DB" --schema "$sql" "$@" >"$T/out"; then fail "migrate with $(basename "$sql") was not refused"; fi
	grep -E -- "$pat" "$T/stderr.last" >/dev/null || { cat "$T/stderr.last" >&2; fail "the refusal does not say: $pat"; }
	[ "$(file_sum "$DB")" = "$sum" ] || fail "a refused migration changed the database"
	! ls "$DB".pre-migrate-* >/dev/null 2>&1 || fail "a refused migration made a backup"
	[ ! -e "$DB.migrate-work" ] || fail "a refused migration left its work folder"
}
sed '/^\tproject_tag VARCHAR,$/d' "$T/old.sql" >"$T/nocol.sql"
refused "$T/nocol.sql" 'column prayer.project_tag holds data in [0-9]+ rows .*--map prayer.project_tag='
sed '/^CREATE TABLE role (/,/^);/d; /ON role/d' "$T/old.sql" >"$T/notable.sql"
refused "$T/notable.sql" 'table role holds [0-9]+ rows but NEW.sql has no such table'
sed 's/^\tflagged BOOLEAN NOT NULL,$/&\n\tweight INTEGER NOT NULL,/' "$T/old.sql" >"$T/nodefault.sql"
refused "$T/nodefault.sql" 'new column prayer.weight is NOT NULL with no default'
sqlite3 "$DB" "UPDATE user SET supporter_type = '0012' WHERE rowid = 1"
sed 's/^\tsupporter_type VARCHAR,$/\tsupporter_type INTEGER,/' "$T/old.sql" >"$T/retype.sql"
grep 'supporter_type INTEGER' "$T/retype.sql" >/dev/null || fail "the test's retype.sql did not change the type"
refused "$T/retype.sql" '^  user: 12 rows, 12 in the new database; 1 not there identically'
refused "$T/nocol.sql" 'NEW.sql.s prayer has no column nope' --map prayer.project_tag=nope
ok "refused before anything changed: a removed column holding data, a removed table with rows, NOT NULL without default, a type converting '0012'"

# --- --map: rename and drop -----------------------------------------------------------------
sed 's/^\tproject_tag VARCHAR,$/\ttag VARCHAR,/' "$T/old.sql" >"$T/rename.sql"
cp "$DB" "$T/before2.db"
sum=$(file_sum "$DB")
af migrate "$DB" --schema "$T/rename.sql" --map prayer.project_tag=tag --dry-run >"$T/out" || fail "dry run failed: $(cat "$T/stderr.last")"
grep 'would succeed' "$T/out" >/dev/null || fail "the dry run does not say it would succeed"
[ "$(file_sum "$DB")" = "$sum" ] && ! ls "$DB".pre-migrate-* >/dev/null 2>&1 && [ ! -e "$DB.migrate-work" ] || fail "the dry run touched the database or left files"
af migrate "$DB" --schema "$T/rename.sql" --map prayer.project_tag=tag --quiet >/dev/null || fail "the rename failed: $(cat "$T/stderr.last")"
extra=$(rows_match "$T/before2.db" "$DB" prayer.project_tag=tag) || fail "rename: $extra"
[ -z "$extra" ] || fail "rename left extra columns: $extra"
[ "$(sqlite3 "$DB" "SELECT count(*) FROM prayer WHERE tag IS NOT NULL")" -gt 0 ] || fail "no tag values moved"
rm -f "$DB".pre-*
cp "$DB" "$T/before3.db"
sed '/^\ttag VARCHAR,$/d' "$T/rename.sql" >"$T/droptag.sql"
af migrate "$DB" --schema "$T/droptag.sql" --map prayer.tag= --quiet >/dev/null || fail "the drop failed: $(cat "$T/stderr.last")"
rows_match "$T/before3.db" "$DB" prayer.tag= >/dev/null || fail "dropping a column changed other values"
ok "--dry-run touches nothing; --map renames a column with its values, and drops one on request"
rm -f "$DB".pre-*

# --- an application writing all through the migration ----------------------------------------
sqlite3 "$DB" "CREATE TABLE ticks (n INTEGER PRIMARY KEY, at TEXT NOT NULL)"
schema_of "$DB" >"$T/cur.sql"
sed 's/^CREATE TABLE ticks (n INTEGER PRIMARY KEY, at TEXT NOT NULL);$/CREATE TABLE ticks (n INTEGER PRIMARY KEY, at TEXT NOT NULL, note TEXT DEFAULT '"'"'x'"'"');/' "$T/cur.sql" >"$T/ticks.sql"
grep "note TEXT" "$T/ticks.sql" >/dev/null || fail "the test's ticks.sql did not change"
python3 - "$DB" "$T/stop" "$T/app.log" <<'PY' &
import sqlite3, sys, os, time
con = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=60)
n = 0
while not os.path.exists(sys.argv[2]):
    n += 1
    con.execute("INSERT INTO ticks (n, at) VALUES (?, 'app')", (n,))
    time.sleep(0.002)
open(sys.argv[3], "w").write(str(n))
PY
APP=$!
cleanup_hooks+=('touch "$T/stop"; kill $APP 2>/dev/null || true')
sleep 0.5
af migrate "$DB" --schema "$T/ticks.sql" --quiet >/dev/null || fail "migrating while the application writes failed: $(cat "$T/stderr.last")"
sleep 0.5
touch "$T/stop"
wait "$APP" || fail "the application failed (a write lost?)"
n=$(cat "$T/app.log")
read -r c mn mx < <(sqlite3 -separator ' ' "$DB" "SELECT count(*), min(n), max(n) FROM ticks")
[ "$c" = "$n" ] && [ "$mn" = 1 ] && [ "$mx" = "$n" ] || fail "the application committed $n rows, the database has $c ($mn..$mx)"
[ "$(sqlite3 "$DB" "SELECT count(*) FROM ticks WHERE note = 'x'")" = "$n" ] || fail "rows committed after the swap lack the new column's default"
[ "$(sqlite3 "$DB" "PRAGMA user_version")" = 7 ] || fail "a NEW.sql that sets no user_version did not keep the database's"
ok "an application committing all through the migration: $n rows, none lost (it waits on the lock); user_version kept"
rm -f "$DB".pre-*

# --- a generic database: WAL, no key, WITHOUT ROWID, generated column, AUTOINCREMENT, view, trigger
G=$T/g.db
sqlite3 "$G" >/dev/null <<'SQL'
PRAGMA journal_mode = WAL;
CREATE TABLE t (a INTEGER PRIMARY KEY AUTOINCREMENT, b TEXT, c REAL, d BLOB, e AS (b || 'x'));
CREATE TABLE nokey (x, y);
CREATE TABLE "odd name" ("k k" TEXT PRIMARY KEY, v) WITHOUT ROWID;
CREATE VIEW vw AS SELECT a, b FROM t;
CREATE TRIGGER tr AFTER INSERT ON t BEGIN INSERT INTO nokey (x, y) VALUES (new.a, 'trig'); END;
INSERT INTO t (b, c, d) VALUES ('one', 0.1, x'00ff'), (NULL, -0.0, NULL), ('t' || char(0) || 'x', 1e300, x'');
INSERT INTO nokey VALUES (1, 2), (1, 2), (NULL, 'n');
INSERT INTO "odd name" VALUES ('a/b', 1), ('..', 2);
DELETE FROM t WHERE a = 2;
PRAGMA user_version = 3;
SQL
schema_of "$G" | sed 's/^CREATE TABLE nokey (x, y);$/CREATE TABLE nokey (x, y, z DEFAULT 7);/' >"$T/g-new.sql"
grep 'z DEFAULT 7' "$T/g-new.sql" >/dev/null || fail "the test's g-new.sql did not change"
cp "$G" "$T/g-before.db"
sqlite3 "$T/g-before.db" "PRAGMA wal_checkpoint" >/dev/null
af migrate "$G" --schema "$T/g-new.sql" --quiet >/dev/null || fail "migrating a generic database failed: $(cat "$T/stderr.last")"
extra=$(rows_match "$T/g-before.db" "$G") || fail "generic: $extra"
[ "$extra" = "nokey.z=7" ] || fail "generic: new columns hold '$extra'"
[ "$(sqlite3 "$G" "SELECT group_concat(rowid || ':' || quote(x), ' ') FROM nokey")" = "1:1 2:2 3:3 4:1 5:1 6:NULL" ] || fail "generic: rowids of a table without a key not kept"
[ "$(sqlite3 "$G" "SELECT seq FROM sqlite_sequence WHERE name = 't'")" = 3 ] || fail "generic: the AUTOINCREMENT sequence was not kept"
[ "$(sqlite3 "$G" "PRAGMA journal_mode; PRAGMA user_version")" = "$(printf 'wal\n3')" ] || fail "generic: journal mode or user_version lost"
sqlite3 "$G" "INSERT INTO t (b) VALUES ('after')"
[ "$(sqlite3 "$G" "SELECT a FROM t WHERE b = 'after'; SELECT count(*) FROM nokey WHERE y = 'trig'")" = "$(printf '4\n4')" ] || fail "generic: the trigger or the sequence does not work after the migration"
ok "a generic database (WAL, no key, WITHOUT ROWID, generated column, AUTOINCREMENT, view, trigger): rows, rowids, sequence, mode and triggers kept"

# --- kill -9 at any moment -------------------------------------------------------------------
K=$T/k.db
af demo "$K" --prayers 1500 --users 40 --quiet
schema_of "$K" >"$T/k-old.sql"
sed 's/^\tsafety_score FLOAT NOT NULL,$/&\n\tmood VARCHAR DEFAULT '"'"'calm'"'"' NOT NULL,/' "$T/k-old.sql" >"$T/k-new.sql"
cp "$K" "$T/k-copy.db"
# The reference run, timed: when its swap starts, when it ends.
read -r dur swap < <(python3 - "$ARCHIVEFS" "$T/k-copy.db" "$T/k-new.sql" <<'PY'
import subprocess, sys, time
t0 = time.monotonic(); swap = None
p = subprocess.Popen([sys.argv[1], "migrate", sys.argv[2], "--schema", sys.argv[3]], stdout=subprocess.PIPE, text=True)
for line in p.stdout:
    if line.startswith("7/7 "):
        swap = time.monotonic() - t0
if p.wait() != 0 or swap is None:
    sys.exit("the reference migration failed")
print("%.3f %.3f" % (time.monotonic() - t0, swap))
PY
) || fail "the reference migration failed"
old_dump=$(dump_sorted "$K" | sha256sum) new_dump=$(dump_sorted "$T/k-copy.db" | grep -av archivefs | sha256sum)
olds=0 news=0
# Kill points: 3 before the swap (by the reference's clock), 7 from the
# moment this run says it starts its swap to past its end.
tail_s=$(calc "$dur - $swap")
for i in 1 2 3 4 5 6 7 8 9 10; do
	"$ARCHIVEFS" migrate "$K" --schema "$T/k-new.sql" >"$T/run.out" 2>>"$T/kills.log" &
	MIG=$!
	if [ "$i" -le 3 ]; then
		at=$(calc "$swap * $i / 4")
	else
		at=$(calc "$tail_s * ($i - 4) / 5")
		until grep '^7/7 ' "$T/run.out" >/dev/null; do
			kill -0 "$MIG" 2>/dev/null || break
			sleep 0.005
		done
	fi
	sleep "$at"
	kill -9 "$MIG" 2>/dev/null || true
	wait "$MIG" 2>/dev/null || true
	[ "$(sqlite3 "$K" "PRAGMA integrity_check")" = ok ] || fail "kill $i: integrity_check fails"
	d=$(dump_sorted "$K" | grep -av archivefs | sha256sum)
	if [ "$(dump_sorted "$K" | sha256sum)" = "$old_dump" ]; then
		olds=$((olds + 1))
	elif [ "$d" = "$new_dump" ]; then
		news=$((news + 1))
		af rollback "$K" >/dev/null || fail "rollback after kill $i failed"
		[ "$(dump_sorted "$K" | sha256sum)" = "$old_dump" ] || fail "rollback after kill $i did not give the old database"
	else
		fail "kill $i (at $at s$([ "$i" -gt 3 ] \&\& echo " into the swap")): the database is neither the old nor the new one"
	fi
done
[ "$olds" -gt 0 ] && [ "$news" -gt 0 ] || fail "the kills did not hit both sides of the commit ($olds old, $news new): the test proves nothing"
af migrate "$K" --schema "$T/k-new.sql" --quiet >/dev/null || fail "migrate after the kills failed: $(cat "$T/stderr.last")"
[ "$(dump_sorted "$K" | grep -av archivefs | sha256sum)" = "$new_dump" ] || fail "the migration after the kills gave another database"
ok "kill -9 at 10 moments of a ${dur:0:4} s migration (7 from its swap on, at ${swap:0:4} s): $olds times the old database, $news times the new one, never a mix; then it succeeds"

# --- refused under a follower ------------------------------------------------------------------
"$ARCHIVEFS" sync "$DB" "$DIR" --watch --quiet 2>"$T/watch.log" &
W=$!
cleanup_hooks+=('kill $W 2>/dev/null || true')
for _ in $(seq 100); do grep 'followed  yes' <("$ARCHIVEFS" status "$DB" 2>/dev/null) >/dev/null && break; sleep 0.1; done
if af migrate "$DB" --schema "$T/ticks.sql" >/dev/null; then fail "migrate ran under sync --watch"; fi
grep 'unmount or stop it first' "$T/stderr.last" >/dev/null || fail "no reason given for refusing under a follower"
kill "$W"; wait "$W" || true
rc=0; af migrate "$DB" 2>/dev/null || rc=$?
[ "$rc" = 2 ] || fail "migrate without --schema exits $rc, not 2"
rc=0; af rollback "$T/none.db" 2>/dev/null || rc=$?
[ "$rc" = 1 ] || fail "rollback of a missing database exits $rc, not 1"
ok "refused while sync --watch follows; usage errors exit 2"
