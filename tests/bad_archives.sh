#!/usr/bin/env bash
# Bad archive files (issue 7): the committed corpus in tests/bad_archives/
# (see its EXPECTED), plus a 10 MB line and a 100 MB file made here. Each
# bad file is put in place of the golden prayer file and must be refused,
# with file:line:col and the expected reason, changing nothing:
#   - import into a new database: exit 1, no database file left;
#   - import into an existing database: exit 1, its bytes unchanged;
#   - a save through a rw mount (cp over the file): cp fails, the database
#     (sorted .dump) unchanged, the file still reads as before, and the
#     mount's .archivefs/status gives the reason.
# ok-*.txt (BOM, CRLF, mixed line ends, no final newline: what editors do;
# and the rows in another order, the prayer after its children)
# are read to exactly the original rows: the same .dump, and a save of one
# changes no row.
. "$(dirname "$0")/lib/common.sh"

command -v sqlite3 >/dev/null || { echo "SKIP: sqlite3 is not installed"; exit 77; }
HERE=$(cd "$(dirname "$0")" && pwd)
C=$HERE/bad_archives
REL=prayers/2024/03/2024_03_14_prayer_3f2a9c8e1b2d4f6a8c0e2b4d6f8a0c2e.txt
G=$T/g.db X=$T/x
af init "$G" >/dev/null
sqlite3 -bail -init /dev/null "$G" <"$HERE/golden/fixture.sql"
af export "$G" "$X" --quiet
cmp -s "$X/$REL" "$HERE/golden/expected/$REL" || fail "the fixture's prayer file is not the golden one the corpus was made from"
good_dump=$(dump_sorted "$G")

# The two big ones: a 10 MB line of junk before the rows; a 100 MB text
# body whose file is cut short at the end.
python3 - "$X/$REL" "$T/long-line.txt" "$T/huge-truncated.txt" <<'PY'
import sys
p = open(sys.argv[1], 'rb').read()
open(sys.argv[2], 'wb').write(b'x' * (10 << 20) + b'\n' + p)
i = p.index(b'text:\n') + len(b'text:\n')
line = b'| ' + b'lorem ipsum dolor sit amet, ' * 3 + b'\n'
body = line * ((100 << 20) // len(line))
cut = p.index(b'[prayermark]\nid: mark-a\nusername: admin\n') + len(b'[prayermark]\nid: mark-a\nusername: admin\n')
open(sys.argv[3], 'wb').write(p[:i] + body + p[i:cut])
PY
cases=()
while IFS=$'\t' read -r name pat; do
	case $name in ''|'#'*) continue ;; esac
	cases+=("$C/$name"$'\t'"$pat")
done <"$C/EXPECTED"
cases+=("$T/long-line.txt"$'\t'"before any \"\\[table\\]\" header")
cases+=("$T/huge-truncated.txt"$'\t'"has no field for column prayer_id .*cut short")
[ ${#cases[@]} -ge 15 ] || fail "the corpus has only ${#cases[@]} cases"

tree_with() {   # tree_with FILE: a copy of the export with FILE in place of the prayer file
	rm -rf "$T/y"
	cp -a "$X" "$T/y"
	cp "$1" "$T/y/$REL"
}

# --- import: new and existing database ---------------------------------------------
n=0
for c in "${cases[@]}"; do
	f=${c%%$'\t'*} pat=${c#*$'\t'}
	tree_with "$f"
	rm -f "$T/new.db"
	if af import "$T/y" "$T/new.db" --quiet >/dev/null; then fail "$(basename "$f"): import into a new database accepted it"; fi
	grep -E "$REL:[0-9]+:[0-9]+: .*($pat)" "$T/stderr.last" >/dev/null ||
		{ cat "$T/stderr.last" >&2; fail "$(basename "$f"): import's refusal does not say file:line:col and /$pat/"; }
	[ ! -e "$T/new.db" ] && ! ls "$T"/new.db.* >/dev/null 2>&1 || fail "$(basename "$f"): a refused import left a database file"
	cp "$G" "$T/m.db"
	sum=$(file_sum "$T/m.db")
	if af import "$T/y" "$T/m.db" --quiet >/dev/null; then fail "$(basename "$f"): import into an existing database accepted it"; fi
	grep -E "($pat)" "$T/stderr.last" >/dev/null || { cat "$T/stderr.last" >&2; fail "$(basename "$f"): the merge's refusal does not say /$pat/"; }
	[ "$(file_sum "$T/m.db")" = "$sum" ] || fail "$(basename "$f"): a refused merge changed the database"
	n=$((n + 1))
done
ok "import refuses all $n bad files (new and existing database) with file:line:col and the reason; nothing written"

for f in "$C"/ok-*.txt; do
	tree_with "$f"
	rm -f "$T/new.db"
	af import "$T/y" "$T/new.db" --quiet >/dev/null || fail "$(basename "$f"): refused: $(cat "$T/stderr.last")"
	[ "$(dump_sorted "$T/new.db")" = "$good_dump" ] || fail "$(basename "$f"): read to other rows"
	cp "$G" "$T/m.db"
	af import "$T/y" "$T/m.db" >"$T/out" || fail "$(basename "$f"): merge refused: $(cat "$T/stderr.last")"
	grep ' 0 inserted, 0 updated' "$T/out" >/dev/null || fail "$(basename "$f"): the merge changed rows: $(cat "$T/out")"
done
ok "what editors do (BOM, CRLF, mixed line ends, no final newline, the parent after its children): the same rows, new or merged"

# --- a save through the mount --------------------------------------------------------
. "$(dirname "$0")/lib/mount.sh"
DB=$T/mounted.db M=$T/mnt LOG=$T/daemon.log PID=
cp "$G" "$DB"
mkdir -p "$M"
MOUNT_OPTS=rw
mount_fs
wait_live
db_dump() { sqlite3 -cmd '.timeout 5000' "$DB" .dump | grep -av archivefs_ | LC_ALL=C sort; }
before=$(db_dump)
orig=$(file_sum "$M/$REL")
n=0
for c in "${cases[@]}"; do
	f=${c%%$'\t'*} pat=${c#*$'\t'}
	if cp "$f" "$M/$REL" 2>"$T/cp.err"; then fail "$(basename "$f"): a save through the mount was accepted"; fi
	[ "$(db_dump)" = "$before" ] || fail "$(basename "$f"): a refused save changed the database"
	[ "$(file_sum "$M/$REL")" = "$orig" ] || fail "$(basename "$f"): the mounted file does not read as before"
	tail -3 "$M/.archivefs/status" | grep -E "($pat)" >/dev/null ||
		{ tail -3 "$M/.archivefs/status" >&2; fail "$(basename "$f"): the status line does not say /$pat/"; }
	n=$((n + 1))
done
ok "a save through the mount refuses all $n bad files: cp fails, no row changes, the file reads as before, status gives the reason"
for f in "$C"/ok-*.txt; do
	cp "$f" "$M/$REL" || fail "$(basename "$f"): a save through the mount failed: $(cat "$T/cp.err" 2>/dev/null)"
	[ "$(db_dump)" = "$before" ] || fail "$(basename "$f"): saving the same rows changed the database"
	[ "$(file_sum "$M/$REL")" = "$orig" ] || fail "$(basename "$f"): the file does not read canonical after the save"
done
ok "a save of what editors do changes no row, and the file reads canonical again"
fusermount3 -u "$M"
wait "$PID" || fail "the daemon exited $?"
PID=
if grep -qE "$sanitizer_re" "$LOG"; then cat "$LOG" >&2; fail "sanitizer report from the daemon"; fi
