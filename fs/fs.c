/*
 * fs.c - the mounted tree: a pool of read-only connections, and what a
 * tree path is (stat), holds (read) and lists (folders).
 *
 * A path is a file when archive_render_file() renders it (its exact size
 * is needed anyway, and the rendering is cached for the reads that
 * follow), else a folder when tree_is_dir() says so, else nothing. Modes
 * are exactly the export's, so `diff -r` and `rsync -a` against an export
 * match: files as rendered (0644, 0600 for bearer secrets), folders by
 * layout_folder_mode().
 *
 * Times: see struct fs. A file's mtime is read with its rendering and
 * cached with it, so getattr costs no query while the file is cached.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "archive.h"
#include "fs.h"
#include "journal.h"
#include "names.h"
#include "save.h"
#include "tree.h"

/*
 * Rendered files kept by the daemon. The kernel keeps pages itself
 * (keep_cache) and stat is answered from the journal's records, so this
 * cache mostly spares a re-render between the 128 KB reads of one file:
 * a small one does, and keeps the daemon well under 64 MB.
 */
#define RCACHE_BYTES ((size_t)8 << 20)

/*
 * SQLite's page cache per pooled connection, KiB. The operating system
 * caches the database file anyway; a small cache per connection keeps
 * the daemon's memory flat however many files are read.
 */
#define CONN_CACHE_KIB 1024

/* Renderings pinned for readers of big files (pins.c). */
#define PINS_BYTES ((size_t)8 << 20)

/* What the kernel asks for at most in one read request. */
#define READ_MAX ((size_t)128 << 10)

int fs_check_db(const char *db, struct buf *err)
{
	struct store *s;
	struct layout l;
	int rc = store_open(db, STORE_RDONLY, &s, err);

	if (rc)
		return rc;
	rc = layout_bind(&l, store_schema(s), err);
	if (!rc)
		layout_release(&l);
	store_close(s);
	return rc;
}

int fs_open(struct fs *fs, const char *db, int nconns,
	    const struct timespec *time, struct buf *err)
{
	int rc = 0;

	memset(fs, 0, sizeof(*fs));
	pthread_mutex_init(&fs->mu, NULL);
	pthread_cond_init(&fs->cv, NULL);
	pthread_mutex_init(&fs->ahead_mu, NULL);
	pthread_mutex_init(&fs->wr_mu, NULL);
	pthread_mutex_init(&fs->edit_mu, NULL);
	pthread_mutex_init(&fs->readers_mu, NULL);
	fs->uid = getuid();
	fs->gid = getgid();
	fs->time = *time;
	/* Long timeouts: a change is pushed to the kernel by watch.c. */
	fs->timeout = 3600.0;
	fs->inodes = inodes_new();
	fs->cache = rcache_new(RCACHE_BYTES);
	fs->pins = pins_new(PINS_BYTES);
	fs->conns = calloc((size_t)nconns, sizeof(*fs->conns));
	if (!fs->inodes || !fs->cache || !fs->pins || !fs->conns) {
		buf_addstr(err, "out of memory");
		fs_release(fs);
		return -ENOMEM;
	}
	for (; fs->nconns < nconns; fs->nconns++) {
		struct fs_conn *c = &fs->conns[fs->nconns];
		rc = store_open(db, STORE_RDONLY, &c->s, err);
		if (rc)
			break;
		rc = store_set_pragma_int(c->s, "cache_size", -CONN_CACHE_KIB, err);
		if (!rc)
			rc = layout_bind(&c->l, store_schema(c->s), err);
		if (rc) {
			store_close(c->s);
			break;
		}
	}
	if (!rc && journal_installed(fs->conns[0].s) == 1) {
		int64_t ns;
		rc = journal_installed_at(fs->conns[0].s, &ns, err);
		if (!rc) {
			fs->journal = 1;
			fs->time.tv_sec = (time_t)(ns / 1000000000);
			fs->time.tv_nsec = (long)(ns % 1000000000);
		}
	}
	if (rc)
		fs_release(fs);
	return rc;
}

