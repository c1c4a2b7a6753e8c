#!/usr/bin/env bash
# Security (issue 7), with a real other user (nobody, through setpriv):
#   - a mount is private by default: another user cannot even list it;
#   - -o allow_other always comes with default_permissions (added when not
#     given): another user reads the prayers but not the session, invite or
#     login files (0600 under 0700 folders), through the mount and in the
#     sync folder;
#   - ids built to escape ("../../../root/.ssh/authorized_keys", "//", ".",
#     NUL, newline, a
#     4 KB id) name files inside the tree only, in export, sync folder and
#     mount, and read back as their rows;
#   - values full of quotes and SQL round-trip exactly and change no query:
#     through export/import and through a save in the mount.
. "$(dirname "$0")/lib/common.sh"

[ "$(id -u)" = 0 ] || { echo "SKIP: needs root to act as another user"; exit 77; }
command -v setpriv >/dev/null || { echo "SKIP: setpriv (util-linux) is not installed"; exit 77; }
command -v sqlite3 >/dev/null || { echo "SKIP: sqlite3 is not installed"; exit 77; }
as_nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups -- "$@"; }
chmod 711 "$T"   # others may traverse $T (not list it), as under /srv

DB=$T/a.db M=$T/mnt LOG=$T/daemon.log DIR=$T/sync
PID=
af demo "$DB" --prayers 30 --users 6 --quiet
# Hostile ids and values, in a per-row home and in a generic one.
sqlite3 "$DB" <<'SQL'
INSERT INTO prayer SELECT '../../../root/.ssh/authorized_keys', author_username, text, generated_prayer, project_tag, created_at, flagged, text_file_path, safety_score, safety_flags, categorization_method, specificity_type, specificity_confidence, subject_category, suggested_archive_date, archive_suggestion_dismissed, is_featured, featured_at FROM prayer LIMIT 1;
INSERT INTO prayer SELECT '//', author_username, 'x''); DROP TABLE prayer; --', generated_prayer, '" OR 1=1 --', created_at, flagged, text_file_path, safety_score, safety_flags, categorization_method, specificity_type, specificity_confidence, subject_category, suggested_archive_date, archive_suggestion_dismissed, is_featured, featured_at FROM prayer LIMIT 1;
INSERT INTO prayer SELECT '.', author_username, text, generated_prayer, project_tag, created_at, flagged, text_file_path, safety_score, safety_flags, categorization_method, specificity_type, specificity_confidence, subject_category, suggested_archive_date, archive_suggestion_dismissed, is_featured, featured_at FROM prayer LIMIT 1;
INSERT INTO prayer SELECT 'nul' || char(0) || '/../x', author_username, text, generated_prayer, project_tag, created_at, flagged, text_file_path, safety_score, safety_flags, categorization_method, specificity_type, specificity_confidence, subject_category, suggested_archive_date, archive_suggestion_dismissed, is_featured, featured_at FROM prayer LIMIT 1;
INSERT INTO prayer SELECT 'new' || char(10) || 'line', author_username, text, generated_prayer, project_tag, created_at, flagged, text_file_path, safety_score, safety_flags, categorization_method, specificity_type, specificity_confidence, subject_category, suggested_archive_date, archive_suggestion_dismissed, is_featured, featured_at FROM prayer LIMIT 1;
INSERT INTO prayer SELECT printf('%.4096c', '/'), author_username, text, generated_prayer, project_tag, created_at, flagged, text_file_path, safety_score, safety_flags, categorization_method, specificity_type, specificity_confidence, subject_category, suggested_archive_date, archive_suggestion_dismissed, is_featured, featured_at FROM prayer LIMIT 1;
CREATE TABLE "../evil" (k TEXT PRIMARY KEY, "v'); DROP TABLE user; --" TEXT);
INSERT INTO "../evil" VALUES ('../../../../tmp/escaped', 'Robert''); DROP TABLE user; --'), ('/', '" OR ""="'), ('.', '\x27');
SQL
rows_before=$(sqlite3 "$DB" "SELECT count(*) FROM prayer")

# --- names stay inside --------------------------------------------------------------
af export "$DB" "$T/x" --quiet
inside() {   # inside DIR: every entry's real path is under DIR, no symlink, no dot-dot name
	local d r
	d=$(realpath "$1")
	while IFS= read -r -d '' p; do
		r=$(realpath -s "$p")
		case $r in "$d"/*) ;; *) fail "$p is outside $1" ;; esac
		[ ! -L "$p" ] || fail "$p is a symlink"
		case ${p##*/} in .|..|.*) [ "${p##*/}" = .archivefs ] || fail "hidden or dot name: $p" ;; esac
	done < <(find "$1" -mindepth 1 -print0)
}
inside "$T/x"
[ ! -e /tmp/escaped ] && [ ! -e "$T/evil" ] && [ ! -e "$T/etc" ] || fail "a file was written outside the tree"
for id in '../../../root/.ssh/authorized_keys' '//' '.'; do
	n=$(grep -rlxF -e "id: \"$id\"" -e "id: $id" "$T/x/prayers" | wc -l || true)
	[ "$n" = 1 ] || fail "the prayer with id '$id' is not in exactly one file ($n)"
