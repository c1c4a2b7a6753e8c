/*
 * ops.c - the low-level FUSE operations: check the request, make one call
 * into fs.c (and through it the backend), reply. Errors are -errno at the
 * edge; a request never ends the daemon.
 *
 * What the kernel charges decides the shape (DESIGN.md section 8):
 *   - long entry/attr timeouts, keep_cache and cached listings: when the
 *     application changes rows, watch.c tells the kernel exactly which
 *     files, entries and listings to drop;
 *   - open replies ENOSYS when the kernel supports it, so it stops sending
 *     opens (and releases) at all; reads come with fi->fh == 0 and are
 *     served by inode;
 *   - readdirplus always on (not "auto"), cached directory listings;
 *   - the xattr calls reply ENOSYS, the one answer the kernel caches.
 * Mounted read-only (the default), every modifying operation replies
 * EROFS. With -o rw (fs/EDITING.md) opens are real: record files are
 * edited through handles and saved at close and fsync (edit.c), other
 * names are scratch files in memory (scratch.c), whose inode numbers
 * carry SCRATCH_INO_BIT.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <time.h>

#include "fs.h"
#include "tree.h"

static struct fs *fs_of(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

static void op_init(void *userdata, struct fuse_conn_info *conn)
{
	struct fs *fs = userdata;

	if (conn->capable & FUSE_CAP_READDIRPLUS)
		conn->want |= FUSE_CAP_READDIRPLUS;
	conn->want &= ~(unsigned)FUSE_CAP_READDIRPLUS_AUTO;
	/* -o rw needs real opens (fs/EDITING.md); else the kernel answers
	 * them itself. */
	fs->no_open = !fs->rw && (conn->capable & FUSE_CAP_NO_OPEN_SUPPORT) != 0;
	if (fs->rw && (conn->capable & FUSE_CAP_ATOMIC_O_TRUNC))
		conn->want |= FUSE_CAP_ATOMIC_O_TRUNC;   /* O_TRUNC comes with open */
}

/* The path of ino into out; replies the error itself when there is none. */
static int path_of(fuse_req_t req, fuse_ino_t ino, struct buf *out)
{
	struct fs *fs = fs_of(req);
	int rc = scratch_ino(ino) && fs->scratch ?
		scratch_get(fs->scratch, ino, NULL, NULL, out) :
		inodes_path(fs->inodes, ino, out);

	if (rc)
		fuse_reply_err(req, -rc);
	return rc;
}

static pid_t pid_of(fuse_req_t req)
{
	return fuse_req_ctx(req)->pid;
}

/*
 * How long the kernel may keep a record file's attributes. Read-only
 * mounts: long, watch.c pushes every change. rw mounts: 0. There every
 * open renders its own version into its handle (struct fs_handle), and a
 * reader such as rsync then reads exactly the size fstat gave it: a size
 * the kernel cached from an older version made it read short (exit 23)
 * or stop early. With 0, fstat asks; op_getattr then answers a process
 * that holds the file open with its own open version's size (found by
 * pid: Linux sends no handle with fstat). tests/soak.sh found it.
 */
static double attr_timeout(const struct fs *fs)
{
	return fs->rw ? 0 : fs->timeout;
}

