#!/usr/bin/env bash
# A real I/O error under the sync folder (issue 5). The sync folder lives
# on a small ext4 image on a loop device; ext4's fault simulation
# (/sys/fs/ext4/<dev>/simulate_fail, one failure per setting) makes the
# next read of a directory block, an inode or a bitmap fail with EIO,
# the way a failing disk does. For each that reaches archivefs:
#   - the error reaches archivefs and is logged with the path, and the
#     (read-only) mount's .archivefs/status shows it and its catching up;
#   - the file in DIR is whole at every moment: its old bytes or the new,
#     never a mix, and no temporary is left behind;
#   - sync catches up by itself and `archivefs verify DB DIR` exits 0
#     (also when ext4 absorbs the failure itself, as it does for a bitmap
#     by trying another block group).
# The directory-block failure always reaches the temporary's creation,
# so at least one check must report an error.
. "$(dirname "$0")/lib/common.sh"

command -v sqlite3 >/dev/null || { echo "SKIP: sqlite3 is not installed"; exit 77; }
command -v mkfs.ext4 >/dev/null || { echo "SKIP: mkfs.ext4 is not installed"; exit 77; }
IMG=$T/ext4.img EXT=$T/ext4
mkdir -p "$EXT"
truncate -s 32M "$IMG"
mkfs.ext4 -q -F "$IMG"
if ! mount -o loop,errors=continue "$IMG" "$EXT" 2>/dev/null; then
	echo "SKIP: cannot mount an ext4 image on a loop device (needs root and loop)"; exit 77
fi
cleanup_hooks+=('umount "$EXT" 2>/dev/null || umount -l "$EXT" 2>/dev/null || true')
DEV=$(basename "$(findmnt -no SOURCE "$EXT")")
SIM=/sys/fs/ext4/$DEV/simulate_fail
[ -w "$SIM" ] || { echo "SKIP: this kernel has no ext4 fault simulation ($SIM)"; exit 77; }

DB=$T/a.db M=$T/mnt LOG=$T/daemon.log D=$EXT/sync
PID=
af demo "$DB" --prayers 20 --users 5 --quiet
mkdir -p "$M"
. "$(dirname "$0")/lib/mount.sh"
db() { sqlite3 -cmd '.timeout 10000' "$DB" "$@"; }
SYNC_DIR=$D mount_fs
wait_live
converged 10 || fail "the first pass did not make DIR the tree"

ID=$(db "SELECT id FROM prayer WHERE typeof(id) = 'text' AND length(id) = 32 ORDER BY id LIMIT 1")
F=$(cd "$D" && ls prayers/*/*/*"_prayer_$ID.txt")
# ext4's codes (fs/ext4/ext4.h EXT4_SIM_*): 1 block bitmap, 3 inode
# bitmap, 5 inode, 7 directory block; each read fails once with EIO.
n=0
for code in 7 5 3 1; do
	n=$((n + 1))
	sync; echo 3 >/proc/sys/vm/drop_caches	# make ext4 read from the "disk"
	cp "$D/$F" "$T/old"
	errs_before=$(grep -c 'Input/output error' "$LOG" || true)
	echo "$code" >"$SIM"
	db "UPDATE prayer SET text = 'change $n' WHERE id = '$ID'"
	# The new bytes, rendered from the database itself (the mount's cached
	# page may still show the old ones for a tick: not a reference).
	af cat "$DB" "$F" >"$T/new"
	# Sample the file while the error happens and sync catches up: whole
	# old or whole new bytes at every look.
	for _ in $(seq 30); do
		cur=$T/cur; cat "$D/$F" >"$cur" 2>/dev/null || fail "code $code: the file in DIR cannot be read"
		if ! cmp -s "$cur" "$T/old" && ! cmp -s "$cur" "$T/new"; then
			fail "code $code: the file in DIR is neither its old nor its new bytes"
		fi
		[ "$(grep -c 'Input/output error' "$LOG" || true)" -gt "$errs_before" ] && break
		sleep 0.1
	done
	converged 5 || { tail -5 "$LOG" >&2; fail "code $code: sync did not catch up after the I/O error"; }
	ls -a "$D/$(dirname "$F")" | grep 'archivefs-tmp' >/dev/null && fail "code $code: a temporary file is left in DIR"
	if [ "$(grep -c 'Input/output error' "$LOG" || true)" -gt "$errs_before" ]; then
		# A read-only mount has the status file too.
		grep "SYNC $D: Input/output error" "$M/.archivefs/status" >/dev/null ||
			fail "code $code: the mount's .archivefs/status does not report it: $(cat "$M/.archivefs/status" 2>&1)"
		ls -a "$M" | grep -x .archivefs >/dev/null || fail "code $code: .archivefs is not listed in the mount"
		grep "SYNC $D: caught up" "$M/.archivefs/status" >/dev/null ||
			fail "code $code: the status file does not say it caught up"
		ok "EIO (ext4 code $code): logged and in the read-only mount's .archivefs/status, the file stays whole, sync catches up"
	elif [ "$(cat "$SIM")" != 0 ]; then
		echo 0 >"$SIM"
		echo "# code $code: no read of that kind happened during the sync"
	else
		# ext4 skipped the failed group and allocated elsewhere: no
		# error reached user space, and DIR is right (converged above;
		# a write error archivefs swallowed would have left it behind).
		echo "# code $code: ext4 absorbed the failed read; no error reached archivefs"
	fi
done
[ "$checks" -ge 1 ] || fail "no simulated I/O error reached archivefs"
fusermount3 -u "$M" || fail "fusermount3 -u failed"
wait "$PID" || fail "the daemon exited non-zero"
PID=
if grep -E "$sanitizer_re" "$LOG" >/dev/null; then cat "$LOG" >&2; fail "sanitizer report"; fi
ok "clean unmount"
echo "$checks checks passed"