void fs_release(struct fs *fs)
{
	for (int i = 0; i < fs->nconns; i++) {
		layout_release(&fs->conns[i].l);
		store_close(fs->conns[i].s);
	}
	free(fs->conns);
	inodes_free(fs->inodes);
	rcache_free(fs->cache);
	pins_free(fs->pins);
	fs_changes_release(&fs->ahead);
	pthread_mutex_destroy(&fs->ahead_mu);
	fs_close_writer(fs);
	pthread_mutex_destroy(&fs->edit_mu);
	pthread_mutex_destroy(&fs->readers_mu);
	pthread_mutex_destroy(&fs->wr_mu);
	pthread_cond_destroy(&fs->cv);
	pthread_mutex_destroy(&fs->mu);
	memset(fs, 0, sizeof(*fs));
}

/* Reopen c on the schema the application migrated to (c is ours). On
 * failure the old binding stays, logged, and is tried again next time. */
static void conn_refresh(struct fs *fs, struct fs_conn *c)
{
	int gen = __atomic_load_n(&fs->schema_gen, __ATOMIC_ACQUIRE);
	struct buf err = BUF_INIT;
	struct store *s = NULL;
	struct layout l;
	int rc = store_open(store_path(c->s), STORE_RDONLY, &s, &err);

	if (!rc)
		rc = store_set_pragma_int(s, "cache_size", -CONN_CACHE_KIB, &err);
	if (!rc)
		rc = layout_bind(&l, store_schema(s), &err);
	if (rc) {
		fuse_log(FUSE_LOG_ERR, "archivefs: cannot follow the new schema: %s\n",
			 err.data);
		if (s)
			store_close(s);
	} else {
		layout_release(&c->l);
		store_close(c->s);
		c->s = s;
		c->l = l;
		c->gen = gen;
	}
	buf_release(&err);
}

static struct fs_conn *conn_get(struct fs *fs)
{
	struct fs_conn *c = NULL;

	pthread_mutex_lock(&fs->mu);
	for (;;) {
		for (int i = 0; i < fs->nconns && !c; i++)
			if (!fs->conns[i].busy)
				c = &fs->conns[i];
		if (c)
			break;
		pthread_cond_wait(&fs->cv, &fs->mu);
	}
	c->busy = 1;
	pthread_mutex_unlock(&fs->mu);
	if (c->gen != __atomic_load_n(&fs->schema_gen, __ATOMIC_ACQUIRE))
		conn_refresh(fs, c);
	return c;
}

static void conn_put(struct fs *fs, struct fs_conn *c)
{
	pthread_mutex_lock(&fs->mu);
	c->busy = 0;
	pthread_cond_signal(&fs->cv);
	pthread_mutex_unlock(&fs->mu);
}

static void log_error(const char *what, const char *path, int rc, struct buf *err)
{
	fuse_log(FUSE_LOG_ERR, "archivefs: %s '%s': %s%s%s\n", what, path,
		 strerror(-rc), err->len ? ": " : "", err->data);
}

static int64_t ts_ns(const struct timespec *t)
{
	return (int64_t)t->tv_sec * 1000000000 + t->tv_nsec;
}

/*
 * Render path into out and the cache, with its mtime. 0 (out, *mode and
 * *mtime_ns set); -ENOENT when no row renders to it; another -errno
 * (logged) when rendering failed. The cache generation is read first (to
 * *genp): a change applied meanwhile keeps this rendering out of the
 * cache. *stale = 1 when the records (what stat told the kernel) give a
 * smaller size: the application committed since the watcher last applied
 * the journal, and the kernel would cut these bytes at the old size. (A
 * smaller rendering needs nothing: the kernel trims its size itself when
 * a read comes back short.) *ahead = 1 when the records describe other
 * bytes at all (see fs->ahead).
 */
static int render(struct fs *fs, const char *path, struct buf *out, unsigned *mode,
		  int64_t *mtime_ns, uint64_t *genp, int *stale, int *ahead)
{
	struct buf err = BUF_INIT;
	uint64_t gen = rcache_gen(fs->cache);
	struct fs_conn *c = conn_get(fs);
	/* Bytes and record from one snapshot. */
	int rc = store_begin(c->s, 0, &err);

	*stale = *ahead = 0;
	if (!rc)
		rc = archive_render_file(c->s, &c->l, path, out, mode, &err);
	*mtime_ns = ts_ns(&fs->time);   /* the install time: never recorded */
	if (!rc && fs->journal) {
		struct journal_file jf;
		int live = fs_live(fs);
		rc = journal_lookup(c->s, path, &jf, &err);
		if (rc == 1) {
			*mtime_ns = jf.mtime_ns;
			*stale = live && jf.size < (int64_t)out->len;
			*ahead = live && (jf.size != (int64_t)out->len ||
					  jf.hash != names_hash(out->data, out->len));
		} else if (rc >= 0) {
			*stale = *ahead = live;
		}
		if (rc < 0)
			log_error("cannot read the record of", path, rc, &err);
		else
			rc = 0;
	}
	store_rollback(c->s);
	conn_put(fs, c);
	if (!rc)
		rcache_put(fs->cache, gen, path, out->data, out->len, *mode, *mtime_ns);
	else if (rc != -ENOENT)
		log_error("cannot render", path, rc, &err);
	if (genp)
		*genp = gen;
	buf_release(&err);
	return rc;
}

