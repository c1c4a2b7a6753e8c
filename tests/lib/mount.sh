# Helpers for the mount scenarios (sourced after lib/common.sh).
#
# The caller sets DB (database), M (mountpoint), LOG (the daemon's stderr)
# and PID= before calling mount_fs. A last-resort cleanup is registered at
# once, before anything is mounted: it never leaves a mount or a daemon
# behind, and kills only the daemon this test started. Tests that make
# other mounts add their own cleanup_hooks entries.

if [ ! -c /dev/fuse ]; then echo "SKIP: /dev/fuse is missing"; exit 77; fi
if ! command -v fusermount3 >/dev/null; then echo "SKIP: fusermount3 is not installed"; exit 77; fi

sanitizer_re='ERROR: (Address|Leak|Undefined)Sanitizer|runtime error:'

mount_fs() {   # mount DB at M (-o MOUNT_OPTS, --sync-dir SYNC_DIR when set) in the background; wait for it
	: >"$LOG"
	"$ARCHIVEFS" mount "$DB" "$M" -f ${MOUNT_OPTS:+-o "$MOUNT_OPTS"} ${SYNC_DIR:+--sync-dir "$SYNC_DIR"} 2>>"$LOG" &
	PID=$!
	for _ in $(seq 100); do
		mountpoint -q "$M" && return 0
		kill -0 "$PID" 2>/dev/null || { cat "$LOG" >&2; fail "the daemon died before mounting"; }
		sleep 0.1
	done
	cat "$LOG" >&2
	fail "not mounted after 10 s"
}

wait_live() {   # until the daemon serves from its records (a first mount records the tree first)
	for _ in $(seq 300); do
		grep -qE "live updates on(\)|$)" "$LOG" && return 0
		kill -0 "$PID" 2>/dev/null || { cat "$LOG" >&2; fail "the daemon died"; }
		sleep 0.1
	done
	cat "$LOG" >&2
	fail "live updates not on after 30 s"
}

unmount_fs() {   # unmount, wait for the daemon, check its exit and log
	local rc=0
	fusermount3 -u "$M" || fail "fusermount3 -u $M failed"
	wait "$PID" || rc=$?
	PID=
	[ "$rc" = 0 ] || { cat "$LOG" >&2; fail "the daemon exited $rc"; }
	! grep -qF " $M " /proc/mounts || fail "$M still in /proc/mounts after unmount"
	if grep -qE "$sanitizer_re" "$LOG"; then cat "$LOG" >&2; fail "sanitizer report from the daemon"; fi
	if grep -qi 'error' "$LOG"; then cat "$LOG" >&2; fail "the daemon logged an error"; fi
}

mount_last_resort() {
	if grep -qF " $M " /proc/mounts; then
		fusermount3 -u "$M" 2>/dev/null || fusermount3 -uz "$M" 2>/dev/null || true
	fi
	if [ -n "${PID:-}" ]; then
		for _ in $(seq 50); do kill -0 "$PID" 2>/dev/null || break; sleep 0.1; done
		kill "$PID" 2>/dev/null || true
		wait "$PID" 2>/dev/null || true
	fi
}
cleanup_hooks+=(mount_last_resort)
