/*
 * watch.c - live updates: the mount follows the application's commits.
 *
 * The application writes the database from other processes; the triggers
 * of the change journal (backend/journal.h) record every row it touches.
 * One thread, with its own read-write connection (a SQLite connection
 * serves one thread at a time; the request threads use the read-only
 * pool in fs.c), polls PRAGMA data_version every 100 ms. When another
 * connection committed, it runs journal_apply(), which renders the files
 * those rows live in, records new mtimes for those whose bytes changed
 * and reports them. Then, in this order:
 *
 *   1. after journal_apply() committed: drop each changed file from the
 *      render cache, so the next stat or read renders it again and reads
 *      its new mtime (dropping earlier would let a request re-cache the
 *      new bytes with the old, not yet committed, mtime);
 *   2. tell the kernel, holding no lock at all: the kernel may call back
 *      into the daemon while it handles a notification (a lookup holding
 *      the folder's lock waits for our reply), so a lock a request handler
 *      also takes - the connection pool, the cache, the inode table, the
 *      database's write lock - must not be held here. Changes are
 *      collected during journal_apply() and notified after it returned.
 *      A file a reader is pinned on (pins.c: a big file being read) is
 *      notified when the reader is done, at most 500 ms later.
 *
 * What the kernel is told, per changed file (entry and attribute timeouts
 * are long, so this is what makes a change visible):
 *   - a file the kernel holds (its inode is in the inode table): its
 *     attributes and cached pages are invalid (inval_inode);
 *   - a file that appeared, disappeared, or that the kernel does not hold
 *     (it may have a negative entry, or a listing without it): its entry in
 *     its folder and the folder's cached listing are invalid (inval_entry,
 *     inval_inode on the folder); then the same one level up as long as
 *     the folder itself is new to the kernel or gone (a new month folder
 *     prayers/2026/07, a year folder emptied by a delete).
 * Notifications about things the kernel does not cache fail with ENOENT;
 * that is expected and ignored.
 *
 * A failed apply (SQLITE_BUSY while the application holds its write lock
 * longer than the busy timeout, say) is logged once and retried on every
 * tick until it succeeds; the thread never ends the daemon.
 *
 * Thread state: running -> stop requested (watch_stop sets `stop` and
 * signals) -> the loop sees it within one tick -> joined -> connection
 * closed.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fs.h"
#include "archive.h"
#include "journal.h"

#define TICK_NS 100000000L   /* 100 ms */

struct watch {
	struct fs *fs;
	struct fuse_session *se;
	struct store *s;          /* read-write, this thread's alone */
	struct layout l;
	pthread_t thread;
	int started;

	pthread_mutex_t mu;       /* guards stop; cv wakes the thread to stop */
	pthread_cond_t cv;
	int stop;

	int64_t version;          /* data_version last applied */
	int64_t schema_version;   /* the schema the layout was bound to */
	int reopened;             /* follow_schema() set version from a new connection */
	int failing;              /* the last tick failed: retry, logged once */
	int seeding;              /* the tree is not recorded yet (journal_seed) */

	struct fs_changes changed;   /* collected by journal_apply's callback */
	int nomem;                   /* a change could not be recorded */

	/* --sync-dir (fs->sync): the whole folder is reconciled (sync_all)
	 * once the tree is recorded, and again after any failure, at most
	 * every SYNC_RETRY_NS; between, each apply writes the files it
	 * reports. */
	int sync_all_due;
	int sync_failing;
	struct timespec sync_next;
};

#define SYNC_RETRY_NS 1000000000L   /* 1 s */

static void collect(void *ctx, const char *path, int64_t mtime_ns, int exists)
{
	struct watch *w = ctx;

	(void)mtime_ns;   /* read again with the next rendering */
	if (fs_changes_add(&w->changed, path, exists))
		w->nomem = 1;
}

static void changes_clear(struct watch *w)
{
	fs_changes_clear(&w->changed);
	w->nomem = 0;
}

/* Invalidate `name` in folder `dir` and dir's listing, if the kernel
 * holds dir. No lock is held by the caller. */
