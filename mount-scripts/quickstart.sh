#!/usr/bin/env bash
# archivefs quickstart: install what is missing, build, create a ThyWill
# demo database, write its text archive, verify it, and say what to try.
#
#   bash mount-scripts/quickstart.sh [DEMO_DIR]
#
# DEMO_DIR (default ~/archivefs-demo) receives demo.db and text_archives/.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
demo=${1:-$HOME/archivefs-demo}

bash "$repo/mount-scripts/setup-deps.sh"
if [ ! -f "$repo/build/build.ninja" ]; then
	meson setup "$repo/build" >/dev/null
fi
ninja -C "$repo/build" >/dev/null
af=$repo/build/backend/archivefs

mkdir -p "$demo"
db=$demo/demo.db
tree=$demo/text_archives
if [ ! -s "$db" ]; then
	"$af" demo "$db" --prayers 2000
fi
"$af" export "$db" "$tree"
"$af" verify "$db" "$tree" | tail -1

cat <<EOF2

The demo database is $db; its text archive is $tree.
Things to try:
  ls $tree $tree/prayers/2024/03 | head
  less "\$(ls $tree/prayers/2024/03/*.txt | head -1)"
  grep -rl 'surgery' $tree | head
  less $tree/README.txt                    # what each folder holds
  sqlite3 $db "UPDATE prayer SET flagged = 1 WHERE rowid = 10"
  $af export $db $tree         # rewrites only the changed file
  $af verify $db $tree --json
  $af import $tree $demo/rebuilt.db      # the database, rebuilt from text alone
  diff <(sqlite3 $db .dump | sort) <(sqlite3 $demo/rebuilt.db .dump | sort) && echo identical
EOF2
