#!/usr/bin/env bash
# Injected faults (issue 7, item 3): every call site in turn.
#
# tests/fault/faultinject.c (LD_PRELOAD) makes one archivefs call site fail
# at a time: a write, fsync, rename, read, lock or malloc, whether archivefs
# makes the call itself or SQLite makes it for it (so SQLITE_FULL,
# SQLITE_IOERR, SQLITE_BUSY and SQLITE_NOMEM arrive where they would from a
# real disk). A first run of each operation lists the sites it reaches;
# then each site fails on its first call and on its last, with each errno
# below, and after every such run:
#   - the command exits 0 (the fault was absorbed, and the result is
#     exactly right) or 1 with a message that names the fault; never a
#     crash, a sanitizer report or another status;
#   - no file is torn: each file is its old bytes or its new bytes, and no
#     temporary file is left behind;
#   - the database is its old rows or its new rows, never a mix, and passes
#     integrity_check;
#   - run again without the fault, the command succeeds and the result is
#     byte for byte the reference.
# Operations: export (into an older tree), import (into a new database,
# and merged into an existing one), sync (one pass, with the journal), and
# a save through a -o rw mount (the daemon preloaded, armed by SIGUSR2 just
# before the save; it must then retry cleanly in the same mount).
# --quick: the first two sites of each class only (for a fast look).
. "$(dirname "$0")/lib/common.sh"

command -v sqlite3 >/dev/null || { echo "SKIP: sqlite3 is not installed"; exit 77; }
: "${FAULTINJECT:?set FAULTINJECT to libfaultinject.so (meson test does)}"
[ -f "$FAULTINJECT" ] || fail "no $FAULTINJECT"
if ldd "$ARCHIVEFS" | grep libasan >/dev/null; then
	# ASan owns malloc and must be first in the library search; the shim
	# replaces malloc. The normal build runs this test.
	echo "SKIP: the fault shim cannot be preloaded into an ASan build"; exit 77
fi
QUICK=0
[ "${1:-}" = --quick ] && QUICK=1

# What a failed run must say, per errno.
declare -A said=(
	[ENOSPC]='No space left on device|database or disk is full'
	# SQLite reports some failed page reads as corruption (the file is
	# fine: integrity_check and the run after the fault prove it).
	[EIO]='Input/output error|disk I/O error|database disk image is malformed'
	[EROFS]='Read-only file system|attempt to write a readonly database|disk I/O error'
	# The shim also refuses lock downgrades (after a commit), which SQLite
	# reports as an I/O error; a real kernel never refuses those.
	[EAGAIN]='database is locked|Resource temporarily unavailable|another archivefs|disk I/O error'
	# pthread_create says EAGAIN when it cannot allocate the thread.
	[ENOMEM]='out of memory|Cannot allocate memory|thread: Resource temporarily unavailable'
)
# The classes and the errnos each is failed with.
plan=(write:ENOSPC write:EIO fsync:EIO rename:EIO read:EIO lock:EAGAIN malloc:ENOMEM)

runs=0 fired=0 absorbed=0 failed_clean=0
# Functions that only pass a call on: the site is their caller.
wrappers='buf_grow|buf_add|buf_addstr|buf_addch|buf_addf|buf_vaddf|fail|out_of_memory|strset_add|store_(begin|bind|column|commit|count_rows|exec|prepare|query_long|rollback|step)'
FAULT_SKIP=$(nm -S --defined-only "$ARCHIVEFS" |
	awk -v re="^($wrappers)\$" 'NF == 4 && $4 ~ re { printf "%s0x%s+0x%s", sep, $1, $2; sep = "," }')
[ -n "$FAULT_SKIP" ] || fail "no symbols in $ARCHIVEFS to find its wrappers with"
export FAULT_SKIP
where() { addr2line -f -s -e "$ARCHIVEFS" "$1" 2>/dev/null | paste -sd' ' || echo "$1"; }

# sites CLASS CMD...: run once counting; print "K CALLS OFFSET" per site.
sites() {
	local c=$1; shift
	rm -f "$T/rep"
	FAULT_CLASS=$c FAULT_REPORT=$T/rep LD_PRELOAD=$FAULTINJECT "$@" >/dev/null 2>&1 || true
	[ -f "$T/rep" ] || return 0
	awk '$1 == "site" { print $2, $5, $4 }' "$T/rep"
}

