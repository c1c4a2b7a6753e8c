#!/usr/bin/env bash
# Every folder of the tree, listed from the database alone (archivefs ls,
# the mount's readdir), holds exactly the entries of the exported folder:
# same names, same kinds, in byte order; and no other folder exists.
. "$(dirname "$0")/lib/common.sh"

check_tree() {   # check_tree DB EXPORTDIR LABEL
	local db=$1 x=$2 label=$3 d n=0
	(cd "$x" && find . -mindepth 1 -type d -printf '%P\n' | LC_ALL=C sort) >"$T/dirs"
	echo "" | cat - "$T/dirs" >"$T/alldirs"
	while IFS= read -r d; do
		(cd "$x/$d" && find . -mindepth 1 -maxdepth 1 \( -type d -printf '%P/\n' \) -o -printf '%P\n' | LC_ALL=C sort) >"$T/want"
		af ls "$db" "$d" >"$T/got" || fail "$label: ls '$d' failed: $(cat "$T/stderr.last")"
		diff "$T/want" "$T/got" >"$T/d" || { head "$T/d"; fail "$label: listing of '$d' differs from the export"; }
		n=$((n + 1))
	done <"$T/alldirs"
	ok "$label: all $n folders list exactly as exported"
}

for seed in 6 7; do
	af demo "$T/a$seed.db" --prayers 60 --users 12 --seed "$seed" --quiet
	af export "$T/a$seed.db" "$T/x$seed" --quiet
	check_tree "$T/a$seed.db" "$T/x$seed" "seed $seed"
done

# A database with rows only in odd homes: orphans without parents, undated
# rows, an empty table (no folder for it), a generic table.
sqlite3 "$T/odd.db" <<'SQL'
CREATE TABLE prayer (id TEXT PRIMARY KEY, created_at DATETIME, text TEXT);
CREATE TABLE prayermark (id TEXT PRIMARY KEY, prayer_id TEXT, created_at DATETIME);
CREATE TABLE user (display_name TEXT PRIMARY KEY, created_at DATETIME);
CREATE TABLE session (id TEXT PRIMARY KEY, username TEXT, created_at DATETIME);
CREATE TABLE kv (k, v, PRIMARY KEY (k));
INSERT INTO prayermark VALUES ('m1', 'gone', '2024-01-01'), ('m2', NULL, NULL);
INSERT INTO user VALUES ('u1', 'yesterday'), ('u2', 1700000000);
INSERT INTO kv VALUES (1, 'a'), ('x/y', 'b'), (2.5, 'c'), (x'00', 'd');
SQL
af export "$T/odd.db" "$T/xodd" --quiet
check_tree "$T/odd.db" "$T/xodd" "odd homes"
[ ! -e "$T/xodd/sessions" ] || fail "an empty table got a folder"

for bad in nope prayers/1999 prayers/2024/13 users/2023_01_users.txt tables/nope; do
	if af ls "$T/a6.db" "$bad" >/dev/null; then fail "ls of $bad succeeded"; fi
done
ok "folders that do not exist are refused"
echo "$checks checks passed"
