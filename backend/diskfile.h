/*
 * diskfile.h - the one way archivefs persists a file: atomically.
 *
 * diskfile_replace() writes a temporary file in the target's folder,
 * optionally fsyncs it, and renames it over the target: a reader, or a
 * crash, sees the old bytes or the new ones, never a mix. On any failure
 * the temporary file is removed and the old file is left as it was.
 *
 * Paths are relative to an open directory (`root`), and never followed
 * through symlinks in their last component. Errors: negative errno plus a
 * message naming the step and the path.
 */
#ifndef ARCHIVEFS_DISKFILE_H
#define ARCHIVEFS_DISKFILE_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define DISKFILE_TMP_PREFIX ".archivefs-tmp-"

/*
 * 1 if `name` (a file's name, without its folder) is `prefix`, then the
 * PID of a process no longer running (killed, out of memory, power lost),
 * then the name's end or "-...": a temporary file that run left behind,
 * never data, safe to remove (DISKFILE_TMP_PREFIX: diskfile_replace()'s).
 * 0 otherwise, and for a running process's file, which may be renamed any
 * moment.
 */
int diskfile_left_by_dead(const char *name, const char *prefix);

/* Flags for diskfile_replace(). */
#define DISKFILE_FSYNC 1   /* fsync the file before the rename */

/* mtime_ns > 0: the file gets that mtime (and atime) before the rename;
 * 0: the time of writing. */
int diskfile_replace(int root, const char *path, const char *data, size_t len,
		     unsigned mode, int64_t mtime_ns, int flags, struct buf *err);

/* Set the mtime and atime of the file at `path` (not following a symlink). */
int diskfile_set_mtime(int root, const char *path, int64_t mtime_ns, struct buf *err);

/*
 * Make `path` a folder with exactly `mode`: create it (1), or fix the mode
 * of an existing folder (0). Something else at `path` is -ENOTDIR.
 */
int diskfile_mkdir(int root, const char *path, unsigned mode, struct buf *err);

/* Create the folders leading to `path` (not its last component) with
 * `mode`; existing folders are left as they are. */
int diskfile_mkdirs(int root, const char *path, unsigned mode, struct buf *err);

/*
 * Compare the file at `path` with data[0..len) and `mode`: 1 if it exists
 * with exactly these bytes and permission bits, 0 if not (missing,
 * different), negative errno if it could not be read. With mtime_ns > 0,
 * a file that is the same but for its mtime gives DISKFILE_SAME_BUT_TIME.
 */
#define DISKFILE_SAME_BUT_TIME 2
int diskfile_same(int root, const char *path, const char *data, size_t len,
		  unsigned mode, int64_t mtime_ns, struct buf *err);

/* Read the whole file at `path` into out (reset first). */
int diskfile_read(int root, const char *path, struct buf *out, struct buf *err);

/* fsync the folder `path` ("" or "." for root itself). */
int diskfile_fsync_dir(int root, const char *path, struct buf *err);

/* fsync the folder `path`, or, when it is gone (removed since it
 * changed), the nearest folder above it that is still there, whose entry
 * the removal was. `path` is cut to the folder synced. */
int diskfile_fsync_nearest_dir(int root, struct buf *path, struct buf *err);

#endif
