/*
 * edit.c - editing through a -o rw mount: open files, saves, renames onto
 * record names, and what happens to a save that is refused.
 *
 * fs/EDITING.md gives the reasons; in short:
 *   - a save is save_file() (backend/save.h) on the one read-write
 *     connection (synchronous = FULL, one save at a time), so a 0 from
 *     close, fsync or rename means the rows are committed and durable;
 *   - its base is the rendering the saving process last read of that file
 *     (a table of (path, pid) -> hash, filled by opens and by its own
 *     saves): a second editor, or the application, having changed the
 *     file's rows since gives ESTALE, never a silent overwrite. A process
 *     that never read the file saves against what it holds now;
 *   - a refused save changes nothing; its reason goes to the log and to
 *     .archivefs/status, and its text to .archivefs/rejected/<path>@<time>
 *     (scratch files, in the mount's memory), so the typing survives.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "archive.h"
#include "fs.h"
#include "journal.h"
#include "names.h"
#include "save.h"

/* Files are text of a few megabytes at most: a cap on what a write can
 * grow one to keeps a runaway writer from taking the daemon's memory. */
#define EDIT_MAX ((size_t)256 << 20)

/* All scratch files together (ENOSPC beyond). */
#define SCRATCH_BYTES ((size_t)256 << 20)

/* Bases remembered; the least recently used goes first (a process whose
 * base was forgotten saves against the current rendering). */
#define BASES_MAX 4096

/* .archivefs/status keeps the newest refusals, about this many bytes. */
#define STATUS_MAX ((size_t)64 << 10)

#define STATUS_DIR ".archivefs"
#define STATUS_FILE ".archivefs/status"
#define REJECTED_DIR ".archivefs/rejected"

struct fs_base {
	char *path;
	pid_t pid;
	uint64_t hash;
	uint64_t used;
};

static uint64_t base_clock;

/* The rendering pid last read or saved of path: 1 and *hash, else 0. */
static int base_get(struct fs *fs, const char *path, pid_t pid, uint64_t *hash)
{
	int found = 0;

	pthread_mutex_lock(&fs->edit_mu);
	for (size_t i = 0; i < fs->nbases && !found; i++) {
		struct fs_base *b = &fs->bases[i];
		if (b->pid == pid && !strcmp(b->path, path)) {
			*hash = b->hash;
			b->used = ++base_clock;
			found = 1;
		}
	}
	pthread_mutex_unlock(&fs->edit_mu);
	return found;
}

static void base_set(struct fs *fs, const char *path, pid_t pid, uint64_t hash)
{
	struct fs_base *b = NULL;
	char *p;

	pthread_mutex_lock(&fs->edit_mu);
	for (size_t i = 0; i < fs->nbases && !b; i++)
		if (fs->bases[i].pid == pid && !strcmp(fs->bases[i].path, path))
			b = &fs->bases[i];
	if (!b && fs->nbases < BASES_MAX && (p = strdup(path))) {
		b = &fs->bases[fs->nbases++];
		b->path = p;
		b->pid = pid;
	} else if (!b && (p = strdup(path))) {
		b = &fs->bases[0];
		for (size_t i = 1; i < fs->nbases; i++)
			if (fs->bases[i].used < b->used)
				b = &fs->bases[i];
		free(b->path);
		b->path = p;
		b->pid = pid;
	}
	if (b) {
		b->hash = hash;
		b->used = ++base_clock;
	}
	pthread_mutex_unlock(&fs->edit_mu);
}

void fs_writer_fresh(struct fs *fs)
{
	int gen = __atomic_load_n(&fs->schema_gen, __ATOMIC_ACQUIRE);
	struct buf err = BUF_INIT;
	struct store *s = NULL;
	struct layout l;
	int rc;

	if (fs->wr_gen == gen)
		return;
	rc = store_open(store_path(fs->wr), STORE_RDWR, &s, &err);
	if (!rc)
		rc = store_exec(s, "PRAGMA synchronous = FULL", &err);
	if (!rc)
		rc = layout_bind(&l, store_schema(s), &err);
	if (rc) {
		fuse_log(FUSE_LOG_ERR, "archivefs: saves cannot follow the new schema: %s\n",
			 err.data);
		if (s)
			store_close(s);
	} else {
		layout_release(&fs->wr_l);
		store_close(fs->wr);
		fs->wr = s;
		fs->wr_l = l;
		fs->wr_gen = gen;
	}
	buf_release(&err);
}

