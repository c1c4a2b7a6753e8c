#!/usr/bin/env bash
# mount-scripts/mount.archivefs, as mount(8) calls it for an /etc/fstab
# line: options only mount(8) knows are dropped, the daemon detaches, the
# tree is served, fusermount3 -u unmounts and the daemon exits.
. "$(dirname "$0")/lib/common.sh"

if [ ! -c /dev/fuse ] || ! command -v fusermount3 >/dev/null; then
	echo "SKIP: /dev/fuse or fusermount3 is not usable here"
	exit 77
fi
helper=$(cd "$(dirname "$0")/.." && pwd)/mount-scripts/mount.archivefs
M=$T/mnt
mkdir -p "$M"
cleanup_hooks+=("mountpoint -q '$M' && { fusermount3 -u '$M' || fusermount3 -uz '$M'; }")

# The detached daemon logs to syslog. Without a syslog daemon here, this
# test listens on /dev/log itself (root only; removed at exit).
SYSLOG=
if [ ! -e /dev/log ] && [ "$(id -u)" = 0 ]; then
	python3 - "$T/syslog" <<'PY' &
import os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind('/dev/log')
with open(sys.argv[1], 'ab', buffering=0) as out:
    while True:
        out.write(s.recv(65536) + b'\n')
PY
	SYSLOG=$!
	cleanup_hooks+=("kill $SYSLOG 2>/dev/null; rm -f /dev/log")
	for _ in $(seq 50); do [ -S /dev/log ] && break; sleep 0.1; done
fi

af demo "$T/a.db" --prayers 20 --users 6 --quiet
af export "$T/a.db" "$T/x" --quiet

if ARCHIVEFS=$ARCHIVEFS "$helper" "$T/a.db" "$M" -o defaults,nofail,_netdev,x-systemd.automount,noauto 2>"$T/helper.err"; then :; else
	cat "$T/helper.err" >&2
	fail "mount.archivefs failed"
fi
for _ in $(seq 50); do mountpoint -q "$M" && break; sleep 0.1; done
mountpoint -q "$M" || fail "nothing mounted at $M"
grep -q " $M fuse.archivefs " /proc/mounts || fail "not an archivefs mount: $(grep "$M" /proc/mounts)"
ok "mount.archivefs mounts with fstab-only options dropped"
diff -r "$M" "$T/x" >/dev/null || fail "the mount differs from the export"
ok "the mount serves the tree"
pid=$(pgrep -f "archivefs mount $T/a.db $M" | head -1 || true)
[ -n "$pid" ] || fail "no detached archivefs daemon found for $M"
# A first mount records the tree in the background: wait for its notice.
if [ -n "$SYSLOG" ]; then
	for _ in $(seq 100); do grep -q "tree recorded" "$T/syslog" && break; sleep 0.1; done
fi
fusermount3 -u "$M"
mountpoint -q "$M" && fail "still mounted after fusermount3 -u"
for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
kill -0 "$pid" 2>/dev/null && fail "the daemon (pid $pid) did not exit after unmount"
ok "fusermount3 -u unmounts and the daemon exits"
if [ -n "$SYSLOG" ]; then
	grep -q "archivefs\[$pid\]: archivefs: serving $T/a.db at $M (live updates" "$T/syslog" ||
		{ cat "$T/syslog" >&2; fail "the daemon did not log to syslog that it serves"; }
	grep -q "archivefs\[$pid\]: archivefs: tree recorded in [0-9.]* s: live updates on" "$T/syslog" ||
		{ cat "$T/syslog" >&2; fail "no notice that the tree was recorded (first mount)"; }
	grep -q "archivefs\[$pid\]: archivefs: $M: unmounted, exiting" "$T/syslog" ||
		{ cat "$T/syslog" >&2; fail "the daemon did not log its exit to syslog"; }
	ok "the detached daemon logs to syslog (start, tree recorded, exit)"
else
	echo "# syslog check skipped: /dev/log exists (a real syslog) or not root"
fi

if ARCHIVEFS=$ARCHIVEFS "$helper" "$T/a.db" 2>/dev/null; then fail "a missing mountpoint was accepted"; fi
ok "usage errors are refused"
echo "$checks checks passed"
