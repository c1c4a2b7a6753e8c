/*
 * sync.h - keep a real folder identical to the tree, file by file.
 *
 * The mount's archive-sync (`archivefs mount --sync-dir DIR`) and
 * `archivefs sync` keep DIR exactly what the database renders, with the
 * mtimes the change journal records, so `archivefs verify DB DIR` exits 0
 * and an rsync of DIR copies only files whose bytes changed:
 *
 *   - sync_all() reconciles the whole folder (export_run with prune: only
 *     differing files are written, files no row renders to are removed);
 *     run at start, and after any failure, so a crash or a full disk is
 *     healed by the next successful pass;
 *   - sync_file() / sync_put() / sync_remove() bring one file up to date,
 *     atomically (diskfile_replace: a reader or a crash sees the old bytes
 *     or the new ones, never a mix), folders made with the layout's modes,
 *     emptied folders removed;
 *   - sync_flush() makes everything written since the last flush durable:
 *     one syncfs() of DIR's filesystem, then an fsync of every folder
 *     whose entries changed.
 *
 * One mutex serializes callers (the watcher thread and saves). Errors:
 * negative errno with the reason in err; the folder keeps the old bytes of
 * any file that could not be written.
 */
#ifndef ARCHIVEFS_SYNC_H
#define ARCHIVEFS_SYNC_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "export.h"
#include "layout.h"
#include "store.h"

struct sync;

/* Open (creating it if needed) the folder dir. */
int sync_open(const char *dir, struct sync **out, struct buf *err);
void sync_close(struct sync *y);

/* The folder's path, as given. */
const char *sync_dir(const struct sync *y);

/* Reconcile the whole folder with the database, durably. */
int sync_all(struct sync *y, struct store *s, const struct layout *l,
	     struct export_stats *st, struct buf *err);

/* Render the file at path from s and put it in the folder (its recorded
 * mtime when the records describe its bytes), or remove it when no row
 * renders to it any more. */
int sync_file(struct sync *y, struct store *s, const struct layout *l,
	      const char *path, struct buf *err);

/* Put these bytes at path (mtime_ns 0: the time of writing). */
int sync_put(struct sync *y, const struct layout *l, const char *path,
	     const char *data, size_t len, unsigned mode, int64_t mtime_ns,
	     struct buf *err);

/* Remove the file at path, and the folders it leaves empty. */
int sync_remove(struct sync *y, const char *path, struct buf *err);

int sync_flush(struct sync *y, struct buf *err);

/* `archivefs sync DB DIR [--watch] [--quiet]` (synccmd.c): the exit status. */
int sync_command(int argc, char **argv);

/* `archivefs status DB [--json]`: the change journal's state (recorded,
 * followed, changes waiting) and whether a sync folder is failing; exit 1
 * when one is, or when a follower is more than 10 s behind. */
int status_command(int argc, char **argv);
/* `archivefs history DB [--keep-months N]`: the history's state, and its
 * retention policy (events.h). */
int history_command(int argc, char **argv);

#endif