int fs_open_writer(struct fs *fs, const char *db, struct buf *err)
{
	int rc = store_open(db, STORE_RDWR, &fs->wr, err);

	/* A save that returned 0 survives a power cut. */
	if (!rc)
		rc = store_exec(fs->wr, "PRAGMA synchronous = FULL", err);
	if (!rc)
		rc = layout_bind(&fs->wr_l, store_schema(fs->wr), err);
	if (!rc) {
		fs->scratch = scratch_new(SCRATCH_BYTES);
		fs->bases = calloc(BASES_MAX, sizeof(*fs->bases));
		buf_init(&fs->status);
		if (!fs->scratch || !fs->bases) {
			buf_addstr(err, "out of memory");
			rc = -ENOMEM;
		}
	}
	if (rc)
		fs_close_writer(fs);
	return rc;
}

int fs_open_status(struct fs *fs)
{
	if (fs->scratch)
		return 0;
	/* Only .archivefs/ lives here: every change to the tree is EROFS
	 * before it reaches the table (ops.c checks fs->rw). */
	fs->scratch = scratch_new(2 * STATUS_MAX + 4096);
	buf_init(&fs->status);
	return fs->scratch ? 0 : -ENOMEM;
}

void fs_close_writer(struct fs *fs)
{
	if (fs->wr) {
		layout_release(&fs->wr_l);
		store_close(fs->wr);
		fs->wr = NULL;
	}
	scratch_free(fs->scratch);
	fs->scratch = NULL;
	for (size_t i = 0; i < fs->nbases; i++)
		free(fs->bases[i].path);
	free(fs->bases);
	fs->bases = NULL;
	fs->nbases = 0;
	buf_release(&fs->status);
}

/* "2026-11-21T10:11:12.123Z" */
static void utc_now(char *out, size_t size)
{
	struct timespec ts;
	struct tm tm;
	size_t n;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = strftime(out, size, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out + n, size - n, ".%03dZ", (int)(ts.tv_nsec / 1000000));
}

/* The errno a refusal reaches the editor with, by name. */
static const char *errno_name(int e)
{
	switch (e) {
	case EINVAL: return "EINVAL";
	case ESTALE: return "ESTALE";
	case EACCES: return "EACCES";
	case EBUSY: return "EBUSY";
	case ENOSPC: return "ENOSPC";
	case EIO: return "EIO";
	case ENOMEM: return "ENOMEM";
	case EROFS: return "EROFS";
	case EFBIG: return "EFBIG";
	case EPERM: return "EPERM";
	default: return "error";
	}
}

/* Make the folders of a scratch path (all but its last part). */
static void make_folders(struct fs *fs, const char *path, mode_t mode)
{
	struct buf dir = BUF_INIT;

	for (const char *s = strchr(path, '/'); s; s = strchr(s + 1, '/')) {
		buf_reset(&dir);
		buf_add(&dir, path, (size_t)(s - path));
		scratch_make(fs->scratch, dir.data, SCRATCH_DIR, mode, fs->uid, fs->gid,
			     NULL, 0, 0, NULL);   /* EEXIST is fine */
	}
	buf_release(&dir);
}

void fs_status_note(struct fs *fs, const char *lines)
{
	if (!fs->scratch)
		return;   /* no table (out of memory at mount): the log has it */
	pthread_mutex_lock(&fs->edit_mu);
	buf_addstr(&fs->status, lines);
	if (fs->status.len > STATUS_MAX) {
		/* drop the oldest lines */
		const char *cut = memchr(fs->status.data + (fs->status.len - STATUS_MAX), '\n',
					 STATUS_MAX);
		if (cut) {
			size_t drop = (size_t)(cut + 1 - fs->status.data);
			memmove(fs->status.data, fs->status.data + drop, fs->status.len - drop);
			buf_truncate(&fs->status, fs->status.len - drop);
		}
	}
	scratch_make(fs->scratch, STATUS_DIR, SCRATCH_DIR, 0755, fs->uid, fs->gid,
		     NULL, 0, 0, NULL);
	scratch_put(fs->scratch, STATUS_FILE, 0444, fs->uid, fs->gid,
		    fs->status.data, fs->status.len);
	pthread_mutex_unlock(&fs->edit_mu);
	/* The kernel may hold "no such file" for these names (someone looked
	 * before the first line): the watcher drops that at its next tick. */
	fs_mark_changed(fs, STATUS_DIR, 1);
}

