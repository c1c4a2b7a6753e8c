#!/usr/bin/env bash
# POSIX behaviour through a rw mount (issue 7), against a real folder:
#   - every operation of README's table ("POSIX behaviour") is run on a
#     record file, a scratch file and a folder of the mount, and on the
#     same names in a real folder (an export of the same database): where
#     the table says "as a real folder" the result (and errno) must be the
#     real folder's; where it gives an errno, exactly that errno, and
#     nothing may change (the database's rows, the file's bytes);
#   - fsx-style: 3,000 random writes, truncates and reads on a scratch file
#     (and, the same ops, on a real file) never read a byte that differs
#     from an in-memory model.
. "$(dirname "$0")/lib/common.sh"

command -v sqlite3 >/dev/null || { echo "SKIP: sqlite3 is not installed"; exit 77; }
DB=$T/a.db M=$T/mnt LOG=$T/daemon.log X=$T/real
PID=
af demo "$DB" --prayers 12 --users 4 --quiet
af export "$DB" "$X" --quiet
mkdir -p "$M"
. "$(dirname "$0")/lib/mount.sh"
MOUNT_OPTS=rw
mount_fs
wait_live
REC=$(cd "$X" && ls prayers/*/*/*.txt | sed -n 1p)
dump() { sqlite3 -cmd '.timeout 10000' "$DB" .dump | grep -av archivefs_ | LC_ALL=C sort | sha256sum; }
before=$(dump)
cp "$M/$REC" "$T/rec.orig"

python3 - "$M" "$X" "$REC" <<'PY' || { grep -A45 -E "ERROR: (Address|Leak|Undefined)Sanitizer|runtime error" "$LOG" >&2 || tail -30 "$LOG" >&2; fail "an operation did not behave as README's table says"; }
import errno, mmap, os, sys

mnt, real, rec = sys.argv[1:4]
E = errno.errorcode

def run(fn):
    try:
        fn()
        return "ok"
    except OSError as e:
        return E[e.errno]

def wfile(p, data=b"hello world\n"):
    fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)

def falloc(p, n):
    fd = os.open(p, os.O_RDWR)
    try:
        os.posix_fallocate(fd, 0, n)
    finally:
        os.close(fd)

def mm(p):
    fd = os.open(p, os.O_RDONLY)
    try:
        mmap.mmap(fd, 0, prot=mmap.PROT_READ).close()
    finally:
        os.close(fd)

# (what, operation(root), expected on the mount: "real" = as the real folder)
def ops():
    R = lambda r: os.path.join(r, rec)
    F = lambda r: os.path.dirname(R(r))
    S = lambda r: os.path.join(F(r), ".scratch.swp")
    D = lambda r: os.path.join(F(r), "newdir")
    size = os.path.getsize(os.path.join(real, rec))
    return [
        ("scratch: create+write", lambda r: wfile(S(r)), "real"),
        ("scratch: read", lambda r: open(S(r), "rb").read(), "real"),
        ("scratch: truncate", lambda r: os.truncate(S(r), 3), "real"),
        ("scratch: chmod", lambda r: os.chmod(S(r), 0o600), "real"),
        ("scratch: utimens", lambda r: os.utime(S(r), (1, 1)), "real"),
        ("scratch: fallocate", lambda r: falloc(S(r), 8192), "real"),
        ("scratch: setxattr", lambda r: os.setxattr(S(r), "user.x", b"1"), "ENOTSUP"),
        ("scratch: link", lambda r: os.link(S(r), S(r) + ".l"), "EPERM"),
        ("scratch: rename", lambda r: os.rename(S(r), S(r) + "2"), "real"),
        ("scratch: unlink", lambda r: os.unlink(S(r) + "2"), "real"),
        ("symlink (editor lock)", lambda r: os.symlink("user@host.1", os.path.join(F(r), ".#lock")), "real"),
        ("readlink", lambda r: os.readlink(os.path.join(F(r), ".#lock")), "real"),
        ("unlink symlink", lambda r: os.unlink(os.path.join(F(r), ".#lock")), "real"),
        ("mkdir (scratch folder)", lambda r: os.mkdir(D(r)), "real"),
        ("rmdir empty", lambda r: os.rmdir(D(r)), "real"),
        ("mkfifo", lambda r: os.mkfifo(os.path.join(F(r), "fifo")), "EPERM"),
        ("record: read", lambda r: open(R(r), "rb").read(), "real"),
        ("record: chmod", lambda r: os.chmod(R(r), 0o600), "EPERM"),
        ("record: chown to another user", lambda r: os.chown(R(r), 65534, -1), "EPERM"),
        ("record: utimens", lambda r: os.utime(R(r), (1000000000, 1000000000)), "real"),
        ("record: setxattr", lambda r: os.setxattr(R(r), "user.x", b"1"), "ENOTSUP"),
        ("record: getxattr", lambda r: os.getxattr(R(r), "user.y"), "ENOTSUP"),
        ("record: listxattr", lambda r: os.listxattr(R(r)), "ENOTSUP"),
        ("record: link", lambda r: os.link(R(r), R(r) + ".l"), "EPERM"),
        ("record: truncate to its size", lambda r: os.truncate(R(r), size), "real"),
        ("record: fallocate past its end", lambda r: falloc(R(r), size + 4096), "EINVAL"),
        ("record: mmap (rw mount: direct_io)", lambda r: mm(R(r)), "ENODEV"),
        ("folder: chmod", lambda r: os.chmod(F(r), 0o700), "EPERM"),
        ("folder: utimens", lambda r: os.utime(F(r), (1, 1)), "EPERM"),
        ("folder: rmdir (not empty)", lambda r: os.rmdir(F(r)), "real"),
        ("create a name no row has (scratch)", lambda r: wfile(os.path.join(F(r), "not_a_record.txt")), "real"),
        ("unlink that scratch file", lambda r: os.unlink(os.path.join(F(r), "not_a_record.txt")), "real"),
        ("record: rename over another record", lambda r: os.rename(R(r), os.path.join(F(r), sorted(os.listdir(F(r)))[-1])) if len(os.listdir(F(r))) > 1 else None, "EPERM"),
        ("folder: rename", lambda r: os.rename(F(r), F(r) + "x"), "EPERM"),
    ]

