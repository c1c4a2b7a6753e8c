#!/usr/bin/env bash
# A broken archive is refused as a whole: the error names file:line:column,
# and the target database is left exactly as it was (a new one is not
# created at all).
. "$(dirname "$0")/lib/common.sh"

A=$T/a.db X=$T/x
af demo "$A" --prayers 40 --users 10 --seed 7 --quiet
af export "$A" "$X" --quiet
af import "$X" "$T/base.db" --quiet

# break FILE LINE NEWTEXT: copy the archive, replace one line of one file.
break_line() {
	rm -rf "$T/bad"; cp -a "$X" "$T/bad"
	python3 - "$T/bad/$1" "$2" "$3" <<'PY'
import sys
path, line, new = sys.argv[1], int(sys.argv[2]), sys.argv[3]
data = open(path, 'rb').read().split(b'\n')
data[line - 1] = new.encode()
open(path, 'wb').write(b'\n'.join(data))
PY
}

# expect_refused WHAT PATTERN: import bad/ into a new and an existing DB.
expect_refused() {
	local what=$1 pattern=$2 out
	rm -f "$T/new.db"
	if af import "$T/bad" "$T/new.db" --quiet; then fail "$what: import into a new database succeeded"; fi
	out=$(cat "$T/stderr.last")
	grep -qF -- "$pattern" <<<"$out" || fail "$what: error does not name '$pattern': $out"
	[ ! -e "$T/new.db" ] || fail "$what: a failed import left $T/new.db behind"
	ls "$T" | grep 'archivefs-import' >/dev/null && fail "$what: temporary database left behind"
	cp "$T/base.db" "$T/existing.db"
	sum=$(file_sum "$T/existing.db")
	if af import "$T/bad" "$T/existing.db" --quiet; then fail "$what: import into an existing database succeeded"; fi
	grep -qF -- "$pattern" "$T/stderr.last" || fail "$what: merge error does not name '$pattern': $(cat "$T/stderr.last")"
	[ "$sum" = "$(file_sum "$T/existing.db")" ] || fail "$what: the existing database changed"
	ok "$what refused with '$pattern', nothing changed"
}

pf=$(cd "$X" && find prayers -name '*_prayer_*.txt' | sort | head -1)
[ -n "$pf" ] || fail "no prayer file in the export"
n=$(grep -n '^flagged: ' "$X/$pf" | head -1 | cut -d: -f1)
break_line "$pf" "$n" "flagged 0"
expect_refused "a field line without ': '" "$pf:$n:"

break_line "$pf" "$n" 'flagged: "unterminated'
expect_refused "an unterminated quote" "$pf:$n:"

n2=$(grep -n '^created_at: ' "$X/$pf" | head -1 | cut -d: -f1)
break_line "$pf" "$n2" 'created_at: "bad \q escape"'
expect_refused "an unknown escape" "$pf:$n2:18"

break_line "$pf" "$n" "no_such_column: 1"
expect_refused "an unknown column" "$pf:$n:1: table prayer has no column"

break_line "$pf" "$n" "flagged: NULL"
expect_refused "NULL in a NOT NULL column" "$pf:"

# The same user row in two month files: a duplicate key.
uf=$(cd "$X" && ls users/*_users.txt | head -1)
rm -rf "$T/bad"; cp -a "$X" "$T/bad"
python3 - "$T/bad/$uf" <<'PY'
import sys
p = sys.argv[1]
text = open(p, 'rb').read()
first = text.index(b'\n[user]\n')
nxt = text.find(b'\n\n[user]\n', first + 1)
rec = text[first:nxt + 1] if nxt > 0 else text[first:]
open(p, 'ab').write(rec)
PY
expect_refused "a row present twice" "$uf:"

# A file at a path no table lives at.
rm -rf "$T/bad"; cp -a "$X" "$T/bad"
cp "$X/$pf" "$T/bad/prayers/notes.txt"
expect_refused "a file outside the layout" "prayers/notes.txt: not a file archivefs writes"

# A row of the wrong table in a file.
rm -rf "$T/bad"; cp -a "$X" "$T/bad"
printf '\n[user]\ndisplay_name: intruder\n' >>"$T/bad/$pf"
expect_refused "a row of another table" "$pf:"

# Temporary databases a killed import left: removed by the next import
# into the same name, with a note; a running import's stays.
sleep 0 & dead=$!; wait "$dead"
N=$T/new.db
echo junk >"$N.archivefs-import-$dead"
echo junk >"$N.archivefs-import-$$"
af import "$X" "$N" --quiet || fail "import beside a killed import's leftovers failed: $(cat "$T/stderr.last")"
[ ! -e "$N.archivefs-import-$dead" ] || fail "a killed import's temporary database was left"
grep -q "removed $N.archivefs-import-$dead, left by an import that did not finish" "$T/stderr.last" ||
	fail "the removal was not reported: $(cat "$T/stderr.last")"
[ -e "$N.archivefs-import-$$" ] || fail "a running process's temporary database was removed"
ok "import removes a killed import's temporary database (and says so), not a running one's"

echo "$checks checks passed"
