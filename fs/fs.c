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
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "archive.h"
#include "fs.h"
#include "tree.h"

#define RCACHE_BYTES ((size_t)64 << 20)

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
	fs->timeout = 3600.0;   /* the tree does not change while mounted (yet) */
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

/*
 * Render path into out and the cache. 0 (out and *mode set); -ENOENT when
 * no row renders to it; another -errno (logged) when rendering failed.
 */
static int render(struct fs *fs, const char *path, struct buf *out, unsigned *mode)
{
	struct buf err = BUF_INIT;
	struct fs_conn *c = conn_get(fs);
	int rc = archive_render_file(c->s, &c->l, path, out, mode, &err);

	conn_put(fs, c);
	if (!rc)
		rcache_put(fs->cache, path, out->data, out->len, *mode);
	else if (rc != -ENOENT)
		log_error("cannot render", path, rc, &err);
	buf_release(&err);
	return rc;
}

static void fill_times(const struct fs *fs, struct stat *st)
{
	/* Until the change journal lands: every node carries the database
	 * file's mtime, read once at mount. Never now(), never 0, and never
	 * changed by a read, so rsync and make see a stable tree. */
	st->st_atim = fs->time;
	st->st_mtim = fs->time;
	st->st_ctim = fs->time;
}

int fs_stat(struct fs *fs, const char *path, struct stat *st)
{
	struct buf out = BUF_INIT, err = BUF_INIT;
	size_t len;
	unsigned mode;
	int rc;

	memset(st, 0, sizeof(*st));
	st->st_ino = inodes_hash(path);
	st->st_uid = fs->uid;
	st->st_gid = fs->gid;
	st->st_blksize = 4096;
	fill_times(fs, st);
	if (*path && !rcache_get(fs->cache, path, 0, 0, NULL, &len, &mode)) {
		rc = render(fs, path, &out, &mode);
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
	int rc;

	if (off < 0)
		return -EINVAL;
	if (rcache_get(fs->cache, path, off, size, out, &len, &mode))
		return 0;
	rc = render(fs, path, &r, &mode);
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
	struct buf err = BUF_INIT;
	struct fs_dir *d = calloc(1, sizeof(*d));
	struct fs_conn *c;
	int rc;

	*out = NULL;
	if (!d || !(d->path = strdup(path))) {
		free(d);
		return -ENOMEM;
	}
	rc = dir_add(d, ".", TREE_DIR);
	if (!rc)
		rc = dir_add(d, "..", TREE_DIR);
	if (!rc) {
		c = conn_get(fs);
		rc = tree_list(c->s, &c->l, path, list_entry, d, &err);
		conn_put(fs, c);
		if (rc && rc != -ENOENT)
			log_error("cannot list", path, rc, &err);
	}
	buf_release(&err);
	if (rc) {
		fs_dir_free(d);
		return rc;
	}
	*out = d;
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