void fs_status_now(char *out, size_t size)
{
	utc_now(out, size);
}

void fs_refused(struct fs *fs, const char *path, int rc, const struct buf *why,
		const char *text, size_t len)
{
	struct buf kept = BUF_INIT, line = BUF_INIT;
	char when[40];
	int krc = 0;

	utc_now(when, sizeof(when));
	fuse_log(FUSE_LOG_WARNING, "archivefs: save refused (%s): %s\n", strerror(-rc),
		 why->len ? why->data : path);
	if (len && fs->scratch) {
		buf_addf(&kept, "%s/%s@%s", REJECTED_DIR, path, when);
		scratch_make(fs->scratch, STATUS_DIR, SCRATCH_DIR, 0755, fs->uid, fs->gid,
			     NULL, 0, 0, NULL);
		make_folders(fs, kept.data, 0700);
		krc = scratch_make(fs->scratch, kept.data, SCRATCH_FILE, 0600, fs->uid,
				   fs->gid, text, len, 0, NULL);
	}
	/* "<time> EINVAL <path>: line L, column C: <reason>" */
	buf_addf(&line, "%s %s ", when, errno_name(-rc));
	if (!why->len)
		buf_addf(&line, "%s: %s\n", path, strerror(-rc));
	else if (strncmp(why->data, path, strlen(path)))
		buf_addf(&line, "%s: %s\n", path, why->data);
	else
		buf_addf(&line, "%s\n", why->data);
	if (len && !krc)
		buf_addf(&line, "  the text is kept in %s\n", kept.data);
	else if (len)
		buf_addf(&line, "  the text could not be kept: %s\n", strerror(-krc));
	__atomic_add_fetch(&fs->refusals, 1, __ATOMIC_RELAXED);
	fs_status_note(fs, line.data);
	buf_release(&kept);
	buf_release(&line);
}

/*
 * A save is on disk in the sync folder, durably, before it returns. The
 * rows are committed already: a folder that cannot be written (a full
 * disk) does not fail the save; it is logged and the watcher heals the
 * folder with a whole pass once it can (fs->sync_lost).
 */
static void sync_saved(struct fs *fs, const char *path)
{
	struct buf err = BUF_INIT;
	int rc;

	pthread_mutex_lock(&fs->wr_mu);
	fs_writer_fresh(fs);
	rc = sync_file(fs->sync, fs->wr, &fs->wr_l, path, &err);
	pthread_mutex_unlock(&fs->wr_mu);
	if (!rc)
		rc = sync_flush(fs->sync, &err);
	if (rc) {
		__atomic_store_n(&fs->sync_lost, 1, __ATOMIC_RELEASE);
		fuse_log(FUSE_LOG_ERR, "archivefs: saved %s, but cannot write it to %s"
			 " (retried): %s: %s\n", path, sync_dir(fs->sync), strerror(-rc),
			 err.data);
	}
	buf_release(&err);
}

/*
 * Save text as the record file path for process pid, against base (NULL:
 * what the file holds now). On success the caches learn of it and pid's
 * base becomes the new rendering; on failure fs_refused().
 */