static void op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fs *fs = fs_of(req);
	struct buf dir = BUF_INIT, path = BUF_INIT;
	struct fuse_entry_param e;
	int rc;

	if (path_of(req, parent, &dir))
		goto out;
	if (strlen(name) > 255) {
		fuse_reply_err(req, ENAMETOOLONG);
		goto out;
	}
	if (!strcmp(name, ".") || !strcmp(name, "..")) {
		fuse_reply_err(req, ENOENT);   /* the kernel resolves these itself */
		goto out;
	}
	fs_join(&path, dir.data, name);
	memset(&e, 0, sizeof(e));
	e.attr_timeout = attr_timeout(fs);
	e.entry_timeout = fs->timeout;
	if (fs->scratch && scratch_lookup(fs->scratch, path.data, 1, &e.attr, NULL)) {
		e.ino = e.attr.st_ino;
		e.attr_timeout = 0;   /* in memory: asking is cheap, and always right */
		if (fuse_reply_entry(req, &e) == -ENOENT)
			scratch_forget(fs->scratch, e.ino, 1);
		goto out;
	}
	rc = fs_stat(fs, path.data, &e.attr);
	if (rc == -ENOENT) {
		/* A negative entry: the kernel caches "no such name" too, but
		 * briefly: a lookup that raced with the application's commit
		 * may answer after watch.c invalidated the name, and a long
		 * timeout would then hide the new file for an hour. */
		e.ino = 0;
		e.entry_timeout = 1.0;
		fuse_reply_entry(req, &e);
		goto out;
	}
	if (!rc)
		rc = inodes_ref(fs->inodes, path.data, &e.ino);
	if (rc)
		fuse_reply_err(req, -rc);
	else if (fuse_reply_entry(req, &e) == -ENOENT)
		inodes_forget(fs->inodes, e.ino, 1);   /* interrupted: not taken */
out:
	buf_release(&dir);
	buf_release(&path);
}

static void forget_one(struct fs *fs, fuse_ino_t ino, uint64_t nlookup)
{
	if (scratch_ino(ino)) {
		if (fs->scratch)
			scratch_forget(fs->scratch, ino, nlookup);
	} else {
		inodes_forget(fs->inodes, ino, nlookup);
	}
}

static void op_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	forget_one(fs_of(req), ino, nlookup);
	fuse_reply_none(req);
}

static void op_forget_multi(fuse_req_t req, size_t count,
			    struct fuse_forget_data *forgets)
{
	struct fs *fs = fs_of(req);

	for (size_t i = 0; i < count; i++)
		forget_one(fs, forgets[i].ino, forgets[i].nlookup);
	fuse_reply_none(req);
}

/*
 * What an inode number stands for: a tree path (a record file or folder,
 * or the record a scratch alias stands for), or a scratch node (sino set,
 * st its attributes). Replies the error itself when there is none.
 */
struct node {
	struct buf path;
	fuse_ino_t sino;
	int kind;
	struct stat st;
};

static int node_of(fuse_req_t req, fuse_ino_t ino, struct node *n)
{
	struct fs *fs = fs_of(req);
	int rc;

	buf_init(&n->path);
	n->sino = 0;
	n->kind = -1;
	if (!scratch_ino(ino) || !fs->scratch)
		return path_of(req, ino, &n->path);
	rc = scratch_get(fs->scratch, ino, &n->st, &n->kind, &n->path);
	if (rc)
		fuse_reply_err(req, -rc);
	else if (n->kind != SCRATCH_ALIAS)
		n->sino = ino;
	return rc;
}

static void op_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fs *fs = fs_of(req);
	struct node n;
	struct stat st;
	int rc;

	(void)fi;   /* Linux sends no handle for fstat(2) */
	if (node_of(req, ino, &n))
		goto out;
	if (n.sino) {
		fuse_reply_attr(req, &n.st, 0);
		goto out;
	}
	rc = fs_stat(fs, n.path.data, &st);
	st.st_ino = ino;
	if (!rc && fs->rw) {
		/* fstat after open (rsync): Linux sends no handle with it, so
		 * the caller's own open read handle is found by its pid */
		size_t len;
		if (fs_reader_size(fs, n.path.data, pid_of(req), &len)) {
			st.st_size = (off_t)len;
			st.st_blocks = (st.st_size + 511) / 512;
		}
	}
	if (rc)
		fuse_reply_err(req, rc == -ENOENT ? ESTALE : -rc);
	else
		fuse_reply_attr(req, &st, scratch_ino(ino) ? 0 : attr_timeout(fs));
out:
	buf_release(&n.path);
}

