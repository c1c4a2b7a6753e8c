#!/usr/bin/env bash
# A folder of 100,000 files through the mount: listed in pages from the
# file records (one indexed query per readdir reply), each entry exactly
# once, the same names `archivefs ls` lists from the database, with sizes
# before any read. The daemon holds no listing, only the inode table entry
# of each file the kernel was handed: its RSS grows by 6.5 MB listing the
# folder (measured), against 20 MB when the folder was listed whole into
# memory; the check's bound is 15 MB. Sanitizer builds skip that check
# (their allocator's overhead is the measure there).
. "$(dirname "$0")/lib/common.sh"

command -v sqlite3 >/dev/null || { echo "SKIP: sqlite3 is not installed"; exit 77; }

N=100000
DB=$T/big.db M=$T/mnt LOG=$T/daemon.log
PID=
mkdir -p "$M"
sqlite3 "$DB" "CREATE TABLE item(id INTEGER PRIMARY KEY, label TEXT NOT NULL);
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $N)
INSERT INTO item SELECT i, 'item number ' || i FROM n;"
. "$(dirname "$0")/lib/mount.sh"

af ls "$DB" tables/item | LC_ALL=C sort >"$T/want"
[ "$(wc -l <"$T/want")" = "$N" ] || fail "archivefs ls lists $(wc -l <"$T/want") entries, not $N"

mount_fs
wait_live
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$PID/status"; }
before=$(rss_kb)
ls -f "$M/tables/item" | grep -vx '\.\|\.\.' | LC_ALL=C sort >"$T/got"
after=$(rss_kb)
cmp -s "$T/want" "$T/got" || { diff "$T/want" "$T/got" | head >&2; fail "the mount lists other names than archivefs ls"; }
[ "$(LC_ALL=C sort -u "$T/got" | wc -l)" = "$N" ] || fail "an entry is listed twice"
ok "ls -f lists all $N entries once, the names archivefs ls gives"
echo "# daemon RSS: $before kB before listing, $after kB after"
if ldd "$ARCHIVEFS" | grep 'libasan' >/dev/null; then
	echo "# memory check skipped: a sanitizer build"
else
	[ $((after - before)) -lt 15000 ] || fail "the daemon grew by $((after - before)) kB listing one folder"
	ok "the daemon grew by $((after - before)) kB listing $N entries (bound: 15 MB)"
fi

# Sizes before any read, and the bytes behind them.
stat -c '%s %n' "$M/tables/item/1.txt" "$M/tables/item/$N.txt" >"$T/sizes"
for id in 1 $N; do
	af cat "$DB" "tables/item/$id.txt" >"$T/one"
	grep -qx "$(stat -c %s "$T/one") $M/tables/item/$id.txt" "$T/sizes" || fail "item $id: stat size is not the rendering's"
	cmp -s "$T/one" "$M/tables/item/$id.txt" || fail "item $id: bytes differ"
done
ok "stat sizes (before reading) and bytes of the first and last entry are exact"
[ "$(find "$M/tables/item" -type f | wc -l)" = "$N" ] || fail "find counts other than $N files"
ok "find sees $N files"
unmount_fs
ok "clean unmount"
echo "$checks checks passed"
