/*
 * scratch.c - files that live in the mount's memory only (-o rw).
 *
 * Editors and tools make files around the one they save: swap files
 * (.name.swp), vim's 4913 probe, backups (name~), emacs' #name# and its
 * .#name lock symlinks, sed's sedXXXXXX, rsync's .name.XXXXXX. They must
 * behave like ordinary files (create, write, read, rename, chmod, unlink)
 * but are not rows: they never reach SQLite nor the disk archive, and go
 * with the mount, like files in a tmpfs (fs/EDITING.md).
 *
 * A node here is one of:
 *   SCRATCH_FILE     such a file;
 *   SCRATCH_PENDING  a file created under a record name that holds no rows
 *                    yet: its text is saved as rows when it is closed, and
 *                    until then (or when the save is refused) it is an
 *                    ordinary file, so the typing is never lost;
 *   SCRATCH_ALIAS    a file whose text was saved onto a record name (a
 *                    pending file saved, or sed's temporary renamed over
 *                    the original): the kernel still holds its inode
 *                    number for that name, so the number now stands for
 *                    the record file; it has no name of its own here;
 *   SCRATCH_DIR      a folder made by mkdir (a record folder that has no
 *                    rows yet, or a place for scratch files);
 *   SCRATCH_LINK     a symbolic link.
 *
 * Inode numbers have the top bit set (SCRATCH_INO_BIT), which a path's
 * hash never has (inodes.c), and come from a counter: a rename moves a
 * node, its number stays, as on any filesystem. A node goes when it has
 * no name, no kernel reference and no open handle. A cap on the bytes of
 * all nodes keeps a runaway writer from taking the daemon's memory
 * (ENOSPC beyond it). One mutex: scratch files are few and small.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fs.h"

struct snode {
	fuse_ino_t ino;
	char *path;            /* its name; an alias: the record's path */
	int kind;
	int linked;            /* it has a name here (not an alias, not unlinked) */
	struct buf data;       /* a file's bytes, a link's target */
	struct stat st;        /* mode, owner, times (size from data) */
	uint64_t nlookup;      /* the kernel's references */
	int nopen;             /* open handles */
	int times_set;         /* its mtime was set (touch -d, rsync -t) */
	struct snode *next;
};

struct scratch {
	pthread_mutex_t mu;
	struct snode *nodes;
	size_t bytes, cap;
	fuse_ino_t last;       /* the counter numbers come from */
};

struct scratch *scratch_new(size_t cap)
{
	struct scratch *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	pthread_mutex_init(&t->mu, NULL);
	t->cap = cap;
	return t;
}

static void node_free(struct snode *n)
{
	buf_release(&n->data);
	free(n->path);
	free(n);
}

void scratch_free(struct scratch *t)
{
	if (!t)
		return;
	for (struct snode *n = t->nodes, *next; n; n = next) {
		next = n->next;
		node_free(n);
	}
	pthread_mutex_destroy(&t->mu);
	free(t);
}

static struct snode *by_path(struct scratch *t, const char *path)
{
	for (struct snode *n = t->nodes; n; n = n->next)
		if (n->linked && !strcmp(n->path, path))
			return n;
	return NULL;
}

static struct snode *by_ino(struct scratch *t, fuse_ino_t ino)
{
	for (struct snode *n = t->nodes; n; n = n->next)
		if (n->ino == ino)
			return n;
	return NULL;
}

/* Free n if nothing holds it any more (t->mu held). */
static void maybe_drop(struct scratch *t, struct snode *n)
{
	if (n->linked || n->nlookup || n->nopen)
		return;
	for (struct snode **p = &t->nodes; *p; p = &(*p)->next)
		if (*p == n) {
			*p = n->next;
			break;
		}
	t->bytes -= n->data.len;
	node_free(n);
}

static void now(struct timespec *ts)
{
	clock_gettime(CLOCK_REALTIME, ts);
}

static void fill(const struct snode *n, struct stat *st)
{
	*st = n->st;
	st->st_ino = n->ino;
	st->st_size = n->kind == SCRATCH_DIR ? 4096 : (off_t)n->data.len;
	st->st_blocks = (st->st_size + 511) / 512;
	st->st_blksize = 4096;
	st->st_nlink = n->kind == SCRATCH_DIR ? 2 : n->linked;
}

/* Is child a direct entry of folder dir ("" is the root)? */
static const char *child_name(const char *dir, const char *child)
{
	size_t len = strlen(dir);

	if (!len)
		return strchr(child, '/') ? NULL : child;
	if (strncmp(child, dir, len) || child[len] != '/' || strchr(child + len + 1, '/'))
		return NULL;
	return child + len + 1;
}

