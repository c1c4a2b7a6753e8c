#!/usr/bin/env bash
# History (issue 5): system/event_log/<table>_events_YYYY_MM.txt, rendered
# from the events the journal triggers record, with old and new values:
#   - the application's update, insert and delete, and a save through a
#     -o rw mount, each appear with exactly the values of the rows before
#     and after (compared with what sqlite3 reads);
#   - folder 0700, files read-only (0444, 0400 for a secrets table's), and
#     a save to them is refused with nothing changed;
#   - the sync folder holds the same files (verify exits 0);
#   - export -> import -> export gives the same tree, history included,
#     and the rebuilt database verifies against the old sync folder;
#   - retention: `archivefs history DB --keep-months N` drops older months'
#     events and their files from the mount and the sync folder at the next
#     change; --keep-months 0 records no more.
. "$(dirname "$0")/lib/common.sh"

command -v sqlite3 >/dev/null || { echo "SKIP: sqlite3 is not installed"; exit 77; }
DB=$T/a.db M=$T/mnt LOG=$T/daemon.log D=$T/sync
PID=
af demo "$DB" --prayers 20 --users 5 --quiet
mkdir -p "$M"
. "$(dirname "$0")/lib/mount.sh"
db() { sqlite3 -cmd '.timeout 10000' "$DB" "$@"; }
MONTH=$(date -u +%Y_%m)
EVD=system/event_log
start() {
	MOUNT_OPTS=rw SYNC_DIR=$D mount_fs
	wait_live
}
stop() {
	fusermount3 -u "$M" || fail "fusermount3 -u failed"
	wait "$PID" || { cat "$LOG" >&2; fail "the daemon exited non-zero"; }
	PID=
	if grep -E "$sanitizer_re" "$LOG" >/dev/null; then cat "$LOG" >&2; fail "sanitizer report"; fi
}
start
converged 10 || fail "the first pass did not make DIR the tree"
[ ! -e "$M/$EVD" ] || fail "$EVD exists before any change"

# --- the application's changes ----------------------------------------------------
ID=$(db "SELECT id FROM prayer WHERE typeof(id) = 'text' AND length(id) = 32 ORDER BY id LIMIT 1")
db "SELECT text FROM prayer WHERE id = '$ID'" >"$T/old_text"
MARK=$(db "SELECT id FROM prayermark WHERE length(id) = 32 ORDER BY id LIMIT 1")
db "SELECT quote(username), quote(prayer_id), quote(created_at) FROM prayermark WHERE id = '$MARK'" >"$T/mark_before"
db "UPDATE prayer SET text = 'History: new text', flagged = 1 - flagged WHERE id = '$ID';
    INSERT INTO role(id, name, description, permissions, created_at, is_system_role)
      VALUES ('r-hist', 'historian', 'keeps '' quotes', '[\"read\"]', '2026-11-01 10:00:00', 0);
    DELETE FROM prayermark WHERE id = '$MARK';"
converged 3 || fail "the changes did not reach DIR"
for t in prayer role prayermark; do
	[ -f "$M/$EVD/${t}_events_$MONTH.txt" ] || fail "no $EVD/${t}_events_$MONTH.txt: $(ls "$M/$EVD" 2>&1)"
done
# Parse the files back with the archive's own parser (python, stdlib) and
# compare values with sqlite3's.
cat >"$T/events.py" <<'PY'
import sys, re
def parse(path):
    recs, cur = [], None
    lines = open(path, encoding='utf-8').read().split('\n')
    i = 0
    while i < len(lines):
        l = lines[i]; i += 1
        if l.startswith('#') or not l: continue
        m = re.match(r'^\[(\w+)\]$', l)
        if m: cur = (m.group(1), {}); recs.append(cur); continue
        name, _, v = l.partition(':')
        if v == '':   # a body
            body = []
            while i < len(lines) and (lines[i].startswith('| ') or lines[i] == '|'):
                body.append(lines[i][2:]); i += 1
            cur[1][name] = '\n'.join(body)
        else:
            cur[1][name] = v[1:]
    return recs
