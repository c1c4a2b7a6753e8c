#!/usr/bin/env bash
# One file rendered alone (archivefs cat, the mount's read path) is byte
# for byte the file export writes, for every file of the tree: dated and
# undated prayers, shortened (hashed) names, months, orphans, generic
# homes, README.txt and the schema. Paths no row renders to are refused.
. "$(dirname "$0")/lib/common.sh"

for seed in 4 5; do
	A=$T/a$seed.db X=$T/x$seed
	af demo "$A" --prayers 60 --users 12 --seed "$seed" --quiet
	af export "$A" "$X" --quiet
	(cd "$X" && find . -type f -printf '%P\n' | LC_ALL=C sort) >"$T/files"
	n=$(wc -l <"$T/files")
	# All paths in one run; compare the concatenation with the files'.
	mapfile -t paths <"$T/files"
	af cat "$A" "${paths[@]}" >"$T/cat.out"
	(cd "$X" && cat -- "${paths[@]}") >"$T/files.out"
	if ! cmp -s "$T/cat.out" "$T/files.out"; then
		for p in "${paths[@]}"; do
			af cat "$A" "$p" | cmp -s - "$X/$p" || fail "seed $seed: cat $p differs from the exported file"
		done
		fail "seed $seed: concatenated output differs"
	fi
	grep -q '~' "$T/files" || fail "seed $seed: no shortened name in the tree to test"
	grep -q '/orphans/' "$T/files" || fail "seed $seed: no orphans file in the tree to test"
	grep -q '/undated' "$T/files" || fail "seed $seed: no undated file in the tree to test"
	ok "seed $seed: all $n files rendered alone equal the export"
done

for bad in prayers/2099/01/2099_01_01_prayer_nope.txt users/2099_01_users.txt \
	nope.txt prayers/../README.txt "tables/app_note/999999.txt"; do
	if af cat "$A" "$bad" >/dev/null; then fail "cat of $bad succeeded"; fi
	grep -q "no such file" "$T/stderr.last" || fail "cat $bad: unclear error: $(cat "$T/stderr.last")"
done
# A real prayer's key under the wrong date folder is not that prayer's file.
real=$(grep -m1 '^prayers/20' "$T/files")
moved=$(sed -E 's#^prayers/([0-9]{4})/([0-9]{2})/[0-9]{4}_[0-9]{2}_[0-9]{2}#prayers/1999/01/1999_01_01#' <<<"$real")
if af cat "$A" "$moved" >/dev/null; then fail "cat of $moved (wrong date) succeeded"; fi
ok "paths no row renders to are refused"
echo "$checks checks passed"
