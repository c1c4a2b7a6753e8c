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
 * This cut is read-only: the mount is "ro" and every modifying operation
 * replies EROFS should one get through.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>

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
	int rc = inodes_path(fs_of(req)->inodes, ino, out);

	if (rc)
		fuse_reply_err(req, -rc);
	return rc;
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
	e.attr_timeout = fs->timeout;
	e.entry_timeout = fs->timeout;
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

static void op_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	inodes_forget(fs_of(req)->inodes, ino, nlookup);
	fuse_reply_none(req);
}

static void op_forget_multi(fuse_req_t req, size_t count,
			    struct fuse_forget_data *forgets)
{
	struct fs *fs = fs_of(req);

	for (size_t i = 0; i < count; i++)
		inodes_forget(fs->inodes, forgets[i].ino, forgets[i].nlookup);
	fuse_reply_none(req);
}

static void op_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fs *fs = fs_of(req);
	struct buf path = BUF_INIT;
	struct stat st;
	int rc;

	(void)fi;
	if (path_of(req, ino, &path))
		goto out;
	rc = fs_stat(fs, path.data, &st);
	if (rc)
		fuse_reply_err(req, rc == -ENOENT ? ESTALE : -rc);
	else
		fuse_reply_attr(req, &st, fs->timeout);
out:
	buf_release(&path);
}

static void op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fs *fs = fs_of(req);
	struct buf path = BUF_INIT;
	struct fs_handle *h;
	int rc, write = (fi->flags & O_ACCMODE) != O_RDONLY || (fi->flags & O_TRUNC);

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
	if (path_of(req, ino, &path))
		goto out;
	rc = write ? fs_handle_open_write(fs, path.data, (fi->flags & O_TRUNC) != 0, &h)
		   : fs_handle_open(fs, path.data, &h);
	if (rc) {
		fuse_reply_err(req, rc == -ENOENT ? ESTALE : -rc);
		goto out;
	}
	fi->fh = (uint64_t)(uintptr_t)h;
	fi->direct_io = 1;   /* this handle's bytes only: see struct fs_handle */
	fi->noflush = !write;
	if (fuse_reply_open(req, fi) == -ENOENT)
		fs_handle_free(h);   /* interrupted: no release will come */
out:
	buf_release(&path);
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
	rc = fs_handle_write(h, off, buf, size);
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
	if (h && h->writable && h->dirty && !h->written)
		fs_handle_save(fs_of(req), h, 0);
	fs_handle_free(h);
	fuse_reply_err(req, 0);
}

