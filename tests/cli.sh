#!/usr/bin/env bash
# The command line contract: help and --version; usage errors exit 2 with a
# message on stderr and nothing on stdout; failures exit 1, name the file,
# and leave existing files alone (and do not create missing ones).
. "$(dirname "$0")/lib/common.sh"

# run ARGS...: run archivefs, set $rc, $out (stdout) and $err (stderr).
run() {
	rc=0
	af "$@" >"$T/stdout" || rc=$?
	out=$(cat "$T/stdout")
	err=$(cat "$T/stderr.last")
}

# --- help, version ----------------------------------------------------------
for h in help --help -h; do
	run $h
	[ "$rc" = 0 ] || fail "archivefs $h exited $rc"
	[ -z "$err" ] || fail "archivefs $h wrote on stderr: $err"
	for c in init demo export import verify help; do
		grep -qE "^  $c( |$)" <<<"$out" || fail "archivefs $h does not list '$c': $out"
	done
	grep -q -- '--prune' <<<"$out" && grep -q -- '--json' <<<"$out" || fail "archivefs $h does not list the options"
	grep -qi 'exit status' <<<"$out" || fail "archivefs $h does not describe the exit status"
done
ok "help, --help and -h exit 0 and list init, demo, export, import, verify, help"

run export --help
[ "$rc" = 0 ] && grep -qE '^  export ' <<<"$out" || fail "archivefs export --help: rc $rc, $out"
ok "a command's --help prints the usage, exit 0"

run --version
[ "$rc" = 0 ] || fail "--version exited $rc"
grep -qE '^archivefs [0-9]+\.[0-9]+\.[0-9]+' <<<"$out" || fail "--version printed: $out"
[ "$(wc -l <<<"$out")" = 1 ] && [ -z "$err" ] || fail "--version printed more: $out / $err"
ok "--version prints '$out'"

# --- usage errors: exit 2, message on stderr, nothing on stdout -------------
# usage WHAT PATTERN ARGS...
usage() {
	local what=$1 pattern=$2; shift 2
	run "$@"
	[ "$rc" = 2 ] || fail "$what: exit $rc, not 2 (stdout: $out, stderr: $err)"
	[ -z "$out" ] || fail "$what: printed on stdout: $out"
	grep -qF -- "$pattern" <<<"$err" || fail "$what: stderr does not say '$pattern': $err"
	grep -qF "archivefs help" <<<"$err" || fail "$what: stderr does not point at 'archivefs help': $err"
}
usage "no arguments" "no command given"
usage "an unknown command" "unknown command 'frobnicate'" frobnicate "$T/a.db"
usage "an unknown option" "unknown option '--frob'" export "$T/a.db" "$T/x" --frob
usage "an unknown option of verify" "unknown option '--prune'" verify "$T/a.db" "$T/x" --prune
usage "a missing argument" "missing arguments" export "$T/a.db"
usage "no arguments to init" "missing arguments" init
usage "an extra argument" "unexpected argument 'extra'" verify "$T/a.db" "$T/x" extra
usage "an option without its value" "option '--seed' needs a value" demo "$T/d.db" --seed
usage "a bad number" "--prayers needs a number, not 'x'" demo "$T/d.db" --prayers x
usage "a negative number" "--users needs a positive number, not '-3'" demo "$T/d.db" --users -3
usage "a number with junk" "--seed needs a number, not '12abc'" demo "$T/d.db" --seed 12abc
[ ! -e "$T/d.db" ] && [ ! -e "$T/a.db" ] && [ ! -e "$T/x" ] || fail "a usage error created a file"
ok "usage errors (no command, unknown command/option, missing/extra argument, bad numbers) exit 2, stderr only, nothing created"

# --- init -------------------------------------------------------------------
run init "$T/i.db"
[ "$rc" = 0 ] || fail "init exited $rc: $err"
tables=$(sqlite3 "$T/i.db" "SELECT count(*) FROM sqlite_master WHERE type = 'table'")
[ "$tables" -gt 10 ] || fail "init created $tables tables"
grep -qF "($tables tables)" <<<"$out" || fail "init reports a wrong table count ($tables): $out"
[ "$(sqlite3 "$T/i.db" 'SELECT count(*) FROM prayer')" = 0 ] || fail "init put rows in prayer"
ok "init creates the schema ($tables tables), empty"

printf 'precious bytes\n' >"$T/existing.txt"
sum=$(file_sum "$T/existing.txt")
run init "$T/existing.txt"
[ "$rc" = 1 ] || fail "init on an existing file exited $rc, not 1"
[ -z "$out" ] || fail "init on an existing file printed on stdout: $out"
grep -qF "$T/existing.txt" <<<"$err" && grep -q "already exists" <<<"$err" || fail "init refusal does not name the file: $err"
[ "$sum" = "$(file_sum "$T/existing.txt")" ] || fail "init modified an existing file"
sum=$(file_sum "$T/i.db")
run init "$T/i.db"
[ "$rc" = 1 ] && [ "$sum" = "$(file_sum "$T/i.db")" ] || fail "init over a database: rc $rc, or the database changed"
ok "init on an existing file or database refuses (exit 1) and leaves it unchanged"

