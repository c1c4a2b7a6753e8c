#!/usr/bin/env bash
# Withheld columns (issue 7, point 4: configured secret columns are never
# rendered). `archivefs withhold DB TABLE.COLUMN...` on a mounted database:
#   - the mount (history files included) and its sync folder stop showing
#     the columns' values, old and new, at once and from then on;
#   - a save through the mount keeps the database's values; a save that
#     sets a withheld column is refused and changes nothing;
#   - the sync folder rebuilds a database that withholds the same columns,
#     every other value exact, and renders the same tree; merged back into
#     the original it changes nothing;
#   - report and migrate say what withholding costs; withholding a key, a
#     column that places rows, or a NOT NULL column without a default is
#     refused, leaving the database byte for byte;
#   - a withheld column renamed by the application stops every command
#     (rather than render it under its new name) until withheld again.
. "$(dirname "$0")/lib/common.sh"

command -v sqlite3 >/dev/null || { echo "SKIP: sqlite3 is not installed"; exit 77; }
DB=$T/a.db M=$T/mnt LOG=$T/daemon.log D=$T/sync
PID=
af demo "$DB" --prayers 12 --users 5 --quiet
mkdir -p "$M"
. "$(dirname "$0")/lib/mount.sh"
db() { sqlite3 -cmd '.timeout 10000' "$DB" "$@"; }
COLS="prayer.generated_prayer authenticationrequest.verification_code"
user_rows() {   # every row of every table but archivefs's own, as SQL literals
	local t
	for t in $(sqlite3 -cmd ".timeout 10000" "$1" "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT GLOB 'archivefs_*' AND name NOT GLOB 'sqlite_*' ORDER BY name"); do
		echo "== $t"
		sqlite3 -cmd ".timeout 10000" -cmd ".mode quote" "$1" "SELECT * FROM \"$t\"" | LC_ALL=C sort
	done
}

# The values that must never show are marked: every value those columns
# hold, now or later, has SECRET- in it, and nothing else does.
db "UPDATE prayer SET generated_prayer = 'SECRET-' || rowid || ' first line' || char(10) || 'SECRET-' || rowid || ' second line' WHERE generated_prayer IS NOT NULL;
    UPDATE authenticationrequest SET verification_code = 'SECRET-' || rowid WHERE verification_code IS NOT NULL"
# leaks DIR: print the files holding SECRET- or a field of a withheld
# column in one of its table's records; exit 1 if any.
leaks() {
	python3 - "$1" $COLS <<-'PYEOF'
	import os, re, sys
	root, cols = sys.argv[1], sys.argv[2:]
	fields = {}
	for c in cols:
	    t, col = c.split('.', 1)
	    fields.setdefault(t, set()).add(col)
	bad = []
	for dp, dns, fns in os.walk(root):
	    for n in fns:
	        p = os.path.join(dp, n)
	        data = open(p, 'rb').read()
	        hit = [b'SECRET-'] if b'SECRET-' in data else []
	        table = None
	        for l in data.decode('utf-8', 'replace').split('\n'):
	            m = re.match(r'^\[(.*)\]$', l)
	            if m:
	                table = m.group(1)
	            elif table in fields and l.split(':', 1)[0] in fields[table]:
	                hit.append(l.encode())
	        if hit:
	            bad.append('%s: %s' % (os.path.relpath(p, root), hit[0][:60]))
	print('\n'.join(sorted(bad)[:5]))
	sys.exit(1 if bad else 0)
	PYEOF
}
[ "$(db "SELECT (SELECT count(*) FROM prayer WHERE generated_prayer LIKE 'SECRET-%') > 2 AND (SELECT count(*) FROM authenticationrequest WHERE verification_code LIKE 'SECRET-%') > 2")" = 1 ] ||
	fail "the demo has too few values in $COLS"
af export "$DB" "$T/plain" >/dev/null
leaks "$T/plain" >/dev/null && fail "the leak check finds nothing in an export that holds the columns"
ok "the leak check finds the columns' values in a plain export"

# --- withheld while mounted ----------------------------------------------
MOUNT_OPTS=rw SYNC_DIR=$D mount_fs
wait_live
within 10 af verify "$DB" "$D" || fail "the sync folder did not start in sync"
# A change before withholding: its event holds the old and new values.
db "UPDATE authenticationrequest SET verification_code = 'SECRET-700001' WHERE rowid = (SELECT min(rowid) FROM authenticationrequest)"
within 5 grep -rqF 'SECRET-700001' "$M/system" || fail "the history does not show the change made before withholding"
af withhold "$DB" $COLS >"$T/w.out" || fail "withhold failed: $(cat "$T/stderr.last")"
[ "$(cat "$T/w.out")" = "$(printf '%s\n' authenticationrequest.verification_code prayer.generated_prayer)" ] ||
	fail "withhold lists: $(cat "$T/w.out")"