static void notify_entry(struct watch *w, const char *dir, const char *name)
{
	fuse_ino_t pino = inodes_hash(dir);

	if (!inodes_known(w->fs->inodes, pino))
		return;
	fuse_lowlevel_notify_inval_entry(w->se, pino, name, strlen(name));
	fuse_lowlevel_notify_inval_inode(w->se, pino, 0, 0);
}

static void notify_change(struct watch *w, const char *path, int exists)
{
	struct buf p = BUF_INIT, err = BUF_INIT;
	fuse_ino_t ino = inodes_hash(path);
	int known = inodes_known(w->fs->inodes, ino);

	if (known)
		fuse_lowlevel_notify_inval_inode(w->se, ino, 0, 0);
	if (known && exists)
		return;   /* changed in place: its folder is as it was */
	buf_addstr(&p, path);
	for (;;) {
		char *slash = strrchr(p.data, '/');
		const char *dir = slash ? p.data : "";
		const char *name = slash ? slash + 1 : p.data;
		struct journal_file jf;
		int is_dir;

		if (slash)
			*slash = '\0';
		notify_entry(w, dir, name);
		if (!*dir)
			break;
		/* Go on up while the folder itself is new to the kernel or gone
		 * (the records are current here: one indexed query). */
		is_dir = journal_lookup(w->s, dir, &jf, &err) == 2;
		if (is_dir && inodes_known(w->fs->inodes, inodes_hash(dir)))
			break;
		buf_reset(&err);
		buf_truncate(&p, strlen(p.data));
	}
	buf_release(&p);
	buf_release(&err);
}

/* Step 1 and 2 of the file comment, for everything collected. A file a
 * reader is pinned on (pins.c) is told to the kernel later, by
 * release_pins(). */
static void publish(struct watch *w, int notify)
{
	const struct fs_changes *c = &w->changed;

	for (size_t i = 0; i < c->n; i++)
		rcache_drop(w->fs->cache, c->v[i].path);
	for (size_t i = 0; i < c->n; i++)
		if (!pins_supersede(w->fs->pins, c->v[i].path, c->v[i].exists) && notify)
			notify_change(w, c->v[i].path, c->v[i].exists);
	changes_clear(w);
}

/* Tell the kernel about changed files whose readers are done. */
static void release_pins(struct watch *w)
{
	struct pins_released r[16];
	size_t n;

	do {
		n = pins_expire(w->fs->pins, r, 16);
		for (size_t i = 0; i < n; i++) {
			notify_change(w, r[i].path, r[i].exists);
			free(r[i].path);
		}
	} while (n == 16);
}

static void sync_failed(struct watch *w, int rc, const struct buf *err)
{
	if (!w->sync_failing) {
		struct buf line = BUF_INIT, e = BUF_INIT;
		char when[40];
		fuse_log(FUSE_LOG_ERR, "archivefs: sync to %s failed, retrying every"
			 " second (the folder keeps the old bytes of what it could not"
			 " write): %s: %s\n", sync_dir(w->fs->sync), strerror(-rc),
			 err->data);
		fs_status_now(when, sizeof(when));
		buf_addf(&line, "%s SYNC %s: %s: %s (retrying every second)\n", when,
			 sync_dir(w->fs->sync), strerror(-rc), err->data);
		fs_status_note(w->fs, line.data);
		if (journal_set_sync_error(w->s, -rc, &e))
			fuse_log(FUSE_LOG_WARNING, "archivefs: cannot record the sync"
				 " failure for archivefs status: %s\n", e.data);
		buf_release(&line);
		buf_release(&e);
	}
	w->sync_failing = 1;
	w->sync_all_due = 1;   /* heal by a whole pass */
	clock_gettime(CLOCK_MONOTONIC, &w->sync_next);
	w->sync_next.tv_sec += SYNC_RETRY_NS / 1000000000L;
}

/* Write the files the last apply reported into the sync folder, durably. */
static void sync_changed(struct watch *w)
{
	struct buf err = BUF_INIT;
	int rc = 0;

	for (size_t i = 0; !rc && i < w->changed.n; i++)
		rc = sync_file(w->fs->sync, w->s, &w->l, w->changed.v[i].path, &err);
	if (!rc)
		rc = sync_flush(w->fs->sync, &err);
	if (rc)
		sync_failed(w, rc, &err);
	buf_release(&err);
}