recs = parse(sys.argv[1])
for kind, f in recs:
    print(kind, ' '.join('%s=%s' % (k, f[k]) for k in sorted(f)))
PY
python3 "$T/events.py" "$M/$EVD/prayer_events_$MONTH.txt" >"$T/p.ev"
grep "^event @op=update @seq=[0-9]* @time=20[0-9-]*T[0-9:.]*Z id=$ID\$" "$T/p.ev" >/dev/null ||
	fail "the update's [event] is not right: $(cat "$T/p.ev")"
old_flag=$(db "SELECT 1 - flagged FROM prayer WHERE id = '$ID'")
grep -xF "old flagged=$old_flag text=$(cat "$T/old_text")" "$T/p.ev" >/dev/null ||
	fail "[old] is not the row before: $(cat "$T/p.ev")"
grep -xF "new flagged=$((1 - old_flag)) text=History: new text" "$T/p.ev" >/dev/null ||
	fail "[new] is not the row after: $(cat "$T/p.ev")"
python3 "$T/events.py" "$M/$EVD/role_events_$MONTH.txt" | tail -1 >"$T/r.ev"
grep -xF "new created_at=2026-11-01 10:00:00 created_by=NULL description=keeps ' quotes id=r-hist is_system_role=0 name=historian permissions=[\"read\"]" "$T/r.ev" >/dev/null ||
	fail "the insert's [new] is not the row: $(cat "$T/r.ev")"
python3 "$T/events.py" "$M/$EVD/prayermark_events_$MONTH.txt" >"$T/m.ev"
grep "^event @op=delete .* id=$MARK\$" "$T/m.ev" >/dev/null || fail "the delete's [event]: $(cat "$T/m.ev")"
IFS='|' read -r u p c <"$T/mark_before"
grep "^old created_at=${c//\'/} .*prayer_id=${p//\'/} .*username=${u//\'/}" "$T/m.ev" >/dev/null ||
	fail "the delete's [old] is not the row before ($u $p $c): $(cat "$T/m.ev")"
ok "update, insert and delete: their events hold exactly the old and new values"