# inject CLASS ERRNO SITE HIT CMD...: run CMD with that fault (SITE: its
# offset from the listing run, so the same site however the writer thread
# and the main thread interleave); sets RC and
# FIRED (1 if the fault fired), stderr in $T/err.
inject() {
	local c=$1 e=$2 k=$3 h=$4; shift 4
	rm -f "$T/rep"
	RC=0
	FAULT_CLASS=$c FAULT_ERRNO=$e FAULT_SITE=$k FAULT_HIT=$h FAULT_REPORT=$T/rep \
		LD_PRELOAD=$FAULTINJECT "$@" >"$T/out" 2>"$T/err" || RC=$?
	FIRED=0
	grep '^fired' "$T/rep" >/dev/null 2>&1 && FIRED=1
	runs=$((runs + 1))
	return 0
}

# judge WHAT ERRNO OFFSET: the exit status and message of the last inject.
judge() {
	local what=$1 e=$2 off=$3
	if grep -aqE 'ERROR: (Address|Leak|Undefined)Sanitizer|runtime error:' "$T/err"; then
		cat "$T/err" >&2; fail "$what: sanitizer report"
	fi
	[ "$FIRED" = 1 ] || return 0
	fired=$((fired + 1))
	case $RC in
	0) absorbed=$((absorbed + 1)) ;;
	1) grep -aqE "${said[$e]}" "$T/err" || {
		cat "$T/err" >&2
		fail "$what: exit 1 but the message does not name the fault ($e, ${said[$e]})"; }
	   failed_clean=$((failed_clean + 1)) ;;
	*) cat "$T/err" >&2; fail "$what: exit status $RC (fault at $(where "$off"))" ;;
	esac
}

# tree_state OLD NEW D: every file in D is OLD's or NEW's bytes at its path
# (mode included); no temporary file (but after an out-of-memory exit,
# which ends the process at once: the next run must then remove it).
tree_state() {
	python3 - "$@" <<-'EOF'
	import os, sys
	old, new, d, oom = sys.argv[1:5]
	def files(root):
	    out = {}
	    for dp, dns, fns in os.walk(root):
	        for n in fns + [x for x in dns if os.path.islink(os.path.join(dp, x))]:
	            p = os.path.join(dp, n)
	            st = os.lstat(p)
	            data = open(p, 'rb').read() if os.path.isfile(p) else None
	            out[os.path.relpath(p, root)] = (data, st.st_mode & 0o7777)
	    return out
	o, n, x = files(old), files(new), files(d)
	bad = []
	for p, v in x.items():
	    if '.archivefs-tmp-' in p:
	        if oom != 'oom':
	            bad.append(p + ': a temporary file was left behind')
	    elif v != o.get(p) and v != n.get(p):
	        bad.append(p + ': neither its old nor its new bytes and mode')
	for p in o:
	    if p not in x and p in n:
	        bad.append(p + ': gone, though both old and new trees have it')
	if bad:
	    print('\n'.join(bad[:10]))
	    sys.exit(1)
	EOF
}

oom() { grep -q 'out of memory' "$T/err" && echo oom || echo -; }
same_tree() { diff -r "$1" "$2" >/dev/null && [ "$(cd "$1" && find . -printf '%p %m\n' | sort)" = "$(cd "$2" && find . -printf '%p %m\n' | sort)" ]; }

