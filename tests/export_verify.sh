#!/usr/bin/env bash
# Export and verify on a real folder, one small demo database:
#   export rewrites exactly the files whose bytes or mode differ, each by
#   an atomic rename, and counts them; verify names every kind of damage
#   (missing, extra, differs, unparsable, wrong mode) and exits 0 only on a
#   clean folder; --prune removes stale files, stale temporaries and empty
#   folders; secrets are 0600 in 0700 folders; a file that cannot be written
#   fails the run without blocking the others; --quiet prints nothing.
. "$(dirname "$0")/lib/common.sh"

A=$T/a.db X=$T/x
af demo "$A" --prayers 60 --users 15 --seed 5 --quiet

# snapshot DIR: "sha256  path" and "mode NNN path" of every file, sorted.
snapshot() {
	(cd "$1" && find . -type f -printf '%P\0' | LC_ALL=C sort -z | xargs -0 -r sha256sum &&
		find . -type f -printf 'mode %m %P\n' | LC_ALL=C sort)
}
# counts OUTPUT: "W U" from an export summary line.
counts() { sed -nE 's/^([0-9]+) written, ([0-9]+) unchanged.*/\1 \2/p' <<<"$1"; }

# --- export: counts, idempotence ------------------------------------------
out=$(af export "$A" "$X")
N=$(find "$X" -type f | wc -l)
[ "$N" -gt 100 ] || fail "export wrote only $N files"
[ "$(counts "$out")" = "$N 0" ] || fail "first export: expected '$N written, 0 unchanged', got: $out"
grep -qE "^$N written, 0 unchanged, 0 pruned, 0 failed: $N files, " <<<"$out" || fail "first export summary: $out"
ok "first export: $N written, 0 unchanged"

[ -z "$(find "$X" -name '.archivefs-tmp-*')" ] || fail "temporary files left after export"
ok "no temporary files left behind"

snapshot "$X" >"$T/snap0"
out=$(af export "$A" "$X")
[ "$(counts "$out")" = "0 $N" ] || fail "second export: expected '0 written, $N unchanged', got: $out"
snapshot "$X" | cmp -s - "$T/snap0" || fail "second export changed the tree"
ok "second export: 0 written, $N unchanged, tree identical"

af verify "$A" "$X" >"$T/v.out" || { cat "$T/v.out"; fail "verify of a fresh export is not clean"; }
grep -qE "^$N files rendered: $N matching, 0 missing, 0 differing \(0 unparsable\), 0 extra; consistency 1\.0000$" "$T/v.out" ||
	fail "clean verify summary: $(cat "$T/v.out")"
[ "$(wc -l <"$T/v.out")" -eq 1 ] || fail "clean verify lists problems: $(cat "$T/v.out")"
ok "verify of a fresh export: exit 0, $N matching"

af verify "$A" "$X" --json >"$T/v.json" || fail "verify --json of a clean folder exited non-zero"
python3 - "$T/v.json" "$N" <<'PY' || fail "clean verify --json: $(cat "$T/v.json")"
import json, sys
r = json.load(open(sys.argv[1])); n = int(sys.argv[2])
want = {"rendered": n, "matching": n, "missing": 0, "differing": 0,
        "unparsable": 0, "extra": 0, "score": 1.0, "consistent": True, "problems": []}
bad = {k: (r.get(k), v) for k, v in want.items() if r.get(k) != v}
sys.exit(f"got/want: {bad}" if bad else 0)
PY
ok "verify --json of a clean folder: score 1.0, consistent true"

