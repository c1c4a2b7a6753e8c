#!/usr/bin/env bash
# Golden round trip: one hand-written fixture, its text tree committed byte
# for byte. Any change to how archivefs renders a value, names a file,
# orders rows or sets a mode shows up here as a diff in review.
#
#   A = archivefs init + tests/golden/fixture.sql
#   export(A) is exactly tests/golden/expected/ (diff -r), and its file and
#   folder modes are exactly tests/golden/expected.modes ("mode path",
#   sorted by path; git keeps no modes beyond +x, so they live there);
#   verify(A, expected) is clean (on a copy with those modes applied);
#   import(expected) into a new database has A's sorted .dump, and
#   export(import(expected)) is expected again, byte for byte;
#   import(expected) into a copy of A changes nothing.
#
# Usage:
#   ARCHIVEFS=$PWD/build/fs/archivefs bash tests/golden.sh
#   ARCHIVEFS=$PWD/build/fs/archivefs bash tests/golden.sh --bless
# --bless rewrites tests/golden/expected/ and tests/golden/expected.modes
# from the current binary, then runs the checks. Use it only for an
# intentional format change, and read the resulting `git diff` line by
# line before committing it: that diff is the change users will see.
. "$(dirname "$0")/lib/common.sh"

G=$(cd "$(dirname "$0")/golden" && pwd)
E=$G/expected
A=$T/a.db B=$T/b.db C=$T/c.db X=$T/x Y=$T/y V=$T/v

case "${1-}" in
"") bless=0 ;;
--bless) bless=1 ;;
*) echo "usage: golden.sh [--bless]" >&2; exit 2 ;;
esac

# modes DIR: "mode path" of every file and folder below DIR (not DIR
# itself, whose mode is the caller's umask), sorted by path.
modes() { (cd "$1" && find . -mindepth 1 -printf '%m %P\n' | LC_ALL=C sort -k2); }
# sums DIR: "sha256  path" of every file below DIR, sorted.
sums() { (cd "$1" && find . -type f -printf '%P\0' | LC_ALL=C sort -z | xargs -0 -r sha256sum); }

af init "$A" >/dev/null
sqlite3 -bail -init /dev/null "$A" <"$G/fixture.sql" || fail "tests/golden/fixture.sql did not load"
af export "$A" "$X" --quiet

if [ "$bless" = 1 ]; then
	rm -rf "$E"
	cp -R "$X" "$E"
	modes "$X" >"$G/expected.modes"
	echo "blessed: $(find "$E" -type f | wc -l) files, $(find "$E" -type f -printf '%s\n' | awk '{ n += $1 } END { print n }') bytes in tests/golden/expected; review with git diff"
fi
[ -d "$E" ] && [ -f "$G/expected.modes" ] || fail "no tests/golden/expected or expected.modes (run with --bless once)"

# Nothing below expected/ may be ignored by git (a "*~" rule would drop the
# shortened file name, say): a golden file git does not keep fails in CI only.
if command -v git >/dev/null && git -C "$G" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	ignored=$(cd "$E" && find . -type f -printf '%P\n' | git check-ignore --no-index --stdin || true)
	[ -z "$ignored" ] || fail "files in tests/golden/expected are ignored by git: $ignored"
	ok "no file in tests/golden/expected is ignored by git"
fi

sums "$E" >"$T/expected.sums"

# --- export ------------------------------------------------------------------
if ! diff -r "$E" "$X" >"$T/tree.diff"; then
	head -200 "$T/tree.diff"
	fail "export of the fixture differs from tests/golden/expected (above: < expected, > export); if the change is intended, run tests/golden.sh --bless and review the diff"
fi
ok "export of the fixture is byte-identical to tests/golden/expected ($(find "$E" -type f | wc -l) files)"

if ! diff "$G/expected.modes" <(modes "$X") >"$T/modes.diff"; then
	cat "$T/modes.diff"
	fail "modes of the export differ from tests/golden/expected.modes (< expected, > export)"
fi
ok "file and folder modes of the export equal tests/golden/expected.modes"

# --- verify against the committed tree, with its modes restored --------------
cp -R "$E" "$V"
while read -r m p; do
	chmod "$m" "$V/$p" || fail "expected.modes names $p, which expected/ lacks"
done <"$G/expected.modes"
af verify "$A" "$V" >"$T/verify.out" || { cat "$T/verify.out"; fail "verify of the fixture against tests/golden/expected is not clean"; }
ok "verify of the fixture against tests/golden/expected: exit 0"

# --- import the committed tree ------------------------------------------------
af import "$E" "$B" --quiet
if ! diff <(dump_sorted "$A") <(dump_sorted "$B") >"$T/dump.diff"; then
	head -50 "$T/dump.diff"
	fail "sorted .dump of import(tests/golden/expected) differs from the fixture's (< fixture, > import)"
fi
ok "sorted .dump of import(tests/golden/expected) equals the fixture's"

af export "$B" "$Y" --quiet
diff -r "$E" "$Y" >"$T/tree2.diff" || { head -50 "$T/tree2.diff"; fail "export(import(tests/golden/expected)) differs from tests/golden/expected"; }
ok "export(import(tests/golden/expected)) is byte-identical to it"

cp "$A" "$C"
before=$(dump_sorted "$C" | sha256sum)
out=$(af import "$E" "$C")
case "$out" in
*" 0 inserted, 0 updated,"*) ;;
*) fail "import of tests/golden/expected into a copy of the fixture changed rows: $out" ;;
esac
[ "$before" = "$(dump_sorted "$C" | sha256sum)" ] || fail "import of tests/golden/expected changed a copy of the fixture"
ok "import of tests/golden/expected into a copy of the fixture changes nothing ($out)"

sums "$E" | cmp -s - "$T/expected.sums" || fail "the test changed files in tests/golden/expected"
ok "tests/golden/expected untouched"

echo "$checks checks passed"