/* atime = ctime = mtime: never now(), never 0, never changed by a read,
 * so rsync and make see a stable tree. */
static void fill_times(struct stat *st, int64_t mtime_ns)
{
	if (mtime_ns <= 0)   /* a bad journal row: still never 0 */
		mtime_ns = 1000000000;
	st->st_mtim.tv_sec = (time_t)(mtime_ns / 1000000000);
	st->st_mtim.tv_nsec = (long)(mtime_ns % 1000000000);
	st->st_atim = st->st_mtim;
	st->st_ctim = st->st_mtim;
}

/* A folder's attributes (c: a connection for its mode). */
static void fill_dir(struct fs *fs, struct fs_conn *c, const char *path,
		     struct stat *st)
{
	unsigned mode = layout_folder_mode(&c->l, path, strlen(path));

	fill_times(st, ts_ns(&fs->time));
	st->st_mode = S_IFDIR | (mode & 07777);
	st->st_nlink = 2;
	st->st_size = 4096;
	st->st_blocks = 8;
}

static void fill_file(struct stat *st, size_t len, unsigned mode, int64_t mtime_ns)
{
	fill_times(st, mtime_ns);
	st->st_mode = S_IFREG | (mode & 07777);
	st->st_nlink = 1;
	st->st_size = (off_t)len;
	st->st_blocks = (blkcnt_t)((len + 511) / 512);
}

static void stat_init(struct fs *fs, const char *path, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = inodes_hash(path);
	st->st_uid = fs->uid;
	st->st_gid = fs->gid;
	st->st_blksize = 4096;
}

/* A broken record (no size): logged, and the file is unusable. */
static int bad_record(const char *path)
{
	fuse_log(FUSE_LOG_ERR, "archivefs: the record of '%s' has no size;"
		 " remount to rebuild it\n", path);
	return -EIO;
}

int fs_stat(struct fs *fs, const char *path, struct stat *st)
{
	struct buf out = BUF_INIT, err = BUF_INIT;
	struct fs_conn *c;
	size_t len;
	unsigned mode;
	int64_t mtime_ns = 0;
	int rc, stale, ahead;

	stat_init(fs, path, st);
	if (!*path) {
		c = conn_get(fs);
		fill_dir(fs, c, path, st);
		conn_put(fs, c);
		return 0;
	}
	/* What readers are served first: a pinned rendering, a cached one
	 * (both may be newer than the records for a moment), the records. */
	if (pins_stat(fs->pins, path, &len, &mode, &mtime_ns) ||
	    rcache_get(fs->cache, path, 0, 0, NULL, &len, &mode, &mtime_ns)) {
		fill_file(st, len, mode, mtime_ns);
		return 0;
	}
	c = conn_get(fs);
	if (fs_live(fs)) {
		/* The records are the tree (journal.h): one indexed query,
		 * nothing rendered, for find, ls -l and du. */
		struct journal_file jf;
		rc = journal_lookup(c->s, path, &jf, &err);
		if (rc == 1 && jf.size < 0)
			rc = bad_record(path);
		else if (rc == 1)
			fill_file(st, (size_t)jf.size, jf.mode, jf.mtime_ns);
		else if (rc == 2)
			fill_dir(fs, c, path, st);
		else if (rc == 0)
			rc = -ENOENT;
		else
			log_error("cannot look up", path, rc, &err);
		conn_put(fs, c);
		buf_release(&err);
		return rc < 0 ? rc : 0;
	}
	conn_put(fs, c);
	rc = render(fs, path, &out, &mode, &mtime_ns, NULL, &stale, &ahead);
	len = out.len;
	buf_release(&out);
	if (!rc) {
		fill_file(st, len, mode, mtime_ns);
		return 0;
	}
	if (rc != -ENOENT)
		return rc;
	c = conn_get(fs);
	rc = tree_is_dir(c->s, &c->l, path, &err);
	if (rc == 1)
		fill_dir(fs, c, path, st);
	conn_put(fs, c);
	if (rc < 0)
		log_error("cannot look up", path, rc, &err);
	buf_release(&err);
	return rc < 0 ? rc : rc ? 0 : -ENOENT;
}

