/*
 * journal.h - change capture: which files changed, and when.
 *
 * The application writes SQLite directly, from other processes. To learn
 * what it changed, archivefs installs, in the application's database:
 *
 *   archivefs_journal   one row per inserted, updated or deleted row of a
 *                       user table, appended by triggers in the writer's own
 *                       transaction (so no committed change is missed, even
 *                       across a crash): the table, the operation, the time
 *                       (UTC seconds, as REAL) and, old and new, the values
 *                       that decide which file holds the row (its name key,
 *                       its date column, and for embedded rows the parent's
 *                       key);
 *   archivefs_file      per file path: its mtime (ns) and a 64-bit hash of
 *                       its rendered bytes, so a change that does not change
 *                       a file's bytes does not touch its mtime;
 *   archivefs_state     key/value: schema version of these objects, the time
 *                       they were installed (the mtime of every file that
 *                       has not changed since), the last journal seq applied;
 *   archivefs_trg_<table>_{ins,upd,del}   the triggers.
 *
 * Every object is named archivefs_*; export, import and the schema file
 * never carry them (store.c leaves archivefs_* out). The triggers use only
 * SQLite's built-in functions, so the application's connections need
 * nothing from archivefs. journal_install() is idempotent and reinstalls
 * triggers an application migration dropped (or a table added later).
 *
 * Pruning: journal rows at or below the applied seq are deleted in
 * journal_apply(), keeping the table small; nothing else reads them.
 *
 * All functions run their own short transactions and return 0 or a
 * negative errno with the reason in err.
 */
#ifndef ARCHIVEFS_JOURNAL_H
#define ARCHIVEFS_JOURNAL_H

#include <stdint.h>

#include "buf.h"
#include "layout.h"
#include "store.h"

/*
 * One applier per database: journal_apply() prunes what it applied, so a
 * second process applying the same journal would never see those changes.
 * A mount (its watcher) and `archivefs sync --watch` take this lock first:
 * flock(2) on the database file, which SQLite's own (fcntl) locks never
 * touch. *fd gets the descriptor holding it. Close it only after every
 * SQLite connection of the process to this database is closed: closing
 * any descriptor of a file drops the process's fcntl locks on it.
 * -EBUSY when another process holds it.
 */
int journal_lock(const char *db, int *fd, struct buf *err);

/*
 * Whether a sync folder is failing, for `archivefs status`: errnum > 0
 * records that it fails since now with that errno (kept at its first
 * failure's time while it goes on failing), 0 that it works again. Its own
 * short write transaction; called on changes of state only.
 */
int journal_set_sync_error(struct store *s, int errnum, struct buf *err);

/* The history's retention in months (events.h; 0: off), and setting it:
 * installs the journal if needed, and recreates the triggers so they
 * write events or not. Older events go at the next journal_apply(). */
int journal_event_months(struct store *s, int64_t *months, struct buf *err);
int journal_set_event_months(struct store *s, const struct layout *l, int64_t months,
			     struct buf *err);

/* What `archivefs status` reports of a database's change journal. */
struct journal_status {
	int installed;            /* the archivefs_* objects exist */
	int seeded;               /* the tree is recorded */
	int64_t installed_at_ns;
	long files;               /* files recorded */
	long pending;             /* journal rows not applied yet */
	double oldest_pending;    /* time (UTC s) of the oldest of them, or 0 */
	int64_t sync_error_since_ns;   /* 0: no sync folder failing */
	int sync_errno;
};

/* Fill st (one read transaction). A database without the objects gives
 * installed = 0 and the rest 0. */
int journal_status(struct store *s, struct journal_status *st, struct buf *err);

/* 1 if a process holds journal_lock() on db (a mount or sync --watch
 * follows it), 0 if not, or a negative errno. Call it with no connection
 * of this process open to db (see journal_lock). */
int journal_followed(const char *db, struct buf *err);

/* Create/refresh the tables and triggers above for every table of l, in
 * one short write transaction. Needs a read-write store. The first
 * install leaves the tree unrecorded: run journal_seed() next. */
int journal_install(struct store *s, const struct layout *l, struct buf *err);

/*
 * Record every file of the tree (mtime: the install time), once: a no-op
 * when done before. Renders the whole tree (an export's time on a big
 * database) from one snapshot, then writes the records in transactions
 * of a few thousand rows, so the application waits at most for one. A
 * run cut short (a crash, or *stop set non-zero by another thread: then
 * -ECANCELED) is completed by the next one. Changes the application
 * commits meanwhile are in the journal, and the next journal_apply()
 * reports them, with their times. stop may be NULL.
 */
int journal_seed(struct store *s, const struct layout *l, const int *stop,
		 struct buf *err);

/* 1 if journal_seed() has completed, 0 if not, or a negative errno. */
int journal_seeded(struct store *s, struct buf *err);

/* 1 if the objects are installed (the tables exist), 0 if not. */
int journal_installed(struct store *s);

