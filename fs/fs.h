/*
 * fs.h - the FUSE edge of archivefs, internal to fs/.
 *
 * fs/ translates kernel requests into backend calls and nothing more: no
 * SQL, no rendering of its own (DESIGN.md section 6). The pieces:
 *
 *   inodes.c  inode numbers (a hash of the path, stable across mounts) and
 *             the kernel's lookup counts;
 *   rcache.c  rendered files by path, with their mtimes, under a byte cap,
 *             so sizes are exact without rendering on every getattr;
 *   pins.c    the rendering a reader of a big file started with, kept
 *             until it stops reading, so it sees one version throughout;
 *   fs.c      the mounted filesystem: a pool of read-only store
 *             connections, and stat/read/list of a tree path;
 *   scratch.c files that live in the mount's memory only (editors'
 *             swap files, backups, temporaries: -o rw);
 *   edit.c    open files of a -o rw mount and their saves, renames onto
 *             record names, refusals kept in .archivefs/;
 *   watch.c   live updates: a thread that applies the change journal
 *             (backend/journal.h) when the application commits, drops
 *             changed files from the cache and tells the kernel;
 *   ops.c     the low-level FUSE operations, thin, errno at the edge;
 *   mount.c   `archivefs mount`: arguments, checks, session, loop.
 *
 * Errors inside the daemon are 0 or a negative errno; a request path never
 * exits, it logs (fuse_log) and returns an error.
 *
 * Paths are relative to the tree root, without leading or trailing '/';
 * the root is "".
 */
#ifndef ARCHIVEFS_FS_H
#define ARCHIVEFS_FS_H

#define FUSE_USE_VERSION 314

#include <fuse_lowlevel.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "buf.h"
#include "layout.h"
#include "store.h"
#include "sync.h"
#include "tree.h"

/* ---- inodes.c --------------------------------------------------------- */

struct inodes;

struct inodes *inodes_new(void);
void inodes_free(struct inodes *t);

/* The inode number of `path`: FUSE_ROOT_ID for "", else the 64-bit FNV-1a
 * hash of the path, never 0 or 1. A pure function: stable across mounts. */
fuse_ino_t inodes_hash(const char *path);

/*
 * Take one kernel lookup reference on path's inode (lookup, readdirplus)
 * and set *ino. -EIO (logged) when another live path has the same number:
 * serving it would serve the wrong file.
 */
int inodes_ref(struct inodes *t, const char *path, fuse_ino_t *ino);

/* Drop n references (forget); the entry goes when none is left. */
void inodes_forget(struct inodes *t, fuse_ino_t ino, uint64_t n);

/* Set out (reset first) to the path of ino; -ESTALE when unknown. */
int inodes_path(struct inodes *t, fuse_ino_t ino, struct buf *out);

/* Inodes the kernel holds references on (statfs, tests). */
size_t inodes_count(struct inodes *t);

/* 1 if the kernel holds a reference on ino (always for the root). */
int inodes_known(struct inodes *t, fuse_ino_t ino);

/* ---- scratch.c -------------------------------------------------------- */

/* Inode numbers of scratch nodes have this bit; a path's hash never has. */
#define SCRATCH_INO_BIT ((fuse_ino_t)1 << 63)

static inline int scratch_ino(fuse_ino_t ino)
{
	return (ino & SCRATCH_INO_BIT) != 0;
}

/* What a scratch node is (scratch.c explains each). */
enum { SCRATCH_FILE, SCRATCH_PENDING, SCRATCH_ALIAS, SCRATCH_DIR, SCRATCH_LINK };

struct scratch;

/* A table of scratch nodes holding at most cap bytes in all. */
struct scratch *scratch_new(size_t cap);
void scratch_free(struct scratch *t);

/* Make a node of `kind` named path with len bytes of data (a link's
 * target), mode bits and owner; ref: the kernel takes a reference (create,
 * mkdir, symlink). *st (may be NULL) gets its attributes. -EEXIST when a
 * node has that name, -ENOSPC beyond the cap. */
int scratch_make(struct scratch *t, const char *path, int kind, mode_t mode,
		 uid_t uid, gid_t gid, const char *data, size_t len, int ref,
		 struct stat *st);