/* The whole folder, when due (at start and after failures). */
static void sync_whole(struct watch *w)
{
	struct buf err = BUF_INIT;
	struct export_stats st;
	struct timespec now, t0;
	int rc;

	clock_gettime(CLOCK_MONOTONIC, &now);
	if (w->sync_failing && (now.tv_sec < w->sync_next.tv_sec ||
				(now.tv_sec == w->sync_next.tv_sec &&
				 now.tv_nsec < w->sync_next.tv_nsec)))
		return;
	t0 = now;
	rc = sync_all(w->fs->sync, w->s, &w->l, &st, &err);
	if (rc) {
		sync_failed(w, rc, &err);
	} else {
		if (w->sync_failing) {
			char when[40];
			struct buf line = BUF_INIT;
			fs_status_now(when, sizeof(when));
			buf_addf(&line, "%s SYNC %s: caught up\n", when, sync_dir(w->fs->sync));
			fs_status_note(w->fs, line.data);
			buf_release(&line);
		}
		buf_reset(&err);
		if (journal_set_sync_error(w->s, 0, &err))
			fuse_log(FUSE_LOG_WARNING, "archivefs: cannot record the sync state"
				 " for archivefs status: %s\n", err.data);
		clock_gettime(CLOCK_MONOTONIC, &now);
		fuse_log(FUSE_LOG_NOTICE, "archivefs: %s: %s in %.1f s: %ld written,"
			 " %ld retimed, %ld removed, %ld unchanged\n", sync_dir(w->fs->sync),
			 w->sync_failing ? "caught up" : "in sync",
			 (double)(now.tv_sec - t0.tv_sec) + (now.tv_nsec - t0.tv_nsec) / 1e9,
			 st.written, st.retimed, st.pruned, st.unchanged);
		w->sync_failing = 0;
		w->sync_all_due = 0;
	}
	buf_release(&err);
}

/* Apply the journal and publish what changed; 0 or -errno (reason in err). */
/* Hand what was collected to the sync folder, the caches and the kernel. */
static void deliver(struct watch *w, int notify)
{
	if (w->nomem) {
		/* Some changed file is unknown: drop every cached rendering. A
		 * kernel that keeps an old page is then possible; say so. */
		fuse_log(FUSE_LOG_WARNING, "archivefs: live updates: out of memory;"
			 " some changes may show only after a remount\n");
		rcache_drop_all(w->fs->cache);
	}
	if (w->fs->sync && !w->sync_all_due && w->changed.n)
		sync_changed(w);
	publish(w, notify);
}

static int apply(struct watch *w, int notify, struct buf *err)
{
	long applied = 0;
	int rc = journal_apply(w->s, &w->l, collect, w, &applied, err);

	/* Even after a failure: what was reported may have changed, and
	 * dropping or invalidating too much is only slower. */
	deliver(w, notify);
	return rc;
}

/*
 * The application changed the schema (a migration): follow it. The
 * watcher's connection reopens on the new schema and binds the new layout;
 * the change journal's triggers are installed again (a table dropped and
 * recreated lost them; a new table has none) with their indexes; the
 * mount's connections follow at their next use (fs->schema_gen); and the
 * whole tree is recorded again (journal_rescan), since a new column
 * changes every file of its table without a journal row: those files get
 * the migration's time and are reported like any change. 0 when nothing
 * changed or all is done.
 */
static int follow_schema(struct watch *w, struct buf *err)
{
	struct store *s = NULL;
	struct layout l;
	int64_t v;
	size_t n;
	int rc = store_schema_version(w->s, &v, err);

	if (rc || v == w->schema_version)
		return rc;
	rc = store_open(store_path(w->s), STORE_RDWR, &s, err);
	if (!rc)
		rc = layout_bind(&l, store_schema(s), err);
	if (rc) {
		if (s)
			store_close(s);
		return rc;
	}
	layout_release(&w->l);
	store_close(w->s);
	w->s = s;
	w->l = l;
	/* data_version counts per connection: the new one's, read before the
	 * work below, so a commit made meanwhile is seen at the next tick */
	rc = store_data_version(w->s, &w->version, err);
	if (rc)
		return rc;
	w->reopened = 1;
	rc = journal_install(w->s, &w->l, err);
	if (!rc)
		rc = archive_install_indexes(w->s, &w->l, err);
	if (!rc)
		rc = store_schema_version(w->s, &w->schema_version, err);
	if (rc)
		return rc;
	__atomic_add_fetch(&w->fs->schema_gen, 1, __ATOMIC_ACQ_REL);
	rcache_drop_all(w->fs->cache);
	/* rows the migration's own statements changed, then the rest */
	rc = apply(w, 1, err);
	if (!rc)
		rc = journal_rescan(w->s, &w->l, collect, w, &w->stop, err);
	n = w->changed.n;
	deliver(w, 1);
	if (!rc)
		fuse_log(FUSE_LOG_NOTICE, "archivefs: the schema changed: following it"
			 " (%zu files changed)\n", n);
	return rc;
}