# --- one row changes: exactly its file is rewritten, atomically ------------
pf=$(cd "$X" && find prayers -name '*_prayer_*.txt' | LC_ALL=C sort | grep -E '_prayer_[0-9a-f]{32}\.txt$' | sed -n 1p)
[ -n "$pf" ] || fail "no prayer file with a plain id"
pid=$(sed -nE 's/^id: ([0-9a-f]{32})$/\1/p' "$X/$pf" | sed -n 1p)
[ -n "$pid" ] || fail "no id line in $pf"
ln "$X/$pf" "$T/old-link"            # the old inode, to prove a rename
old_sum=$(file_sum "$X/$pf")
n=$(sqlite3 "$A" "UPDATE prayer SET text = 'Changed by export_verify.sh' || char(10) || 'second line' WHERE id = '$pid'; SELECT changes();")
[ "$n" = 1 ] || fail "UPDATE of prayer $pid changed $n rows"
out=$(af export "$A" "$X")
[ "$(counts "$out")" = "1 $((N - 1))" ] || fail "after one UPDATE: expected '1 written, $((N - 1)) unchanged', got: $out"
snapshot "$X" >"$T/snap1"
changed=$(diff "$T/snap0" "$T/snap1" | sed -nE 's/^> [0-9a-f]{64}  //p' || true)
[ "$changed" = "$pf" ] || fail "after one UPDATE the changed files are '$changed', not '$pf'"
[ "$(diff "$T/snap0" "$T/snap1" | grep -c '^[<>]' || true)" -eq 2 ] || fail "more than the bytes of one file changed: $(diff "$T/snap0" "$T/snap1" || true)"
grep -qx '| Changed by export_verify.sh' "$X/$pf" || fail "$pf does not hold the new text"
ok "one UPDATE: 1 written, only $pf changed"

[ "$(file_sum "$T/old-link")" = "$old_sum" ] || fail "$pf was overwritten in place (a hard link to it changed)"
[ "$(stat -c %i "$T/old-link")" != "$(stat -c %i "$X/$pf")" ] || fail "$pf still has its old inode"
[ -z "$(find "$X" -name '.archivefs-tmp-*')" ] || fail "temporary files left after a rewrite"
ok "the rewrite is a rename of a new file (old inode kept its bytes)"
rm "$T/old-link"
snapshot "$X" >"$T/snap0"