# --- a save through the mount, and modes ------------------------------------------
U=$(cd "$M" && grep -l '^is_supporter: 0$' users/*_users.txt | head -1)
[ -n "$U" ] || fail "no users file with is_supporter: 0"
sed -i '0,/^is_supporter: 0$/s//is_supporter: 1/' "$M/$U" || fail "sed -i through the mount failed"
converged 3 || fail "the save did not reach DIR"
grep -A2 '^\[new\]' "$M/$EVD/user_events_$MONTH.txt" | grep 'is_supporter: 1' >/dev/null ||
	fail "the save through the mount is not in the history: $(cat "$M/$EVD/user_events_$MONTH.txt")"
[ "$(stat -c %a "$M/$EVD")" = 700 ] || fail "$EVD has mode $(stat -c %a "$M/$EVD"), want 700"
[ "$(stat -c %a "$D/$EVD")" = 700 ] || fail "DIR's $EVD has mode $(stat -c %a "$D/$EVD"), want 700"
[ "$(stat -c %a "$M/$EVD/prayer_events_$MONTH.txt")" = 444 ] || fail "a history file is not 0444"
[ "$(stat -c %a "$D/$EVD/prayer_events_$MONTH.txt")" = 444 ] || fail "DIR's history file is not 0444"
db "UPDATE session SET expires_at = expires_at || '' WHERE rowid = (SELECT min(rowid) FROM session)"
db "UPDATE session SET expires_at = '2099-01-01 00:00:00' WHERE rowid = (SELECT min(rowid) FROM session)"
converged 3 || fail "the session change did not reach DIR"
[ "$(stat -c %a "$D/$EVD/session_events_$MONTH.txt")" = 400 ] || fail "a secrets table's history is not 0400"
cp "$M/$EVD/prayer_events_$MONTH.txt" "$T/ev.before"
if (printf 'x' >>"$M/$EVD/prayer_events_$MONTH.txt") 2>/dev/null; then fail "appending to a history file succeeded"; fi
cmp -s "$M/$EVD/prayer_events_$MONTH.txt" "$T/ev.before" || fail "a refused save changed the history file"
ok "a save through the mount is in the history; folder 0700, files 0444 (0400 for secrets), saves to them refused"

# --- export -> import -> export ---------------------------------------------------
stop
af export "$DB" "$T/e1" >/dev/null
af import "$T/e1" "$T/b.db" >/dev/null || fail "import of an archive with history failed: $(cat "$T/stderr.last")"
af export "$T/b.db" "$T/e2" >/dev/null
diff -r "$T/e1" "$T/e2" >&2 || fail "export -> import -> export differs"
af verify "$T/b.db" "$D" >/dev/null || fail "the rebuilt database does not verify against the sync folder"
ok "export -> import -> export: the same tree, history included; the rebuilt database verifies against DIR"

# --- retention -----------------------------------------------------------------
# Age the prayer events to four months ago, as if they had been recorded
# then (behind the journal's back: the records learn it at the next whole
# rescan, which the trigger change of --keep-months brings).
start
converged 10 || fail "DIR did not converge after the remount"
old_ms=$(( ($(date -u +%s) - 120 * 86400) * 1000 ))
db "UPDATE archivefs_event SET ts = $old_ms WHERE tbl = 'prayer'"
OLDM=$(date -u -d "@$((old_ms / 1000))" +%Y_%m)
af history "$DB" --keep-months 3 >"$T/h.out" || fail "archivefs history --keep-months 3 failed"
grep 'keeps     3 months' "$T/h.out" >/dev/null || fail "history does not report the policy: $(cat "$T/h.out")"
for _ in $(seq 50); do [ -f "$D/$EVD/prayer_events_$OLDM.txt" ] && break; sleep 0.1; done
[ -f "$D/$EVD/prayer_events_$OLDM.txt" ] || fail "the aged month's file is not in DIR"
db "UPDATE prayer SET flagged = 1 - flagged WHERE id = '$ID'"
converged 3 || { cat "$LOG" >&2; sqlite3 "$DB" "SELECT * FROM archivefs_state; SELECT path FROM archivefs_file WHERE path LIKE 'system/event%'; SELECT seq, tbl, ts FROM archivefs_event" >&2; "$ARCHIVEFS" ls "$DB" system/event_log >&2; fail "DIR did not converge after the prune"; }
[ ! -e "$M/$EVD/prayer_events_$OLDM.txt" ] || fail "the pruned month is still in the mount"
[ ! -e "$D/$EVD/prayer_events_$OLDM.txt" ] || fail "the pruned month is still in DIR"
[ -f "$D/$EVD/prayer_events_$MONTH.txt" ] || fail "this month's prayer history went too"
[ -f "$D/$EVD/role_events_$MONTH.txt" ] || fail "other tables' history went"
ok "retention: --keep-months 3 drops older months' events and files from the mount and DIR"
n=$(db "SELECT count(*) FROM archivefs_event")
af history "$DB" --keep-months 0 >"$T/h.out" || fail "archivefs history --keep-months 0 failed"
grep '^history   off' "$T/h.out" >/dev/null || fail "history does not say off: $(cat "$T/h.out")"
db "UPDATE prayer SET flagged = 1 - flagged WHERE id = '$ID'"
converged 3 || fail "DIR did not converge with history off"
[ "$(db "SELECT count(*) FROM archivefs_event")" = "$n" ] || fail "events were recorded with history off"
ok "--keep-months 0: no more events; the mount follows the trigger change"
stop
ok "clean unmount"
echo "$checks checks passed"