static void op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fs *fs = fs_of(req);
	struct node n;
	struct fs_handle *h;
	int trunc = (fi->flags & O_TRUNC) != 0;
	int rc, write = (fi->flags & O_ACCMODE) != O_RDONLY || trunc;

	if (write && !fs->rw) {
		fuse_reply_err(req, EROFS);
		return;
	}
	if (fs->no_open) {
		/* Success, and no more opens or releases for any file. */
		fuse_reply_err(req, ENOSYS);
		return;
	}
	if (!fs->rw) {
		fi->keep_cache = 1;
		fuse_reply_open(req, fi);
		return;
	}
	if (node_of(req, ino, &n))
		goto out;
	if (n.sino)
		rc = fs_handle_open_scratch(fs, ino, trunc, write, pid_of(req), &h);
	else if (write)
		rc = fs_handle_open_write(fs, n.path.data, trunc, pid_of(req), &h);
	else
		rc = fs_handle_open(fs, n.path.data, pid_of(req), &h);
	if (rc) {
		fuse_reply_err(req, rc == -ENOENT ? ESTALE : -rc);
		goto out;
	}
	fi->fh = (uint64_t)(uintptr_t)h;
	fi->direct_io = 1;   /* this handle's bytes only: see struct fs_handle */
	fi->noflush = !write;
	if (fuse_reply_open(req, fi) == -ENOENT)
		fs_handle_free(fs, h);   /* interrupted: no release will come */
out:
	buf_release(&n.path);
}

static struct fs_handle *handle_of(struct fuse_file_info *fi)
{
	return fi ? (struct fs_handle *)(uintptr_t)fi->fh : NULL;
}

static void op_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size,
		     off_t off, struct fuse_file_info *fi)
{
	struct fs_handle *h = handle_of(fi);
	int rc;

	(void)ino;
	if (!h || !h->writable) {
		fuse_reply_err(req, h ? EBADF : EROFS);
		return;
	}
	rc = fs_handle_write(fs_of(req), h, off, buf, size);
	if (rc)
		fuse_reply_err(req, -rc);
	else
		fuse_reply_write(req, size);
}

/* close(2) and fsync(2): a written handle is saved, and its error is
 * the caller's (fs/EDITING.md). */
static void op_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fs_handle *h = handle_of(fi);

	(void)ino;
	if (!fs_of(req)->rw) {
		/* Read-only: ENOSYS makes the kernel stop sending flush and
		 * fsync at all (every close would be a round trip). */
		fuse_reply_err(req, ENOSYS);
		return;
	}
	fuse_reply_err(req, h ? -fs_handle_save(fs_of(req), h, 1) : 0);
}

static void op_fsync(fuse_req_t req, fuse_ino_t ino, int datasync,
		     struct fuse_file_info *fi)
{
	(void)datasync;
	op_flush(req, ino, fi);
}

static void op_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fs_handle *h = (struct fs_handle *)(uintptr_t)fi->fh;

	(void)ino;
	/* Emptied by O_TRUNC and closed without a write: saved now; nobody
	 * is left to see an error but the log. A save that failed at close
	 * is not tried again behind the caller's back. */
	if (h && !h->sino && h->writable && h->dirty && !h->written)
		fs_handle_save(fs_of(req), h, 0);
	fs_handle_free(fs_of(req), h);
	fuse_reply_err(req, 0);
}

static void op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	struct fs *fs = fs_of(req);
	struct buf path = BUF_INIT, out = BUF_INIT;
	int rc, raced;

	if (fi->fh) {
		rc = fs_handle_read(fs, (struct fs_handle *)(uintptr_t)fi->fh, off, size,
				    &out);
		if (rc)
			fuse_reply_err(req, -rc);
		else
			fuse_reply_buf(req, out.data, out.len);
		goto out;
	}
	if (scratch_ino(ino) && fs->scratch) {
		/* A read-only mount's .archivefs/status: opens have no handle */
		rc = scratch_read(fs->scratch, ino, off, size, &out);
		if (rc)
			fuse_reply_err(req, -rc);
		else
			fuse_reply_buf(req, out.data, out.len);
		goto out;
	}
	if (path_of(req, ino, &path))
		goto out;
	rc = fs_read(fs, path.data, off, size, &out, &raced);
	if (rc) {
		fuse_reply_err(req, -rc);
	} else {
		fuse_reply_buf(req, out.data, out.len);
		/* The reply has filled and unlocked its pages: drop them if a
		 * change was published while they were rendered. */
		if (raced && fs->se)
			fuse_lowlevel_notify_inval_inode(fs->se, ino, 0, 0);
	}