static int save_as(struct fs *fs, const char *path, const char *text, size_t len,
		   const uint64_t *base, pid_t pid, struct save_stats *st)
{
	struct buf err = BUF_INIT, hint = BUF_INIT;
	size_t cached;
	unsigned mode;
	int64_t mtime_ns;
	int rc;

	/* The rendering readers were served, if cached: save_file() uses it
	 * when the records prove it current, and renders once less. */
	if (rcache_get(fs->cache, path, 0, 0, NULL, &cached, &mode, &mtime_ns) &&
	    !rcache_get(fs->cache, path, 0, cached, &hint, &cached, &mode, &mtime_ns))
		buf_reset(&hint);
	struct timespec t0, t1;

	pthread_mutex_lock(&fs->wr_mu);
	fs_writer_fresh(fs);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	rc = save_file(fs->wr, &fs->wr_l, path, text, len, base,
		       hint.len ? &hint : NULL, st, &err);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	pthread_mutex_unlock(&fs->wr_mu);
	if (!rc) {
		base_set(fs, path, pid, st->after);
		rcache_drop(fs->cache, path);
		/* The records are updated (save_file); the kernel is told by
		 * the watcher: never from inside this request, which may hold
		 * the locks a notification needs. */
		fs_mark_changed(fs, path, st->exists);
		if (fs->sync)
			sync_saved(fs, path);
		fuse_log(FUSE_LOG_INFO, "archivefs: saved %s: %ld inserted, %ld updated,"
			 " %ld deleted (%.1f ms)\n", path, st->inserted, st->updated,
			 st->deleted, (double)(t1.tv_sec - t0.tv_sec) * 1e3 +
			 (double)(t1.tv_nsec - t0.tv_nsec) / 1e6);
	} else {
		fs_refused(fs, path, rc, &err, text, len);
	}
	buf_release(&hint);
	buf_release(&err);
	return rc;
}

static struct fs_handle *handle_new(pid_t pid)
{
	struct fs_handle *h = calloc(1, sizeof(*h));

	if (!h)
		return NULL;
	pthread_mutex_init(&h->mu, NULL);
	buf_init(&h->data);
	h->pid = pid;
	return h;
}

int fs_handle_open(struct fs *fs, const char *path, pid_t pid,
		   struct fs_handle **out)
{
	struct fs_handle *h = handle_new(pid);
	unsigned mode;
	int64_t mtime_ns;
	int rc;

	*out = NULL;
	if (!h)
		return -ENOMEM;
	rc = fs_render(fs, path, &h->data, &mode, &mtime_ns);
	if (rc) {
		fs_handle_free(fs, h);
		return rc;
	}
	/* What this process read: the base of its next save of the file. */
	if (fs->wr)
		base_set(fs, path, pid, names_hash(h->data.data ? h->data.data : "",
						   h->data.len));
	/* Newest first: fs_reader_size() finds this process's latest open. */
	if (fs->rw && (h->rpath = strdup(path))) {
		pthread_mutex_lock(&fs->readers_mu);
		h->next_reader = fs->readers;
		fs->readers = h;
		pthread_mutex_unlock(&fs->readers_mu);
	}
	*out = h;
	return 0;
}

int fs_reader_size(struct fs *fs, const char *path, pid_t pid, size_t *len)
{
	int found = 0;

	pthread_mutex_lock(&fs->readers_mu);
	for (struct fs_handle *h = fs->readers; h && !found; h = h->next_reader)
		if (h->pid == pid && !strcmp(h->rpath, path)) {
			*len = h->data.len;   /* never changes: a read-only handle */
			found = 1;
		}
	pthread_mutex_unlock(&fs->readers_mu);
	return found;
}

int fs_handle_open_write(struct fs *fs, const char *path, int trunc, pid_t pid,
			 struct fs_handle **out)
{
	struct fs_handle *h;
	unsigned mode;
	int64_t mtime_ns;
	int rc;

	*out = NULL;
	if (!fs->wr)
		return -EROFS;
	if (fs_classify(fs, path, NULL) != PATH_CANONICAL)
		return -EACCES;
	h = handle_new(pid);
	if (!h || !(h->path = strdup(path))) {
		fs_handle_free(fs, h);
		return -ENOMEM;
	}
	h->writable = 1;
	if (trunc) {
		/* Its bytes are not needed: whether it exists is. */
		struct stat st;
		rc = fs_stat(fs, path, &st);
		h->exists = !rc && S_ISREG(st.st_mode);
	} else {
		rc = fs_render(fs, path, &h->data, &mode, &mtime_ns);
		h->exists = !rc;
	}
	if (rc == -ENOENT)
		rc = 0;   /* a record file nobody has written yet */
	if (rc) {
		fs_handle_free(fs, h);
		return rc;
	}
	h->has_base = base_get(fs, path, pid, &h->base);
	if (!h->has_base && !trunc) {
		/* It reads the file through this handle. */
		h->base = names_hash(h->data.data ? h->data.data : "", h->data.len);
		h->has_base = 1;
		base_set(fs, path, pid, h->base);
	}
	if (trunc) {
		buf_reset(&h->data);
		h->dirty = 1;   /* closing it empty is a save */
	}
	*out = h;
	return 0;
}