# each_fault OP CMD...: for every planned class and errno, every site CMD
# reaches, its first and last call: prepare (OP_prepare), inject, judge,
# check (OP_check), recover (OP_recover). CMD's words may use $W (the
# work copy OP_prepare made).
each_fault() {
	local op=$1; shift
	local p c e k calls off hits h n=0
	# FAULT_OPS="sync save": only these (while working on one).
	[ -z "${FAULT_OPS:-}" ] || [[ " $FAULT_OPS " == *" $op "* ]] || return 0
	for p in "${plan[@]}"; do
		c=${p%%:*} e=${p#*:}
		"${op}_prepare"
		sites "$c" "$@" >"$T/sites"
		while read -r k calls off; do
			[ "$QUICK" = 0 ] || [ "$k" -le 2 ] || continue
			hits=1
			[ "$calls" -gt 1 ] && hits="1 $calls"
			for h in $hits; do
				"${op}_prepare"
				inject "$c" "$e" "$off" "$h" "$@"
				judge "$op: $c $e at $(where "$off") call $h" "$e" "$off"
				"${op}_check" "$op: $c $e at $(where "$off") call $h (exit $RC)"
				"${op}_recover" "$op: after $c $e at $(where "$off") call $h"
				n=$((n + 1))
			done
		done <"$T/sites"
	done
	echo "  $op: $n faulty runs"
}

# The data: a demo database, and the same after the application changed it
# (texts edited, a prayer added, a mark deleted, a user renamed).
OLDDB=$T/old.db NEWDB=$T/new.db
af demo "$OLDDB" --prayers 6 --users 4 --quiet
cp "$OLDDB" "$NEWDB"
cat >"$T/change.sql" <<-'EOF'
	UPDATE prayer SET text = text || ' (edited)' WHERE rowid IN (SELECT rowid FROM prayer ORDER BY rowid LIMIT 3);
	CREATE TEMP TABLE p AS SELECT * FROM prayer LIMIT 1;
	UPDATE p SET id = 'faulttestprayer0000000000000001', text = 'a new prayer';
	INSERT INTO prayer SELECT * FROM p;
	DELETE FROM prayermark WHERE rowid = (SELECT min(rowid) FROM prayermark);
	UPDATE user SET display_name = display_name || ' Jr' WHERE rowid = (SELECT min(rowid) FROM user);
EOF
sqlite3 "$NEWDB" <"$T/change.sql"
af export "$OLDDB" "$T/old-tree" >/dev/null
af export "$NEWDB" "$T/new-tree" >/dev/null
dump_sorted "$OLDDB" >"$T/old.dump"
dump_sorted "$NEWDB" >"$T/new.dump"
cmp -s "$T/old.dump" "$T/new.dump" && fail "the change did not change the database"
same_tree "$T/old-tree" "$T/new-tree" && fail "the change did not change the tree"

db_is() {   # db_is WHAT DB DUMP...: DB's rows are one of the dumps, and it is whole
	local what=$1 db=$2; shift 2
	[ "$(sqlite3 "$db" 'PRAGMA integrity_check')" = ok ] || fail "$what: integrity_check fails"
	dump_sorted "$db" >"$T/now.dump"
	for d in "$@"; do cmp -s "$T/now.dump" "$d" && return 0; done
	diff "$T/now.dump" "$1" | head -5 >&2 || true
	fail "$what: the database is neither its old nor its new rows"
}

# --- export DB DIR, into the old tree -------------------------------------
export_prepare() { rm -rf "$T/w"; cp -a "$T/old-tree" "$T/w"; W=$T/w; }
export_check() {
	tree_state "$T/old-tree" "$T/new-tree" "$W" "$(oom)" || fail "$1: a torn tree"
	[ "$RC" != 0 ] || same_tree "$W" "$T/new-tree" || fail "$1: exit 0 but the tree is not the new one"
	db_is "$1" "$NEWDB" "$T/new.dump"
}
export_recover() {
	af export "$NEWDB" "$W" >/dev/null || fail "$1: export fails once the fault is gone"
	same_tree "$W" "$T/new-tree" || fail "$1: the recovered tree is not the new one"
	af verify "$NEWDB" "$W" >/dev/null || fail "$1: verify fails after recovery"
}
W=$T/w
each_fault export "$ARCHIVEFS" export "$NEWDB" "$T/w"
ok "export: every fault leaves each file old or new, no temporary file; exit 1 names it; the next export makes the tree exact"

# --- import DIR NEW.db -----------------------------------------------------
import_prepare() { rm -f "$T/imp.db" "$T"/imp.db-* "$T"/.imp.db* ; }
import_check() {
	# No database, or the whole one: a fault after the rename (the
	# folder's fsync, or memory while reporting) fails with it in place.
	if [ "$RC" = 0 ] || [ -e "$T/imp.db" ]; then db_is "$1" "$T/imp.db" "$T/new.dump"; fi
	# Out of memory ends the process at once: its temporary database may
	# stay, and the next import removes it.
	if ls -A "$T" | grep -E '^\.?imp\.db.' >/dev/null; then
		grep -q 'out of memory' "$T/err" || fail "$1: a failed import left $(ls -A "$T" | grep -E '^\.?imp\.db.')"
	fi
	return 0
}
import_recover() {
	rm -f "$T/imp.db"
	af import "$T/new-tree" "$T/imp.db" >/dev/null || fail "$1: import fails once the fault is gone"
	db_is "$1" "$T/imp.db" "$T/new.dump"
	! ls -A "$T" | grep -E '^\.?imp\.db.' >/dev/null || fail "$1: the next import left $(ls -A "$T" | grep -E '^\.?imp\.db.')"
}
each_fault import "$ARCHIVEFS" import "$T/new-tree" "$T/imp.db"
ok "import into a new database: every fault leaves no database and no temporary file, or the whole one; the next import is exact"

# --- import DIR OLD.db (merge) --------------------------------------------
# A merge updates and adds rows by key and deletes none: the reference is
# the same merge run without a fault.
cp "$OLDDB" "$T/m.db"
af import "$T/new-tree" "$T/m.db" >/dev/null
dump_sorted "$T/m.db" >"$T/merged.dump"
cmp -s "$T/old.dump" "$T/merged.dump" && fail "the merge changed nothing"
merge_prepare() { cp "$OLDDB" "$T/m.db"; rm -f "$T"/m.db-*; }
merge_check() { db_is "$1" "$T/m.db" "$T/old.dump" "$T/merged.dump"; }
merge_recover() {
	af import "$T/new-tree" "$T/m.db" >/dev/null || fail "$1: merge fails once the fault is gone"
	db_is "$1" "$T/m.db" "$T/merged.dump"
}
each_fault merge "$ARCHIVEFS" import "$T/new-tree" "$T/m.db"
ok "import merged into an existing database: every fault leaves its old rows or its new rows; the next import is exact"

# --- sync DB DIR (one pass, with the change journal) ----------------------
# The base: the old database after a first sync (journal recorded, DIR
# its tree), then the application's change committed. The reference: one
# sync of a copy without a fault.
cp "$OLDDB" "$T/base.db"
af sync "$T/base.db" "$T/base-dir" >/dev/null
sqlite3 "$T/base.db" <"$T/change.sql"
cp "$T/base.db" "$T/ref.db"
cp -a "$T/base-dir" "$T/ref-dir"
af sync "$T/ref.db" "$T/ref-dir" >/dev/null
same_tree "$T/ref-dir" "$T/base-dir" && fail "the reference sync changed nothing"
af verify "$T/ref.db" "$T/ref-dir" >/dev/null || fail "the reference sync does not verify"
user_rows() { sqlite3 "$1" .dump | grep -av 'archivefs_' | LC_ALL=C sort; }
user_rows "$T/base.db" >"$T/base.rows"
sync_prepare() { cp "$T/base.db" "$T/s.db"; rm -f "$T"/s.db-*; rm -rf "$T/s"; cp -a "$T/base-dir" "$T/s"; }
sync_check() {
	tree_state "$T/base-dir" "$T/ref-dir" "$T/s" "$(oom)" || fail "$1: a torn tree"
	[ "$(sqlite3 "$T/s.db" 'PRAGMA integrity_check')" = ok ] || fail "$1: integrity_check fails"
	user_rows "$T/s.db" | cmp -s - "$T/base.rows" || fail "$1: sync changed the application's rows"
}
sync_recover() {
	af sync "$T/s.db" "$T/s" >/dev/null || fail "$1: sync fails once the fault is gone: $(cat "$T/stderr.last")"
	same_tree "$T/s" "$T/ref-dir" || fail "$1: the recovered folder is not the new tree"
	af verify "$T/s.db" "$T/s" >/dev/null || fail "$1: verify fails after recovery"
}
each_fault sync "$ARCHIVEFS" sync "$T/s.db" "$T/s"
ok "sync: every fault leaves each file old or new and the application's rows untouched; the next pass makes DIR exact"

# --- a save through a -o rw mount ------------------------------------------
# Each run mounts a copy of a database the mount has recorded once, with
# the shim preloaded into the daemon but not armed; SIGUSR2 arms it just
# before one prayer file is overwritten with its edited version. Then:
#   - the save failed (the writer's cp says so) and the file reads as
#     before, or it succeeded and reads as the new bytes; the prayer's row
#     is its old or its new text, nothing else; the database is whole;
#   - out of memory ends the daemon with the message in its log: the mount
#     is remounted (what the systemd unit does);
#   - the same save again, with the fault gone, succeeds.
save_faults() {
	local c e k calls off h n=0 p
	[ -z "${FAULT_OPS:-}" ] || [[ " $FAULT_OPS " == *" save "* ]] || return 0
	for p in "${plan[@]}"; do
		c=${p%%:*} e=${p#*:}
		save_run "$c" "$e" 0 1
		[ -f "$T/rep" ] || continue   # (a save in place renames nothing)
		awk '$1 == "site" { print $2, $5, $4 }' "$T/rep" >"$T/sites"
		while read -r k calls off; do
			[ "$QUICK" = 0 ] || [ "$k" -le 2 ] || continue
			save_run "$c" "$e" "$off" 1
			n=$((n + 1))
		done <"$T/sites"
	done
	echo "  save: $n faulty runs"
	[ "$QUICK" = 1 ] || [ "$n" -gt 20 ] || fail "save: only $n sites found (is the daemon preloaded?)"
}
save_run() {   # CLASS ERRNO SITE HIT (SITE 0: list the sites, fail nothing)
	local c=$1 e=$2 k=$3 h=$4 what rc=0
	cp "$T/base-m.db" "$DB"
	rm -f "$DB"-* "$T/rep"
	FAULT_CLASS=$c FAULT_ERRNO=$e FAULT_SITE=$k FAULT_HIT=$h FAULT_REPORT=$T/rep \
		FAULT_ARM=signal LD_PRELOAD=$FAULTINJECT mount_fs
	wait_live
	kill -USR2 "$PID"
	cp "$T/new-tree/$P" "$M/$P" 2>"$T/err" || rc=$?
	kill -USR2 "$PID" 2>/dev/null || true   # disarmed: the checks read without faults
	[ "$k" = 0 ] || runs=$((runs + 1))
	what="save: $c $e at $(where "$(sed -n 's/^fired [0-9]* \(0x[0-9a-f]*\) .*/\1/p' "$T/rep" 2>/dev/null)") call $h (cp exit $rc)"
	FIRED=0
	grep '^fired' "$T/rep" >/dev/null 2>&1 && FIRED=1 && fired=$((fired + 1))
	[ "$k" = 0 ] || [ "$FIRED" = 1 ] || [ "$rc" = 0 ] || fail "$what: the save failed with no fault: $(cat "$T/err")"
	if kill -0 "$PID" 2>/dev/null; then
		if [ "$rc" = 0 ]; then
			cmp -s "$M/$P" "$T/new-tree/$P" || fail "$what: saved, but the file does not read as the new bytes"
			[ "$k" = 0 ] || absorbed=$((absorbed + 1))
		else
			cmp -s "$M/$P" "$T/old-tree/$P" || fail "$what: failed, but the file does not read as before"
			# The writer's error (cp's message) or the daemon's log names it.
			cat "$T/err" "$LOG" | grep -aE "${said[$e]}" >/dev/null ||
				{ cat "$T/err" "$LOG" >&2; fail "$what: neither the writer's error nor the daemon's log names the fault"; }
			failed_clean=$((failed_clean + 1))
		fi
	else
		# The daemon ended: only out of memory may do that, and it says so.
		wait "$PID" || true
		PID=
		grep -q 'archivefs: out of memory' "$LOG" || { cat "$LOG" >&2; fail "$what: the daemon died"; }
		[ "$rc" != 0 ] || fail "$what: the daemon died, yet the save reported success"
		failed_clean=$((failed_clean + 1))
		fusermount3 -u "$M" 2>/dev/null || fusermount3 -uz "$M"
		mount_fs
		wait_live
	fi
	[ "$(sqlite3 -cmd '.timeout 10000' "$DB" 'PRAGMA integrity_check')" = ok ] || fail "$what: integrity_check fails"
	case "$(prayer_text)" in
	"$old_text"|"$new_text") ;;
	*) fail "$what: the prayer's row is neither its old nor its new text" ;;
	esac
	cp "$T/new-tree/$P" "$M/$P" 2>"$T/err" || fail "$what: the save fails once the fault is gone: $(cat "$T/err")"
	cmp -s "$M/$P" "$T/new-tree/$P" || fail "$what: after the retry, the file does not read as the new bytes"
	[ "$(prayer_text)" = "$new_text" ] || fail "$what: after the retry, the row is not the new text"
	fusermount3 -u "$M" || fail "$what: cannot unmount"
	wait "$PID" || true
	PID=
	if grep -qE "$sanitizer_re" "$LOG"; then cat "$LOG" >&2; fail "$what: sanitizer report from the daemon"; fi
}
. "$(dirname "$0")/lib/mount.sh"
DB=$T/mnt.db M=$T/mnt LOG=$T/daemon.log PID=
mkdir -p "$M"
cp "$OLDDB" "$DB"
MOUNT_OPTS=rw mount_fs
wait_live
unmount_fs
cp "$DB" "$T/base-m.db"
P=
for f in $(cd "$T/old-tree" && ls prayers/*/*/*_prayer_*.txt); do
	cmp -s "$T/old-tree/$f" "$T/new-tree/$f" || { P=$f; break; }
done
[ -n "$P" ] || fail "no prayer file differs between the old and new trees"
PRAYER_ID=${P##*_prayer_}
PRAYER_ID=${PRAYER_ID%.txt}
prayer_text() { sqlite3 -cmd '.timeout 10000' "$DB" "SELECT quote(text) FROM prayer WHERE id = '$PRAYER_ID'"; }
old_text=$(prayer_text)
new_text=$(DB=$NEWDB prayer_text)
[ "$old_text" != "$new_text" ] || fail "the prayer's text did not change"
MOUNT_OPTS=rw save_faults
ok "a save through the mount: every fault fails the save cleanly (file and row as before) or is absorbed; a retry succeeds"

echo "$runs faulty runs: $fired faults fired, $failed_clean failed cleanly, $absorbed absorbed"