out:
	buf_release(&path);
	buf_release(&out);
}

static void op_readlink(fuse_req_t req, fuse_ino_t ino)
{
	struct fs *fs = fs_of(req);
	struct node n;
	struct buf target = BUF_INIT;

	if (node_of(req, ino, &n))
		goto out;
	if (!n.sino || n.kind != SCRATCH_LINK)
		fuse_reply_err(req, EINVAL);
	else if (scratch_data(fs->scratch, ino, &target))
		fuse_reply_err(req, ESTALE);
	else
		fuse_reply_readlink(req, target.data);
out:
	buf_release(&n.path);
	buf_release(&target);
}

static void op_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fs *fs = fs_of(req);
	struct buf path = BUF_INIT;
	struct fs_dir *d;
	int rc;

	if (path_of(req, ino, &path))
		goto out;
	rc = fs_dir_open(fs, path.data, scratch_ino(ino), &d);
	if (rc) {
		fuse_reply_err(req, rc == -ENOENT ? ESTALE : -rc);
		goto out;
	}
	fi->fh = (uint64_t)(uintptr_t)d;
	/* watch.c invalidates a listing when the records change; scratch
	 * files (-o rw) come and go without it: no listing is kept then. */
	fi->keep_cache = !fs->rw;
	fi->cache_readdir = !fs->rw;
	if (fuse_reply_open(req, fi) == -ENOENT)
		fs_dir_free(d);          /* interrupted: no releasedir will come */
out:
	buf_release(&path);
}

/* A readdir reply being filled. */
struct reply {
	fuse_req_t req;
	struct fs *fs;
	const char *dir;
	struct buf path;
	char *buf;
	size_t size, used;
	int plus;
};

static int add_entry(void *ctx, const char *name, const struct stat *st, off_t next)
{
	struct reply *r = ctx;
	struct fuse_entry_param e;
	size_t need;
	int rc;

	if (!r->plus) {
		need = fuse_add_direntry(r->req, r->buf + r->used, r->size - r->used,
					 name, st, next);
		if (need > r->size - r->used)
			return 1;
		r->used += need;
		return 0;
	}
	memset(&e, 0, sizeof(e));
	e.attr = *st;
	e.attr_timeout = attr_timeout(r->fs);
	e.entry_timeout = r->fs->timeout;
	/* "." and "..": the kernel takes no reference on them. */
	if (strcmp(name, ".") && strcmp(name, "..")) {
		fs_join(&r->path, r->dir, name);
		if (scratch_ino(st->st_ino)) {
			/* as it was at opendir: gone or moved since, skip it */
			if (!scratch_lookup(r->fs->scratch, r->path.data, 1, &e.attr, NULL))
				return 0;
			e.ino = e.attr.st_ino;
			e.attr_timeout = 0;
		} else {
			rc = inodes_ref(r->fs->inodes, r->path.data, &e.ino);
			if (rc)
				return rc;
		}
	}
	need = fuse_add_direntry_plus(r->req, r->buf + r->used, r->size - r->used,
				      name, &e, next);
	if (need > r->size - r->used) {
		if (e.ino)
			forget_one(r->fs, e.ino, 1);
		return 1;
	}
	r->used += need;
	return 0;
}

static void readdir_common(fuse_req_t req, size_t size, off_t off,
			   struct fuse_file_info *fi, int plus)
{
	struct fs_dir *d = (struct fs_dir *)(uintptr_t)fi->fh;
	struct reply r = { .req = req, .fs = fs_of(req), .dir = d->path,
			   .size = size, .plus = plus };
	int rc;

	r.buf = malloc(size ? size : 1);
	if (!r.buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	buf_init(&r.path);
	rc = fs_dir_read(r.fs, d, off, add_entry, &r, plus);
	/* An entry that failed after others were added is retried (and then
	 * failed) by the next call, which starts at it. */
	if (rc && r.used == 0)
		fuse_reply_err(req, rc == -ENOENT ? ESTALE : -rc);
	else
		fuse_reply_buf(req, r.buf, r.used);
	free(r.buf);
	buf_release(&r.path);
}

static void op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       struct fuse_file_info *fi)
{
	(void)ino;
	readdir_common(req, size, off, fi, 0);
}