within 5 leaks "$M" || fail "the mount still shows withheld values: $(leaks "$M")"
within 10 af verify "$DB" "$D" || fail "the sync folder did not follow"
leaks "$D" >"$T/l.out" || fail "the sync folder holds withheld values: $(cat "$T/l.out")"
ok "withheld while mounted: no value in the mount (history included) nor the sync folder; verify clean"

# Changes after: the values never show; the other columns' changes do.
db "UPDATE authenticationrequest SET verification_code = 'SECRET-700002', status = 'revoked by the test' WHERE rowid = (SELECT max(rowid) FROM authenticationrequest)"
db "UPDATE prayer SET generated_prayer = 'SECRET-after withholding' WHERE rowid = (SELECT min(rowid) FROM prayer)"
within 10 af verify "$DB" "$D" || fail "the sync folder did not follow the changes"
leaks "$M" >"$T/l.out" || fail "a change after withholding shows: $(cat "$T/l.out")"
leaks "$D" >"$T/l.out" || fail "a change after withholding reached the sync folder: $(cat "$T/l.out")"
grep -rqx 'status: revoked by the test' "$M/system" || fail "the history lost the other column's change"
[ "$(db "SELECT count(*) FROM archivefs_event WHERE instr(coalesce(old, '') || coalesce(new, ''), 'SECRET-700002') OR instr(coalesce(new, ''), 'SECRET-after')")" = 0 ] ||
	fail "the history's triggers still record withheld values"
ok "changes after withholding: their values never show (nor reach the history's table), the other columns' changes do"

