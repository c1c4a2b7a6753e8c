#!/usr/bin/env bash
# soak.sh - everything at once (issue 7): for --seconds S (default 600; the
# suite runs 60), on a -o rw mount with --sync-dir:
#   - the application commits every ~20 ms: a prayer's text (stamped
#     "soak N" at its start and its end), marks inserted and deleted;
#   - four editors save users files through the mount, each its own file,
#     each its own way: in place (open O_TRUNC, write, close), write +
#     fsync, a temporary file renamed over it (sed -i, os.replace), and
#     `sed -i` itself; after each save the database holds the new value;
#   - rsync -a copies the mount into a folder, in a loop (exit 0, or 24 when
#     a file vanished);
#   - two readers read random files whole, again and again.
# Then: no error reached a client that did nothing wrong (the application,
# an editor, rsync, a reader); no read was torn (every "soak N" in a read
# is the same N); the sync folder verifies clean against the database once
# the mount settles; the daemon's memory is flat (its RSS at the end is
# within 1.5x, or 20 MB, of its RSS after the first 10 s).
#
# usage: tests/soak.sh [--seconds S]    (ARCHIVEFS names the binary)
. "$(dirname "$0")/lib/common.sh"

seconds=600
while [ $# -gt 0 ]; do
	case $1 in
	--seconds) seconds=$2; shift 2 ;;
	*) echo "usage: tests/soak.sh [--seconds S]" >&2; exit 2 ;;
	esac
done
command -v sqlite3 >/dev/null || { echo "SKIP: sqlite3 is not installed"; exit 77; }
command -v rsync >/dev/null || { echo "SKIP: rsync is not installed"; exit 77; }
DB=$T/a.db M=$T/mnt LOG=$T/daemon.log D=$T/sync
PID=
af demo "$DB" --prayers 120 --users 40 --quiet
sqlite3 "$DB" "PRAGMA journal_mode = WAL" >/dev/null
# History off: at 50 commits/s of a 1.6 KB text, each tick would re-render a
# month's event file of tens of MB (README "Known limits").
af history "$DB" --keep-months 0 >/dev/null
mkdir -p "$M"
. "$(dirname "$0")/lib/mount.sh"
MOUNT_OPTS=rw SYNC_DIR=$D
mount_fs
wait_live
for _ in $(seq 300); do [ -f "$D/README.txt" ] && break; sleep 0.1; done

python3 - "$DB" "$M" "$T" "$seconds" "$PID" <<'PY' || fail "the soak found a problem (above)"
import os, random, re, sqlite3, subprocess, sys, threading, time

db, mnt, tmp, seconds, pid = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4]), int(sys.argv[5])
stop = threading.Event()
errors, lock = [], threading.Lock()
counts = {k: 0 for k in ("commits", "saves", "rsyncs", "reads", "torn")}

def error(who, msg):
    with lock:
        errors.append(f"{who}: {msg}")
    print(f"ERROR {who}: {msg}", file=sys.stderr, flush=True)

def bump(k, n=1):
    with lock:
        counts[k] += n

con = sqlite3.connect(db, timeout=30)
prayers = [r[0] for r in con.execute("SELECT id FROM prayer WHERE typeof(id) = 'text' AND id GLOB '[0-9a-f]*' ORDER BY rowid LIMIT 8")]
users_files = sorted(os.path.relpath(os.path.join(d, f), mnt)
                     for d, _, fs in os.walk(os.path.join(mnt, "users")) for f in fs if f.endswith("_users.txt"))
con.close()
if len(users_files) < 4:
    sys.exit("fewer than 4 users files")

def app():
    c = sqlite3.connect(db, timeout=30, isolation_level=None)
    n = 0
    rnd = random.Random(1)
    while not stop.is_set():
        n += 1
        p = rnd.choice(prayers)
        try:
            c.execute("BEGIN IMMEDIATE")
            c.execute("UPDATE prayer SET text = ? WHERE id = ?",
                      (f"soak {n}\n" + "lorem ipsum dolor sit amet\n" * 60 + f"soak {n}", p))
            if n % 3 == 0:
                c.execute("INSERT INTO prayermark (id, username, prayer_id, created_at) VALUES (?, 'admin', ?, '2026-11-21 10:00:00')",
                          (f"soak-mark-{n}", p))
            if n % 5 == 0:
                c.execute("DELETE FROM prayermark WHERE id = ?", (f"soak-mark-{n - 3}",))
            c.execute("COMMIT")
            bump("commits")
        except sqlite3.Error as e:
            error("application", f"commit {n}: {e}")
            try:
                c.execute("ROLLBACK")
            except sqlite3.Error:
                pass
        time.sleep(0.02)

