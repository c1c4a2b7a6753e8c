/*
 * dirwalk.h - list the files under a real folder, in sorted order.
 *
 * dirwalk() calls `fn` for every entry below `root` that is not a folder
 * (regular files, symlinks, anything else), with its path relative to root
 * and its lstat. Folders are descended, never followed through symlinks.
 * Names in each folder are visited in byte order, so the walk is
 * deterministic. `fn` returns 0 to go on or a negative errno to stop.
 */
#ifndef ARCHIVEFS_DIRWALK_H
#define ARCHIVEFS_DIRWALK_H

#include <sys/stat.h>

#include "buf.h"

typedef int (*dirwalk_fn)(void *ctx, const char *path, const struct stat *st,
			  struct buf *err);

int dirwalk(int root, dirwalk_fn fn, void *ctx, struct buf *err);

/* Remove empty folders below root (never root itself). */
int dirwalk_remove_empty(int root, struct buf *err);

#endif