/* 1 and *st, *kind (each may be NULL) when a node is named path (ref: the
 * kernel takes a reference); 0 when none is. */
int scratch_lookup(struct scratch *t, const char *path, int ref, struct stat *st,
		   int *kind);

/* The node numbered ino: its attributes, kind and path (an alias: the
 * record's path). -ESTALE when there is none. Each out may be NULL. */
int scratch_get(struct scratch *t, fuse_ino_t ino, struct stat *st, int *kind,
		struct buf *path);

/* 1 if the node's mtime was set by setattr after its last write. */
int scratch_times_set(struct scratch *t, fuse_ino_t ino);

void scratch_forget(struct scratch *t, fuse_ino_t ino, uint64_t count);

/* An open handle on a file or link node (trunc: empty it first); every
 * scratch_open is paired with a scratch_close. */
int scratch_open(struct scratch *t, fuse_ino_t ino, int trunc);
void scratch_close(struct scratch *t, fuse_ino_t ino);

int scratch_read(struct scratch *t, fuse_ino_t ino, off_t off, size_t size,
		 struct buf *out);
int scratch_write(struct scratch *t, fuse_ino_t ino, off_t off, const char *data,
		  size_t size);
/* Append all of a node's bytes to out. */
int scratch_data(struct scratch *t, fuse_ino_t ino, struct buf *out);

/* Set what to_set (FUSE_SET_ATTR_*) names, from attr; *st gets the result. */
int scratch_setattr(struct scratch *t, fuse_ino_t ino, const struct stat *attr,
		    int to_set, struct stat *st);

/* Remove the name path (dir: a folder, which must be empty of scratch
 * nodes). -ENOENT when no node has that name. */
int scratch_unlink(struct scratch *t, const char *path, int dir);

/* Move the node named from to the name to, replacing a file there
 * (noreplace: -EEXIST instead). -ENOENT when no node is named from. */
int scratch_rename(struct scratch *t, const char *from, const char *to,
		   int noreplace);

/* The node's text was saved as the record file `record`: it loses its
 * name and its bytes and, while the kernel holds it, stands for that file. */
int scratch_alias(struct scratch *t, fuse_ino_t ino, const char *record);

/* Set or clear SCRATCH_PENDING on a file node. */
int scratch_pending(struct scratch *t, fuse_ino_t ino, int pending);

/* Replace the bytes of the file named path, making it when there is none
 * (status files). */
int scratch_put(struct scratch *t, const char *path, mode_t mode, uid_t uid,
		gid_t gid, const char *data, size_t len);

/* Call fn for each node directly in folder dir; stops at fn's non-zero
 * return, which it returns. */
typedef int (*scratch_list_fn)(void *ctx, const char *name, const struct stat *st);
int scratch_list(struct scratch *t, const char *dir, scratch_list_fn fn, void *ctx);

/* 1 if some node lies under folder dir. */
int scratch_has_children(struct scratch *t, const char *dir);

/* ---- rcache.c --------------------------------------------------------- */

struct rcache;

/* A cache of rendered files holding at most cap bytes of file data. */
struct rcache *rcache_new(size_t cap);
void rcache_free(struct rcache *c);

/*
 * On a hit return 1, set *len, *mode and *mtime_ns to the file's size,
 * mode and mtime and, when out is not NULL, append bytes [off, off + size)
 * of it to out. 0 on a miss.
 */
int rcache_get(struct rcache *c, const char *path, off_t off, size_t size,
	       struct buf *out, size_t *len, unsigned *mode, int64_t *mtime_ns);

/* The generation: read it before rendering, pass it to rcache_put(). */
uint64_t rcache_gen(struct rcache *c);

/* Remember path's rendering (copied), evicting the least recently used
 * files beyond the cap. A file larger than the cap is not kept, nor one
 * rendered before a rcache_drop() (gen is not the current generation). */
void rcache_put(struct rcache *c, uint64_t gen, const char *path,
		const char *data, size_t len, unsigned mode, int64_t mtime_ns);