static void op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	struct fs *fs = fs_of(req);
	struct buf path = BUF_INIT, out = BUF_INIT;
	int rc, raced;

	if (fi->fh) {
		fs_handle_read((struct fs_handle *)(uintptr_t)fi->fh, off, size, &out);
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

static void op_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fs *fs = fs_of(req);
	struct buf path = BUF_INIT;
	struct fs_dir *d;
	int rc;

	if (path_of(req, ino, &path))
		goto out;
	rc = fs_dir_open(fs, path.data, &d);
	if (rc) {
		fuse_reply_err(req, rc == -ENOENT ? ESTALE : -rc);
		goto out;
	}
	fi->fh = (uint64_t)(uintptr_t)d;
	fi->keep_cache = 1;      /* watch.c invalidates it when it changes */
	fi->cache_readdir = 1;
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
	e.attr_timeout = r->fs->timeout;
	e.entry_timeout = r->fs->timeout;
	/* "." and "..": the kernel takes no reference on them. */
	if (strcmp(name, ".") && strcmp(name, "..")) {
		fs_join(&r->path, r->dir, name);
		rc = inodes_ref(r->fs->inodes, r->path.data, &e.ino);
		if (rc)
			return rc;
	}
	need = fuse_add_direntry_plus(r->req, r->buf + r->used, r->size - r->used,
				      name, &e, next);
	if (need > r->size - r->used) {
		if (e.ino)
			inodes_forget(r->fs->inodes, e.ino, 1);
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

/* ---- read-only in this cut: everything that would change the tree ---- */

static void op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr,
		       int to_set, struct fuse_file_info *fi)
{
	struct fs *fs = fs_of(req);
	struct fs_handle *h = handle_of(fi), *own = NULL;
	struct buf path = BUF_INIT;
	struct stat st;
	int rc;

	/* Only a size change, for now (ftruncate, truncate, O_TRUNC without
	 * atomic_o_trunc); modes, owners and times come with the rest of
	 * editing (fs/EDITING.md). */
	if (!fs->rw || to_set != FUSE_SET_ATTR_SIZE) {
		fuse_reply_err(req, EROFS);
		return;
	}
	if (path_of(req, ino, &path))
		goto out;
	if (!h || !h->writable) {
		/* truncate(2) by name: a save of its own. */
		rc = fs_handle_open_write(fs, path.data, 0, &own);
		if (rc) {
			fuse_reply_err(req, rc == -ENOENT ? ESTALE : -rc);
			goto out;
		}
		h = own;
	}
	rc = fs_handle_truncate(h, attr->st_size);
	if (!rc && own)
		rc = fs_handle_save(fs, own, 0);
	if (!rc)
		rc = fs_stat(fs, path.data, &st);
	if (rc) {
		fuse_reply_err(req, rc == -ENOENT ? ESTALE : -rc);
		goto out;
	}
	st.st_size = attr->st_size;
	st.st_blocks = (st.st_size + 511) / 512;
	/* Attributes are not cached: the save may render other bytes. */
	fuse_reply_attr(req, &st, 0);
out:
	fs_handle_free(own);
	buf_release(&path);
}

static void op_mknod(fuse_req_t req, fuse_ino_t parent, const char *name,
		     mode_t mode, dev_t rdev)
{
	(void)parent; (void)name; (void)mode; (void)rdev;
	fuse_reply_err(req, EROFS);
}

static void op_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
	(void)parent; (void)name; (void)mode;
	fuse_reply_err(req, EROFS);
}

/* rm of a record file (-o rw) deletes the rows it holds, in one
 * transaction: a save of the file emptied. */
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
	rc = fs_stat(fs, path.data, &st);
	if (!rc && S_ISDIR(st.st_mode))
		rc = -EISDIR;
	if (!rc)
		rc = fs_handle_open_write(fs, path.data, 1, &h);
	if (!rc && !h->exists)
		rc = -ENOENT;   /* its rows are gone already */
	if (!rc)
		rc = fs_handle_save(fs, h, 0);
	fuse_reply_err(req, -rc);
out:
	fs_handle_free(h);
	buf_release(&dir);
	buf_release(&path);
}

/* A folder exists while files are in it: it goes with its last file. */
static void op_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	(void)parent; (void)name;
	fuse_reply_err(req, fs_of(req)->rw ? ENOTEMPTY : EROFS);
}

static void op_symlink(fuse_req_t req, const char *link, fuse_ino_t parent,
		       const char *name)
{
	(void)link; (void)parent; (void)name;
	fuse_reply_err(req, EROFS);
}

static void op_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
		      fuse_ino_t newparent, const char *newname, unsigned int flags)
{
	(void)parent; (void)name; (void)newparent; (void)newname; (void)flags;
	fuse_reply_err(req, EROFS);
}

static void op_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent,
		    const char *newname)
{
	(void)ino; (void)newparent; (void)newname;
	fuse_reply_err(req, EROFS);
}


static void op_create(fuse_req_t req, fuse_ino_t parent, const char *name,
		      mode_t mode, struct fuse_file_info *fi)
{
	(void)parent; (void)name; (void)mode; (void)fi;
	fuse_reply_err(req, EROFS);
}

static void op_fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t offset,
			 off_t length, struct fuse_file_info *fi)
{
	(void)ino; (void)mode; (void)offset; (void)length; (void)fi;
	fuse_reply_err(req, EROFS);
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
