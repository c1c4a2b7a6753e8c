#!/usr/bin/env bash
# Install what archivefs needs to build, test and run, from Debian packages,
# if anything is missing. Safe to run again; does nothing when all is there.
set -euo pipefail

pkgs=(gcc clang meson ninja-build pkg-config libsqlite3-dev sqlite3 check
      libfuse3-dev fuse3 rsync python3 procps valgrind
      # the editors and tools the editing tests drive (tests/mount_tools.sh)
      vim nano tmux perl emacs-nox)
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
	exit 0
fi
echo "archivefs: installing ${missing[*]}" >&2
SUDO=
[ "$(id -u)" = 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