/* Forget path's rendering (the file changed) and bump the generation. */
void rcache_drop(struct rcache *c, const char *path);
/* Forget every rendering (and bump the generation). */
void rcache_drop_all(struct rcache *c);

/* ---- pins.c ----------------------------------------------------------- */

struct pins;

/* Pins holding at most cap bytes of renderings in all. */
struct pins *pins_new(size_t cap);
void pins_free(struct pins *p);

/* When path is pinned: append bytes [off, off + size) of the pinned
 * rendering to out and return 1 (the pin's idle time restarts); else 0. */
int pins_read(struct pins *p, const char *path, off_t off, size_t size,
	      struct buf *out);

/* Pin data (taken over: *data is left empty) as path's rendering, unless
 * the render cache's generation moved past gen (read before rendering:
 * a change was published since), the path is pinned, or the cap is
 * reached; then *data is left alone. */
void pins_add(struct pins *p, struct rcache *c, uint64_t gen, const char *path,
	      struct buf *data, unsigned mode, int64_t mtime_ns);

/* When path is pinned: its pinned size, mode and mtime, and 1; else 0. */
int pins_stat(struct pins *p, const char *path, size_t *len, unsigned *mode,
	      int64_t *mtime_ns);

/* The file at path changed (exists: it still does). 1 if a reader is
 * pinned on it: the caller must not invalidate the kernel's view of it
 * now, pins_expire() hands it back later. 0 if not pinned. */
int pins_supersede(struct pins *p, const char *path, int exists);

/* A pinned path whose file changed, released by pins_expire(). */
struct pins_released {
	char *path;             /* the caller frees it */
	int exists;
};

/* Remove idle pins and pins superseded long enough; the superseded ones
 * (at most max) go to out[], to be invalidated now. Returns how many. */
size_t pins_expire(struct pins *p, struct pins_released *out, size_t max);

/* ---- fs.c ------------------------------------------------------------- */

/* Files that changed: which, and whether they still exist. */
struct fs_change {
	char *path;
	int exists;
};

struct fs_changes {
	struct fs_change *v;
	size_t n, cap;
};

/* Append path (copied): 0, or -ENOMEM (nothing appended). */
int fs_changes_add(struct fs_changes *c, const char *path, int exists);
/* Free the paths, keep the array for reuse. */
void fs_changes_clear(struct fs_changes *c);
void fs_changes_release(struct fs_changes *c);

/* One read-only connection and the layout bound to its schema. */
struct fs_conn {
	struct store *s;
	struct layout l;
	int busy;
	int gen;                /* the schema generation it is bound to */
};

struct fs {
	/* SQLite connections are opened NOMUTEX: one thread at a time each.
	 * A request takes a free one from the pool and gives it back. */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct fs_conn *conns;
	int nconns;

	struct inodes *inodes;
	struct rcache *cache;
	struct pins *pins;
	/* Times (DESIGN.md section 5): with the change journal installed, a
	 * file's mtime is journal_file_mtime(), a folder's the install time;
	 * without it (a read-only database never mounted read-write), every
	 * node carries the database file's mtime as of mounting. atime and
	 * ctime equal mtime. Never now, never 0. */
	int journal;            /* the journal is installed: per-file mtimes */
	int live;               /* the watcher applies it: its records are current;
				 * read and set with fs_live()/fs_set_live(): the
				 * watcher turns it on once the tree is recorded */
	struct timespec time;   /* folders' times (and files' without journal) */
	uid_t uid;
	gid_t gid;
	double timeout;         /* entry and attr timeout, seconds */
	int no_open;            /* the kernel may skip opens (FUSE_CAP_NO_OPEN_SUPPORT) */
	int rw;                 /* mounted -o rw: real opens (fs/EDITING.md) */
	/* Saves (-o rw): one read-write connection, synchronous = FULL, one
	 * save at a time. */
	pthread_mutex_t wr_mu;
	struct store *wr;
	struct layout wr_l;
	int wr_gen;
	/* Bumped (atomically) by the watcher when the application changed
	 * the schema: each connection reopens and binds the new layout the
	 * next time it is taken (fs_conn.gen, wr_gen). */
	int schema_gen;
	struct fuse_session *se;   /* for notifications from requests; may be NULL */
	/* -o rw: files in memory only (scratch.c), and under edit_mu the
	 * bases of saves (the rendering each process last read of a file)
	 * and the refusals shown in .archivefs/status (edit.c). */
	struct scratch *scratch;
	/* --sync-dir: the real folder kept identical to the tree (sync.h);
	 * written by the watcher, and by saves before they return. */
	struct sync *sync;
	int sync_lost;          /* a save could not be written there (atomic) */
	pthread_mutex_t edit_mu;
	struct fs_base *bases;
	size_t nbases;
	struct buf status;
	unsigned long refusals;
	/* Files served from a rendering the records do not describe yet (the
	 * application committed after the watcher's last apply): the watcher
	 * invalidates them after its next apply, which may find no change
	 * (a row flipped and back) and would otherwise leave the kernel with
	 * bytes that are no longer the database's. Guarded by ahead_mu. */
	pthread_mutex_t ahead_mu;
	struct fs_changes ahead;
	/* rw mounts: the open read-only handles of record files, so that a
	 * process's fstat gives the size of the version its open rendered
	 * (fs_reader_size); guarded by readers_mu. */
	pthread_mutex_t readers_mu;
	struct fs_handle *readers;
};