int fs_handle_open_scratch(struct fs *fs, fuse_ino_t ino, int trunc, int writable,
			   pid_t pid, struct fs_handle **out)
{
	struct fs_handle *h = handle_new(pid);
	int rc;

	*out = NULL;
	if (!h)
		return -ENOMEM;
	rc = scratch_open(fs->scratch, ino, trunc);
	if (rc) {
		fs_handle_free(fs, h);
		return rc;
	}
	h->sino = ino;
	h->writable = writable;
	*out = h;
	return 0;
}

int fs_handle_read(struct fs *fs, struct fs_handle *h, off_t off, size_t size,
		   struct buf *out)
{
	if (off < 0)
		return -EINVAL;
	if (h->sino)
		return scratch_read(fs->scratch, h->sino, off, size, out);
	pthread_mutex_lock(&h->mu);
	if ((size_t)off < h->data.len) {
		size_t n = h->data.len - (size_t)off;
		buf_add(out, h->data.data + off, size < n ? size : n);
	}
	pthread_mutex_unlock(&h->mu);
	return 0;
}

static int resize(struct fs_handle *h, size_t len)
{
	if (len > EDIT_MAX)
		return -EFBIG;
	if (len > h->data.len) {
		buf_grow(&h->data, len - h->data.len);
		memset(h->data.data + h->data.len, 0, len - h->data.len);
		h->data.len = len;
		h->data.data[len] = '\0';
	} else {
		buf_truncate(&h->data, len);
	}
	return 0;
}

int fs_handle_write(struct fs *fs, struct fs_handle *h, off_t off, const char *data,
		    size_t size)
{
	int rc = 0;

	if (off < 0)
		return -EINVAL;
	pthread_mutex_lock(&h->mu);
	if (h->sino)
		rc = scratch_write(fs->scratch, h->sino, off, data, size);
	else if ((size_t)off + size > h->data.len)
		rc = resize(h, (size_t)off + size);
	if (!rc && !h->sino)
		memcpy(h->data.data + off, data, size);
	if (!rc)
		h->dirty = h->written = 1;
	pthread_mutex_unlock(&h->mu);
	return rc;
}

int fs_handle_truncate(struct fs *fs, struct fs_handle *h, off_t size)
{
	struct stat attr, st;
	int rc;

	if (size < 0)
		return -EINVAL;
	pthread_mutex_lock(&h->mu);
	if (h->sino) {
		memset(&attr, 0, sizeof(attr));
		attr.st_size = size;
		rc = scratch_setattr(fs->scratch, h->sino, &attr, FUSE_SET_ATTR_SIZE, &st);
	} else {
		rc = resize(h, (size_t)size);
	}
	if (!rc)
		h->dirty = h->written = 1;
	pthread_mutex_unlock(&h->mu);
	return rc;
}

/*
 * A file created under a record name (SCRATCH_PENDING), written to: save
 * its bytes as that record file. Then the node stands for the record
 * (scratch_alias) and the handle becomes a writable record handle, so
 * writes after an fsync go on as edits of the saved file. An empty file
 * holds no rows: it stays as it is. h->mu is held.
 */
static int save_pending(struct fs *fs, struct fs_handle *h)
{
	struct buf path = BUF_INIT, text = BUF_INIT;
	struct save_stats st;
	uint64_t base;
	int kind, has_base, rc;

	h->written = 0;   /* tried once: a refusal is not retried at release */
	rc = scratch_get(fs->scratch, h->sino, NULL, &kind, &path);
	if (!rc && kind == SCRATCH_PENDING)
		rc = scratch_data(fs->scratch, h->sino, &text);
	if (rc || kind != SCRATCH_PENDING || !text.len)
		goto out;
	has_base = base_get(fs, path.data, h->pid, &base);
	rc = save_as(fs, path.data, text.data, text.len, has_base ? &base : NULL,
		     h->pid, &st);
	if (rc)
		goto out;
	scratch_alias(fs->scratch, h->sino, path.data);
	scratch_close(fs->scratch, h->sino);
	h->sino = 0;
	free(h->path);
	h->path = buf_detach(&path, NULL);
	buf_release(&h->data);
	h->data = text;
	buf_init(&text);
	h->exists = st.exists;
	h->base = st.after;
	h->has_base = 1;
	h->dirty = 0;
out:
	buf_release(&path);
	buf_release(&text);
	return rc;
}