static void tick(struct watch *w)
{
	struct buf err = BUF_INIT;
	int64_t v;
	struct fs_changes ahead;
	/* Taken before looking at the version: what those reads saw was
	 * committed before, so the apply below covers it. */
	fs_take_ahead(w->fs, &ahead);
	int rc = store_data_version(w->s, &v, &err);

	release_pins(w);
	if (!rc && v == w->version && !w->failing)
		goto out;   /* nobody committed */
	if (!rc)
		rc = follow_schema(w, &err);
	if (!rc)
		rc = apply(w, 1, &err);
	if (rc) {
		if (!w->failing)
			fuse_log(FUSE_LOG_WARNING, "archivefs: live updates: cannot apply"
				 " the change journal, retrying every 100 ms: %s: %s\n",
				 strerror(-rc), err.data);
		w->failing = 1;
		goto out;
	}
	if (w->failing)
		fuse_log(FUSE_LOG_NOTICE, "archivefs: live updates: journal applied again\n");
	w->failing = 0;
	if (!w->reopened)
		w->version = v;   /* (else set from the new connection) */
	w->reopened = 0;
out:
	if (!w->failing) {
		/* The records now describe what those reads saw, or newer. */
		for (size_t i = 0; i < ahead.n; i++) {
			const struct fs_change *c = &ahead.v[i];
			rcache_drop(w->fs->cache, c->path);
			if (!pins_supersede(w->fs->pins, c->path, c->exists))
				notify_change(w, c->path, c->exists);
		}
	} else {
		/* Retried with the next successful apply: put them back. */
		for (size_t i = 0; i < ahead.n; i++)
			fs_mark_changed(w->fs, ahead.v[i].path, ahead.v[i].exists);
	}
	fs_changes_release(&ahead);
	buf_release(&err);
}

/*
 * Record the tree (a database mounted for the first time), then apply what
 * the application committed meanwhile, then turn on serving from the
 * records. Until then the mount answers by rendering (fs.c). 0 when done;
 * a failure is logged once and retried on the next tick.
 */