/* Does any linked node lie under folder dir? */
static int has_children(struct scratch *t, const char *dir)
{
	size_t len = strlen(dir);

	for (struct snode *n = t->nodes; n; n = n->next)
		if (n->linked && !strncmp(n->path, dir, len) && n->path[len] == '/')
			return 1;
	return 0;
}

int scratch_make(struct scratch *t, const char *path, int kind, mode_t mode,
		 uid_t uid, gid_t gid, const char *data, size_t len, int ref,
		 struct stat *st)
{
	struct snode *n;
	int rc = 0;

	pthread_mutex_lock(&t->mu);
	if (by_path(t, path)) {
		rc = -EEXIST;
	} else if (t->bytes + len > t->cap) {
		rc = -ENOSPC;
	} else if (!(n = calloc(1, sizeof(*n))) || !(n->path = strdup(path))) {
		if (n)
			free(n);
		rc = -ENOMEM;
	} else {
		n->ino = SCRATCH_INO_BIT | ++t->last;
		n->kind = kind;
		n->linked = 1;
		buf_init(&n->data);
		buf_add(&n->data, data ? data : "", len);
		t->bytes += len;
		n->st.st_mode = (mode & 07777) | (kind == SCRATCH_DIR ? S_IFDIR :
						  kind == SCRATCH_LINK ? S_IFLNK : S_IFREG);
		n->st.st_uid = uid;
		n->st.st_gid = gid;
		now(&n->st.st_mtim);
		n->st.st_atim = n->st.st_ctim = n->st.st_mtim;
		n->nlookup = ref ? 1 : 0;
		n->next = t->nodes;
		t->nodes = n;
		if (st)
			fill(n, st);
	}
	pthread_mutex_unlock(&t->mu);
	return rc;
}

int scratch_lookup(struct scratch *t, const char *path, int ref, struct stat *st,
		   int *kind)
{
	struct snode *n;

	pthread_mutex_lock(&t->mu);
	n = t->nodes ? by_path(t, path) : NULL;
	if (n) {
		n->nlookup += ref ? 1 : 0;
		if (st)
			fill(n, st);
		if (kind)
			*kind = n->kind;
	}
	pthread_mutex_unlock(&t->mu);
	return n != NULL;
}

int scratch_times_set(struct scratch *t, fuse_ino_t ino)
{
	struct snode *n;
	int set;

	pthread_mutex_lock(&t->mu);
	n = by_ino(t, ino);
	set = n && n->times_set;
	pthread_mutex_unlock(&t->mu);
	return set;
}

int scratch_get(struct scratch *t, fuse_ino_t ino, struct stat *st, int *kind,
		struct buf *path)
{
	struct snode *n;
	int rc = 0;

	pthread_mutex_lock(&t->mu);
	n = by_ino(t, ino);
	if (!n) {
		rc = -ESTALE;
	} else {
		if (st)
			fill(n, st);
		if (kind)
			*kind = n->kind;
		if (path) {
			buf_reset(path);
			buf_addstr(path, n->path);
		}
	}
	pthread_mutex_unlock(&t->mu);
	return rc;
}

void scratch_forget(struct scratch *t, fuse_ino_t ino, uint64_t count)
{
	struct snode *n;

	pthread_mutex_lock(&t->mu);
	n = by_ino(t, ino);
	if (n) {
		n->nlookup = count < n->nlookup ? n->nlookup - count : 0;
		maybe_drop(t, n);
	}
	pthread_mutex_unlock(&t->mu);
}

int scratch_open(struct scratch *t, fuse_ino_t ino, int trunc)
{
	struct snode *n;
	int rc = 0;

	pthread_mutex_lock(&t->mu);
	n = by_ino(t, ino);
	if (!n || n->kind == SCRATCH_ALIAS) {
		rc = -ESTALE;
	} else if (n->kind == SCRATCH_DIR) {
		rc = -EISDIR;
	} else {
		n->nopen++;
		if (trunc && n->data.len) {
			t->bytes -= n->data.len;
			buf_reset(&n->data);
			now(&n->st.st_mtim);
			n->st.st_ctim = n->st.st_mtim;
		}
	}
	pthread_mutex_unlock(&t->mu);
	return rc;
}

void scratch_close(struct scratch *t, fuse_ino_t ino)
{
	struct snode *n;

	pthread_mutex_lock(&t->mu);
	n = by_ino(t, ino);
	if (n && n->nopen > 0) {
		n->nopen--;
		maybe_drop(t, n);
	}
	pthread_mutex_unlock(&t->mu);
}