# --- demo -------------------------------------------------------------------
run demo "$T/a.db" --prayers 10 --users 5 --seed 3
[ "$rc" = 0 ] || fail "demo exited $rc: $err"
grep -qF "created $T/a.db" <<<"$out" || fail "demo does not report what it created: $out"
[ "$(sqlite3 "$T/a.db" 'SELECT count(*) FROM prayer')" -ge 10 ] || fail "demo did not fill prayer"
sum=$(file_sum "$T/a.db")
run demo "$T/a.db" --prayers 10 --users 5 --seed 4
[ "$rc" = 1 ] || fail "a second demo into the same file exited $rc, not 1"
grep -qF "$T/a.db" <<<"$err" || fail "the second demo does not name the file: $err"
[ "$sum" = "$(file_sum "$T/a.db")" ] || fail "the second demo modified the database"
run demo "$T/q.db" --prayers 3 --users 2 --quiet
[ "$rc" = 0 ] && [ -z "$out" ] && [ -z "$err" ] || fail "demo --quiet: rc $rc, stdout '$out', stderr '$err'"
ok "demo creates a database; a second demo into it refuses and changes nothing; --quiet is silent"

# --- export / verify / import failures --------------------------------------
run export "$T/missing.db" "$T/x"
[ "$rc" = 1 ] || fail "export of a missing database exited $rc, not 1"
[ -z "$out" ] || fail "export of a missing database printed on stdout: $out"
grep -qF "$T/missing.db" <<<"$err" || fail "export of a missing database does not name it: $err"
[ ! -e "$T/missing.db" ] || fail "export of a missing database created it"
[ ! -e "$T/x" ] || fail "export of a missing database created the target folder"
run verify "$T/missing.db" "$T/x"
[ "$rc" = 1 ] && grep -qF "$T/missing.db" <<<"$err" && [ ! -e "$T/missing.db" ] ||
	fail "verify of a missing database: rc $rc, $err"
ok "export/verify of a missing database: exit 1 naming it, nothing created"

printf 'just some text, not SQLite\n' >"$T/notes.txt"
sum=$(file_sum "$T/notes.txt")
mkdir "$T/empty"
for c in verify export; do
	run $c "$T/notes.txt" "$T/empty"
	[ "$rc" = 1 ] || fail "$c of a non-database file exited $rc, not 1"
	[ -z "$out" ] || fail "$c of a non-database file printed on stdout: $out"
	grep -qF "$T/notes.txt" <<<"$err" && grep -qi "not a database" <<<"$err" ||
		fail "$c of a non-database file: unclear message: $err"
	[ "$sum" = "$(file_sum "$T/notes.txt")" ] || fail "$c modified the non-database file"
done
[ -z "$(ls -A "$T/empty")" ] || fail "export of a non-database wrote files"
ok "verify/export of a non-database file: exit 1, '$(sed -n 1p <<<"$err")'"

run verify "$T/a.db" "$T/no-such-dir"
[ "$rc" = 1 ] && [ -z "$out" ] && grep -qF "$T/no-such-dir" <<<"$err" || fail "verify of a missing folder: rc $rc, $err"
[ ! -e "$T/no-such-dir" ] || fail "verify created the folder"
ok "verify of a missing folder: exit 1 naming it"

run import "$T/no-such-dir" "$T/new.db"
[ "$rc" = 1 ] || fail "import from a missing folder exited $rc, not 1"
[ -z "$out" ] || fail "import from a missing folder printed on stdout: $out"
grep -qF "$T/no-such-dir" <<<"$err" || fail "import from a missing folder does not name it: $err"
[ ! -e "$T/new.db" ] || fail "import from a missing folder created the database"
sum=$(file_sum "$T/a.db")
run import "$T/no-such-dir" "$T/a.db"
[ "$rc" = 1 ] && [ "$sum" = "$(file_sum "$T/a.db")" ] || fail "import from a missing folder into a database: rc $rc, or it changed"
ok "import from a missing folder: exit 1 naming it, no database created or changed"

# --- the success path of each command, end to end ---------------------------
run export "$T/a.db" "$T/x" --quiet
[ "$rc" = 0 ] && [ -z "$out" ] || fail "export --quiet: rc $rc, stdout $out"
run verify "$T/a.db" "$T/x"
[ "$rc" = 0 ] && grep -q 'consistency 1.0000$' <<<"$out" || fail "verify: rc $rc, $out"
run import "$T/x" "$T/b.db"
[ "$rc" = 0 ] && grep -qF "created $T/b.db" <<<"$out" || fail "import: rc $rc, $out $err"
run verify "$T/b.db" "$T/x" --json
[ "$rc" = 0 ] && grep -q '"consistent": true' <<<"$out" || fail "verify --json of the import: rc $rc, $out"
ok "export, verify, import, verify --json succeed with exit 0"

echo "$checks checks passed"