int fs_handle_save(struct fs *fs, struct fs_handle *h, int only_written)
{
	struct save_stats st;
	int rc = 0;

	pthread_mutex_lock(&h->mu);
	if (h->sino) {
		if (h->written)
			rc = save_pending(fs, h);
	} else if (h->writable && h->dirty && (h->written || !only_written)) {
		rc = save_as(fs, h->path, h->data.data ? h->data.data : "", h->data.len,
			     h->has_base ? &h->base : NULL, h->pid, &st);
		/* A refusal is not tried again at release: the caller saw it. */
		h->dirty = h->written = 0;
		if (!rc) {
			h->base = st.after;   /* the next save builds on this one */
			h->has_base = 1;
			h->exists = st.exists;
		}
	}
	pthread_mutex_unlock(&h->mu);
	return rc;
}

void fs_handle_free(struct fs *fs, struct fs_handle *h)
{
	if (!h)
		return;
	if (h->rpath) {
		pthread_mutex_lock(&fs->readers_mu);
		for (struct fs_handle **p = &fs->readers; *p; p = &(*p)->next_reader)
			if (*p == h) {
				*p = h->next_reader;
				break;
			}
		pthread_mutex_unlock(&fs->readers_mu);
		free(h->rpath);
	}
	if (h->sino)
		scratch_close(fs->scratch, h->sino);
	buf_release(&h->data);
	free(h->path);
	pthread_mutex_destroy(&h->mu);
	free(h);
}

int fs_set_mtime(struct fs *fs, const char *path, int64_t mtime_ns)
{
	struct buf err = BUF_INIT, bytes = BUF_INIT;
	unsigned mode;
	int rc;

	if (!fs->wr || !fs->journal)
		return -EROFS;
	pthread_mutex_lock(&fs->wr_mu);
	fs_writer_fresh(fs);
	rc = store_begin(fs->wr, 1, &err);
	if (!rc)
		rc = journal_set_mtime(fs->wr, path, mtime_ns, &err);
	if (rc == 0) {
		/* Not recorded yet (the tree is still being recorded). */
		rc = archive_render_file(fs->wr, &fs->wr_l, path, &bytes, &mode, &err);
		if (!rc)
			rc = journal_record_file(fs->wr, path, &bytes, mode, &err);
		if (!rc)
			rc = journal_set_mtime(fs->wr, path, mtime_ns, &err);
		if (rc == 0)
			rc = -EIO;
	}
	if (rc == 1)
		rc = store_commit(fs->wr, &err);
	if (rc)
		store_rollback(fs->wr);
	pthread_mutex_unlock(&fs->wr_mu);
	if (!rc) {
		rcache_drop(fs->cache, path);
		fs_mark_changed(fs, path, 1);
	} else {
		fuse_log(FUSE_LOG_WARNING, "archivefs: cannot set the time of '%s': %s%s%s\n",
			 path, strerror(-rc), err.len ? ": " : "", err.data);
	}
	buf_release(&bytes);
	buf_release(&err);
	return rc;
}

