/*
 * sync.c - keep a real folder identical to the tree (see sync.h).
 */
#include "sync.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "archive.h"
#include "diskfile.h"
#include "journal.h"
#include "names.h"
#include "strset.h"

struct sync {
	pthread_mutex_t mu;
	char *dir;
	int root;
	struct strset dirty;   /* folders whose entries changed since the flush */
	int written;           /* files written since the flush */
	struct buf tmp;
};

int sync_open(const char *dir, struct sync **out, struct buf *err)
{
	struct sync *y;

	*out = NULL;
	if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
		buf_addf(err, "cannot create %s: %s", dir, strerror(errno));
		return -errno;
	}
	y = calloc(1, sizeof(*y));
	if (!y || !(y->dir = strdup(dir))) {
		free(y);
		buf_addstr(err, "out of memory");
		return -ENOMEM;
	}
	y->root = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (y->root < 0) {
		int e = errno;
		buf_addf(err, "cannot open %s: %s", dir, strerror(e));
		free(y->dir);
		free(y);
		return -e;
	}
	pthread_mutex_init(&y->mu, NULL);
	strset_init(&y->dirty);
	buf_init(&y->tmp);
	*out = y;
	return 0;
}

void sync_close(struct sync *y)
{
	if (!y)
		return;
	close(y->root);
	strset_release(&y->dirty);
	buf_release(&y->tmp);
	pthread_mutex_destroy(&y->mu);
	free(y->dir);
	free(y);
}

const char *sync_dir(const struct sync *y)
{
	return y->dir;
}

int sync_all(struct sync *y, struct store *s, const struct layout *l,
	     struct export_stats *st, struct buf *err)
{
	struct export_opts o = { .prune = 1, .progress = 0 };
	int rc;

	pthread_mutex_lock(&y->mu);
	rc = export_run(s, l, y->dir, &o, st, err);
	pthread_mutex_unlock(&y->mu);
	return rc;
}

/* The folder holding path ("" for the top) into y->tmp. */
static void folder_of(struct sync *y, const char *path)
{
	const char *slash = strrchr(path, '/');

	buf_reset(&y->tmp);
	if (slash)
		buf_add(&y->tmp, path, (size_t)(slash - path));
}

/* Every folder leading to path, with the layout's modes (y->mu held). */
static int make_folders(struct sync *y, const struct layout *l, const char *path,
			struct buf *err)
{
	struct buf dir = BUF_INIT;
	int rc = 0;

	for (const char *p = strchr(path, '/'); p && rc >= 0; p = strchr(p + 1, '/')) {
		buf_reset(&dir);
		buf_add(&dir, path, (size_t)(p - path));
		rc = diskfile_mkdir(y->root, dir.data,
				    layout_folder_mode(l, dir.data, dir.len), err);
		if (rc == 1) {   /* a new entry of its parent */
			const char *up = strrchr(dir.data, '/');
			buf_truncate(&dir, up ? (size_t)(up - dir.data) : 0);
			strset_add(&y->dirty, dir.data);
		}
	}
	buf_release(&dir);
	return rc < 0 ? rc : 0;
}

static int put_locked(struct sync *y, const struct layout *l, const char *path,
		      const char *data, size_t len, unsigned mode, int64_t mtime_ns,
		      struct buf *err)
{
	int rc = make_folders(y, l, path, err);

	if (!rc)
		rc = diskfile_same(y->root, path, data, len, mode, mtime_ns, err);
	if (rc == 1)
		return 0;
	if (rc == DISKFILE_SAME_BUT_TIME)
		return diskfile_set_mtime(y->root, path, mtime_ns, err);
	if (rc == 0)
		rc = diskfile_replace(y->root, path, data, len, mode, mtime_ns, 0, err);
	if (!rc) {
		y->written++;
		folder_of(y, path);
		strset_add(&y->dirty, y->tmp.data);
	}
	return rc;
}

int sync_put(struct sync *y, const struct layout *l, const char *path,
	     const char *data, size_t len, unsigned mode, int64_t mtime_ns,
	     struct buf *err)
{
	int rc;

	pthread_mutex_lock(&y->mu);
	rc = put_locked(y, l, path, data, len, mode, mtime_ns, err);
	pthread_mutex_unlock(&y->mu);
	return rc;
}

static int remove_locked(struct sync *y, const char *path, struct buf *err)
{
	if (unlinkat(y->root, path, 0) < 0) {
		if (errno == ENOENT)
			return 0;
		buf_addf(err, "cannot remove %s/%s: %s", y->dir, path, strerror(errno));
		return -errno;
	}
	/* the folders it leaves empty go too: the tree has no empty folder */
	folder_of(y, path);
	while (y->tmp.len && unlinkat(y->root, y->tmp.data, AT_REMOVEDIR) == 0) {
		const char *up = strrchr(y->tmp.data, '/');
		buf_truncate(&y->tmp, up ? (size_t)(up - y->tmp.data) : 0);
	}
	strset_add(&y->dirty, y->tmp.data);
	y->written++;
	return 0;
}

int sync_remove(struct sync *y, const char *path, struct buf *err)
{
	int rc;

	pthread_mutex_lock(&y->mu);
	rc = remove_locked(y, path, err);
	pthread_mutex_unlock(&y->mu);
	return rc;
}

int sync_file(struct sync *y, struct store *s, const struct layout *l,
	      const char *path, struct buf *err)
{
	struct buf bytes = BUF_INIT;
	struct journal_file jf;
	int64_t mtime_ns = 0;
	unsigned mode = 0644;
	int rc = archive_render_file(s, l, path, &bytes, &mode, err);

	if (rc == -ENOENT) {
		buf_reset(err);
		rc = sync_remove(y, path, err);
	} else if (!rc) {
		if (journal_lookup(s, path, &jf, err) == 1 &&
		    jf.hash == names_hash(bytes.data, bytes.len) &&
		    jf.size == (int64_t)bytes.len)
			mtime_ns = jf.mtime_ns;
		buf_reset(err);
		rc = sync_put(y, l, path, bytes.data, bytes.len, mode, mtime_ns, err);
	}
	buf_release(&bytes);
	return rc;
}

int sync_flush(struct sync *y, struct buf *err)
{
	int rc = 0;

	pthread_mutex_lock(&y->mu);
	if (!y->written && !y->dirty.count)
		goto out;
	if (syncfs(y->root) < 0) {
		rc = -errno;
		buf_addf(err, "cannot sync %s: %s", y->dir, strerror(errno));
		goto out;
	}
	for (size_t i = 0; !rc && i < y->dirty.cap; i++) {
		if (!y->dirty.slots[i])
			continue;
		buf_reset(&y->tmp);
		buf_addstr(&y->tmp, y->dirty.slots[i]);
		rc = diskfile_fsync_nearest_dir(y->root, &y->tmp, err);
	}
	if (!rc) {
		strset_release(&y->dirty);
		strset_init(&y->dirty);
		y->written = 0;
	}
out:
	pthread_mutex_unlock(&y->mu);
	return rc;
}
