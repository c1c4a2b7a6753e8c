#!/usr/bin/env bash
# A full disk under the sync folder (issue 5): on a 4 MB tmpfs filled to
# the last byte, a change the application commits cannot be written:
#   - the file in DIR keeps its old bytes, whole (never half-written);
#   - the failure is logged, written to the mount's .archivefs/status, and
#     `archivefs status DB` reports it (exit 1); the mount goes on serving
#     the new bytes;
#   - once space returns, sync catches up by itself (a whole pass retried
#     every second), `archivefs verify DB DIR` exits 0 and `archivefs
#     status` is clean again;
#   - the same when the filesystem turns read-only (as ext4 does after an
#     I/O error) and writable again.
. "$(dirname "$0")/lib/common.sh"

command -v sqlite3 >/dev/null || { echo "SKIP: sqlite3 is not installed"; exit 77; }
SMALL=$T/small
mkdir -p "$SMALL"
if ! mount -t tmpfs -o size=4m,mode=0755 tmpfs "$SMALL" 2>/dev/null; then
	echo "SKIP: cannot mount a small tmpfs (needs root)"; exit 77
fi
cleanup_hooks+=('umount "$SMALL" 2>/dev/null || umount -l "$SMALL" 2>/dev/null || true')

DB=$T/a.db M=$T/mnt LOG=$T/daemon.log D=$SMALL/sync
PID=
af demo "$DB" --prayers 20 --users 5 --quiet
mkdir -p "$M"
. "$(dirname "$0")/lib/mount.sh"
db() { sqlite3 -cmd '.timeout 10000' "$DB" "$@"; }
MOUNT_OPTS=rw SYNC_DIR=$D mount_fs
wait_live
converged 10 || fail "the first pass did not make DIR the tree"

ID=$(db "SELECT id FROM prayer WHERE typeof(id) = 'text' AND length(id) = 32 ORDER BY id LIMIT 1")
F=$(cd "$D" && ls prayers/*/*/*"_prayer_$ID.txt")
cp "$D/$F" "$T/old"
# Fill the disk to the last block.
dd if=/dev/zero of="$SMALL/ballast" bs=4k 2>/dev/null || true
db "UPDATE prayer SET text = text || '$(head -c 30000 /dev/zero | tr '\0' 'x')' WHERE id = '$ID'"
for _ in $(seq 30); do grep 'sync to .* failed' "$LOG" >/dev/null && break; sleep 0.1; done
grep 'sync to .* failed.*No space left' "$LOG" >/dev/null || { cat "$LOG" >&2; fail "the full disk was not reported"; }
cmp -s "$D/$F" "$T/old" || fail "the file in DIR is not its old bytes"
ls -a "$D/$(dirname "$F")" | grep 'archivefs-tmp' >/dev/null && fail "a temporary file is left in DIR"
grep -c x "$M/$F" >/dev/null || fail "the mount does not serve the new bytes"
af verify "$DB" "$D" >/dev/null && fail "verify exits 0 while DIR is behind"
for _ in $(seq 20); do [ -e "$M/.archivefs/status" ] && break; sleep 0.1; done
grep "SYNC $D: No space left on device" "$M/.archivefs/status" >/dev/null ||
	fail "the mount's status file does not report it: $(cat "$M/.archivefs/status" 2>&1)"
if af status "$DB" >"$T/status.out"; then fail "archivefs status exits 0 while sync fails"; fi
grep 'sync      FAILING since .*: No space left on device' "$T/status.out" >/dev/null ||
	fail "archivefs status does not report it: $(cat "$T/status.out")"
ok "a full disk: the write fails, the file keeps its old bytes whole; the log, the mount's status file and archivefs status report it; the mount serves the change"

rm "$SMALL/ballast"
converged 5 || { tail -5 "$LOG" >&2; fail "sync did not catch up within 5 s of space returning"; }
grep 'caught up' "$LOG" >/dev/null || fail "catching up was not logged"
grep "SYNC $D: caught up" "$M/.archivefs/status" >/dev/null || fail "the status file does not say it caught up"
af status "$DB" >"$T/status.out" || fail "archivefs status still reports a problem: $(cat "$T/status.out")"
grep 'followed  yes' "$T/status.out" >/dev/null || fail "archivefs status does not see the mount following"
ok "space returns: sync catches up by itself within seconds, verify exits 0, archivefs status is clean"
# The filesystem turns read-only (what ext4 does after an I/O error):
# EROFS, the same guarantees, caught up once it is writable again.
cp "$D/$F" "$T/old"
mount -o remount,ro "$SMALL" || fail "cannot remount the tmpfs read-only"
db "UPDATE prayer SET text = 'short again' WHERE id = '$ID'"
for _ in $(seq 30); do grep 'Read-only file system' "$LOG" >/dev/null && break; sleep 0.1; done
grep 'sync to .* failed.*Read-only file system' "$LOG" >/dev/null || { tail -5 "$LOG" >&2; fail "EROFS was not reported"; }
cmp -s "$D/$F" "$T/old" || fail "EROFS: the file in DIR is not its old bytes"
if af status "$DB" >"$T/status.out"; then fail "archivefs status exits 0 on a read-only sync folder"; fi
mount -o remount,rw "$SMALL" || fail "cannot remount the tmpfs read-write"
converged 5 || fail "sync did not catch up once the filesystem was writable again"
af status "$DB" >/dev/null || fail "archivefs status still reports a problem"
ok "a sync filesystem turned read-only: EROFS reported, old bytes kept, caught up once writable"

unmount_fs_allow_errors() {
	fusermount3 -u "$M" || fail "fusermount3 -u failed"
	wait "$PID" || fail "the daemon exited non-zero"
	PID=
	if grep -E "$sanitizer_re" "$LOG" >/dev/null; then cat "$LOG" >&2; fail "sanitizer report"; fi
}
unmount_fs_allow_errors
ok "clean unmount"
echo "$checks checks passed"