/* from is a scratch node: move it, or save it onto a record name. */
static int rename_scratch(struct fs *fs, const char *from, const char *to,
			  int noreplace, pid_t pid, int *inval_to)
{
	struct stat from_st, to_st;
	struct buf text = BUF_INIT;
	struct save_stats st;
	enum path_kind k;
	uint64_t base;
	int kind, rc, has_base;

	scratch_lookup(fs->scratch, from, 0, &from_st, &kind);
	if (kind == SCRATCH_DIR)
		return -EPERM;   /* folders stay where they are */
	if (scratch_lookup(fs->scratch, to, 0, NULL, NULL))
		return scratch_rename(fs->scratch, from, to, noreplace);
	k = fs_classify(fs, to, NULL);
	if (k == PATH_NONE) {
		if (!fs_stat(fs, to, &to_st))
			return -EISDIR;   /* a record folder */
		return scratch_rename(fs->scratch, from, to, noreplace);
	}
	if (k != PATH_CANONICAL)
		return -EACCES;   /* README, schema, orphans: not rows */
	if (kind != SCRATCH_FILE && kind != SCRATCH_PENDING)
		return -EPERM;    /* a link is not a record file */
	if (noreplace && !fs_stat(fs, to, &to_st))
		return -EEXIST;
	rc = scratch_data(fs->scratch, from_st.st_ino, &text);
	if (rc)
		goto out;
	has_base = base_get(fs, to, pid, &base);
	rc = save_as(fs, to, text.data ? text.data : "", text.len,
		     has_base ? &base : NULL, pid, &st);
	if (rc)
		goto out;   /* from stays, with its text */
	/* rsync -t set the temporary's time before renaming it. */
	if (st.exists && scratch_times_set(fs->scratch, from_st.st_ino)) {
		struct stat now_st;
		if (!scratch_get(fs->scratch, from_st.st_ino, &now_st, NULL, NULL))
			fs_set_mtime(fs, to, (int64_t)now_st.st_mtim.tv_sec * 1000000000 +
				     now_st.st_mtim.tv_nsec);
	}
	scratch_alias(fs->scratch, from_st.st_ino, to);
	*inval_to = 1;
out:
	buf_release(&text);
	return rc;
}

int fs_rename(struct fs *fs, const char *from, const char *to, unsigned flags,
	      pid_t pid, int *inval_from, int *inval_to)
{
	struct stat st, to_st;
	struct buf bytes = BUF_INIT;
	unsigned mode;
	int64_t mtime_ns;
	int rc, kind;

	*inval_from = *inval_to = 0;
	if (!fs->wr)
		return -EROFS;
	if (flags & ~(unsigned)RENAME_NOREPLACE)
		return -EINVAL;   /* RENAME_EXCHANGE, RENAME_WHITEOUT */
	if (!strcmp(from, to))
		return 0;
	if (scratch_lookup(fs->scratch, from, 0, NULL, NULL))
		return rename_scratch(fs, from, to, (flags & RENAME_NOREPLACE) != 0, pid,
				      inval_to);
	/* A record file renamed away: a scratch copy under the new name, the
	 * rows stay (vim's and emacs' backup before they write the file). */
	rc = fs_stat(fs, from, &st);
	if (rc)
		return rc;
	if (S_ISDIR(st.st_mode))
		return -EPERM;
	if (scratch_lookup(fs->scratch, to, 0, &to_st, &kind)) {
		if (flags & RENAME_NOREPLACE)
			return -EEXIST;
		if (kind == SCRATCH_DIR)
			return -EISDIR;
	} else if (fs_classify(fs, to, NULL) != PATH_NONE) {
		fuse_log(FUSE_LOG_WARNING, "archivefs: rename '%s' to '%s': both are"
			 " record names; edit the key in the text instead\n", from, to);
		return -EPERM;
	} else if (!fs_stat(fs, to, &to_st)) {
		return -EISDIR;
	}
	rc = fs_render(fs, from, &bytes, &mode, &mtime_ns);
	if (!rc) {
		scratch_unlink(fs->scratch, to, 0);
		rc = scratch_make(fs->scratch, to, SCRATCH_FILE, mode, st.st_uid, st.st_gid,
				  bytes.data, bytes.len, 0, &to_st);
	}
	if (!rc) {
		/* rename keeps the time */
		struct stat attr, out;
		memset(&attr, 0, sizeof(attr));
		attr.st_mtim = st.st_mtim;
		attr.st_atim = st.st_atim;
		scratch_setattr(fs->scratch, to_st.st_ino, &attr,
				FUSE_SET_ATTR_MTIME | FUSE_SET_ATTR_ATIME, &out);
		*inval_from = *inval_to = 1;
	}
	buf_release(&bytes);
	return rc;
}