/*
 * An open folder. With current records (fs->live) nothing is listed in
 * advance: each readdir pages through journal_list() from a cursor (the
 * last entry handed out), so a folder of any size costs a few hundred
 * bytes of daemon memory and one short read transaction per reply. Else
 * the folder is listed whole (tree_list) at the first readdir.
 */
struct fs_dir_scratch {
	char *name;
	struct stat st;
};

struct fs_dir {
	char *path;
	/* -o rw: the scratch entries at opendir (offsets 2 .. 2 + n - 1);
	 * is_scratch: the folder itself is one (it may hold no records) */
	struct fs_dir_scratch *scratch;
	size_t nscratch, capscratch;
	int is_scratch;
	/* paging: offset `next` follows the entry (after, after_type) */
	char *after;
	int after_type;
	off_t next;
	int paged;              /* 0 not read yet, 1 paging, 2 listed whole */
	/* listed whole */
	struct tree_entries list;
	int loaded;
};

static inline int fs_live(struct fs *fs)
{
	return __atomic_load_n(&fs->live, __ATOMIC_ACQUIRE);
}

static inline void fs_set_live(struct fs *fs)
{
	__atomic_store_n(&fs->live, 1, __ATOMIC_RELEASE);
}

/* Open db read-only and bind its layout, then close it: the check made
 * before mounting, so a bad database fails the command, not the mount. */
int fs_check_db(const char *db, struct buf *err);

/* Open nconns connections to db (an absolute path: the daemon chdirs to
 * "/"). When the change journal is installed in db, folders report its
 * install time and files their journal mtimes; else every node reports
 * `time` (the database file's mtime). */
int fs_open(struct fs *fs, const char *db, int nconns,
	    const struct timespec *time, struct buf *err);
void fs_release(struct fs *fs);

/* Stat a tree path: a file if it renders, else a folder if the tree has
 * it, else -ENOENT. st_ino is inodes_hash(path). */
int fs_stat(struct fs *fs, const char *path, struct stat *st);

/*
 * Append bytes [off, off + size) of the file at path to out. *raced = 1
 * when they were rendered from a snapshot older than a change published
 * meanwhile: the kernel may have been told about that change before these
 * bytes reach its page cache, so the caller invalidates the inode's pages
 * again once it has replied.
 */
int fs_read(struct fs *fs, const char *path, off_t off, size_t size,
	    struct buf *out, int *raced);

/* Open folder `path` for reading (is_scratch: a folder made by mkdir);
 * records are not listed yet, scratch entries are (a few). */
int fs_dir_open(struct fs *fs, const char *path, int is_scratch, struct fs_dir **out);

/*
 * One entry for fs_dir_read: its name, attributes (with want_stat; else
 * only st_ino and the type bits of st_mode) and the offset of the entry
 * after it. Return 0 for more, 1 when full (this entry not taken), or a
 * negative errno.
 */
