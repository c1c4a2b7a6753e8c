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
#include "tree.h"

/*
 * Rendered files kept by the daemon. The kernel keeps pages itself
 * (keep_cache) and stat is answered from the journal's records, so this
 * cache mostly spares a re-render between the 128 KB reads of one file:
 * a small one does, and keeps the daemon well under 64 MB.
 */
#define RCACHE_BYTES ((size_t)16 << 20)

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
	fs->uid = getuid();
	fs->gid = getgid();
	fs->time = *time;
	/* Long timeouts: a change is pushed to the kernel by watch.c. */
	fs->timeout = 3600.0;
	fs->inodes = inodes_new();
	fs->cache = rcache_new(RCACHE_BYTES);
	fs->conns = calloc((size_t)nconns, sizeof(*fs->conns));
	if (!fs->inodes || !fs->cache || !fs->conns) {
		buf_addstr(err, "out of memory");
		fs_release(fs);
		return -ENOMEM;
	}
	for (; fs->nconns < nconns; fs->nconns++) {
		struct fs_conn *c = &fs->conns[fs->nconns];
		rc = store_open(db, STORE_RDONLY, &c->s, err);
		if (rc)
			break;
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
	pthread_cond_destroy(&fs->cv);
	pthread_mutex_destroy(&fs->mu);
	memset(fs, 0, sizeof(*fs));
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
 * (logged) when rendering failed. The cache generation is read first: a
 * change applied meanwhile keeps this rendering out of the cache.
 */
static int render(struct fs *fs, const char *path, struct buf *out, unsigned *mode,
		  int64_t *mtime_ns)
{
	struct buf err = BUF_INIT;
	uint64_t gen = rcache_gen(fs->cache);
	struct fs_conn *c = conn_get(fs);
	int rc = archive_render_file(c->s, &c->l, path, out, mode, &err);

	*mtime_ns = ts_ns(&fs->time);
	if (!rc && fs->journal) {
		rc = journal_file_mtime(c->s, path, mtime_ns, &err);
		if (rc)
			log_error("cannot read the mtime of", path, rc, &err);
	}
	conn_put(fs, c);
	if (!rc)
		rcache_put(fs->cache, gen, path, out->data, out->len, *mode, *mtime_ns);
	else if (rc != -ENOENT)
		log_error("cannot render", path, rc, &err);
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

int fs_stat(struct fs *fs, const char *path, struct stat *st)
{
	struct buf out = BUF_INIT, err = BUF_INIT;
	size_t len;
	unsigned mode;
	int64_t mtime_ns = 0;
	int rc;

	memset(st, 0, sizeof(*st));
	st->st_ino = inodes_hash(path);
	st->st_uid = fs->uid;
	st->st_gid = fs->gid;
	st->st_blksize = 4096;
	if (*path && !rcache_get(fs->cache, path, 0, 0, NULL, &len, &mode, &mtime_ns)) {
		/* The journal recorded size, mode and mtime when the bytes last
		 * changed: stat (and so find, ls -l, du) need no rendering. */
		if (fs->live) {
			struct fs_conn *c = conn_get(fs);
			int64_t size;
			rc = journal_file_info(c->s, path, &mtime_ns, &size, &mode, &err);
			conn_put(fs, c);
			if (rc < 0)
				log_error("cannot read the record of", path, rc, &err);
			buf_reset(&err);
			if (rc == 1) {
				len = (size_t)size;
				goto file;
			}
		}
		rc = render(fs, path, &out, &mode, &mtime_ns);
		len = out.len;
		buf_release(&out);
		if (rc && rc != -ENOENT)
			return rc;
		if (rc == -ENOENT) {
			struct fs_conn *c = conn_get(fs);
			rc = tree_is_dir(c->s, &c->l, path, &err);
			conn_put(fs, c);
			if (rc < 0)
				log_error("cannot look up", path, rc, &err);
			buf_release(&err);
			if (rc <= 0)
				return rc < 0 ? rc : -ENOENT;
			goto dir;
		}
	} else if (!*path) {
		goto dir;
	}
file:
	buf_release(&err);
	fill_times(st, mtime_ns);
	st->st_mode = S_IFREG | (mode & 07777);
	st->st_nlink = 1;
	st->st_size = (off_t)len;
	st->st_blocks = (blkcnt_t)((len + 511) / 512);
	return 0;
dir:
	{
		struct fs_conn *c = conn_get(fs);
		mode = layout_folder_mode(&c->l, path, strlen(path));
		conn_put(fs, c);
	}
	fill_times(st, ts_ns(&fs->time));
	st->st_mode = S_IFDIR | (mode & 07777);
	st->st_nlink = 2;
	st->st_size = 4096;
	st->st_blocks = 8;
	return 0;
}

int fs_read(struct fs *fs, const char *path, off_t off, size_t size,
	    struct buf *out)
{
	struct buf r = BUF_INIT;
	size_t len;
	unsigned mode;
	int64_t mtime_ns = 0;
	int rc;

	if (off < 0)
		return -EINVAL;
	if (rcache_get(fs->cache, path, off, size, out, &len, &mode, &mtime_ns))
		return 0;
	rc = render(fs, path, &r, &mode, &mtime_ns);
	if (!rc && (size_t)off < r.len)
		buf_add(out, r.data + off,
			size < r.len - (size_t)off ? size : r.len - (size_t)off);
	buf_release(&r);
	return rc == -ENOENT ? -ESTALE : rc;
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

static int dir_add(struct fs_dir *d, const char *name, int type)
{
	struct fs_dirent *v;

	if ((d->n & (d->n - 1)) == 0) {   /* 0, 1, 2, 4, 8...: double */
		v = realloc(d->v, (d->n ? d->n * 2 : 4) * sizeof(*v));
		if (!v)
			return -ENOMEM;
		d->v = v;
	}
	d->v[d->n].name = strdup(name);
	if (!d->v[d->n].name)
		return -ENOMEM;
	d->v[d->n++].type = type;
	return 0;
}

static int list_entry(void *ctx, const char *name, int type)
{
	return dir_add(ctx, name, type);
}

int fs_dir_open(struct fs *fs, const char *path, struct fs_dir **out)
{
	struct fs_dir *d = calloc(1, sizeof(*d));

	(void)fs;
	*out = NULL;
	if (!d || !(d->path = strdup(path))) {
		free(d);
		return -ENOMEM;
	}
	*out = d;
	return 0;
}

int fs_dir_load(struct fs *fs, struct fs_dir *d)
{
	struct buf err = BUF_INIT;
	struct fs_conn *c;
	int rc;

	if (d->loaded)
		return 0;
	rc = dir_add(d, ".", TREE_DIR);
	if (!rc)
		rc = dir_add(d, "..", TREE_DIR);
	if (!rc) {
		c = conn_get(fs);
		rc = tree_list(c->s, &c->l, d->path, list_entry, d, &err);
		conn_put(fs, c);
		if (rc && rc != -ENOENT)
			log_error("cannot list", d->path, rc, &err);
	}
	buf_release(&err);
	if (rc) {
		for (size_t i = 0; i < d->n; i++)
			free(d->v[i].name);
		d->n = 0;
		return rc;
	}
	d->loaded = 1;
	return 0;
}

void fs_dir_free(struct fs_dir *d)
{
	if (!d)
		return;
	for (size_t i = 0; i < d->n; i++)
		free(d->v[i].name);
	free(d->v);
	free(d->path);
	free(d);
}