int scratch_read(struct scratch *t, fuse_ino_t ino, off_t off, size_t size,
		 struct buf *out)
{
	struct snode *n;
	int rc = 0;

	if (off < 0)
		return -EINVAL;
	pthread_mutex_lock(&t->mu);
	n = by_ino(t, ino);
	if (!n || n->kind == SCRATCH_ALIAS) {
		rc = -ESTALE;
	} else if ((size_t)off < n->data.len) {
		size_t left = n->data.len - (size_t)off;
		buf_add(out, n->data.data + off, size < left ? size : left);
	}
	pthread_mutex_unlock(&t->mu);
	return rc;
}

/* Set n's size to len, zero-filling (t->mu held). */
static int resize(struct scratch *t, struct snode *n, size_t len)
{
	if (len > n->data.len) {
		if (t->bytes + (len - n->data.len) > t->cap)
			return -ENOSPC;
		t->bytes += len - n->data.len;
		buf_grow(&n->data, len - n->data.len);
		memset(n->data.data + n->data.len, 0, len - n->data.len);
		n->data.len = len;
		n->data.data[len] = '\0';
	} else {
		t->bytes -= n->data.len - len;
		buf_truncate(&n->data, len);
	}
	return 0;
}

int scratch_write(struct scratch *t, fuse_ino_t ino, off_t off, const char *data,
		  size_t size)
{
	struct snode *n;
	int rc = 0;

	if (off < 0)
		return -EINVAL;
	pthread_mutex_lock(&t->mu);
	n = by_ino(t, ino);
	if (!n || n->kind == SCRATCH_ALIAS)
		rc = -ESTALE;
	else if ((size_t)off + size > n->data.len)
		rc = resize(t, n, (size_t)off + size);
	if (!rc) {
		memcpy(n->data.data + off, data, size);
		n->times_set = 0;
		now(&n->st.st_mtim);
		n->st.st_ctim = n->st.st_mtim;
	}
	pthread_mutex_unlock(&t->mu);
	return rc;
}

int scratch_data(struct scratch *t, fuse_ino_t ino, struct buf *out)
{
	struct snode *n;
	int rc = 0;

	pthread_mutex_lock(&t->mu);
	n = by_ino(t, ino);
	if (!n || n->kind == SCRATCH_ALIAS || n->kind == SCRATCH_DIR)
		rc = -ESTALE;
	else
		buf_add(out, n->data.data ? n->data.data : "", n->data.len);
	pthread_mutex_unlock(&t->mu);
	return rc;
}

int scratch_setattr(struct scratch *t, fuse_ino_t ino, const struct stat *attr,
		    int to_set, struct stat *st)
{
	struct snode *n;
	int rc = 0;

	pthread_mutex_lock(&t->mu);
	n = by_ino(t, ino);
	if (!n || n->kind == SCRATCH_ALIAS) {
		rc = -ESTALE;
		goto out;
	}
	if (to_set & FUSE_SET_ATTR_SIZE) {
		if (n->kind != SCRATCH_FILE && n->kind != SCRATCH_PENDING)
			rc = n->kind == SCRATCH_DIR ? -EISDIR : -EINVAL;
		else if (attr->st_size < 0)
			rc = -EINVAL;
		else
			rc = resize(t, n, (size_t)attr->st_size);
		if (rc)
			goto out;
		now(&n->st.st_mtim);
	}
	if (to_set & FUSE_SET_ATTR_MODE)
		n->st.st_mode = (n->st.st_mode & S_IFMT) | (attr->st_mode & 07777);
	if (to_set & FUSE_SET_ATTR_UID)
		n->st.st_uid = attr->st_uid;
	if (to_set & FUSE_SET_ATTR_GID)
		n->st.st_gid = attr->st_gid;
	if (to_set & FUSE_SET_ATTR_ATIME_NOW)
		now(&n->st.st_atim);
	else if (to_set & FUSE_SET_ATTR_ATIME)
		n->st.st_atim = attr->st_atim;
	if (to_set & FUSE_SET_ATTR_MTIME_NOW)
		now(&n->st.st_mtim);
	else if (to_set & FUSE_SET_ATTR_MTIME)
		n->st.st_mtim = attr->st_mtim;
	if (to_set & (FUSE_SET_ATTR_MTIME | FUSE_SET_ATTR_MTIME_NOW))
		n->times_set = 1;
	now(&n->st.st_ctim);
	fill(n, st);
out:
	pthread_mutex_unlock(&t->mu);
	return rc;
}