static int seed(struct watch *w)
{
	struct buf err = BUF_INIT;
	struct timespec t0, t1;
	int rc;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	/* Indexes first: they make each file's rendering read only its rows. */
	rc = archive_install_indexes(w->s, &w->l, &err);
	if (!rc)
		rc = journal_seed(w->s, &w->l, &w->stop, &err);
	if (!rc)
		rc = store_data_version(w->s, &w->version, &err);
	if (!rc)   /* the indexes changed it */
		rc = store_schema_version(w->s, &w->schema_version, &err);
	if (!rc)
		rc = apply(w, 1, &err);
	if (rc == -ECANCELED) {   /* unmounting: the next mount goes on */
		buf_release(&err);
		return rc;
	}
	if (rc) {
		if (!w->failing)
			fuse_log(FUSE_LOG_WARNING, "archivefs: live updates: cannot record"
				 " the tree yet, retrying: %s: %s\n", strerror(-rc), err.data);
		w->failing = 1;
		buf_release(&err);
		return rc;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	w->failing = 0;
	w->seeding = 0;
	fs_set_live(w->fs);
	fuse_log(FUSE_LOG_NOTICE, "archivefs: tree recorded in %.1f s: live updates on\n",
		 (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9);
	buf_release(&err);
	return 0;
}

static void *run(void *arg)
{
	struct watch *w = arg;
	struct timespec at;

	pthread_mutex_lock(&w->mu);
	while (!w->stop) {
		clock_gettime(CLOCK_MONOTONIC, &at);
		at.tv_nsec += TICK_NS;
		if (at.tv_nsec >= 1000000000L) {
			at.tv_sec++;
			at.tv_nsec -= 1000000000L;
		}
		while (!w->stop && pthread_cond_timedwait(&w->cv, &w->mu, &at) != ETIMEDOUT)
			;
		if (w->stop)
			break;
		pthread_mutex_unlock(&w->mu);
		if (w->seeding)
			seed(w);
		else
			tick(w);
		if (w->fs->sync && __atomic_exchange_n(&w->fs->sync_lost, 0, __ATOMIC_ACQ_REL))
			w->sync_all_due = 1;
		if (!w->seeding && w->fs->sync && w->sync_all_due && !w->failing)
			sync_whole(w);
		pthread_mutex_lock(&w->mu);
	}
	pthread_mutex_unlock(&w->mu);
	/* Unmounting: what the application committed since the last tick
	 * still goes to the records and the sync folder. */
	if (!w->seeding) {
		tick(w);
		if (w->fs->sync && w->sync_all_due && !w->failing)
			sync_whole(w);
	}
	return NULL;
}

static void watch_free(struct watch *w)
{
	fs_changes_release(&w->changed);
	if (w->s) {
		layout_release(&w->l);
		store_close(w->s);
	}
	pthread_cond_destroy(&w->cv);
	pthread_mutex_destroy(&w->mu);
	free(w);
}

int watch_start(struct fs *fs, struct fuse_session *se, const char *db,
		struct watch **out, struct buf *err)
{
	struct watch *w = calloc(1, sizeof(*w));
	pthread_condattr_t ca;
	int rc;

	*out = NULL;
	if (!w) {
		buf_addstr(err, "out of memory");
		return -ENOMEM;
	}
	w->fs = fs;
	w->se = se;
	w->sync_all_due = fs->sync != NULL;
	pthread_mutex_init(&w->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&w->cv, &ca);
	pthread_condattr_destroy(&ca);

	rc = store_open(db, STORE_RDWR, &w->s, err);
	if (rc)
		goto fail;
	rc = layout_bind(&w->l, store_schema(w->s), err);
	if (rc) {
		store_close(w->s);
		w->s = NULL;
		goto fail;
	}
	rc = journal_seeded(w->s, err);
	if (rc < 0)
		goto fail;
	w->seeding = !rc;
	/* Indexes exist after the first mount: this is a quick check then
	 * (a table added since gets its own). */
	if (!w->seeding && (rc = archive_install_indexes(w->s, &w->l, err)))
		goto fail;
	/* The version first: a commit during the catch-up is seen next tick. */
	rc = store_data_version(w->s, &w->version, err);
	if (!rc)
		rc = store_schema_version(w->s, &w->schema_version, err);
	if (rc)
		goto fail;
	/* Catch up with changes made while unmounted, before serving, so the
	 * first stat already has the right mtimes. The kernel caches nothing
	 * yet: no notifications. A failure is retried by the thread. A tree
	 * never recorded is recorded by the thread (seed()), while the mount
	 * already serves by rendering: mounting stays instant. */
	if (!w->seeding) {
		if (apply(w, 0, err)) {
			fuse_log(FUSE_LOG_WARNING, "archivefs: live updates: cannot apply the"
				 " change journal yet, retrying every 100 ms: %s\n", err->data);
			buf_reset(err);
			w->failing = 1;
		}
		fs_set_live(fs);
	}
	rc = -pthread_create(&w->thread, NULL, run, w);
	if (rc) {
		buf_addf(err, "cannot start the watcher thread: %s", strerror(-rc));
		goto fail;
	}
	w->started = 1;
	*out = w;
	return 0;
fail:
	watch_free(w);
	return rc;
}

void watch_stop(struct watch *w)
{
	if (!w)
		return;
	if (w->started) {
		pthread_mutex_lock(&w->mu);
		__atomic_store_n(&w->stop, 1, __ATOMIC_RELAXED);   /* also read by seed() */
		pthread_cond_signal(&w->cv);
		pthread_mutex_unlock(&w->mu);
		pthread_join(w->thread, NULL);
	}
	watch_free(w);
}