def editor(k, rel):
    path = os.path.join(mnt, rel)
    c = sqlite3.connect(db, timeout=30)
    i = 0
    while not stop.is_set():
        i += 1
        try:
            text = open(path, encoding="utf-8").read()
            m = re.search(r"^display_name: (.*)$", text, re.M)
            names = re.findall(r"^welcome_message_dismissed: ([01])$", text, re.M)
            if not m or not names:
                error(f"editor {k}", f"{rel} has no user to edit")
                return
            new = "1" if names[0] == "0" else "0"
            changed = re.sub(r"^welcome_message_dismissed: [01]$", f"welcome_message_dismissed: {new}", text, count=1, flags=re.M)
            if k == 0:      # in place
                with open(path, "w", encoding="utf-8") as f:
                    f.write(changed)
            elif k == 1:    # write + fsync, then close
                fd = os.open(path, os.O_WRONLY | os.O_TRUNC)
                os.write(fd, changed.encode())
                os.fsync(fd)
                os.close(fd)
            elif k == 2:    # a temporary file renamed over it
                t = os.path.join(os.path.dirname(path), f".soak{k}.tmp")
                with open(t, "w", encoding="utf-8") as f:
                    f.write(changed)
                os.replace(t, path)
            else:           # sed -i
                r = subprocess.run(["sed", "-i", f"0,/^welcome_message_dismissed: [01]$/s//welcome_message_dismissed: {new}/", path],
                                   capture_output=True, text=True)
                if r.returncode:
                    raise OSError(0, r.stderr.strip())
            bump("saves")
            if open(path, encoding="utf-8").read().count(f"welcome_message_dismissed: {new}") < 1:
                error(f"editor {k}", f"save {i}: the file does not show the new value")
        except OSError as e:
            error(f"editor {k}", f"save {i} of {rel}: {e}")
            time.sleep(0.5)
        time.sleep(0.1)

def rsyncer():
    dest = os.path.join(tmp, "rsync-copy")
    while not stop.is_set():
        r = subprocess.run(["rsync", "-a", "--delete", "--exclude=/.archivefs/", mnt + "/", dest + "/"],
                           capture_output=True, text=True)
        if r.returncode not in (0, 24):
            error("rsync", f"exit {r.returncode}: {r.stderr.strip()[:300]}")
        bump("rsyncs")

def reader(k):
    rnd = random.Random(100 + k)
    files = []
    for d, _, fs in os.walk(mnt):
        if "/.archivefs" in d:
            continue
        files += [os.path.join(d, f) for f in fs]
    soak_files = [f for f in files if "/prayers/" in f]
    while not stop.is_set():
        f = rnd.choice(soak_files if rnd.random() < 0.7 else files)
        try:
            data = open(f, "rb").read()
        except FileNotFoundError:
            continue    # a file whose rows went away (or was renamed by a save)
        except OSError as e:
            error(f"reader {k}", f"{f}: {e}")
            continue
        bump("reads")
        stamps = set(re.findall(rb"soak (\d+)", data)) if "/prayers/" in f else set()
        if len(stamps) > 1:
            bump("torn")
            error(f"reader {k}", f"{f}: a torn read, versions {sorted(int(s) for s in stamps)}")

def rss():
    with open(f"/proc/{pid}/status") as f:
        return int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1))

threads = [threading.Thread(target=app)]
threads += [threading.Thread(target=editor, args=(k, users_files[k])) for k in range(4)]
threads += [threading.Thread(target=rsyncer), threading.Thread(target=reader, args=(0,)), threading.Thread(target=reader, args=(1,))]
for t in threads:
    t.start()
t0 = time.monotonic()
time.sleep(min(10, seconds / 3))
rss_warm = rss()
samples = [rss_warm]
while time.monotonic() - t0 < seconds:
    time.sleep(min(10, max(0.1, seconds - (time.monotonic() - t0))))
    samples.append(rss())
stop.set()
for t in threads:
    t.join()
rss_end = rss()
print(f"soak: {seconds:.0f} s: {counts['commits']} commits, {counts['saves']} saves by 4 editors, "
      f"{counts['rsyncs']} rsync runs, {counts['reads']} reads; daemon RSS {rss_warm} kB after warm-up, "
      f"{rss_end} kB at the end (samples {samples[0]}..{max(samples)} kB)")
# one sample a minute (every 10 s in a short run), in MB: the curve, for the eye
step = 6 if len(samples) > 12 else 1
print("soak: daemon RSS MB:", " ".join(f"{x / 1024:.1f}" for x in samples[::step]))
if rss_end > max(1.5 * rss_warm, rss_warm + 20 * 1024):
    error("memory", f"the daemon grew from {rss_warm} kB to {rss_end} kB")
if counts["commits"] < seconds * 5 or counts["saves"] < 4 or counts["rsyncs"] < 1 or counts["reads"] < 10:
    error("soak", f"too little happened: {counts}")
sys.exit(1 if errors else 0)
PY
# Settled: the sync folder is the database's tree.
ok_verify=0
for _ in $(seq 100); do
	if af verify "$DB" "$D" >/dev/null; then ok_verify=1; break; fi
	sleep 0.2
done
[ "$ok_verify" = 1 ] || { cat "$T/stderr.last" >&2; af verify "$DB" "$D" | head -20 >&2 || true; fail "the sync folder does not verify clean after the soak"; }
ok "soak of $seconds s: no client error, no torn read, memory flat, the sync folder verifies clean"
fusermount3 -u "$M"
wait "$PID" || fail "the daemon exited $?"
PID=
if grep -qE "$sanitizer_re" "$LOG"; then cat "$LOG" >&2; fail "sanitizer report from the daemon"; fi