static void op_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
			   struct fuse_file_info *fi)
{
	(void)ino;
	readdir_common(req, size, off, fi, 1);
}

static void op_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)ino;
	fs_dir_free((struct fs_dir *)(uintptr_t)fi->fh);
	fuse_reply_err(req, 0);
}

static void op_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct statvfs sv;

	(void)ino;
	memset(&sv, 0, sizeof(sv));
	sv.f_bsize = 4096;
	sv.f_frsize = 4096;
	sv.f_namemax = 255;
	sv.f_files = inodes_count(fs_of(req)->inodes);
	fuse_reply_statfs(req, &sv);
}

/* No extended attributes: ENOSYS is the answer the kernel remembers, so
 * `ls -l` stops asking (DESIGN.md section 8). */
static void op_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size)
{
	(void)ino; (void)name; (void)size;
	fuse_reply_err(req, ENOSYS);
}

static void op_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	(void)ino; (void)size;
	fuse_reply_err(req, ENOSYS);
}

static void op_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
			const char *value, size_t size, int flags)
{
	(void)ino; (void)name; (void)value; (void)size; (void)flags;
	fuse_reply_err(req, ENOSYS);
}

static void op_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
	(void)ino; (void)name;
	fuse_reply_err(req, ENOSYS);
}

/* ---- changing the tree (-o rw; EROFS otherwise) ----------------------- */

static int64_t ts_ns(const struct timespec *t)
{
	return (int64_t)t->tv_sec * 1000000000 + t->tv_nsec;
}

/*
 * Attributes of a record file or folder: its size is its text (a save),
 * its mtime can be set (touch, rsync -t: recorded in the journal; a
 * folder's only to what it is), its mode and owner are the layout's and
 * the mount's, so setting them to what they are succeeds and anything
 * else is EPERM. atime always equals mtime.
 */
static int setattr_record(struct fs *fs, const char *path, const struct stat *attr,
			  int to_set, struct fs_handle *h, pid_t pid, struct stat *st)
{
	struct fs_handle *own = NULL;
	struct timespec now;
	int64_t mtime_ns;
	int rc = fs_stat(fs, path, st);

	if (rc)
		return rc;
	if ((to_set & FUSE_SET_ATTR_MODE) &&
	    (attr->st_mode & 07777) != (st->st_mode & 07777))
		return -EPERM;
	if (((to_set & FUSE_SET_ATTR_UID) && attr->st_uid != st->st_uid) ||
	    ((to_set & FUSE_SET_ATTR_GID) && attr->st_gid != st->st_gid))
		return -EPERM;
	if (to_set & (FUSE_SET_ATTR_MTIME | FUSE_SET_ATTR_MTIME_NOW)) {
		if (to_set & FUSE_SET_ATTR_MTIME_NOW) {
			clock_gettime(CLOCK_REALTIME, &now);
			mtime_ns = ts_ns(&now);
		} else {
			mtime_ns = ts_ns(&attr->st_mtim);
		}
		if (S_ISDIR(st->st_mode)) {
			if (mtime_ns != ts_ns(&st->st_mtim))
				return -EPERM;   /* a folder's time is the tree's */
		} else if (mtime_ns != ts_ns(&st->st_mtim)) {
			rc = fs_set_mtime(fs, path, mtime_ns);
			if (rc)
				return rc;
		}
	}
	if (to_set & FUSE_SET_ATTR_SIZE) {
		if (S_ISDIR(st->st_mode))
			return -EISDIR;
		if (!h || !h->writable) {
			/* truncate(2) by name: a save of its own. */
			rc = fs_handle_open_write(fs, path, 0, pid, &own);
			if (rc)
				return rc;
			h = own;
		}
		rc = fs_handle_truncate(fs, h, attr->st_size);
		if (!rc && own)
			rc = fs_handle_save(fs, own, 0);
		if (own) {
			fs_handle_free(fs, own);
			h = NULL;   /* it was own: the stat below is the saved file's */
		}
		if (rc)
			return rc;
	}
	rc = fs_stat(fs, path, st);
	if (!rc && h && h->writable && (to_set & FUSE_SET_ATTR_SIZE)) {
		st->st_size = attr->st_size;   /* the open handle's text */
		st->st_blocks = (st->st_size + 511) / 512;
	}
	return rc;
}

