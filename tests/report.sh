#!/usr/bin/env bash
# archivefs report (issue 6): the readiness score is earned by measured
# checks, and moves when a real problem is brought in:
#   - a healthy database and its sync folder score 100, every check full;
#   - a missing archive file (the one holding a live session) costs
#     consistency, rebuild and state, and the session is named as lost;
#   - an unsynced change (the application commits, nothing follows) costs
#     unsynced and consistency; a sync gives the points back;
#   - a world-readable secrets file costs secrets and is named;
#   - a database readable by other users costs private_db;
#   - an archive file that does not parse makes the rebuild fail with its
#     file:line:col;
#   - --min sets the exit status; a non-ThyWill database leaves the state
#     check out and scales the score.
. "$(dirname "$0")/lib/common.sh"

command -v sqlite3 >/dev/null || { echo "SKIP: sqlite3 is not installed"; exit 77; }
DB=$T/a.db DIR=$T/archive
af demo "$DB" --prayers 60 --users 8 --quiet
chmod 600 "$DB"
# Live state a rebuild must keep: a session, an invite, a pending login.
sqlite3 "$DB" "
INSERT INTO session VALUES ('live-session-1', 'admin', '2026-01-05 10:00:00', '2099-01-01 00:00:00', NULL, 'laptop', '10.0.0.1', 1);
INSERT INTO invitetoken VALUES ('live-invite-1', 'admin', 0, 3, '2099-01-01 00:00:00', NULL, 'new_user');
INSERT INTO authenticationrequest VALUES ('live-auth-1', 'admin', 'phone', '10.0.0.2', '123456', '2026-01-05 10:00:00', '2099-01-01 00:00:00', 'pending', NULL, NULL);"
af sync "$DB" "$DIR" --quiet >/dev/null

# check ID JSON -> "points/max" of that check
check() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); c=[c for c in d["checks"] if c["id"]==sys.argv[2]][0]; print("%s/%s" % (c["points"], c["max"]) if c["applicable"] else "n/a")' "$2" "$1"; }
detail() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print([c for c in d["checks"] if c["id"]==sys.argv[2]][0]["detail"])' "$2" "$1"; }
score() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["score"])' "$1"; }
report() { af report "$DB" "$DIR" --json >"$T/$1.json" || fail "report failed: $(cat "$T/stderr.last")"; }

report good
[ "$(score "$T/good.json")" = 100 ] || { cat "$T/good.json"; fail "a healthy database and sync folder do not score 100"; }
for c in integrity:5 consistency:25 rebuild:25 state:10 unsynced:10 sync:5 secrets:15 private_db:5; do
	[ "$(check "${c%%:*}" "$T/good.json")" = "${c#*:}/${c#*:}" ] || fail "check ${c%%:*} is not full when healthy: $(check "${c%%:*}" "$T/good.json")"
done
python3 - "$T/good.json" <<'PY' || fail "the state counts are not the live rows inserted"
import json, sys
d = json.load(open(sys.argv[1]))
s = {x["what"]: (x["in_db"], x["survive"]) for x in d["state"]}
assert s["sessions that stay logged in"] == (1, 1), s
assert s["valid invite tokens"] == (1, 1), s
assert s["pending login requests"] == (1, 1), s
assert sum(t["rows"] for t in d["tables"]) > 700, d["tables"]
PY
af report "$DB" "$DIR" >"$T/good.txt"
grep -E '^readiness: 100/100$' "$T/good.txt" >/dev/null || fail "the text report does not say 100/100"
grep -E 'session .*sessions/ folder 0700, files 0600; bearer secrets' "$T/good.txt" >/dev/null || fail "the text report does not say where the session ids are"
ok "healthy: 100/100, every check full, live sessions/invites/logins counted and kept"

# --- a missing archive file -----------------------------------------------------
f=$(grep -rl 'live-session-1' "$DIR/sessions") || fail "no sessions file holds the live session"
mv "$f" "$T/saved"
report missing
[ "$(score "$T/missing.json")" -lt 100 ] || fail "the score did not move for a missing file"
case $(check consistency "$T/missing.json") in 25/25) fail "consistency did not move for a missing file";; esac
case $(check rebuild "$T/missing.json") in 25/25) fail "rebuild did not move for a missing file";; esac
case $(check state "$T/missing.json") in 10/10) fail "state did not move for a lost session";; esac
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); s={x["what"]: (x["in_db"], x["survive"]) for x in d["state"]}; assert s["sessions that stay logged in"] == (1, 0), s' "$T/missing.json" ||
	fail "the lost session is not counted as lost: $(detail state "$T/missing.json")"