done
af import "$T/x" "$T/back.db" --quiet || fail "import of the hostile tree failed: $(cat "$T/stderr.last")"
[ "$(dump_sorted "$T/back.db")" = "$(dump_sorted "$DB")" ] || fail "hostile ids and values did not round-trip exactly"
[ "$(sqlite3 "$T/back.db" "SELECT count(*) FROM prayer")" = "$rows_before" ] || fail "rows lost"
ok "ids ../../../root/.ssh/authorized_keys, //, ., NUL, newline, 4 KB and a table named ../evil: every file inside the tree, exact round trip"

# --- private by default ----------------------------------------------------------------
. "$(dirname "$0")/lib/mount.sh"
mkdir -p "$M" "$T/outside"
chmod 755 "$M"
mount_fs
wait_live
inside "$M"
[ -z "$(ls -A "$T/outside")" ] || fail "something appeared outside the mount"
if as_nobody ls "$M" >/dev/null 2>&1; then fail "another user can list a private mount"; fi
if as_nobody cat "$M/README.txt" >/dev/null 2>&1; then fail "another user can read a private mount"; fi
grep -F " $M " /proc/mounts | grep -v allow_other >/dev/null || fail "a default mount has allow_other"
unmount_fs
ok "a default mount is private: another user can neither list nor read it"

# --- allow_other: default_permissions added; secrets 0600 under 0700 ---------------------
MOUNT_OPTS=allow_other
mount_fs
wait_live
grep -F " $M " /proc/mounts | grep default_permissions >/dev/null || fail "allow_other without default_permissions: $(grep -F " $M " /proc/mounts)"
P=$(cd "$M" && ls prayers/*/*/*.txt | sed -n 1p)
S=$(cd "$M" && ls sessions/*.txt | sed -n 1p)
as_nobody cat "$M/README.txt" "$M/$P" >/dev/null || fail "another user cannot read public files with allow_other"
for f in "$S" invites/invite_tokens.txt "$(cd "$M" && ls auth/*auth_requests*.txt | sed -n 1p)"; do
	if as_nobody cat "$M/$f" >/dev/null 2>&1; then fail "another user read $f through the mount"; fi
done
if as_nobody ls "$M/sessions" >/dev/null 2>&1; then fail "another user listed sessions/"; fi
[ "$(stat -c %a "$M/$S")" = 600 ] && [ "$(stat -c %a "$M/sessions")" = 700 ] || fail "sessions are $(stat -c %a "$M/$S") in $(stat -c %a "$M/sessions")"
unmount_fs
MOUNT_OPTS=
ok "allow_other comes with default_permissions: another user reads prayers, not sessions, invites or login requests"

# --- the sync folder ---------------------------------------------------------------------------
af sync "$DB" "$DIR" --quiet >/dev/null
chmod 755 "$DIR"
as_nobody cat "$DIR/README.txt" "$DIR/$P" >/dev/null || fail "another user cannot read public files of the sync folder"
for f in "$S" invites/invite_tokens.txt; do
	if as_nobody cat "$DIR/$f" >/dev/null 2>&1; then fail "another user read $f in the sync folder"; fi
done
bad=$(find "$DIR/sessions" "$DIR/invites" "$DIR/auth" -type f \( -path '*/sessions/*' -o -path '*/invites/*' -o -name '*auth_requests*' \) -perm /077 | sed -n 1,3p)
[ -n "$(find "$DIR/auth" -name '*auth_requests*')" ] || fail "no login request files to check"
[ "$(stat -c %a "$DIR/auth")" = 700 ] || fail "auth/ is $(stat -c %a "$DIR/auth")"
[ -z "$bad" ] || fail "secret files with group/other access: $bad"
ok "the sync folder: secrets 0600 under 0700, unreadable by another user"

# --- SQL in values, through a save --------------------------------------------------------------
MOUNT_OPTS=rw
mount_fs
wait_live
F=$(grep -rlF 'DROP TABLE prayer' "$M/prayers" | sed -n 1p)
[ -n "$F" ] || fail "no file holds the SQL-laden prayer"
python3 - "$F" <<'PY'
import sys
p = sys.argv[1]
t = open(p, encoding='utf-8').read()
t = t.replace("project_tag: \"\\\" OR 1=1 --\"", "project_tag: \"'; DELETE FROM user; SELECT '\"", 1)
open(p, 'w', encoding='utf-8').write(t)
PY
[ "$(sqlite3 -cmd ".timeout 10000" "$DB" "SELECT project_tag FROM prayer WHERE id = '//'")" = "'; DELETE FROM user; SELECT '" ] ||
	fail "the saved value is not stored exactly: $(sqlite3 -cmd ".timeout 10000" "$DB" "SELECT project_tag FROM prayer WHERE id = '//'")"
[ "$(sqlite3 -cmd ".timeout 10000" "$DB" "SELECT count(*) FROM user")" -gt 0 ] && [ "$(sqlite3 -cmd ".timeout 10000" "$DB" "SELECT count(*) FROM prayer")" = "$rows_before" ] ||
	fail "a value changed a query"
unmount_fs
ok "values full of quotes and SQL: stored exactly by a save, no query changed"