bad = 0
print("%-38s %-10s %-10s" % ("operation", "mount", "real"))
for what, fn, want in ops():
    got_real = run(lambda: fn(real))
    got = run(lambda: fn(mnt))
    exp = got_real if want == "real" else want
    mark = "" if got == exp else "   <-- expected " + exp
    bad += got != exp
    print("%-38s %-10s %-10s%s" % (what, got, got_real, mark))
sys.exit(1 if bad else 0)
PY
[ "$(dump)" = "$before" ] || fail "the operations changed the database"
cmp -s "$M/$REC" "$T/rec.orig" || fail "the record file does not read as before"
ok "every operation of README's table: the real folder's result where supported, the documented errno where not; no row changed"

rm -rf "$X" && af export "$DB" "$X" --quiet   # the table's operations renamed things in it
python3 - "$M" "$X" "$(dirname "$REC")" <<'PY' || fail "fsx: a read differed from the model"
import os, random, sys
mnt, real, folder = sys.argv[1:4]
for root in (real, mnt):
    p = os.path.join(root, folder, ".fsx.tmp")
    model = bytearray()
    fd = os.open(p, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
    rnd = random.Random(20261121)
    for i in range(3000):
        op = rnd.random()
        if op < 0.45:
            off = rnd.randrange(0, 300000)
            data = bytes(rnd.randrange(256) for _ in range(rnd.randrange(1, 9000)))
            os.pwrite(fd, data, off)
            if off > len(model):
                model.extend(b"\0" * (off - len(model)))
            model[off:off + len(data)] = data
        elif op < 0.6:
            n = rnd.randrange(0, 320000)
            os.ftruncate(fd, n)
            if n < len(model):
                del model[n:]
            else:
                model.extend(b"\0" * (n - len(model)))
        else:
            off = rnd.randrange(0, 330000)
            n = rnd.randrange(1, 20000)
            got = os.pread(fd, n, off)
            want = bytes(model[off:off + n])
            if got != want:
                sys.exit("%s: op %d: read %d at %d: got %d bytes, want %d (first difference at %d)" % (
                    root, i, n, off, len(got), len(want),
                    next((k for k in range(min(len(got), len(want))) if got[k] != want[k]), min(len(got), len(want)))))
        if os.fstat(fd).st_size != len(model):
            sys.exit("%s: op %d: size %d, model %d" % (root, i, os.fstat(fd).st_size, len(model)))
    os.close(fd)
    whole = open(p, "rb").read()
    if whole != bytes(model):
        sys.exit("%s: the whole file differs from the model" % root)
    os.unlink(p)
print("fsx: 3000 ops on a real file and on a scratch file of the mount, no mismatch")
PY
ok "fsx: 3,000 random writes, truncates and reads on a scratch file, no mismatch with the model"
unmount_fs