/* Nanoseconds since the epoch at which journal_install first ran. */
int journal_installed_at(struct store *s, int64_t *ns, struct buf *err);

/*
 * The mtime of the file at `path`: the time its bytes last changed, as
 * recorded by journal_apply(), or the install time if never. Never now.
 */
int journal_file_mtime(struct store *s, const char *path, int64_t *ns,
		       struct buf *err);

/*
 * What the journal recorded of the file at `path` when its bytes last
 * changed (or at install): mtime, size and mode. 1 when recorded, 0 when
 * not (then render the file to know), or a negative errno. Lets the mount
 * answer stat and readdirplus without rendering.
 */
int journal_file_info(struct store *s, const char *path, int64_t *mtime_ns,
		      int64_t *size, unsigned *mode, struct buf *err);

/* What the records say of one file. */
struct journal_file {
	int64_t mtime_ns;
	int64_t size;           /* -1 when the record lacks it (a broken row) */
	unsigned mode;
	uint64_t hash;          /* names_hash() of the bytes */
};

/*
 * Look `path` up in the records: 1 a file (*f filled), 2 a folder (some
 * recorded file lies under it), 0 nothing, or a negative errno. The
 * records describe the tree exactly once journal_apply() has run after
 * the last commit: the mount's watcher keeps them so, and then answers
 * stat, lookup and listings from them alone, without rendering.
 */
int journal_lookup(struct store *s, const char *path, struct journal_file *f,
		   struct buf *err);

/*
 * Record that the file at path now holds `bytes` (NULL: it is gone), as a
 * save through the mount just wrote it, inside the caller's transaction:
 * mtime now when the bytes differ from the record, the record deleted when
 * gone. The journal rows of that save then find nothing to report for it.
 */
int journal_record_file(struct store *s, const char *path, const struct buf *bytes,
			unsigned mode, struct buf *err);

/*
 * Like journal_lookup() for a file, but 1 only when the record is known to
 * describe the file's bytes now: no journal row is waiting to be applied
 * (every change since the records were written has been). 0 otherwise.
 * Run it inside the transaction whose view it should describe.
 */
int journal_current(struct store *s, const char *path, struct journal_file *f,
		    struct buf *err);

/*
 * Set the recorded mtime of the file at path (touch -d, rsync -t through
 * the mount), inside the caller's transaction: 1 when it was recorded, 0
 * when no record exists (record it first), or a negative errno. The next
 * change of its bytes sets it again, to the change's time.
 */
int journal_set_mtime(struct store *s, const char *path, int64_t mtime_ns,
		      struct buf *err);

/* One entry of a listing: TREE_FILE (f set) or TREE_DIR (f NULL). Return
 * 0 to go on, 1 to stop here (the entry was not taken), or -errno. */
typedef int (*journal_list_fn)(void *ctx, const char *name, int type,
			       const struct journal_file *f);

/*
 * List folder `dir` ("" for the root) from the records, in one read
 * transaction, in order of the records' paths (a folder "a" comes where
 * its first file "a/..." does), starting after the entry (after,
 * after_type), or from the first one when after is NULL. Each subfolder
 * costs one index seek and its files are skipped, so the cost is the
 * folder's own entries, and nothing is held in memory: a caller pages
 * through a huge folder by passing the last entry it took.
 * 0 at the end or when fn returned 1; -ENOENT when a folder other than the
 * root has no entry at all (after NULL); else a negative errno.
 */
int journal_list(struct store *s, const char *dir, const char *after,
		 int after_type, journal_list_fn fn, void *ctx, struct buf *err);

/*
 * Called for every file whose bytes changed: path, its new mtime, and
 * whether it still exists (0 when no row renders to it any more).
 */
typedef void (*journal_changed_fn)(void *ctx, const char *path, int64_t mtime_ns,
				   int exists);

/*
 * Record the tree again after a schema change (a migration adds a column:
 * every file of that table changes without a journal row): every file is
 * rendered, in short snapshots like journal_seed(); those whose bytes
 * differ from their record are recorded with mtime now (the change's
 * time: the migration) and reported, records of files no longer rendered
 * are deleted and reported gone.
 */
int journal_rescan(struct store *s, const struct layout *l,
		   journal_changed_fn changed, void *ctx, const int *stop,
		   struct buf *err);

/*
 * Apply every journal row after the last applied seq: work out the files
 * those rows were and are rendered in (old and new values; an embedded
 * row's parent file, or its orphans file), render each (archive.c), and
 * where the bytes differ from the recorded hash (or nothing is recorded)
 * record the journal row's time as the file's mtime and call `changed`.
 * Then record the new applied seq and prune the applied journal rows.
 * *applied gets the number of journal rows applied (0: nothing new).
 */
int journal_apply(struct store *s, const struct layout *l,
		  journal_changed_fn changed, void *ctx, long *applied,
		  struct buf *err);

#endif
