/*
 * export.c - heal a real folder into the database's text tree.
 *
 * For every file archive_walk() renders: create its folders, compare with
 * what is on disk, and replace it atomically only if it differs. A file
 * that cannot be written is reported and the run goes on, so one bad file
 * does not block the rest, but the run then fails. Durability comes at the
 * end: syncfs() of the target filesystem, then fsync of each folder whose
 * entries changed (the renames).
 *
 * Two threads share the work: the caller's thread reads SQLite and renders
 * (archive_walk), a writer thread does the file system side. They meet in
 * a queue of rendered files bounded to QUEUE_BYTES (8 MB), so memory stays small
 * whatever the database size. Only the writer touches the target folder
 * and the write statistics; only the renderer touches SQLite.
 */
#include "export.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "archive.h"
#include "journal.h"
#include "names.h"
#include "diskfile.h"
#include "dirwalk.h"
#include "progress.h"
#include "strset.h"

#define QUEUE_BYTES ((size_t)8 << 20)

struct job {
	struct job *next;
	char *path;             /* points into the same allocation */
	char *data;
	size_t len;
	unsigned mode;
	int64_t mtime_ns;       /* the recorded mtime, or 0 */
};

struct export_ctx {
	int root;
	const struct layout *l;
	/* the queue between the renderer and the writer */
	pthread_mutex_t mu;
	pthread_cond_t more, room;
	struct job *head, *tail;
	size_t queued;            /* bytes in the queue */
	int closed;               /* renderer is done */
	int stop;                 /* writer hit a fatal error */
	struct buf werr;          /* writer's error messages */
	const struct export_opts *o;
	struct export_stats *st;
	struct strset paths;      /* every rendered path (for --prune) */
	struct strset dirs;       /* folders known to exist */
	struct strset dirty;      /* folders whose entries changed */
	struct strset fresh;      /* folders this run created: no file to compare */
	struct progress prog;
	int first_rc;
	struct buf tmp;
	struct store *s;          /* the renderer's: file records */
	int journal;              /* the change journal is installed */
	struct buf jerr;
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

/*
 * Make sure every folder leading to `path` exists with the mode the layout
 * gives it (private where secrets live), top down, once per run. A folder
 * created here is a new entry of its parent: the parent gets fsynced.
 * Returns 1 when the file's own folder was created by this run (so the file
 * cannot exist yet), 0 when it existed, or a negative errno.
 */
static int ensure_dirs(struct export_ctx *x, const char *path, struct buf *err)
{
	const char *slash = strrchr(path, '/');
	char *p, *next;
	int rc = 0;

	if (!slash)
		return 0;
	buf_reset(&x->tmp);
	buf_add(&x->tmp, path, (size_t)(slash - path));
	if (strset_has(&x->dirs, x->tmp.data))
		return strset_has(&x->fresh, x->tmp.data);
	for (p = x->tmp.data; !rc; p = next + 1) {
		size_t len;
		next = strchr(p, '/');
		len = next ? (size_t)(next - x->tmp.data) : x->tmp.len;
		x->tmp.data[len] = '\0';
		if (!strset_has(&x->dirs, x->tmp.data)) {
			rc = diskfile_mkdir(x->root, x->tmp.data,
					    layout_folder_mode(x->l, x->tmp.data, len), err);
			if (rc == 1) {
				const char *up = strrchr(x->tmp.data, '/');
				char *parent = strndup(x->tmp.data,
						       up ? (size_t)(up - x->tmp.data) : 0);
				if (!parent)
					out_of_memory(0);
				strset_add(&x->dirty, parent);
				free(parent);
				strset_add(&x->fresh, x->tmp.data);
				rc = 0;
			}
			if (!rc)
				strset_add(&x->dirs, x->tmp.data);
		}
		if (next)
			x->tmp.data[len] = '/';
		if (!next)
			break;
	}
	return rc ? rc : strset_has(&x->fresh, x->tmp.data);
}

/* Failures described one by one in err; the count is always exact. */
#define MAX_LISTED 20

/* Writer side: put one rendered file on disk if it differs. */
static int write_one(struct export_ctx *x, const struct job *j, struct buf *err)
{
	size_t mark = err->len;
	int rc;

	rc = ensure_dirs(x, j->path, err);
	if (rc == 1)
		rc = 0;   /* a folder made by this run holds only what we wrote */
	else if (!rc)
		rc = diskfile_same(x->root, j->path, j->data, j->len, j->mode, j->mtime_ns,
				   err);
	if (rc == 1) {
		x->st->unchanged++;
		return 0;
	}
	if (rc == DISKFILE_SAME_BUT_TIME) {
		rc = diskfile_set_mtime(x->root, j->path, j->mtime_ns, err);
		if (!rc) {
			x->st->retimed++;
			return 0;
		}
	}
	if (rc == 0) {
		rc = diskfile_replace(x->root, j->path, j->data, j->len, j->mode,
				      j->mtime_ns, 0, err);
		if (!rc) {
			x->st->written++;
			mark_dirty(x, j->path);
			return 0;
		}
	}
	x->st->failed++;
	if (x->st->failed > MAX_LISTED)
		buf_truncate(err, mark);
	else
		buf_addch(err, '\n');
	if (!x->first_rc)
		x->first_rc = rc;
	/* A full disk or read-only target will fail every file. Any other
	 * failure (one blocked folder) must not keep the rest from disk. */
	if (rc == -ENOSPC || rc == -EROFS || rc == -EDQUOT)
		return rc;
	return 0;
}

static void *writer(void *arg)
{
	struct export_ctx *x = arg;
	struct job *j;

	pthread_mutex_lock(&x->mu);
	for (;;) {
		while (!x->head && !x->closed)
			pthread_cond_wait(&x->more, &x->mu);
		j = x->head;
		if (!j)
			break;
		x->head = j->next;
		if (!x->head)
			x->tail = NULL;
		pthread_mutex_unlock(&x->mu);
		int rc = x->stop ? 0 : write_one(x, j, &x->werr);
		pthread_mutex_lock(&x->mu);
		if (rc)
			x->stop = rc;
		x->queued -= j->len;
		pthread_cond_signal(&x->room);
		free(j);
	}
	pthread_mutex_unlock(&x->mu);
	return NULL;
}

/* Renderer side: queue a copy of the file for the writer. */
static int emit(void *ctx, const struct archive_file *f, struct buf *err)
{
	struct export_ctx *x = ctx;
	size_t plen = strlen(f->path) + 1;
	struct job *j;
	int rc;

	(void)err;
	x->st->files++;
	x->st->rows += f->rows;
	x->st->bytes += f->len;
	if (x->o->prune)
		strset_add(&x->paths, f->path);
	j = malloc(sizeof(*j) + plen + f->len);
	if (!j)
		out_of_memory(0);
	j->next = NULL;
	j->path = (char *)(j + 1);
	j->data = j->path + plen;
	memcpy(j->path, f->path, plen);
	memcpy(j->data, f->data, f->len);
	j->len = f->len;
	j->mode = f->mode;
	j->mtime_ns = 0;
	if (x->journal) {
		/* The time its bytes last changed, when the records describe
		 * these bytes (a change not applied yet: the time of writing). */
		struct journal_file jf;
		buf_reset(&x->jerr);
		if (journal_lookup(x->s, f->path, &jf, &x->jerr) == 1 &&
		    jf.hash == names_hash(f->data, f->len) && jf.size == (int64_t)f->len)
			j->mtime_ns = jf.mtime_ns;
	}
	pthread_mutex_lock(&x->mu);
	while (x->queued && x->queued + f->len > QUEUE_BYTES && !x->stop)
		pthread_cond_wait(&x->room, &x->mu);
	rc = x->stop;
	if (!rc) {
		if (x->tail)
			x->tail->next = j;
		else
			x->head = j;
		x->tail = j;
		x->queued += f->len;
		pthread_cond_signal(&x->more);
	}
	pthread_mutex_unlock(&x->mu);
	if (rc)
		free(j);
	progress_update(&x->prog, x->st->rows, "rows");
	return rc;
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

/*
 * Without --prune the tree may hold files of its own, but not the
 * temporary files a killed export, sync or mount left (never data: import
 * skips them too). They are removed, and counted.
 */
static int sweep_one(void *ctx, const char *path, const struct stat *st,
		     struct buf *err)
{
	struct export_ctx *x = ctx;
	const char *slash = strrchr(path, '/');

	if (!S_ISREG(st->st_mode) || !diskfile_left_by_dead(slash ? slash + 1 : path,
							     DISKFILE_TMP_PREFIX))
		return 0;
	if (unlinkat(x->root, path, 0) < 0 && errno != ENOENT) {
		int rc = -errno;
		buf_addf(err, "cannot remove %s, left by a run that did not finish: %s\n",
			 path, strerror(-rc));
		return rc;
	}
	x->st->stale++;
	mark_dirty(x, path);
	return 0;
}

static int sync_all(struct export_ctx *x, struct buf *err)
{
	int rc = 0;

	if (syncfs(x->root) < 0) {
		rc = -errno;
		buf_addf(err, "cannot sync the archive's filesystem: %s\n", strerror(-rc));
		return rc;
	}
	for (size_t i = 0; i < x->dirty.cap; i++) {
		const char *d = x->dirty.slots[i];
		int r;
		if (!d)
			continue;
		buf_reset(&x->tmp);
		buf_addstr(&x->tmp, d);
		r = diskfile_fsync_nearest_dir(x->root, &x->tmp, err);
		if (r) {
			buf_addch(err, '\n');
			if (!rc)
				rc = r;
		}
	}
	return rc;
}

int export_run(struct store *s, const struct layout *l, const char *dir,
	       const struct export_opts *o, struct export_stats *stats,
	       struct buf *err)
{
	struct export_ctx x;
	pthread_t tid;
	long total = 0;
	int rc;

	memset(stats, 0, sizeof(*stats));
	memset(&x, 0, sizeof(x));
	x.l = l;
	x.o = o;
	x.st = stats;
	x.s = s;
	x.journal = journal_installed(s) == 1;
	buf_init(&x.jerr);
	strset_init(&x.paths);
	strset_init(&x.dirs);
	strset_init(&x.dirty);
	strset_init(&x.fresh);
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
	pthread_mutex_init(&x.mu, NULL);
	pthread_cond_init(&x.more, NULL);
	pthread_cond_init(&x.room, NULL);
	buf_init(&x.werr);
	if ((rc = pthread_create(&tid, NULL, writer, &x)) != 0) {
		buf_addf(err, "cannot start the writer thread: %s", strerror(rc));
		rc = -rc;
		goto out;
	}
	rc = archive_walk(s, l, emit, &x, err);
	pthread_mutex_lock(&x.mu);
	x.closed = 1;
	pthread_cond_signal(&x.more);
	pthread_mutex_unlock(&x.mu);
	pthread_join(tid, NULL);
	if (stats->failed > MAX_LISTED)
		buf_addf(&x.werr, "(%ld more files could not be written)\n",
			 stats->failed - MAX_LISTED);
	/* The writer's own reasons come first: they are why a walk stopped. */
	if (x.werr.len) {
		struct buf mine = BUF_INIT;
		buf_add(&mine, err->data, err->len);
		buf_reset(err);
		buf_add(err, x.werr.data, x.werr.len);
		if (mine.len && (!x.stop || rc != x.stop))
			buf_add(err, mine.data, mine.len);
		buf_release(&mine);
	}
	if (!rc)
		rc = x.first_rc;
	if (!rc && o->prune) {
		rc = dirwalk(x.root, prune_one, &x, err);
		if (!rc)
			rc = dirwalk_remove_empty(x.root, err);
	} else if (!rc) {
		rc = dirwalk(x.root, sweep_one, &x, err);
	}
	/* Sync even after a failure: what was written should be durable. */
	if ((stats->written || stats->pruned || stats->stale) && !o->scratch) {
		int r = sync_all(&x, err);
		if (!rc)
			rc = r;
	}
out:
	progress_done(&x.prog);
	pthread_mutex_destroy(&x.mu);
	pthread_cond_destroy(&x.more);
	pthread_cond_destroy(&x.room);
	buf_release(&x.werr);
	close(x.root);
	strset_release(&x.paths);
	strset_release(&x.dirs);
	strset_release(&x.dirty);
	strset_release(&x.fresh);
	buf_release(&x.tmp);
	buf_release(&x.jerr);
	return rc;
}
