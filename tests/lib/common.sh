# Shared helpers for the scenario tests (sourced, not run).
#
# Each test gets a private temp dir ($T) removed on exit, runs the real
# archivefs binary ($ARCHIVEFS, set by meson), and fails on the first
# broken expectation with a message saying what differed.

set -euo pipefail

: "${ARCHIVEFS:?set ARCHIVEFS to the archivefs binary (meson test does)}"
T=$(mktemp -d "${TMPDIR:-/tmp}/archivefs-test.XXXXXX")
cleanup_hooks=()
cleanup() {
	local rc=$?
	for h in "${cleanup_hooks[@]}"; do eval "$h" || true; done
	rm -rf "$T"
	exit $rc
}
trap cleanup EXIT

checks=0
fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { checks=$((checks + 1)); echo "ok $checks - $*"; }

# Run archivefs; its stderr goes to $T/stderr.log and must hold no
# sanitizer report.
af() {
	local rc=0
	"$ARCHIVEFS" "$@" 2>"$T/stderr.last" || rc=$?
	cat "$T/stderr.last" >>"$T/stderr.log"
	if grep -qE 'ERROR: (Address|Leak|Undefined)Sanitizer|runtime error:' "$T/stderr.last"; then
		cat "$T/stderr.last" >&2
		fail "sanitizer report from: archivefs $*"
	fi
	return $rc
}

# converged SECS: within SECS seconds the folder $D verifies clean against
# $DB (a sync folder catching up); on timeout shows why and returns 1.
converged() {
	local deadline=$((SECONDS + $1))
	until af verify "$DB" "$D" >"$T/verify.out" 2>&1; do
		if [ $SECONDS -ge $deadline ]; then
			tail -3 "$T/verify.out" >&2
			[ -z "${LOG:-}" ] || tail -5 "$LOG" >&2
			return 1
		fi
		sleep 0.1
	done
}

# Sorted .dump of a database: same rows, values, storage classes, schema.
within() {   # within SECONDS COMMAND...: until it succeeds (0), or 1
	local deadline=$((SECONDS + $1)); shift
	until "$@" >/dev/null 2>&1; do
		[ $SECONDS -lt $deadline ] || return 1
		sleep 0.1
	done
}

dump_sorted() { sqlite3 "$1" .dump | LC_ALL=C sort; }

# Checksum of a database's content, and of a file's bytes.
file_sum() { sha256sum "$1" | cut -d' ' -f1; }