# A changed mode is healed, and only that file is touched.
mf=$(cd "$X" && ls users/*_users.txt | sed -n 1p)
chmod 0666 "$X/$mf"
out=$(af export "$A" "$X")
[ "$(counts "$out")" = "1 $((N - 1))" ] || fail "after chmod 0666: expected 1 written, got: $out"
[ "$(stat -c %a "$X/$mf")" = 644 ] || fail "mode of $mf not healed: $(stat -c %a "$X/$mf")"
snapshot "$X" | cmp -s - "$T/snap0" || fail "healing a mode changed other files or bytes"
ok "chmod 0666 on $mf healed back to 0644, 1 written"

# --- secrets: 0600 files in 0700 folders, the rest 0644 / 0755 -------------
bad=$(cd "$X" && find . -mindepth 1 -printf '%y %m %P\n' | while read -r type mode path; do
	if [ "$type" = d ]; then
		case $path in
		sessions | invites | auth | auth/orphans) want=700 ;;
		*) want=755 ;;
		esac
	else
		case $path in
		sessions/* | invites/* | auth/[0-9][0-9][0-9][0-9]_[0-9][0-9]_auth_requests.txt | \
			auth/orphans/authapproval_orphans.txt) want=600 ;;
		*) want=644 ;;
		esac
	fi
	[ "$mode" = "$want" ] || echo "$path is $mode, want $want"
done)
[ -z "$bad" ] || fail "modes: $bad"
n600=$(find "$X" -type f -perm 0600 | wc -l)
[ "$(find "$X/sessions" -type f | wc -l)" -gt 0 ] && [ "$(find "$X/invites" -type f | wc -l)" -gt 0 ] &&
	ls "$X"/auth/*_auth_requests.txt >/dev/null 2>&1 || fail "the demo has no sessions, invites or auth_requests files"
chmod 0755 "$X/sessions"; chmod 0777 "$X/auth/notifications"
out=$(af export "$A" "$X")
[ "$(counts "$out")" = "0 $N" ] || fail "healing folder modes rewrote files: $out"
[ "$(stat -c %a "$X/sessions")" = 700 ] && [ "$(stat -c %a "$X/auth/notifications")" = 755 ] ||
	fail "folder modes not healed: sessions $(stat -c %a "$X/sessions"), auth/notifications $(stat -c %a "$X/auth/notifications")"
ok "secrets: $n600 files 0600 (sessions/, invites/, auth/*_auth_requests) in 0700 folders; the rest 0644/0755; folder modes healed"

# --- verify: every kind of damage, reported by kind and path ---------------
Y=$T/y
cp -a "$X" "$Y"
missing=roles/role_definitions.txt
extra=prayers/notes.txt
flipped=$pf
garbled=system/schema_migrations.txt
moded=$mf
for f in "$missing" "$flipped" "$garbled" "$moded"; do [ -f "$Y/$f" ] || fail "no $f in the export"; done
rm "$Y/$missing"
echo "a note" >"$Y/$extra"
python3 - "$Y/$flipped" <<'PY'
import sys
p = sys.argv[1]
d = bytearray(open(p, 'rb').read())
i = d.index(b'Changed by')
d[i] = ord('X')          # one byte, same length, still parses
open(p, 'wb').write(d)
PY
printf 'this is not a field line\n' >>"$Y/$garbled"
chmod 0640 "$Y/$moded"
rc=0; af verify "$A" "$Y" >"$T/v.out" || rc=$?
[ "$rc" = 1 ] || { cat "$T/v.out"; fail "verify of a damaged folder exited $rc, not 1"; }
expect_line() { grep -qE "$1" "$T/v.out" || { cat "$T/v.out"; fail "verify does not report: $1"; }; }
re() { printf '%s' "$1" | sed 's/[][\.*^$+?(){}|]/\\&/g'; }
expect_line "^missing	$(re "$missing")\$"
expect_line "^extra	$(re "$extra")\$"
expect_line "^differs	$(re "$flipped")\$"
expect_line "^unparsable	$(re "$garbled")	line [0-9]+:[0-9]+: "
expect_line "^differs	$(re "$moded")	file mode\$"
[ "$(grep -c $'\t' "$T/v.out")" -eq 5 ] || { cat "$T/v.out"; fail "verify reports other problems than the 5 made"; }
expect_line "^$N files rendered: $((N - 4)) matching, 1 missing, 3 differing \(1 unparsable\), 1 extra; consistency 0\.[0-9]{4}\$"
ok "verify: missing, extra, one byte changed, unparsable and wrong mode each reported by kind and path, exit 1"

rc=0; af verify "$A" "$Y" --json >"$T/v.json" || rc=$?
[ "$rc" = 1 ] || fail "verify --json of a damaged folder exited $rc"
python3 - "$T/v.json" "$N" "$missing" "$extra" "$flipped" "$garbled" "$moded" <<'PY' || fail "damaged verify --json: $(cat "$T/v.json")"
import json, sys
r = json.load(open(sys.argv[1])); n = int(sys.argv[2])
missing, extra, flipped, garbled, moded = sys.argv[3:8]
want = {"rendered": n, "matching": n - 4, "missing": 1, "differing": 3,
        "unparsable": 1, "extra": 1, "consistent": False}
bad = {k: (r.get(k), v) for k, v in want.items() if r.get(k) != v}
if bad:
    sys.exit(f"got/want: {bad}")
if not (0 < r["score"] < 1) or abs(r["score"] - (n - 4) / (n + 1)) > 1e-6:
    sys.exit(f"score {r['score']}, want {(n - 4) / (n + 1)}")
got = sorted((p["kind"], p["path"]) for p in r["problems"])
exp = sorted([("missing", missing), ("extra", extra), ("differs", flipped),
              ("unparsable", garbled), ("differs", moded)])
if got != exp:
    sys.exit(f"problems {got}, want {exp}")
if not any(p["path"] == moded and p.get("detail") == "file mode" for p in r["problems"]):
    sys.exit("the wrong mode has no 'file mode' detail")
PY
ok "verify --json: counts, score < 1, consistent false, every problem with kind and path"

out=$(af export "$A" "$Y")
[ "$(counts "$out")" = "4 $((N - 4))" ] || fail "healing the damaged folder: expected 4 written, got: $out"
rc=0; af verify "$A" "$Y" >"$T/v.out" || rc=$?
[ "$rc" = 1 ] && [ "$(grep -c $'\t' "$T/v.out")" -eq 1 ] && grep -qx "extra	$extra" "$T/v.out" ||
	{ cat "$T/v.out"; fail "after a plain export only the extra file should remain (rc $rc)"; }
ok "export heals missing, changed, unparsable and wrong-mode files; the extra file stays without --prune"

# --- prune ------------------------------------------------------------------
# A prayer alone in its month folder: deleting it empties the folder.
sf=$(cd "$X" && for d in prayers/[0-9][0-9][0-9][0-9]/[0-9][0-9]; do
	if [ "$(ls "$d" | wc -l)" = 1 ]; then ls "$d"/*; fi; done | grep -E '_prayer_[0-9a-f]{32}\.txt$' | sed -n 1p)
[ -n "$sf" ] || fail "no prayer alone in its month folder"
sid=$(sed -nE 's/^id: ([0-9a-f]{32})$/\1/p' "$X/$sf" | sed -n 1p)
sqlite3 "$A" "DELETE FROM prayer_attributes WHERE prayer_id = '$sid';
	DELETE FROM prayermark WHERE prayer_id = '$sid';
	DELETE FROM prayerskip WHERE prayer_id = '$sid';
	DELETE FROM prayer_activity_log WHERE prayer_id = '$sid';
	DELETE FROM prayer WHERE id = '$sid';"
[ "$(sqlite3 "$A" "SELECT count(*) FROM prayer WHERE id = '$sid'")" = 0 ] || fail "the prayer was not deleted"
snapshot "$X" | grep -vF "$sf" >"$T/snap-expected"
out=$(af export "$A" "$X")
[ "$(counts "$out")" = "0 $((N - 1))" ] || fail "export after a DELETE: expected '0 written, $((N - 1)) unchanged', got: $out"
[ -f "$X/$sf" ] || fail "export without --prune removed $sf"
rc=0; af verify "$A" "$X" >"$T/v.out" || rc=$?
[ "$rc" = 1 ] && [ "$(grep -c $'\t' "$T/v.out")" -eq 1 ] && grep -qx "extra	$sf" "$T/v.out" ||
	{ cat "$T/v.out"; fail "verify should report exactly the stale $sf as extra (rc $rc)"; }
ok "DELETE without --prune: $sf stays, verify reports it extra"

# Without --prune, the temporary files a killed run left are removed
# (never data); a running process's is not, nor the stale file.
sleep 0 & dead=$!; wait "$dead"
left=$X/prayers/2023/.archivefs-tmp-$dead-7
running=$X/.archivefs-tmp-$$-8
echo partial >"$left"; echo partial >"$running"
out=$(af export "$A" "$X")
grep -qE "^0 written, $((N - 1)) unchanged, 0 pruned, 1 leftover temporary file removed, 0 failed: " <<<"$out" ||
	fail "export over a killed run's temporary file: $out"
[ ! -e "$left" ] || fail "export left a killed run's temporary file"
[ -e "$running" ] || fail "export removed a running process's temporary file"
[ -e "$X/$sf" ] || fail "export without --prune removed $sf"
rm "$running"
ok "export without --prune removes a killed run's temporary file only"

tmp1=$X/prayers/.archivefs-tmp-4242-1
tmp2=$X/.archivefs-tmp-4242-2
echo partial >"$tmp1"; echo partial >"$tmp2"
mkdir -p "$X/prayers/2099/01"
rc=0; af verify "$A" "$X" >"$T/v.out" || rc=$?
grep -qx "extra	prayers/.archivefs-tmp-4242-1" "$T/v.out" || { cat "$T/v.out"; fail "verify does not report a stale temporary file"; }
out=$(af export "$A" "$X" --prune)
grep -qE "^0 written, $((N - 1)) unchanged, 3 pruned, 0 failed: $((N - 1)) files, " <<<"$out" ||
	fail "export --prune: expected 3 pruned, got: $out"
[ ! -e "$X/$sf" ] || fail "--prune left $sf"
[ ! -e "$tmp1" ] && [ ! -e "$tmp2" ] || fail "--prune left a stale .archivefs-tmp-* file"
[ ! -e "$X/$(dirname "$sf")" ] || fail "--prune left the empty folder $(dirname "$sf")"
[ ! -e "$X/prayers/2099" ] || fail "--prune left the empty folders prayers/2099/01"
[ -d "$X/prayers" ] || fail "--prune removed prayers/"
snapshot "$X" | cmp -s - "$T/snap-expected" || fail "--prune changed other files: $(snapshot "$X" | diff "$T/snap-expected" - | sed -n 1,10p || true)"
ok "--prune removes the stale file, .archivefs-tmp-* leftovers and empty folders, nothing else"

af verify "$A" "$X" >"$T/v.out" || { cat "$T/v.out"; fail "verify not clean after --prune"; }
[ "$(wc -l <"$T/v.out")" -eq 1 ] || fail "verify after --prune lists problems: $(cat "$T/v.out")"
out=$(af export "$A" "$X" --prune)
grep -qE "^0 written, $((N - 1)) unchanged, 0 pruned, 0 failed" <<<"$out" || fail "second --prune did something: $out"
ok "after --prune verify is clean and a second --prune does nothing"

# --- a FIFO in the folder must not hang verify or export -------------------
# af with a time limit: a FIFO opened for reading blocks forever.
af_limited() {
	local rc=0
	timeout 20 "$ARCHIVEFS" "$@" 2>"$T/stderr.last" || rc=$?
	cat "$T/stderr.last" >>"$T/stderr.log"
	! grep -qE 'ERROR: (Address|Leak|Undefined)Sanitizer|runtime error:' "$T/stderr.last" ||
		{ cat "$T/stderr.last" >&2; fail "sanitizer report from: archivefs $*"; }
	[ "$rc" != 124 ] || fail "archivefs $* hung on a FIFO"
	return $rc
}
ff=roles/role_definitions.txt
rm "$X/$ff"; mkfifo "$X/$ff" "$X/roles/pipe"
rc=0; af_limited verify "$A" "$X" >"$T/v.out" || rc=$?
[ "$rc" = 1 ] && grep -qx "missing	$ff" "$T/v.out" && grep -qx "extra	roles/pipe" "$T/v.out" &&
	[ "$(grep -c $'\t' "$T/v.out")" -eq 2 ] || { cat "$T/v.out"; fail "verify with FIFOs (rc $rc)"; }
out=$(af_limited export "$A" "$X" --prune)
grep -qE "^1 written, $((N - 2)) unchanged, 1 pruned, 0 failed" <<<"$out" || fail "export --prune over FIFOs: $out"
[ -f "$X/$ff" ] && [ ! -e "$X/roles/pipe" ] || fail "export did not replace or prune the FIFOs"
af verify "$A" "$X" >/dev/null || fail "verify not clean after healing the FIFOs"
ok "FIFOs at a rendered path and as an extra: verify reports them without hanging, export --prune heals"

# --- failures: exit status, message, the other files still written ---------
F=$T/f
mkdir -p "$F"
echo "in the way" >"$F/prayers"      # a file where a folder must go
blocked=$(cd "$X" && find prayers -type f | wc -l)
[ "$blocked" -gt 20 ] || fail "only $blocked prayer files to block"
others=$((N - 1 - blocked))
rc=0; out=$(af export "$A" "$F") || rc=$?
[ "$rc" = 1 ] || fail "export with a blocked folder exited $rc, not 1"
[ -z "$out" ] || fail "a failed export printed on stdout: $out"
grep -qE "^archivefs: export: cannot create folder prayers(/[^:]*)?: Not a directory$" "$T/stderr.last" ||
	fail "the error does not name the blocked path: $(cat "$T/stderr.last")"
grep -qE "^$others written, 0 unchanged, 0 pruned, $blocked failed: $((N - 1)) files, " "$T/stderr.last" ||
	fail "expected $others written and $blocked failed: $(cat "$T/stderr.last")"
# 20 failures listed one by one, the rest counted
[ "$(grep -c 'prayers.*: Not a directory$' "$T/stderr.last")" -eq 20 ] ||
	fail "expected 20 listed failures: $(cat "$T/stderr.last")"
grep -qx "($((blocked - 20)) more files could not be written)" "$T/stderr.last" ||
	fail "the unlisted failures are not counted: $(cat "$T/stderr.last")"
[ "$(cat "$F/prayers")" = "in the way" ] || fail "the blocking file was changed"
# every other file is there, with the right bytes
(cd "$X" && find . -type f ! -path './prayers/*' -printf '%P\n') | LC_ALL=C sort >"$T/others"
[ "$(wc -l <"$T/others")" -eq "$others" ] || fail "counting the other files"
while read -r f; do cmp -s "$X/$f" "$F/$f" || fail "export with a blocked folder did not write $f"; done <"$T/others"
[ "$(find "$F" -type f | wc -l)" -eq $((others + 1)) ] || fail "unexpected files in $F"
[ -z "$(find "$F" -name '.archivefs-tmp-*')" ] || fail "temporary files left after a failed export"
ok "one blocked folder ($blocked files): exit 1 naming it, the other $others files written"

rm "$F/prayers"
out=$(af export "$A" "$F")
[ "$(counts "$out")" = "$blocked $others" ] || fail "after unblocking: expected $blocked written, got: $out"
af verify "$A" "$F" >/dev/null || fail "verify not clean after the blocked folder was freed"
ok "unblocked: exit 0, the $blocked missing files written, verify clean"

echo "not a folder" >"$T/plain"
rc=0; af export "$A" "$T/plain" >"$T/out" || rc=$?
[ "$rc" = 1 ] && [ ! -s "$T/out" ] || fail "export into a regular file exited $rc (stdout: $(cat "$T/out"))"
grep -qF "$T/plain" "$T/stderr.last" || fail "the error does not name $T/plain: $(cat "$T/stderr.last")"
[ "$(cat "$T/plain")" = "not a folder" ] || fail "export changed the regular file it was pointed at"
rc=0; af export "$A" "$T/plain/sub" >"$T/out" || rc=$?
[ "$rc" = 1 ] && grep -qF "$T/plain/sub" "$T/stderr.last" || fail "export under a regular file: rc $rc, $(cat "$T/stderr.last")"
ok "export into a regular file or below one: exit 1 naming the path"

# --- output: --quiet prints nothing, otherwise one summary line -------------
rm -rf "$X"
af export "$A" "$X" --quiet >"$T/out"
[ ! -s "$T/out" ] && [ ! -s "$T/stderr.last" ] || fail "export --quiet printed: $(cat "$T/out" "$T/stderr.last")"
[ "$(find "$X" -type f | wc -l)" -eq $((N - 1)) ] || fail "export --quiet did not write the tree"
af export "$A" "$X" >"$T/out"
[ "$(wc -l <"$T/out")" -eq 1 ] && grep -qE "^0 written, $((N - 1)) unchanged, 0 pruned, 0 failed: $((N - 1)) files, [0-9]+ rows, [0-9.]+ MB in [0-9.]+ s$" "$T/out" ||
	fail "export summary: $(cat "$T/out")"
# stderr is not a tty here: progress, if any, is plain lines (no \r, no escapes)
! grep -q $'[\r\033]' "$T/stderr.last" || fail "progress on a non-tty stderr uses terminal control characters"
ok "--quiet prints nothing; otherwise exactly one summary line on stdout, no tty control on stderr"

echo "$checks checks passed"