int fs_changes_add(struct fs_changes *c, const char *path, int exists)
{
	char *p;

	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 16;
		struct fs_change *v = realloc(c->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		c->v = v;
		c->cap = cap;
	}
	p = strdup(path);
	if (!p)
		return -ENOMEM;
	c->v[c->n].path = p;
	c->v[c->n++].exists = exists;
	return 0;
}

void fs_changes_clear(struct fs_changes *c)
{
	for (size_t i = 0; i < c->n; i++)
		free(c->v[i].path);
	c->n = 0;
}

void fs_changes_release(struct fs_changes *c)
{
	fs_changes_clear(c);
	free(c->v);
	memset(c, 0, sizeof(*c));
}

void fs_mark_changed(struct fs *fs, const char *path, int exists)
{
	int rc;

	pthread_mutex_lock(&fs->ahead_mu);
	rc = fs_changes_add(&fs->ahead, path, exists);
	pthread_mutex_unlock(&fs->ahead_mu);
	if (rc)
		fuse_log(FUSE_LOG_WARNING, "archivefs: out of memory: '%s' may show"
			 " old bytes until it changes again\n", path);
}

void fs_take_ahead(struct fs *fs, struct fs_changes *out)
{
	pthread_mutex_lock(&fs->ahead_mu);
	*out = fs->ahead;
	memset(&fs->ahead, 0, sizeof(fs->ahead));
	pthread_mutex_unlock(&fs->ahead_mu);
}

int fs_read(struct fs *fs, const char *path, off_t off, size_t size,
	    struct buf *out, int *raced)
{
	struct buf r = BUF_INIT;
	size_t len;
	unsigned mode;
	int64_t mtime_ns = 0;
	uint64_t gen = rcache_gen(fs->cache);
	int rc, stale = 0, ahead = 0;

	*raced = 0;
	if (off < 0)
		return -EINVAL;
	if (pins_read(fs->pins, path, off, size, out))
		return 0;
	if (rcache_get(fs->cache, path, 0, 0, NULL, &len, &mode, &mtime_ns)) {
		if (len <= READ_MAX) {   /* read whole in one request: no pin */
			if (rcache_get(fs->cache, path, off, size, out, &len, &mode,
				       &mtime_ns))
				return 0;
		} else if (rcache_get(fs->cache, path, 0, len, &r, &len, &mode,
				      &mtime_ns)) {
			rc = 0;
			goto serve;
		}
		buf_reset(&r);   /* dropped meanwhile: render */
	}
	rc = render(fs, path, &r, &mode, &mtime_ns, &gen, &stale, &ahead);
	*raced = !rc && rcache_gen(fs->cache) != gen;
	if (!rc && ahead)
		fs_mark_changed(fs, path, 1);
	/*
	 * Longer bytes than the size the kernel was given (the watcher has
	 * not applied the commit yet): make the kernel ask for the size
	 * again - it then gets these bytes' (from the cache or the pin, see
	 * fs_stat) - so the reader gets all of them, not a cut. Attributes
	 * only (offset -1): no page lock is involved, which makes this safe
	 * inside a read.
	 */
	if (!rc && stale && fs->se)
		fuse_lowlevel_notify_inval_inode(fs->se, inodes_hash(path), -1, 0);
serve:
	if (!rc && (size_t)off < r.len)
		buf_add(out, r.data + off,
			size < r.len - (size_t)off ? size : r.len - (size_t)off);
	/* More requests will follow for this file: they get these bytes. */
	if (!rc && r.len > READ_MAX)
		pins_add(fs->pins, fs->cache, gen, path, &r, mode, mtime_ns);
	buf_release(&r);
	return rc == -ENOENT ? -ESTALE : rc;
}

enum path_kind fs_classify(struct fs *fs, const char *path, unsigned *file_mode)
{
	struct fs_conn *c = conn_get(fs);
	struct home *h;
	enum path_kind k = layout_classify(&c->l, path, &h);