typedef int (*fs_dirent_fn)(void *ctx, const char *name, const struct stat *st,
			    off_t next);

/*
 * Hand the entries of d from offset `off` (0: ".", 1: "..", then the
 * folder's entries in a stable order) to fn until it is full or the
 * folder ends. Listing at the first readdir rather than at opendir
 * matters: the kernel keeps listings (cache_readdir) and then sends only
 * the opendir, so a warm find or du costs no query at all. 0, -ENOENT
 * when the folder is gone, or another negative errno (logged).
 */
int fs_dir_read(struct fs *fs, struct fs_dir *d, off_t off, fs_dirent_fn fn,
		void *ctx, int want_stat);
void fs_dir_free(struct fs_dir *d);

/* Add path to fs->ahead, for the watcher to drop from caches and tell
 * the kernel about at its next tick. Out of memory: logged (the kernel may
 * keep old bytes until the file changes again). */
void fs_mark_changed(struct fs *fs, const char *path, int exists);

/* Move fs->ahead into *out (released by the caller), leaving it empty. */
void fs_take_ahead(struct fs *fs, struct fs_changes *out);

/* What path is in the current layout (layout_classify); for a record
 * name, *file_mode gets its files' mode. */
enum path_kind fs_classify(struct fs *fs, const char *path, unsigned *file_mode);

/* Under wr_mu: rebind the writer to the current schema if it changed. */
void fs_writer_fresh(struct fs *fs);

/* Render the file at path (out: its bytes, *mode, *mtime_ns), as a read
 * serves it. -ENOENT when no row renders to it. */
int fs_render(struct fs *fs, const char *path, struct buf *out, unsigned *mode,
	      int64_t *mtime_ns);

/* ---- edit.c ----------------------------------------------------------- */

/*
 * An open file of a `-o rw` mount. Three sorts:
 *   - read-only on a record file: the rendering made at open, which every
 *     read of this handle is served from (the reply sets direct_io, so the
 *     kernel's page cache and its idea of the size never mix versions): a
 *     reader sees one version from open to close, exactly;
 *   - writable on a record file: the text being edited (the rendering at
 *     open, or empty with O_TRUNC), saved by flush (close) and fsync when
 *     written to; `base` is the rendering the saving process last read
 *     (fs/EDITING.md), so a save over rows someone else changed since is
 *     refused with ESTALE;
 *   - on a scratch node (sino): its bytes live in the node (scratch.c),
 *     shared by every handle on it; a SCRATCH_PENDING node is saved as its
 *     record file at flush, and the handle then turns into a writable
 *     record handle.
 * Requests on one handle can run in parallel (the loop is multi-threaded):
 * mu serializes them.
 */
struct fs_handle {
	pthread_mutex_t mu;
	struct buf data;
	char *path;
	fuse_ino_t sino;        /* a scratch node's handle */
	pid_t pid;              /* the process that opened it */
	int writable, dirty;
	int written;            /* write() or ftruncate() since the last save */
	int exists;             /* rows rendered to it when it was opened */
	int has_base;
	uint64_t base;
	char *rpath;                    /* a registered reader: its path */
	struct fs_handle *next_reader;  /* fs->readers list */
};

/* Render path into a new read-only handle for process pid. -ENOENT when
 * no row renders to it. */
int fs_handle_open(struct fs *fs, const char *path, pid_t pid,
		   struct fs_handle **out);
/* The size of the newest read handle process pid holds open on path:
 * 1 and *len, or 0 when it holds none. */
int fs_reader_size(struct fs *fs, const char *path, pid_t pid, size_t *len);
/* A writable handle on the record file at path (trunc: start empty).
 * -EACCES when path is not a set of rows (README, schema, orphans). */
int fs_handle_open_write(struct fs *fs, const char *path, int trunc, pid_t pid,
			 struct fs_handle **out);
/* A handle on scratch node ino (trunc: empty it). */
int fs_handle_open_scratch(struct fs *fs, fuse_ino_t ino, int trunc, int writable,
			   pid_t pid, struct fs_handle **out);