static void op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr,
		       int to_set, struct fuse_file_info *fi)
{
	struct fs *fs = fs_of(req);
	struct fs_handle *h = handle_of(fi);
	struct node n;
	struct stat st;
	int rc;

	if (!fs->rw) {
		fuse_reply_err(req, EROFS);
		return;
	}
	if (node_of(req, ino, &n))
		goto out;
	if (n.sino) {
		rc = 0;
		if ((to_set & FUSE_SET_ATTR_SIZE) && h && h->sino == ino) {
			/* ftruncate: the handle learns it was written */
			rc = fs_handle_truncate(fs, h, attr->st_size);
			to_set &= ~FUSE_SET_ATTR_SIZE;
		}
		if (!rc)
			rc = scratch_setattr(fs->scratch, ino, attr, to_set, &st);
	} else {
		rc = setattr_record(fs, n.path.data, attr, to_set, h, pid_of(req), &st);
		st.st_ino = ino;
	}
	if (rc)
		fuse_reply_err(req, rc == -ENOENT ? ESTALE : -rc);
	else
		fuse_reply_attr(req, &st, 0);   /* a save may render other bytes */
out:
	buf_release(&n.path);
}

/*
 * The path of a new name in folder parent, for create, mknod, mkdir and
 * symlink; replies the error itself: EROFS when mounted read-only,
 * ENAMETOOLONG, EEXIST when a record file or folder has that name.
 */
static int new_name(fuse_req_t req, fuse_ino_t parent, const char *name,
		    struct buf *path)
{
	struct fs *fs = fs_of(req);
	struct buf dir = BUF_INIT;
	struct stat st;
	int rc = -EROFS;

	if (fs->rw && !(rc = path_of(req, parent, &dir))) {
		if (strlen(name) > 255)
			rc = -ENAMETOOLONG;
		else if (fs_join(path, dir.data, name), !fs_stat(fs, path->data, &st) ||
			 scratch_lookup(fs->scratch, path->data, 0, NULL, NULL))
			rc = -EEXIST;
		if (rc)
			fuse_reply_err(req, -rc);
	} else if (rc == -EROFS) {
		fuse_reply_err(req, EROFS);
	}
	buf_release(&dir);
	return rc;
}

/* The kind of file a new regular file at path is: a pending record file
 * (its text becomes rows at close) or a scratch file; -EACCES for the
 * names of files that are not rows (README, schema, orphans). *mode is
 * set for a record file. */
static int new_file_kind(struct fs *fs, const char *path, mode_t *mode)
{
	unsigned file_mode = 0;

	switch (fs_classify(fs, path, &file_mode)) {
	case PATH_CANONICAL:
		*mode = file_mode & 07777;
		return SCRATCH_PENDING;
	case PATH_NONE:
		return SCRATCH_FILE;
	default:
		return -EACCES;
	}
}

static void reply_new(fuse_req_t req, struct fs *fs, const struct stat *st,
		      struct fuse_file_info *fi)
{
	struct fuse_entry_param e;

	memset(&e, 0, sizeof(e));
	e.ino = st->st_ino;
	e.attr = *st;
	e.entry_timeout = fs->timeout;
	if (fi) {
		if (fuse_reply_create(req, &e, fi) == -ENOENT) {
			fs_handle_free(fs, handle_of(fi));
			scratch_forget(fs->scratch, e.ino, 1);
		}
	} else if (fuse_reply_entry(req, &e) == -ENOENT) {
		scratch_forget(fs->scratch, e.ino, 1);
	}
}