	if (k == PATH_CANONICAL && file_mode)
		*file_mode = layout_file_mode(h);
	conn_put(fs, c);
	return k;
}

int fs_render(struct fs *fs, const char *path, struct buf *out, unsigned *mode,
	      int64_t *mtime_ns)
{
	int stale, ahead, rc = render(fs, path, out, mode, mtime_ns, NULL, &stale, &ahead);

	if (!rc && ahead)
		fs_mark_changed(fs, path, 1);   /* stat may lag: see fs->ahead */
	return rc;
}

void fs_join(struct buf *out, const char *parent, const char *name)
{
	buf_reset(out);
	if (*parent) {
		buf_addstr(out, parent);
		buf_addch(out, '/');
	}
	buf_addstr(out, name);
}

/* scratch_list() callback: keep a snapshot of each scratch entry. */
static int scratch_entry(void *ctx, const char *name, const struct stat *st)
{
	struct fs_dir *d = ctx;
	struct fs_dir_scratch *v;

	if (d->nscratch == d->capscratch) {
		size_t cap = d->capscratch ? d->capscratch * 2 : 8;
		v = realloc(d->scratch, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		d->scratch = v;
		d->capscratch = cap;
	}
	v = &d->scratch[d->nscratch];
	if (!(v->name = strdup(name)))
		return -ENOMEM;
	v->st = *st;
	d->nscratch++;
	return 0;
}

int fs_dir_open(struct fs *fs, const char *path, int is_scratch, struct fs_dir **out)
{
	struct fs_dir *d = calloc(1, sizeof(*d));
	int rc = 0;

	*out = NULL;
	if (!d || !(d->path = strdup(path))) {
		free(d);
		return -ENOMEM;
	}
	/* Scratch entries come first, as they were at opendir. */
	d->is_scratch = is_scratch;
	if (fs->scratch)
		rc = scratch_list(fs->scratch, path, scratch_entry, d);
	if (rc) {
		fs_dir_free(d);
		return rc;
	}
	*out = d;
	return 0;
}

static void dir_forget(struct fs_dir *d)
{
	tree_entries_free(&d->list);
	d->loaded = 0;
	free(d->after);
	d->after = NULL;
	d->next = 0;
}

/* The whole folder, from tree_list(), for a mount without current records. */
static int dir_load(struct fs *fs, struct fs_dir *d)
{
	struct buf err = BUF_INIT;
	struct fs_conn *c;
	int rc;

	if (d->loaded)
		return 0;
	c = conn_get(fs);
	rc = tree_list(c->s, &c->l, d->path, tree_collect, &d->list, &err);
	conn_put(fs, c);
	if (rc && rc != -ENOENT)
		log_error("cannot list", d->path, rc, &err);
	buf_release(&err);
	if (rc) {
		dir_forget(d);
		return rc;
	}
	d->loaded = 1;
	return 0;
}

/* Is name among d's scratch entries (listed first)? */
static int dir_has_scratch(const struct fs_dir *d, const char *name)
{
	for (size_t i = 0; i < d->nscratch; i++)
		if (!strcmp(d->scratch[i].name, name))
			return 1;
	return 0;
}

/* Paging through the records (journal_list) for fs_dir_read. */
struct page {
	struct fs *fs;
	struct fs_conn *c;
	struct fs_dir *d;
	fs_dirent_fn fn;
	void *ctx;
	int want_stat;
	off_t skip;            /* entries still to pass over (a seekdir) */
	struct buf path;
	int rc;                /* the first error of fn or of a record */
};

static int page_entry(void *ctx, const char *name, int type,
		      const struct journal_file *jf)
{
	struct page *pg = ctx;
	struct fs_dir *d = pg->d;
	struct stat st;
	char *after;
	int rc;

	if (pg->skip > 0) {
		pg->skip--;
	} else if (dir_has_scratch(d, name)) {
		/* listed already: a folder made by mkdir that rows now fill */
	} else {
		fs_join(&pg->path, d->path, name);
		stat_init(pg->fs, pg->path.data, &st);
		if (type == TREE_DIR)
			fill_dir(pg->fs, pg->c, pg->path.data, &st);
		else if (jf->size < 0)
			return pg->rc = bad_record(pg->path.data);
		else
			fill_file(&st, (size_t)jf->size, jf->mode, jf->mtime_ns);
		if (!pg->want_stat)
			st.st_mode &= S_IFMT;
		rc = pg->fn(pg->ctx, name, &st, d->next + 1);
		if (rc)
			return pg->rc = rc;
	}
	/* taken (or passed over): the cursor moves past it */
	after = strdup(name);
	if (!after)
		return pg->rc = -ENOMEM;
	free(d->after);
	d->after = after;
	d->after_type = type;
	d->next++;
	return 0;
}

static int read_records(struct fs *fs, struct fs_dir *d, off_t off, fs_dirent_fn fn,
			void *ctx, int want_stat)
{
	struct page pg = { .fs = fs, .d = d, .fn = fn, .ctx = ctx,
			   .want_stat = want_stat };
	struct buf err = BUF_INIT;
	int rc;

	if (off != d->next) {
		/* Not where the last call stopped (a rewinddir or seekdir):
		 * start over and pass over the entries before off. */
		free(d->after);
		d->after = NULL;
		d->next = 2 + (off_t)d->nscratch;
		pg.skip = off - d->next;
	}
	buf_init(&pg.path);
	pg.c = conn_get(fs);
	rc = journal_list(pg.c->s, d->path, d->after, d->after_type, page_entry, &pg,
			  &err);
	conn_put(fs, pg.c);
	if (rc && pg.rc)
		rc = pg.rc;   /* fn's own error, not journal_list's */
	else if (rc && rc != -ENOENT)
		log_error("cannot list", d->path, rc, &err);
	buf_release(&pg.path);
	buf_release(&err);
	return rc;
}

int fs_dir_read(struct fs *fs, struct fs_dir *d, off_t off, fs_dirent_fn fn,
		void *ctx, int want_stat)
{
	struct buf path = BUF_INIT;
	struct stat st;
	int rc = 0;

	if (off < 0)
		return -EINVAL;
	/* "." and "..": offsets 1 and 2; the kernel takes no reference on
	 * them, and needs only their type and inode number. */
	for (; off < 2 && !rc; off++) {
		buf_reset(&path);
		if (off == 0) {
			buf_addstr(&path, d->path);
		} else {
			const char *slash = strrchr(d->path, '/');
			if (slash)
				buf_add(&path, d->path, (size_t)(slash - d->path));
		}
		memset(&st, 0, sizeof(st));
		st.st_ino = inodes_hash(path.data);
		st.st_mode = S_IFDIR;
		rc = fn(ctx, off == 0 ? "." : "..", &st, off + 1);
	}
	for (; off >= 2 && off < 2 + (off_t)d->nscratch && !rc; off++) {
		const struct fs_dir_scratch *e = &d->scratch[off - 2];
		st = e->st;
		if (!want_stat)
			st.st_mode &= S_IFMT;
		rc = fn(ctx, e->name, &st, off + 1);
	}
	buf_release(&path);
	if (rc)
		return rc < 0 ? rc : 0;
	/* The way is chosen once per open folder: offsets mean different
	 * things (the watcher may turn live on while it is open). */
	if (!d->paged)
		d->paged = fs_live(fs) ? 1 : 2;
	if (d->paged == 1) {
		rc = read_records(fs, d, off, fn, ctx, want_stat);
		if (rc == -ENOENT && (d->is_scratch || d->nscratch))
			rc = 0;   /* a folder of scratch files only */
		return rc < 0 ? rc : 0;
	}
	rc = dir_load(fs, d);
	if (rc == -ENOENT && (d->is_scratch || d->nscratch))
		rc = 0;
	for (size_t i = (size_t)(off - 2 - (off_t)d->nscratch); !rc && i < d->list.n; i++) {
		const char *name = d->list.v[i].name;
		if (dir_has_scratch(d, name))
			continue;
		fs_join(&path, d->path, name);
		if (want_stat) {
			rc = fs_stat(fs, path.data, &st);
		} else {
			stat_init(fs, path.data, &st);
			st.st_mode = d->list.v[i].type == TREE_DIR ? S_IFDIR : S_IFREG;
		}
		if (!rc)
			rc = fn(ctx, name, &st, (off_t)(i + 3 + d->nscratch));
	}
	buf_release(&path);
	return rc < 0 ? rc : 0;
}

void fs_dir_free(struct fs_dir *d)
{
	if (!d)
		return;
	dir_forget(d);
	for (size_t i = 0; i < d->nscratch; i++)
		free(d->scratch[i].name);
	free(d->scratch);
	free(d->path);
	free(d);
}