# A save keeps the withheld values; a save that sets one is refused.
id=$(db "SELECT id FROM prayer WHERE generated_prayer IS NOT NULL AND flagged = 0 AND id GLOB '[0-9a-f]*' AND length(id) = 32 ORDER BY id LIMIT 1")
P=$(grep -rlxF "id: $id" "$M/prayers" | sed -n 1p)
P=${P#"$M/"}
[ -n "$id" ] && [ -f "$M/$P" ] || fail "no unflagged prayer with a generated_prayer"
before=$(db "SELECT quote(generated_prayer) FROM prayer WHERE id = '$id'")
[ "$before" != NULL ] || fail "the test prayer $id has no generated_prayer"
sed 's/^flagged: 0$/flagged: 1/' "$M/$P" >"$T/edit.txt"
cmp -s "$T/edit.txt" "$M/$P" && fail "the edit changed nothing"
cp "$T/edit.txt" "$M/$P" || fail "a save without the withheld column failed"
[ "$(db "SELECT flagged, quote(generated_prayer) FROM prayer WHERE id = '$id'")" = "1|$before" ] ||
	fail "the save did not keep the withheld value: $(db "SELECT flagged, quote(generated_prayer) FROM prayer WHERE id = '$id'")"
user_rows "$DB" >"$T/pre.dump"
cp "$M/$P" "$T/kept.txt"
awk '{ print } /^flagged: 1$/ { print "generated_prayer: set through the mount" }' "$T/kept.txt" >"$T/bad.txt"
rc=0; cp "$T/bad.txt" "$M/$P" 2>"$T/cp.err" || rc=$?
[ "$rc" != 0 ] || fail "a save that sets a withheld column succeeded"
cmp -s "$M/$P" "$T/kept.txt" || fail "after the refused save the file does not read as before"
user_rows "$DB" | cmp -s - "$T/pre.dump" || fail "the refused save changed the database"
grep -q 'withheld' "$LOG" || fail "the daemon's log does not say why the save was refused"
ok "a save keeps the withheld value; setting one is refused (cp fails, file and rows as before, the log says why)"
unmount_fs

# --- rebuilt from the sync folder ----------------------------------------
af import "$D" "$T/r.db" >/dev/null || fail "import of the sync folder failed: $(cat "$T/stderr.last")"
[ "$(af withhold "$T/r.db")" = "$(cat "$T/w.out")" ] || fail "the rebuilt database does not withhold the same columns"
cp "$DB" "$T/expect.db"
sqlite3 "$T/expect.db" "UPDATE prayer SET generated_prayer = NULL; UPDATE authenticationrequest SET verification_code = NULL"
user_rows "$T/r.db" | cmp -s - <(user_rows "$T/expect.db") ||
	fail "the rebuild is not the database with the withheld columns at their defaults: $(diff <(user_rows "$T/r.db") <(user_rows "$T/expect.db") | sed -n 1,6p)"
af export "$T/r.db" "$T/rx" >/dev/null
diff -r "$T/rx" "$D" >/dev/null || fail "the rebuilt database renders another tree: $(diff -rq "$T/rx" "$D" | sed -n 1,3p)"
ok "the sync folder rebuilds a database withholding the same columns (at their defaults), every other row exact, the same tree"

cp "$DB" "$T/m.db"
user_rows "$T/m.db" >"$T/m.before"
af import "$D" "$T/m.db" >/dev/null || fail "merging the sync folder back failed: $(cat "$T/stderr.last")"
user_rows "$T/m.db" | cmp -s - "$T/m.before" || fail "merging the sync folder back changed rows (withheld values lost?)"
af import "$T/plain" "$T/m.db" >/dev/null 2>&1 && fail "merging an archive that holds withheld values was accepted"
grep -q 'withholds prayer.generated_prayer but the archive holds its values' "$T/stderr.last" ||
	fail "the refused merge does not say why: $(cat "$T/stderr.last")"
user_rows "$T/m.db" | cmp -s - "$T/m.before" || fail "the refused merge changed rows"
ok "merged back, the archive changes nothing; an archive written before withholding is refused with the reason"

af report "$DB" "$D" >"$T/report.out" || true
grep '2 columns withheld' "$T/report.out" | grep ' prayer.generated_prayer' | grep -q ' authenticationrequest.verification_code' ||
	fail "report does not list the withheld columns: $(grep -i withheld "$T/report.out")"
grep -E '^ +\[25/25\] rebuild +([0-9]+) of \1 rows rebuilt identical .*; 0 lost or changed, 0 not in DB$' "$T/report.out" >/dev/null ||
	fail "report: the rebuild does not compare equal: $(grep -E 'rebuild' "$T/report.out")"
ok "report lists the withheld columns and the rebuild compares equal on every other column"

# --- refusals: the database byte for byte ----------------------------------
sum=$(file_sum "$DB")
for bad in prayer.id prayer.created_at prayer.safety_score prayermark.prayer_id prayer.nope nosuch.table; do
	rc=0; af withhold "$DB" "$bad" >/dev/null || rc=$?
	[ "$rc" = 1 ] || fail "withhold $bad: exit $rc, not 1"
	grep -qE 'key|places|NOT NULL without a default|no such column' "$T/stderr.last" ||
		fail "withhold $bad: no reason given: $(cat "$T/stderr.last")"
done
[ "$(file_sum "$DB")" = "$sum" ] || fail "a refused withhold changed the database"
sqlite3 "$DB" "SELECT sql || ';' FROM sqlite_schema WHERE sql IS NOT NULL AND name NOT GLOB 'archivefs_*' AND tbl_name NOT GLOB 'archivefs_*'" >"$T/new.sql"
rc=0; af migrate "$DB" --schema "$T/new.sql" >/dev/null || rc=$?
[ "$rc" = 1 ] && grep -q 'prayer.generated_prayer is withheld' "$T/stderr.last" ||
	fail "migrate did not refuse (exit $rc): $(cat "$T/stderr.last")"
[ "$(file_sum "$DB")" = "$sum" ] || fail "the refused migration changed the database"
ok "withholding a key, a date, a parent or a NOT NULL column without default, and migrating, refused; the database byte for byte"

# --- the application renames a withheld column --------------------------------
db "ALTER TABLE authenticationrequest RENAME COLUMN verification_code TO code"
rc=0; af export "$DB" "$T/x" >/dev/null || rc=$?
[ "$rc" = 1 ] && grep -q 'renamed or dropped' "$T/stderr.last" || fail "export after the rename: exit $rc: $(cat "$T/stderr.last")"
[ ! -e "$T/x" ] || fail "export after the rename wrote $T/x"
af withhold "$DB" | grep -q '^authenticationrequest.verification_code .*renamed or dropped' ||
	fail "withhold does not list the stale column"
af withhold "$DB" --remove authenticationrequest.verification_code >/dev/null
af withhold "$DB" authenticationrequest.code >/dev/null
af withhold "$DB" | grep -q '^authenticationrequest.verification_code .*gone from the database: its old values stay withheld in the history' ||
	fail "withhold does not list the old name as gone: $(af withhold "$DB")"
COLS="prayer.generated_prayer authenticationrequest.code"
af export "$DB" "$T/x" >/dev/null || fail "export after withholding the new name failed"
leaks "$T/x" >"$T/l.out" || fail "the renamed column shows: $(cat "$T/l.out")"
ok "a withheld column renamed by the application stops export until its new name is withheld; then nothing shows, old events under the old name included"

af withhold "$DB" --remove prayer.generated_prayer >/dev/null
rm -rf "$T/x"; af export "$DB" "$T/x" >/dev/null
grep -rq '^generated_prayer' "$T/x/prayers" || fail "--remove did not give the column back"
ok "--remove gives the column back to the archive"