/* create and mknod of a regular file: fi for create (opened), else NULL */
static void make_file(fuse_req_t req, fuse_ino_t parent, const char *name,
		      mode_t mode, struct fuse_file_info *fi)
{
	struct fs *fs = fs_of(req);
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	struct buf path = BUF_INIT;
	struct fs_handle *h = NULL;
	struct stat st;
	int kind, rc;

	if (new_name(req, parent, name, &path))
		goto out;
	mode &= 07777;
	kind = new_file_kind(fs, path.data, &mode);
	rc = kind < 0 ? kind : scratch_make(fs->scratch, path.data, kind, mode, ctx->uid,
					    ctx->gid, NULL, 0, 1, &st);
	if (!rc && fi) {
		rc = fs_handle_open_scratch(fs, st.st_ino, 0, 1, ctx->pid, &h);
		if (rc) {
			scratch_unlink(fs->scratch, path.data, 0);
			scratch_forget(fs->scratch, st.st_ino, 1);
		}
	}
	if (rc) {
		fuse_reply_err(req, -rc);
		goto out;
	}
	if (fi) {
		fi->fh = (uint64_t)(uintptr_t)h;
		fi->direct_io = 1;
	}
	reply_new(req, fs, &st, fi);
out:
	buf_release(&path);
}

static void op_create(fuse_req_t req, fuse_ino_t parent, const char *name,
		      mode_t mode, struct fuse_file_info *fi)
{
	make_file(req, parent, name, mode, fi);
}

static void op_mknod(fuse_req_t req, fuse_ino_t parent, const char *name,
		     mode_t mode, dev_t rdev)
{
	(void)rdev;
	if (fs_of(req)->rw && !S_ISREG(mode))
		fuse_reply_err(req, EPERM);   /* no devices, fifos or sockets */
	else
		make_file(req, parent, name, mode, NULL);
}

/* A folder made by mkdir is a scratch folder until records land in it. */
static void op_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
	struct fs *fs = fs_of(req);
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	struct buf path = BUF_INIT;
	struct stat st;
	int rc;

	if (new_name(req, parent, name, &path))
		goto out;
	rc = scratch_make(fs->scratch, path.data, SCRATCH_DIR, mode & 07777, ctx->uid,
			  ctx->gid, NULL, 0, 1, &st);
	if (rc)
		fuse_reply_err(req, -rc);
	else
		reply_new(req, fs, &st, NULL);
out:
	buf_release(&path);
}

static void op_symlink(fuse_req_t req, const char *link, fuse_ino_t parent,
		       const char *name)
{
	struct fs *fs = fs_of(req);
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	struct buf path = BUF_INIT;
	struct stat st;
	mode_t mode = 0;
	int rc;

	if (new_name(req, parent, name, &path))
		goto out;
	/* emacs' .#name locks; a record name cannot be a link */
	rc = new_file_kind(fs, path.data, &mode) == SCRATCH_FILE ? 0 : -EPERM;
	if (!rc)
		rc = scratch_make(fs->scratch, path.data, SCRATCH_LINK, 0777, ctx->uid,
				  ctx->gid, link, strlen(link), 1, &st);
	if (rc)
		fuse_reply_err(req, -rc);
	else
		reply_new(req, fs, &st, NULL);
out:
	buf_release(&path);
}

/* rm of a record file (-o rw) deletes the rows it holds, in one
 * transaction: a save of the file emptied. A scratch file just goes. */
static void op_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fs *fs = fs_of(req);
	struct buf dir = BUF_INIT, path = BUF_INIT;
	struct fs_handle *h = NULL;
	struct stat st;
	int rc;

	if (!fs->rw) {
		fuse_reply_err(req, EROFS);
		return;
	}
	if (path_of(req, parent, &dir))
		goto out;
	fs_join(&path, dir.data, name);
	rc = scratch_unlink(fs->scratch, path.data, 0);
	if (rc != -ENOENT)
		goto reply;
	rc = fs_stat(fs, path.data, &st);
	if (!rc && S_ISDIR(st.st_mode))
		rc = -EISDIR;
	if (!rc)
		rc = fs_handle_open_write(fs, path.data, 1, pid_of(req), &h);
	if (!rc && !h->exists)
		rc = -ENOENT;   /* its rows are gone already */
	if (!rc)
		rc = fs_handle_save(fs, h, 0);