int fs_handle_read(struct fs *fs, struct fs_handle *h, off_t off, size_t size,
		   struct buf *out);
int fs_handle_write(struct fs *fs, struct fs_handle *h, off_t off, const char *data,
		    size_t size);
int fs_handle_truncate(struct fs *fs, struct fs_handle *h, off_t size);
/*
 * Save a changed handle: 0 when the rows are committed (durably), else
 * -EINVAL/-ESTALE/-EACCES/-EBUSY/... with the reason logged, written to
 * .archivefs/status, and the text kept under .archivefs/rejected/. flush
 * and fsync pass only_written: the kernel sends flush on every close(2) of
 * a descriptor, and a shell's `> file` closes its first descriptor before
 * anything was written, so a handle only emptied by O_TRUNC is not saved
 * then (it would delete the file's rows) but at the next flush after a
 * write, or at release.
 */
int fs_handle_save(struct fs *fs, struct fs_handle *h, int only_written);
void fs_handle_free(struct fs *fs, struct fs_handle *h);

/*
 * rename(2) on a -o rw mount (fs/EDITING.md): a scratch file renamed onto
 * a record name is a save of its bytes as that file (its error is the
 * rename's); a record file renamed away leaves a scratch copy under the
 * new name and its rows where they are; scratch onto scratch is a move.
 * Renaming between record names, or folders, is refused (EPERM). After a
 * 0 return, *inval_from / *inval_to say which of the two names the kernel
 * must look up again (its cached entry now stands for another file).
 */
int fs_rename(struct fs *fs, const char *from, const char *to, unsigned flags,
	      pid_t pid, int *inval_from, int *inval_to);

/* Set the mtime of the record file at path (touch, rsync -t): 0, or
 * -errno. Modes and owners cannot change: fs_check_attr. */
int fs_set_mtime(struct fs *fs, const char *path, int64_t mtime_ns);

/* A failed save: the reason to the log and .archivefs/status, the text (if
 * any) kept under .archivefs/rejected/. */
void fs_refused(struct fs *fs, const char *path, int rc, const struct buf *why,
		const char *text, size_t len);

/* Append lines (each ending in '\n') to .archivefs/status, which appears
 * with its first line, in read-only mounts too. */
void fs_status_note(struct fs *fs, const char *lines);
/* "2026-11-21T10:11:12.123Z", as status lines start. */
void fs_status_now(char *out, size_t size);

/* A read-only mount's scratch table, which only ever holds .archivefs/
 * (status lines): 0 or -ENOMEM. A no-op once fs_open_writer made one. */
int fs_open_status(struct fs *fs);

/* Open the read-write connection saves go through (-o rw), and the
 * scratch table. */
int fs_open_writer(struct fs *fs, const char *db, struct buf *err);
void fs_close_writer(struct fs *fs);

/* Join parent and name into out (reset first). */
void fs_join(struct buf *out, const char *parent, const char *name);

/* ---- watch.c ---------------------------------------------------------- */

struct watch;

/*
 * Open db read-write for the watcher alone (a connection serves one
 * thread), apply what the journal holds (changes made while unmounted),
 * then start the thread: every 100 ms it polls store_data_version() and,
 * when another connection committed, runs journal_apply(); for each file
 * whose bytes changed it drops the file from fs's cache and invalidates
 * what the kernel caches (the file's attributes and pages; for files and
 * folders that appeared or disappeared, the entry and listing of their
 * folders, up the chain). Failures are logged and retried on the next
 * tick; the thread never ends the daemon. Call after mounting (and after
 * daemonizing) and fs_open(); -errno with the reason in err.
 */
int watch_start(struct fs *fs, struct fuse_session *se, const char *db,
		struct watch **out, struct buf *err);

/* Stop the thread, join it, close its connection. NULL is a no-op. */
void watch_stop(struct watch *w);

/* ---- ops.c / mount.c -------------------------------------------------- */

extern const struct fuse_lowlevel_ops fs_ops;

/* `archivefs mount DB MOUNTPOINT [-f] [-d] [-o opts]`: the exit status. */
int fs_mount_cmd(int argc, char **argv);
extern const char fs_mount_help[];

#endif
