/*
 * export.c - heal a real folder into the database's text tree.
 *
 * For every file archive_walk() renders: create its folders, compare with
 * what is on disk, and replace it atomically only if it differs. A file
 * that cannot be written is reported and the run goes on, so one bad file
 * does not block the rest, but the run then fails. Durability comes at the
 * end: syncfs() of the target filesystem, then fsync of each folder whose
 * entries changed (the renames).
 */
#include "export.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "archive.h"
#include "diskfile.h"
#include "dirwalk.h"
#include "progress.h"
#include "strset.h"

struct export_ctx {
	int root;
	const struct export_opts *o;
	struct export_stats *st;
	struct strset paths;      /* every rendered path (for --prune) */
	struct strset dirs;       /* folders known to exist */
	struct strset dirty;      /* folders whose entries changed */
	struct progress prog;
	int first_rc;
	struct buf tmp;
};

/* Remember the folder of `path` as changed. */
static void mark_dirty(struct export_ctx *x, const char *path)
{
	const char *slash = strrchr(path, '/');

	buf_reset(&x->tmp);
	if (slash)
		buf_add(&x->tmp, path, (size_t)(slash - path));
	strset_add(&x->dirty, x->tmp.data);
}

static int ensure_dirs(struct export_ctx *x, const char *path, unsigned mode,
		       struct buf *err)
{
	const char *slash = strrchr(path, '/');
	int rc;

	if (!slash)
		return 0;
	buf_reset(&x->tmp);
	buf_add(&x->tmp, path, (size_t)(slash - path));
	if (strset_has(&x->dirs, x->tmp.data))
		return 0;
	rc = diskfile_mkdirs(x->root, path, mode, err);
	if (rc)
		return rc;
	/* New folders are new entries of their parents. */
	for (char *p = x->tmp.data; (p = strchr(p, '/')); p++) {
		*p = '\0';
		strset_add(&x->dirty, x->tmp.data);
		*p = '/';
	}
	strset_add(&x->dirty, "");
	strset_add(&x->dirs, x->tmp.data);
	return 0;
}

static int emit(void *ctx, const struct archive_file *f, struct buf *err)
{
	struct export_ctx *x = ctx;
	int rc;

	x->st->files++;
	x->st->rows += f->rows;
	x->st->bytes += f->len;
	if (x->o->prune)
		strset_add(&x->paths, f->path);
	rc = ensure_dirs(x, f->path, f->dir_mode, err);
	if (!rc)
		rc = diskfile_same(x->root, f->path, f->data, f->len, f->mode, err);
	if (rc == 1) {
		x->st->unchanged++;
	} else if (rc == 0) {
		rc = diskfile_replace(x->root, f->path, f->data, f->len, f->mode, 0, err);
		if (!rc) {
			x->st->written++;
			mark_dirty(x, f->path);
		}
	}
	if (rc < 0) {
		buf_addch(err, '\n');
		x->st->failed++;
		if (!x->first_rc)
			x->first_rc = rc;
		/* A full disk or read-only target will fail every file. */
		if (rc == -ENOSPC || rc == -EROFS || rc == -EDQUOT || x->st->failed >= 20)
			return rc;
	}
	progress_update(&x->prog, x->st->rows, "rows");
	return 0;
}

static int prune_one(void *ctx, const char *path, const struct stat *st,
		     struct buf *err)
{
	struct export_ctx *x = ctx;

	(void)st;
	if (strset_has(&x->paths, path))
		return 0;
	if (unlinkat(x->root, path, 0) < 0) {
		buf_addf(err, "cannot remove %s: %s\n", path, strerror(errno));
		return -errno;
	}
	x->st->pruned++;
	mark_dirty(x, path);
	return 0;
}

static int sync_all(struct export_ctx *x, struct buf *err)
{
	int rc = 0;

	if (syncfs(x->root) < 0) {
		buf_addf(err, "cannot sync the archive's filesystem: %s\n", strerror(errno));
		return -errno;
	}
	for (size_t i = 0; i < x->dirty.cap; i++) {
		const char *d = x->dirty.slots[i];
		int r;
		if (!d)
			continue;
		r = diskfile_fsync_dir(x->root, d, err);
		/* A folder removed by prune is gone: nothing to sync. */
		if (r == -ENOENT)
			continue;
		if (r && !rc)
			rc = r;
	}
	return rc;
}

int export_run(struct store *s, const struct layout *l, const char *dir,
	       const struct export_opts *o, struct export_stats *stats,
	       struct buf *err)
{
	struct export_ctx x;
	long total = 0;
	int rc;

	memset(stats, 0, sizeof(*stats));
	memset(&x, 0, sizeof(x));
	x.o = o;
	x.st = stats;
	strset_init(&x.paths);
	strset_init(&x.dirs);
	strset_init(&x.dirty);
	buf_init(&x.tmp);
	if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
		buf_addf(err, "cannot create %s: %s", dir, strerror(errno));
		return -errno;
	}
	x.root = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (x.root < 0) {
		buf_addf(err, "cannot open %s: %s", dir, strerror(errno));
		return -errno;
	}
	if (o->progress)
		archive_count_rows(s, l, &total, NULL);
	progress_start(&x.prog, o->progress, "export", total);
	rc = archive_walk(s, l, emit, &x, err);
	if (!rc)
		rc = x.first_rc;
	if (!rc && o->prune) {
		rc = dirwalk(x.root, prune_one, &x, err);
		if (!rc)
			rc = dirwalk_remove_empty(x.root, err);
	}
	/* Sync even after a failure: what was written should be durable. */
	if (stats->written || stats->pruned) {
		int r = sync_all(&x, err);
		if (!rc)
			rc = r;
	}
	progress_done(&x.prog);
	close(x.root);
	strset_release(&x.paths);
	strset_release(&x.dirs);
	strset_release(&x.dirty);
	buf_release(&x.tmp);
	return rc;
}