reply:
	fuse_reply_err(req, -rc);
out:
	fs_handle_free(fs, h);
	buf_release(&dir);
	buf_release(&path);
}

/* A record folder exists while files are in it: it goes with its last
 * file. A scratch folder goes when nothing is in it. */
static void op_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fs *fs = fs_of(req);
	struct buf dir = BUF_INIT, path = BUF_INIT;
	struct stat st;
	int rc;

	if (!fs->rw) {
		fuse_reply_err(req, EROFS);
		return;
	}
	if (path_of(req, parent, &dir))
		goto out;
	fs_join(&path, dir.data, name);
	rc = fs_stat(fs, path.data, &st);
	if (!rc)
		rc = S_ISDIR(st.st_mode) ? -ENOTEMPTY : -ENOTDIR;
	else if (rc == -ENOENT)
		rc = scratch_unlink(fs->scratch, path.data, 1);
	fuse_reply_err(req, -rc);
out:
	buf_release(&dir);
	buf_release(&path);
}

static void op_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
		      fuse_ino_t newparent, const char *newname, unsigned int flags)
{
	struct fs *fs = fs_of(req);
	struct buf dir = BUF_INIT, newdir = BUF_INIT, from = BUF_INIT, to = BUF_INIT;
	int rc, inval_from, inval_to;

	if (!fs->rw) {
		fuse_reply_err(req, EROFS);
		return;
	}
	if (path_of(req, parent, &dir) || path_of(req, newparent, &newdir))
		goto out;
	if (strlen(newname) > 255) {
		fuse_reply_err(req, ENAMETOOLONG);
		goto out;
	}
	fs_join(&from, dir.data, name);
	fs_join(&to, newdir.data, newname);
	rc = fs_rename(fs, from.data, to.data, flags, pid_of(req), &inval_from,
		       &inval_to);
	fuse_reply_err(req, -rc);
	/*
	 * The kernel moved its entry for `name`, with the inode it stood
	 * for, to `newname`; here a record file stays where its rows are
	 * and a saved scratch file became that record. Make it look both
	 * names up again: after the reply, when the rename has let go of the
	 * folders' locks this notification takes.
	 */
	if (!rc && fs->se && inval_to)
		fuse_lowlevel_notify_inval_entry(fs->se, newparent, newname,
						 strlen(newname));
	if (!rc && fs->se && inval_from)
		fuse_lowlevel_notify_inval_entry(fs->se, parent, name, strlen(name));
out:
	buf_release(&dir);
	buf_release(&newdir);
	buf_release(&from);
	buf_release(&to);
}

static void op_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent,
		    const char *newname)
{
	(void)ino; (void)newparent; (void)newname;
	/* A file is where its rows render it: no second name. */
	fuse_reply_err(req, fs_of(req)->rw ? EPERM : EROFS);
}

static void op_fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t offset,
			 off_t length, struct fuse_file_info *fi)
{
	(void)ino; (void)mode; (void)offset; (void)length; (void)fi;
	fuse_reply_err(req, fs_of(req)->rw ? EOPNOTSUPP : EROFS);
}

const struct fuse_lowlevel_ops fs_ops = {
	.init = op_init,
	.lookup = op_lookup,
	.forget = op_forget,
	.forget_multi = op_forget_multi,
	.getattr = op_getattr,
	.open = op_open,
	.release = op_release,
	.flush = op_flush,
	.fsync = op_fsync,
	.read = op_read,
	.readlink = op_readlink,
	.opendir = op_opendir,
	.readdir = op_readdir,
	.readdirplus = op_readdirplus,
	.releasedir = op_releasedir,
	.statfs = op_statfs,
	.getxattr = op_getxattr,
	.listxattr = op_listxattr,
	.setxattr = op_setxattr,
	.removexattr = op_removexattr,
	.setattr = op_setattr,
	.mknod = op_mknod,
	.mkdir = op_mkdir,
	.unlink = op_unlink,
	.rmdir = op_rmdir,
	.symlink = op_symlink,
	.rename = op_rename,
	.link = op_link,
	.write = op_write,
	.create = op_create,
	.fallocate = op_fallocate,
};