detail consistency "$T/missing.json" | grep '1 missing' >/dev/null || fail "consistency does not count the missing file: $(detail consistency "$T/missing.json")"
mv "$T/saved" "$f"
report back
[ "$(score "$T/back.json")" = 100 ] || fail "the score did not come back with the file"
ok "a missing archive file: $(score "$T/missing.json")/100 (consistency $(check consistency "$T/missing.json"), rebuild $(check rebuild "$T/missing.json"), state $(check state "$T/missing.json")); back to 100 with it"

# --- an unsynced change -----------------------------------------------------------
sqlite3 "$DB" "UPDATE prayer SET text = text || ' (edited by the app)' WHERE rowid = 1"
sleep 1.2   # older than a change in flight
report unsynced
[ "$(check unsynced "$T/unsynced.json")" = 0/10 ] || fail "unsynced did not drop: $(check unsynced "$T/unsynced.json")"
detail unsynced "$T/unsynced.json" | grep -E '^1 committed changes waiting' >/dev/null || fail "unsynced does not count the change: $(detail unsynced "$T/unsynced.json")"
detail consistency "$T/unsynced.json" | grep '1 differ' >/dev/null || fail "consistency does not see the changed file"
af sync "$DB" "$DIR" --quiet >/dev/null
report synced
[ "$(score "$T/synced.json")" = 100 ] || fail "the score did not come back after a sync"
ok "an unsynced change: $(score "$T/unsynced.json")/100 (unsynced 0/10); back to 100 after sync"

# --- a world-readable secrets file ---------------------------------------------------
chmod 644 "$DIR/invites/invite_tokens.txt"
report leak
case $(check secrets "$T/leak.json") in 15/15) fail "secrets did not move for a world-readable invite file";; esac
af report "$DB" "$DIR" >"$T/leak.txt"
grep -E '^    invites/invite_tokens.txt 0644$' "$T/leak.txt" >/dev/null || fail "the report does not name the world-readable file"
chmod 600 "$DIR/invites/invite_tokens.txt"
chmod 755 "$DIR/sessions"
report leakdir
case $(check secrets "$T/leakdir.json") in 15/15) fail "secrets did not move for an open sessions folder";; esac
chmod 700 "$DIR/sessions"
chmod 644 "$DB"
report dbmode
[ "$(check private_db "$T/dbmode.json")" = 0/5 ] || fail "a world-readable database kept its points"
chmod 600 "$DB"
ok "a world-readable secrets file: secrets $(check secrets "$T/leak.json"), named; an open folder: $(check secrets "$T/leakdir.json"); a 0644 database: private_db 0/5"

# --- an archive that does not rebuild ---------------------------------------------------
cp -a "$DIR" "$T/broken"
p=$(ls "$T/broken/prayers"/*/*/*.txt | sed -n 1p)
printf '[prayer]\nid = "unterminated\n' >>"$p"
af report "$DB" "$T/broken" --json >"$T/broken.json" || fail "report failed on a broken archive"
[ "$(check rebuild "$T/broken.json")" = 0/25 ] || fail "a broken archive still rebuilt"
detail rebuild "$T/broken.json" | grep -E 'prayers/.*\.txt:[0-9]+:[0-9]+' >/dev/null || fail "the rebuild failure does not say file:line:col: $(detail rebuild "$T/broken.json")"
ok "a file that does not parse: rebuild 0/25 with file:line:col"

# --- --min, no DIR, a generic database ---------------------------------------------------
af report "$DB" "$DIR" --min 100 >/dev/null || fail "--min 100 failed at 100"
chmod 644 "$DB"
if af report "$DB" "$DIR" --min 100 >/dev/null; then fail "--min 100 passed at less than 100"; fi
grep 'below --min' "$T/stderr.last" >/dev/null || fail "no reason given for --min"
chmod 600 "$DB"
af report "$DB" --json >"$T/nodir.json"
[ "$(check consistency "$T/nodir.json")" = 0/25 ] || fail "consistency earned points without DIR"
G=$T/g.db
sqlite3 "$G" "CREATE TABLE t(a INTEGER PRIMARY KEY, b TEXT); INSERT INTO t VALUES (1, 'x'), (2, NULL);"
chmod 600 "$G"
af export "$G" "$T/gdir" --quiet
af report "$G" "$T/gdir" --json >"$T/g.json"
[ "$(check state "$T/g.json")" = n/a ] && [ "$(score "$T/g.json")" = 100 ] ||
	fail "a generic database: state $(check state "$T/g.json"), score $(score "$T/g.json")"
if af report "$DB" a b c 2>/dev/null; then fail "extra arguments accepted"; fi
rc=0; af report 2>/dev/null || rc=$?
[ "$rc" = 2 ] || fail "report without a database exits $rc, not 2"
ok "--min sets the exit status; without DIR the DIR checks earn nothing; a generic database scores 100 without the state check"
