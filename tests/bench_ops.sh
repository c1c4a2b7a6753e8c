#!/usr/bin/env bash
# bench_ops.sh - benchmark of the operator commands (issue 6).
#
# On one demo database, in one run, interleaved round by round so machine
# noise hits every contender alike:
#   export    archivefs export DB fresh-dir --quiet         (baseline)
#   import    archivefs import dir new.db --quiet           (baseline)
#   backup    archivefs backup DB new-file                  vs  cp DB (plain copy)
#   report    archivefs report DB DIR --json                (verify + rebuild + compare)
#   migrate   archivefs migrate COPY --schema NEW.sql       (adds a column)
#   dry-run   archivefs migrate DB --schema NEW.sql --dry-run
# and prints median wall time and peak RSS of each, with the ratios that
# matter: migrate / (export + import) is the price of the plan, the
# verification and the swap on top of the rebuild itself; report /
# (export + import) likewise; backup / cp.
#
# usage: tests/bench_ops.sh [--prayers N] [--runs R] [--workdir DIR] [--archivefs PATH]
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
prayers=10000 runs=3 workdir= A=$repo_root/build/fs/archivefs
while [ $# -gt 0 ]; do
	case $1 in
	--prayers) prayers=$2; shift 2 ;;
	--runs) runs=$2; shift 2 ;;
	--workdir) workdir=$2; shift 2 ;;
	--archivefs) A=$2; shift 2 ;;
	*) sed -n 's/^# \{0,1\}//; /^usage:/p' "$0" >&2; exit 2 ;;
	esac
done
[ -x "$A" ] || { echo "bench_ops: build first (no $A)" >&2; exit 1; }
W=${workdir:-$(mktemp -d "${TMPDIR:-/tmp}/bench_ops.XXXXXX")}
mkdir -p "$W"
[ -n "$workdir" ] || trap 'rm -rf "$W"' EXIT

"$A" demo "$W/db.db" --prayers "$prayers" --users $((prayers / 20 + 10)) --quiet
sqlite3 "$W/db.db" "SELECT sql || ';' FROM sqlite_schema WHERE name NOT LIKE 'archivefs%' AND name NOT LIKE 'sqlite_%' AND sql IS NOT NULL" |
	sed 's/^\tsafety_score FLOAT NOT NULL,$/&\n\tmood VARCHAR DEFAULT '"'"'calm'"'"' NOT NULL,/' >"$W/new.sql"
"$A" export "$W/db.db" "$W/archive" --quiet
rows=$(sqlite3 "$W/db.db" "SELECT (SELECT count(*) FROM prayer) + (SELECT count(*) FROM prayermark)")
echo "# $prayers prayers, $(du -h "$W/db.db" | cut -f1) database, $runs rounds"

python3 - "$A" "$W" "$runs" <<'PY'
import os, shutil, statistics, subprocess, sys
A, W, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
db = f"{W}/db.db"

def measured(argv):
    code = ("import resource,subprocess,sys,time;t=time.monotonic();"
            "r=subprocess.run(sys.argv[1:],stdout=subprocess.DEVNULL,stderr=subprocess.PIPE);"
            "t=time.monotonic()-t;"
            "sys.exit(r.stderr.decode() or 'failed') if r.returncode else "
            "print(t, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss/1024)")
    p = subprocess.run([sys.executable, "-c", code] + argv, capture_output=True, text=True)
    if p.returncode:
        sys.exit(f"bench_ops: {' '.join(argv)} failed: {p.stderr}")
    t, rss = p.stdout.split()
    return float(t), float(rss)

res = {k: [] for k in ("export", "import", "cp", "backup", "report", "migrate", "dry-run")}
for r in range(runs):
    for d in (f"{W}/exp", f"{W}/new.db", f"{W}/cp.db", f"{W}/bk.db", f"{W}/bk.db.sha256", f"{W}/mig.db"):
        shutil.rmtree(d, ignore_errors=True) if d.endswith("exp") else (os.path.exists(d) and os.unlink(d))
    for f in os.listdir(W):
        if f.startswith("mig.db."):
            p = f"{W}/{f}"
            shutil.rmtree(p) if os.path.isdir(p) else os.unlink(p)
    shutil.copyfile(db, f"{W}/mig.db")
    res["export"].append(measured([A, "export", db, f"{W}/exp", "--quiet"]))
    res["import"].append(measured([A, "import", f"{W}/exp", f"{W}/new.db", "--quiet"]))
    res["cp"].append(measured(["cp", db, f"{W}/cp.db"]))
    res["backup"].append(measured([A, "backup", db, f"{W}/bk.db"]))
    res["report"].append(measured([A, "report", db, f"{W}/archive", "--json"]))
    res["migrate"].append(measured([A, "migrate", f"{W}/mig.db", "--schema", f"{W}/new.sql", "--quiet"]))
    res["dry-run"].append(measured([A, "migrate", db, "--schema", f"{W}/new.sql", "--dry-run", "--quiet"]))

med = {k: statistics.median(t for t, _ in v) for k, v in res.items()}
rss = {k: max(m for _, m in v) for k, v in res.items()}
print(f"{'command':<10} {'median s':>9} {'peak RSS MB':>12}")
for k in res:
    print(f"{k:<10} {med[k]:>9.3f} {rss[k]:>12.1f}")
base = med["export"] + med["import"]
print(f"migrate / (export + import) = {med['migrate'] / base:.2f}x")
print(f"dry-run / (export + import) = {med['dry-run'] / base:.2f}x")
print(f"report  / (export + import) = {med['report'] / base:.2f}x")
print(f"backup  / cp                = {med['backup'] / med['cp']:.2f}x")
PY