int scratch_unlink(struct scratch *t, const char *path, int dir)
{
	struct snode *n;
	int rc = 0;

	pthread_mutex_lock(&t->mu);
	n = t->nodes ? by_path(t, path) : NULL;
	if (!n)
		rc = -ENOENT;
	else if (dir && n->kind != SCRATCH_DIR)
		rc = -ENOTDIR;
	else if (!dir && n->kind == SCRATCH_DIR)
		rc = -EISDIR;
	else if (dir && has_children(t, path))
		rc = -ENOTEMPTY;
	if (!rc) {
		n->linked = 0;
		maybe_drop(t, n);
	}
	pthread_mutex_unlock(&t->mu);
	return rc;
}

int scratch_rename(struct scratch *t, const char *from, const char *to, int noreplace)
{
	struct snode *n, *old;
	char *p;
	int rc = 0;

	pthread_mutex_lock(&t->mu);
	n = t->nodes ? by_path(t, from) : NULL;
	old = n ? by_path(t, to) : NULL;
	if (!n)
		rc = -ENOENT;
	else if (n == old)
		goto out;   /* the same file: nothing to do */
	else if (old && noreplace)
		rc = -EEXIST;
	else if (n->kind == SCRATCH_DIR)
		rc = -EPERM;   /* folders stay where they are */
	else if (old && old->kind == SCRATCH_DIR)
		rc = -EISDIR;
	else if (!(p = strdup(to)))
		rc = -ENOMEM;
	if (rc)
		goto out;
	if (old) {
		old->linked = 0;
		maybe_drop(t, old);
	}
	free(n->path);
	n->path = p;
	now(&n->st.st_ctim);
out:
	pthread_mutex_unlock(&t->mu);
	return rc;
}

int scratch_alias(struct scratch *t, fuse_ino_t ino, const char *record)
{
	struct snode *n;
	char *p;
	int rc = 0;

	pthread_mutex_lock(&t->mu);
	n = by_ino(t, ino);
	if (!n) {
		rc = -ESTALE;
	} else if (!(p = strdup(record))) {
		rc = -ENOMEM;
	} else {
		free(n->path);
		n->path = p;
		n->kind = SCRATCH_ALIAS;
		n->linked = 0;
		t->bytes -= n->data.len;
		buf_release(&n->data);
		maybe_drop(t, n);
	}
	pthread_mutex_unlock(&t->mu);
	return rc;
}

int scratch_pending(struct scratch *t, fuse_ino_t ino, int pending)
{
	struct snode *n;
	int rc = 0;

	pthread_mutex_lock(&t->mu);
	n = by_ino(t, ino);
	if (!n || (n->kind != SCRATCH_FILE && n->kind != SCRATCH_PENDING))
		rc = -ESTALE;
	else
		n->kind = pending ? SCRATCH_PENDING : SCRATCH_FILE;
	pthread_mutex_unlock(&t->mu);
	return rc;
}

int scratch_list(struct scratch *t, const char *dir, scratch_list_fn fn, void *ctx)
{
	struct stat st;
	const char *name;
	int rc = 0;

	pthread_mutex_lock(&t->mu);
	for (struct snode *n = t->nodes; n && !rc; n = n->next)
		if (n->linked && (name = child_name(dir, n->path))) {
			fill(n, &st);
			rc = fn(ctx, name, &st);
		}
	pthread_mutex_unlock(&t->mu);
	return rc;
}

int scratch_has_children(struct scratch *t, const char *dir)
{
	int rc;

	pthread_mutex_lock(&t->mu);
	rc = has_children(t, dir);
	pthread_mutex_unlock(&t->mu);
	return rc;
}

int scratch_put(struct scratch *t, const char *path, mode_t mode, uid_t uid,
		gid_t gid, const char *data, size_t len)
{
	struct snode *n;
	int rc = 0;

	pthread_mutex_lock(&t->mu);
	n = t->nodes ? by_path(t, path) : NULL;
	if (n && n->kind != SCRATCH_FILE) {
		rc = -EEXIST;
	} else if (n) {
		if (len > n->data.len && t->bytes + (len - n->data.len) > t->cap) {
			rc = -ENOSPC;
		} else {
			t->bytes = t->bytes - n->data.len + len;
			buf_reset(&n->data);
			buf_add(&n->data, data, len);
			now(&n->st.st_mtim);
			n->st.st_ctim = n->st.st_mtim;
		}
	}
	pthread_mutex_unlock(&t->mu);
	if (!n && !rc)
		rc = scratch_make(t, path, SCRATCH_FILE, mode, uid, gid, data, len, 0, NULL);
	return rc;
}
