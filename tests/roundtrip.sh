#!/usr/bin/env bash
# Round trip of demo databases through the text tree, for several seeds:
#   B = import(export(A)): sqlite3 .dump | sort of A and B are equal;
#   export(B) is byte-identical to export(A); verify is clean;
#   a second export writes 0 files; a second import changes nothing.
. "$(dirname "$0")/lib/common.sh"

for seed in 1 2 3; do
	A=$T/a$seed.db B=$T/b$seed.db X=$T/x$seed Y=$T/y$seed
	af demo "$A" --prayers 150 --users 30 --seed "$seed" --quiet

	af export "$A" "$X" --quiet
	af verify "$A" "$X" >"$T/verify.out" || { cat "$T/verify.out"; fail "verify of a fresh export is not clean (seed $seed)"; }
	ok "seed $seed: verify clean after export"

	af import "$X" "$B" --quiet
	if ! diff <(dump_sorted "$A") <(dump_sorted "$B") >"$T/dump.diff"; then
		head -20 "$T/dump.diff"
		fail "seed $seed: .dump of import(export(A)) differs from A"
	fi
	ok "seed $seed: sorted .dump of import(export(A)) equals A"

	af export "$B" "$Y" --quiet
	diff -r "$X" "$Y" >"$T/tree.diff" || { head -20 "$T/tree.diff"; fail "seed $seed: export(import(export(A))) differs from export(A)"; }
	ok "seed $seed: export(import(export(A))) is byte-identical to export(A)"

	out=$(af export "$A" "$X")
	case "$out" in
	"0 written, "*) ok "seed $seed: second export writes nothing ($out)" ;;
	*) fail "seed $seed: second export wrote files: $out" ;;
	esac

	before=$(dump_sorted "$B" | sha256sum)
	out=$(af import "$X" "$B")
	case "$out" in
	*" 0 inserted, 0 updated,"*) ;;
	*) fail "seed $seed: second import changed rows: $out" ;;
	esac
	[ "$before" = "$(dump_sorted "$B" | sha256sum)" ] || fail "seed $seed: second import changed the database"
	ok "seed $seed: second import changes nothing ($out)"
done
echo "$checks checks passed"
