#!/usr/bin/env bash
# archivefs quickstart: install what is missing, build, create a ThyWill
# demo database, write its text archive, verify it, mount it, and say what
# to try.
#
#   bash mount-scripts/quickstart.sh [DEMO_DIR]
#
# DEMO_DIR (default ~/archivefs-demo) receives demo.db, text_archives/ (the
# export) and mnt/ (the live mount; unmount with fusermount3 -u DEMO_DIR/mnt).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
demo=${1:-$HOME/archivefs-demo}

bash "$repo/mount-scripts/setup-deps.sh"
if [ ! -f "$repo/build/build.ninja" ]; then
	meson setup "$repo/build" >/dev/null
fi
ninja -C "$repo/build" >/dev/null
af=$repo/build/fs/archivefs

mkdir -p "$demo"
db=$demo/demo.db
tree=$demo/text_archives
if [ ! -s "$db" ]; then
	"$af" demo "$db" --prayers 2000
fi
"$af" export "$db" "$tree"
"$af" verify "$db" "$tree" | tail -1

mnt=$demo/mnt
mkdir -p "$mnt"
if mountpoint -q "$mnt"; then
	echo "$mnt is already mounted"
elif [ -c /dev/fuse ] && command -v fusermount3 >/dev/null; then
	"$af" mount "$db" "$mnt"
	echo "mounted $db at $mnt"
	diff -r "$mnt" "$tree" >/dev/null && echo "the mount and the export are identical"
else
	echo "no usable /dev/fuse here: skipping the mount"
fi

cat <<EOF2

The demo database is $db; its text archive is $tree;
the same tree, served live from the database, is mounted at $mnt.
Things to try:
  ls -l $mnt $mnt/prayers/2024/03 | head
  grep -rl 'surgery' $mnt | head
  diff -r $mnt $tree && echo identical
  fusermount3 -u $mnt                     # unmount
  $af mount $db $mnt -o rw      # mount for editing, then:
  f=\$(ls $mnt/prayers/2024/03/*.txt | head -1); sed -i 's/^flagged: 0\$/flagged: 1/' "\$f"
  sqlite3 $db "SELECT id, flagged FROM prayer WHERE flagged = 1 LIMIT 3"   # the row changed
  vim "\$f"                                # :w saves rows; bad text is refused (cat $mnt/.archivefs/status)
  ls $tree $tree/prayers/2024/03 | head
  less "\$(ls $tree/prayers/2024/03/*.txt | head -1)"
  grep -rl 'surgery' $tree | head
  less $tree/README.txt                    # what each folder holds
  sqlite3 $db "UPDATE prayer SET flagged = 1 WHERE rowid = 10"
  $af export $db $tree         # rewrites only the changed file
  $af verify $db $tree --json
  $af import $tree $demo/rebuilt.db      # the database, rebuilt from text alone
  diff <(sqlite3 $db .dump | sort) <(sqlite3 $demo/rebuilt.db .dump | sort) && echo identical
  $af report $db $tree         # readiness before an upgrade: a 0-100 score, each point explained
  $af backup $db $demo/backup.db && (cd $demo && sha256sum -c backup.db.sha256)
  $af migrate $db --schema NEW.sql --dry-run    # a schema change, rebuilt from the archive
EOF2
