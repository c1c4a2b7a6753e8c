/*
 * journal.c - change capture: triggers append to archivefs_journal, and
 * journal_apply() turns journal rows into "these files changed, at".
 *
 * Objects (all named archivefs_*, so store.c never archives them):
 *
 *   archivefs_journal(seq, tbl, op, ts, ok, nk, od, nd, ofk, nfk)
 *       seq is a plain INTEGER PRIMARY KEY, not AUTOINCREMENT: that would
 *       add a row to sqlite_sequence, which the archive carries, so
 *       installing would change the exported tree. An emptied table hands
 *       out seq 1 again, so the applied seq goes back to 0 when a prune
 *       empties it.
 *       op 'I' | 'U' | 'D'; ts UTC seconds (REAL, millisecond resolution:
 *       SQLite's 'now'); ok/nk the old/new name key (first key column, or
 *       the rowid of a rowid-keyed table); od/nd the old/new date column
 *       (NULL when the home has none); ofk/nfk the old/new parent key of a
 *       HOME_CHILD row. INSERT rows carry only new values, DELETE only old.
 *   archivefs_file(path, mtime_ns, hash, size, mode)   hash = names_hash
 *       of the bytes; size and mode let the mount answer stat without
 *       rendering (NULL in rows an older archivefs wrote)
 *   archivefs_state(k, v)   version, installed_at_ns, applied_seq, seeded
 *       (0 until journal_seed() completed), seed_seq (see below)
 *
 * Why a second connection: archive_render_file() and archive_walk() open
 * their own read transaction (BEGIN), which cannot nest inside the write
 * transaction that journal_apply() and journal_install() hold so that the
 * applied seq, the file rows and the pruning commit together. They render
 * through a private read-only connection instead. While we hold the write
 * lock nobody else can commit, and we only write archivefs_* tables, so
 * that connection sees exactly the state the journal rows we read lead to.
 *
 * journal_seed() records the hash of every file of the tree (mtime = the
 * install time), once, after the first install, so afterwards "no record"
 * means "no such file": a change that leaves a file's bytes alone never
 * reports it nor touches its mtime, and a file never reported as existing
 * is never reported as gone. Seeding reads one snapshot but writes in
 * small batches (the application is never kept waiting long); journal
 * rows the snapshot already shows (seq <= seed_seq) are reported by the
 * next apply even when the bytes match, so their files get their times.
 */
#include "journal.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "archive.h"
#include "events.h"
#include "names.h"
#include "query.h"
#include "strset.h"
#include "tree.h"

#define JOURNAL_VERSION 1

static const char create_sql[] =
	"CREATE TABLE IF NOT EXISTS main.archivefs_journal ("
	" seq INTEGER PRIMARY KEY, tbl TEXT NOT NULL,"
	" op TEXT NOT NULL, ts REAL NOT NULL, ok, nk, od, nd, ofk, nfk);"
	"CREATE TABLE IF NOT EXISTS main.archivefs_file ("
	" path TEXT PRIMARY KEY, mtime_ns INTEGER NOT NULL,"
	" hash INTEGER NOT NULL, size INTEGER, mode INTEGER) WITHOUT ROWID;"
	"CREATE TABLE IF NOT EXISTS main.archivefs_state ("
	" k TEXT PRIMARY KEY, v) WITHOUT ROWID;";

/* --- small helpers --------------------------------------------------------- */

static struct value text_value(const char *s)
{
	struct value v = { .type = V_TEXT };
	v.s = s;
	v.n = strlen(s);
	return v;
}

static struct value int_value(int64_t i)
{
	struct value v = { .type = V_INT };
	v.i = i;
	return v;
}

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Journal times are milliseconds (SQLite's 'now'): round away the REAL's
 * conversion error, then scale. */
static int64_t ts_to_ns(double ts)
{
	return (int64_t)llround(ts * 1000.0) * 1000000;
}

/* Run one statement binding up to two values; if `out` is given, the first
 * column of the first row (integer) goes there; returns 1 if a row came,
 * 0 if none, or -errno. */
static int run1(struct store *s, const char *sql, const struct value *a,
		const struct value *b, int64_t *out, struct buf *err)
{
	struct store_stmt *st;
	int rc = store_prepare(s, sql, &st, err);

	if (rc)
		return rc;
	if (a)
		rc = store_bind(st, 1, a);
	if (!rc && b)
		rc = store_bind(st, 2, b);
	if (!rc)
		rc = store_step(st, err);
	if (rc == 1 && out) {
		struct value v;
		store_column(st, 0, &v);
		*out = v.type == V_INT ? v.i : 0;
	}
	store_finalize(st);
	return rc;
}

static int state_get(struct store *s, const char *k, int64_t *v, struct buf *err)
{
	struct value kv = text_value(k);
	int rc = run1(s, "SELECT v FROM main.archivefs_state WHERE k = ?1",
		      &kv, NULL, v, err);
	if (rc == 0) {
		buf_addf(err, "archivefs_state has no %s", k);
		return -ENOENT;
	}
	return rc < 0 ? rc : 0;
}

static int state_set(struct store *s, const char *k, int64_t v, struct buf *err)
{
	struct value kv = text_value(k), vv = int_value(v);
	int rc = run1(s, "INSERT OR REPLACE INTO main.archivefs_state(k, v)"
		      " VALUES (?1, ?2)", &kv, &vv, NULL, err);
	return rc < 0 ? rc : 0;
}

/* state_get() with a default for a key older installs did not write. */
static int state_opt(struct store *s, const char *k, int64_t dflt, int64_t *v,
		     struct buf *err)
{
	struct value kv = text_value(k);
	int rc = run1(s, "SELECT v FROM main.archivefs_state WHERE k = ?1",
		      &kv, NULL, v, err);
	if (rc == 0)
		*v = dflt;
	return rc < 0 ? rc : 0;
}

/* --- install --------------------------------------------------------------- */

/* pfx.<name key of h>, or NULL when the rowid has no free alias. */
static void add_key_expr(struct buf *q, const struct home *h, const char *pfx)
{
	if (h->t->rowid_key) {
		const char *alias = archive_rowid_name(h->t);
		if (alias)
			buf_addf(q, "%s.%s", pfx, alias);
		else
			buf_addstr(q, "NULL");
	} else {
		query_col(q, pfx, h->t, h->t->pk[0]);
	}
}

static void add_col_expr(struct buf *q, const struct home *h, int col, const char *pfx)
{
	if (col >= 0)
		query_col(q, pfx, h->t, col);
	else
		buf_addstr(q, "NULL");
}

static void add_trigger_name(struct buf *q, const char *table, const char *what)
{
	struct buf name = BUF_INIT;
	buf_addf(&name, "archivefs_trg_%s_%s", table, what);
	buf_add_sqlident(q, name.data);
	buf_release(&name);
}

/* DROP + CREATE the three triggers of h's table; with_events: each also
 * records the event, old and new values (events.h). */
static void add_triggers_sql(struct buf *q, const struct home *h, int with_events)
{
	static const struct { const char *what, *event, *op; int old, new; } k[] = {
		{ "ins", "INSERT", "I", 0, 1 },
		{ "upd", "UPDATE", "U", 1, 1 },
		{ "del", "DELETE", "D", 1, 0 },
	};
	int fk = h->kind == HOME_CHILD ? h->fk_col : -1;

	for (size_t i = 0; i < 3; i++) {
		buf_addstr(q, "DROP TRIGGER IF EXISTS main.");
		add_trigger_name(q, h->t->name, k[i].what);
		buf_addstr(q, ";\nCREATE TRIGGER main.");
		add_trigger_name(q, h->t->name, k[i].what);
		buf_addf(q, " AFTER %s ON ", k[i].event);
		buf_add_sqlident(q, h->t->name);
		buf_addstr(q, " BEGIN INSERT INTO archivefs_journal"
			   "(tbl, op, ts, ok, nk, od, nd, ofk, nfk) VALUES (");
		buf_add_sqlstr(q, h->t->name);
		buf_addf(q, ", '%s', (julianday('now') - 2440587.5) * 86400.0", k[i].op);
		for (int col = 0; col < 3; col++) {
			for (int side = 0; side < 2; side++) {
				const char *pfx = side ? "NEW" : "OLD";
				int on = side ? k[i].new : k[i].old;
				buf_addstr(q, ", ");
				if (!on)
					buf_addstr(q, "NULL");
				else if (col == 0)
					add_key_expr(q, h, pfx);
				else
					add_col_expr(q, h, col == 1 ? h->date_col : fk, pfx);
			}
		}
		buf_addstr(q, ");\n");
		if (with_events)
			events_trigger_sql(q, h, k[i].op[0]);
		buf_addstr(q, "END;\n");
	}
}

static int is_virtual(struct store *s, const char *table, struct buf *err)
{
	struct value v = text_value(table);
	return run1(s, "SELECT 1 FROM main.sqlite_schema WHERE type = 'table'"
		    " AND name = ?1 AND sql LIKE 'CREATE VIRTUAL%'", &v, NULL,
		    NULL, err);
}

#define SEED_BATCH 2000   /* records per write transaction while seeding */

/*
 * Seeding: every folder is listed (tree_list) and every file rendered
 * (archive_render_file), in short read transactions on a private
 * read-only connection, never one long one: in rollback-journal mode a
 * long reader would keep the application from committing for the whole
 * walk (measured: 7 s on 100,000 prayers). Records are written
 * SEED_BATCH at a time. The files are then recorded from many snapshots;
 * the journal rows up to the last seq read after the walk are reported by
 * the next apply whatever their bytes (seed_seq): each is a change made
 * after install, whose file's record may or may not show it.
 */
struct seed_rec {
	char *path;
	int64_t hash, size, mode;
};

struct seed {
	struct store *s, *r;
	const struct layout *l;
	int64_t at;
	/* journal_rescan(): records only files whose bytes differ from their
	 * record (mtime `at`, the rescan's time), reports them after each
	 * batch commits, and remembers every path it saw */
	int rescan;
	journal_changed_fn changed;
	void *ctx;
	struct strset seen;
	struct buf *err;
	const int *stop;                     /* cancel when set */
	struct seed_rec batch[SEED_BATCH];   /* rendered, not yet written */
	size_t n;
	struct buf bytes;
};

/* Write the batch in one short write transaction. The write lock is
 * taken only now, after the renders: holding it while rendering would
 * starve the application's busy handler. */
static int seed_flush(struct seed *sd)
{
	struct store_stmt *put = NULL;
	int rc;

	if (!sd->n)
		return 0;
	rc = store_begin(sd->s, 1, sd->err);
	if (!rc)
		rc = store_prepare(sd->s, sd->rescan ?
				   "INSERT OR REPLACE INTO main.archivefs_file"
				   "(path, mtime_ns, hash, size, mode)"
				   " VALUES (?1, ?2, ?3, ?4, ?5)" :
				   "INSERT OR IGNORE INTO main.archivefs_file"
				   "(path, mtime_ns, hash, size, mode)"
				   " VALUES (?1, ?2, ?3, ?4, ?5)", &put, sd->err);
	for (size_t i = 0; !rc && i < sd->n; i++) {
		struct seed_rec *r = &sd->batch[i];
		struct value v[5] = { text_value(r->path), int_value(sd->at),
				      int_value(r->hash), int_value(r->size),
				      int_value(r->mode) };
		for (int k = 0; !rc && k < 5; k++)
			rc = store_bind(put, k + 1, &v[k]);
		if (!rc)
			rc = store_step(put, sd->err);
		if (rc > 0)
			rc = 0;
		store_reset(put);
	}
	if (put)
		store_finalize(put);
	if (!rc)
		rc = store_commit(sd->s, sd->err);
	if (rc)
		store_rollback(sd->s);
	for (size_t i = 0; !rc && sd->rescan && sd->changed && i < sd->n; i++)
		sd->changed(sd->ctx, sd->batch[i].path, sd->at, 1);
	for (size_t i = 0; i < sd->n; i++)
		free(sd->batch[i].path);
	sd->n = 0;
	return rc;
}

static int seed_file(struct seed *sd, const char *path)
{
	struct seed_rec *r;
	unsigned mode = 0;
	int rc = archive_render_file(sd->r, sd->l, path, &sd->bytes, &mode, sd->err);

	if (rc == -ENOENT)
		return 0;   /* gone since the listing: the journal has it */
	if (rc)
		return rc;
	if (sd->rescan) {
		struct journal_file jf;
		strset_add(&sd->seen, path);
		rc = journal_lookup(sd->s, path, &jf, sd->err);
		if (rc < 0)
			return rc;
		if (rc == 1 && jf.hash == names_hash(sd->bytes.data, sd->bytes.len) &&
		    jf.size == (int64_t)sd->bytes.len && jf.mode == mode)
			return 0;   /* as recorded */
	}
	r = &sd->batch[sd->n];
	r->path = strdup(path);
	if (!r->path)
		return -ENOMEM;
	r->hash = (int64_t)names_hash(sd->bytes.data, sd->bytes.len);
	r->size = (int64_t)sd->bytes.len;
	r->mode = mode;
	sd->n++;
	return 0;
}

#define SEED_SNAPSHOT 200   /* files rendered per read transaction */

/* Files are rendered SEED_SNAPSHOT per read transaction (fewer lock round
 * trips than one each, short enough for the application's commits); the
 * read transaction always ends before a batch is written, which needs
 * every reader gone in rollback-journal mode, ours included. */
static int seed_dir(struct seed *sd, const char *dir)
{
	struct tree_entries ns = { 0 };
	struct buf path = BUF_INIT;
	int rc = tree_list(sd->r, sd->l, dir, tree_collect, &ns, sd->err);
	int reading = 0;

	if (rc == -ENOENT)
		rc = 0;   /* emptied since its parent was listed */
	for (size_t i = 0; !rc && i < ns.n; i++) {
		if (sd->stop && __atomic_load_n(sd->stop, __ATOMIC_RELAXED)) {
			buf_addstr(sd->err, "stopped");
			rc = -ECANCELED;
			break;
		}
		buf_reset(&path);
		if (*dir)
			buf_addf(&path, "%s/", dir);
		buf_addstr(&path, ns.v[i].name);
		if (ns.v[i].type == TREE_DIR) {
			if (reading)
				store_rollback(sd->r);
			reading = 0;
			rc = seed_dir(sd, path.data);
			continue;
		}
		if (!reading) {
			rc = store_begin(sd->r, 0, sd->err);
			if (rc)
				break;
		}
		reading++;
		rc = seed_file(sd, path.data);
		if (!rc && (reading == SEED_SNAPSHOT || sd->n == SEED_BATCH)) {
			store_rollback(sd->r);
			reading = 0;
		}
		if (!rc && sd->n == SEED_BATCH)
			rc = seed_flush(sd);
	}
	if (reading)
		store_rollback(sd->r);
	tree_entries_free(&ns);
	buf_release(&path);
	return rc;
}

static int seed_files(struct store *s, const struct layout *l, int64_t at,
		      const int *stop, struct buf *err)
{
	struct seed *sd = calloc(1, sizeof(*sd));
	int64_t seq = 0;
	int rc;

	if (!sd)
		return -ENOMEM;
	sd->s = s;
	sd->l = l;
	sd->at = at;
	sd->stop = stop;
	sd->err = err;
	buf_init(&sd->bytes);
	rc = store_open(store_path(s), STORE_RDONLY, &sd->r, err);
	if (!rc)
		rc = seed_dir(sd, "");
	if (!rc)
		rc = seed_flush(sd);
	if (!rc)
		rc = store_begin(s, 1, err);
	if (!rc) {
		rc = run1(s, "SELECT coalesce(max(seq), 0) FROM main.archivefs_journal",
			  NULL, NULL, &seq, err);
		rc = rc < 0 ? rc : 0;
	}
	if (!rc)
		rc = state_set(s, "seed_seq", seq, err);
	if (!rc)
		rc = state_set(s, "seeded", 1, err);
	if (!rc)
		rc = store_commit(s, err);
	if (rc)
		store_rollback(s);
	for (size_t i = 0; i < sd->n; i++)
		free(sd->batch[i].path);
	if (sd->r)
		store_close(sd->r);
	buf_release(&sd->bytes);
	free(sd);
	return rc;
}

int journal_seed(struct store *s, const struct layout *l, const int *stop,
		 struct buf *err)
{
	int64_t seeded, at;
	int rc = state_opt(s, "seeded", 1, &seeded, err);

	if (!rc && seeded)
		return 0;
	if (!rc)
		rc = journal_installed_at(s, &at, err);
	if (!rc)
		rc = seed_files(s, l, at, stop, err);
	if (rc)
		buf_addstr(err, " (recording the files of the tree)");
	return rc;
}

/* Records of paths the rescan did not see: deleted, reported gone. */
static int rescan_gone(struct seed *sd)
{
	struct store_stmt *st = NULL;
	struct value v;
	char **gone = NULL;
	size_t n = 0, cap = 0;
	int rc = store_begin(sd->s, 1, sd->err);

	if (!rc)
		rc = store_prepare(sd->s, "SELECT path FROM main.archivefs_file", &st, sd->err);
	while (!rc && (rc = store_step(st, sd->err)) == 1) {
		store_column(st, 0, &v);
		if (v.type != V_TEXT)
			continue;
		char *p = strndup(v.s, v.n);
		if (!p || strset_has(&sd->seen, p)) {
			free(p);
			rc = p ? 0 : -ENOMEM;
			continue;
		}
		if (n == cap) {
			char **g = realloc(gone, (cap = cap ? cap * 2 : 64) * sizeof(*g));
			if (!g) {
				free(p);
				rc = -ENOMEM;
				break;
			}
			gone = g;
		}
		gone[n++] = p;
		rc = 0;
	}
	if (st)
		store_finalize(st);
	for (size_t i = 0; rc >= 0 && i < n; i++) {
		struct value p = text_value(gone[i]);
		rc = run1(sd->s, "DELETE FROM main.archivefs_file WHERE path = ?1", &p,
			  NULL, NULL, sd->err);
	}
	rc = rc < 0 ? rc : 0;
	if (!rc)
		rc = store_commit(sd->s, sd->err);
	if (rc)
		store_rollback(sd->s);
	for (size_t i = 0; i < n; i++) {
		if (!rc && sd->changed)
			sd->changed(sd->ctx, gone[i], sd->at, 0);
		free(gone[i]);
	}
	free(gone);
	return rc;
}

int journal_rescan(struct store *s, const struct layout *l,
		   journal_changed_fn changed, void *ctx, const int *stop,
		   struct buf *err)
{
	struct seed *sd = calloc(1, sizeof(*sd));
	int rc;

	if (!sd)
		return -ENOMEM;
	sd->s = s;
	sd->l = l;
	sd->at = now_ns();
	sd->stop = stop;
	sd->err = err;
	sd->rescan = 1;
	sd->changed = changed;
	sd->ctx = ctx;
	strset_init(&sd->seen);
	buf_init(&sd->bytes);
	rc = store_open(store_path(s), STORE_RDONLY, &sd->r, err);
	if (!rc)
		rc = seed_dir(sd, "");
	if (!rc)
		rc = seed_flush(sd);
	if (!rc)
		rc = rescan_gone(sd);
	if (rc)
		buf_addstr(err, " (recording the tree again)");
	for (size_t i = 0; i < sd->n; i++)
		free(sd->batch[i].path);
	if (sd->r)
		store_close(sd->r);
	strset_release(&sd->seen);
	buf_release(&sd->bytes);
	free(sd);
	return rc;
}

int journal_seeded(struct store *s, struct buf *err)
{
	int64_t seeded;
	int rc = state_opt(s, "seeded", 1, &seeded, err);

	return rc < 0 ? rc : seeded != 0;
}

int journal_install(struct store *s, const struct layout *l, struct buf *err)
{
	struct buf q = BUF_INIT;
	int64_t at = 0, months = EVENTS_MONTHS;
	int rc, first = 0;

	rc = store_begin(s, 1, err);
	if (rc)
		return rc;
	rc = store_exec(s, create_sql, err);
	if (!rc) {
		/* Tables from before size and mode were recorded. (Asked,
		 * not probed with a failing query: any failure, out of
		 * memory too, would read as "no such column".) */
		long has = 0;
		rc = store_query_long(s, "SELECT count(*) FROM pragma_table_info("
				      "'archivefs_file', 'main') WHERE name = 'size'",
				      &has, err);
		if (!rc && !has)
			rc = store_exec(s, "ALTER TABLE main.archivefs_file ADD COLUMN size"
					" INTEGER; ALTER TABLE main.archivefs_file"
					" ADD COLUMN mode INTEGER", err);
	}
	if (!rc) {
		rc = run1(s, "SELECT v FROM main.archivefs_state"
			  " WHERE k = 'installed_at_ns'", NULL, NULL, &at, err);
		first = rc == 0;
		rc = rc < 0 ? rc : 0;
	}
	if (!rc && first) {
		at = now_ns();
		rc = state_set(s, "version", JOURNAL_VERSION, err);
		if (!rc)
			rc = state_set(s, "installed_at_ns", at, err);
		if (!rc)
			rc = state_set(s, "applied_seq", 0, err);
		if (!rc)
			rc = state_set(s, "seeded", 0, err);
	}
	if (!rc)
		rc = events_create(s, err);
	if (!rc && first) {
		/* events already here (an imported archive's history) are
		 * recorded by the seeding, not reported as new */
		int64_t last = 0;
		rc = run1(s, "SELECT max(seq) FROM main.archivefs_event", NULL, NULL, &last, err);
		if (rc >= 0)
			rc = state_set(s, "event_seq", last, err);
	}
	if (!rc)
		rc = state_opt(s, "event_months", EVENTS_MONTHS, &months, err);
	for (int i = 0; !rc && i < l->nhomes; i++) {
		const struct home *h = &l->homes[i];
		rc = is_virtual(s, h->t->name, err);
		if (rc == 1) {   /* no triggers on virtual tables: not captured */
			rc = 0;
			continue;
		}
		if (rc)
			break;
		buf_reset(&q);
		add_triggers_sql(&q, h, months > 0);
		rc = store_exec(s, q.data, err);
	}
	if (!rc)
		rc = store_commit(s, err);
	if (rc) {
		store_rollback(s);
		buf_addstr(err, " (installing the change journal)");
	}
	buf_release(&q);
	return rc;
}

int journal_installed(struct store *s)
{
	int rc = run1(s, "SELECT count(*) FROM main.sqlite_schema WHERE type = 'table'"
		      " AND name IN ('archivefs_journal', 'archivefs_file',"
		      " 'archivefs_state') HAVING count(*) = 3", NULL, NULL, NULL, NULL);
	return rc == 1;
}

int journal_installed_at(struct store *s, int64_t *ns, struct buf *err)
{
	return state_get(s, "installed_at_ns", ns, err);
}

int journal_file_mtime(struct store *s, const char *path, int64_t *ns,
		       struct buf *err)
{
	struct value p = text_value(path);
	int rc = run1(s, "SELECT mtime_ns FROM main.archivefs_file WHERE path = ?1",
		      &p, NULL, ns, err);
	if (rc == 0)
		return journal_installed_at(s, ns, err);
	return rc < 0 ? rc : 0;
}

/* The record in st's current row (path, mtime_ns, size, mode, hash). */
static void file_from_row(struct store_stmt *st, struct journal_file *f)
{
	struct value v[4];

	for (int i = 0; i < 4; i++)
		store_column(st, i + 1, &v[i]);
	f->mtime_ns = v[0].type == V_INT ? v[0].i : 0;
	f->size = v[1].type == V_INT && v[1].i >= 0 ? v[1].i : -1;
	f->mode = v[2].type == V_INT ? (unsigned)v[2].i : 0;
	f->hash = v[3].type == V_INT ? (uint64_t)v[3].i : 0;
}

#define FILE_COLS "SELECT path, mtime_ns, size, mode, hash FROM main.archivefs_file"

int journal_record_file(struct store *s, const char *path, const struct buf *bytes,
			unsigned mode, struct buf *err)
{
	struct value p = text_value(path);
	struct journal_file jf;
	int rc;

	if (!bytes) {
		rc = run1(s, "DELETE FROM main.archivefs_file WHERE path = ?1", &p, NULL,
			  NULL, err);
		return rc < 0 ? rc : 0;
	}
	rc = journal_lookup(s, path, &jf, err);
	if (rc < 0)
		return rc;
	if (rc == 1 && jf.hash == names_hash(bytes->data, bytes->len) &&
	    jf.size == (int64_t)bytes->len && jf.mode == mode)
		return 0;   /* same bytes: the mtime stays */
	{
		struct store_stmt *st = NULL;
		struct value v[5] = { p, int_value(now_ns()),
				      int_value((int64_t)names_hash(bytes->data, bytes->len)),
				      int_value((int64_t)bytes->len), int_value(mode) };
		rc = store_prepare(s, "INSERT OR REPLACE INTO main.archivefs_file"
				   "(path, mtime_ns, hash, size, mode) VALUES (?1, ?2, ?3, ?4, ?5)",
				   &st, err);
		for (int i = 0; !rc && i < 5; i++)
			rc = store_bind(st, i + 1, &v[i]);
		if (!rc)
			rc = store_step(st, err);
		if (!rc || rc == 1)
			rc = 0;
		if (st)
			store_finalize(st);
	}
	return rc;
}

int journal_lock(const char *db, int *fd, struct buf *err)
{
	int e;

	*fd = open(db, O_RDONLY | O_CLOEXEC);
	if (*fd < 0) {
		e = errno;
		buf_addf(err, "%s: %s", db, strerror(e));
		return -e;
	}
	if (flock(*fd, LOCK_EX | LOCK_NB) == 0)
		return 0;
	e = errno;
	close(*fd);
	*fd = -1;
	if (e == EWOULDBLOCK) {
		buf_addf(err, "another archivefs process (a mount, or archivefs sync"
			 " --watch) follows the change journal of %s", db);
		return -EBUSY;
	}
	buf_addf(err, "%s: cannot lock: %s", db, strerror(e));
	return -e;
}

int journal_followed(const char *db, struct buf *err)
{
	int fd = -1, rc = journal_lock(db, &fd, err);

	if (fd >= 0)
		close(fd);
	if (rc == -EBUSY) {
		buf_reset(err);
		return 1;
	}
	return rc;
}

int journal_set_sync_error(struct store *s, int errnum, struct buf *err)
{
	int64_t since = 0;
	int rc = store_begin(s, 1, err);

	if (!rc)
		rc = state_opt(s, "sync_error_since_ns", 0, &since, err);
	if (!rc && errnum && !since)
		rc = state_set(s, "sync_error_since_ns", now_ns(), err);
	else if (!rc && !errnum)
		rc = state_set(s, "sync_error_since_ns", 0, err);
	if (!rc)
		rc = state_set(s, "sync_errno", errnum, err);
	if (!rc)
		rc = store_commit(s, err);
	if (rc)
		store_rollback(s);
	return rc;
}

int journal_event_months(struct store *s, int64_t *months, struct buf *err)
{
	if (!journal_installed(s)) {
		*months = EVENTS_MONTHS;
		return 0;
	}
	return state_opt(s, "event_months", EVENTS_MONTHS, months, err);
}

int journal_set_event_months(struct store *s, const struct layout *l, int64_t months,
			     struct buf *err)
{
	int rc = journal_installed(s) ? 0 : journal_install(s, l, err);

	if (!rc)
		rc = store_begin(s, 1, err);
	if (!rc)
		rc = state_set(s, "event_months", months, err);
	if (!rc)
		rc = store_commit(s, err);
	else
		store_rollback(s);
	/* the triggers write events or not: recreate them */
	if (!rc)
		rc = journal_install(s, l, err);
	return rc;
}

int journal_status(struct store *s, struct journal_status *st, struct buf *err)
{
	int64_t v = 0;
	int rc;

	memset(st, 0, sizeof(*st));
	st->installed = journal_installed(s);
	if (!st->installed)
		return 0;
	rc = store_begin(s, 0, err);
	if (!rc)
		rc = state_opt(s, "seeded", 1, &v, err);
	st->seeded = v != 0;
	if (!rc)
		rc = journal_installed_at(s, &st->installed_at_ns, err);
	if (!rc)
		rc = state_opt(s, "sync_error_since_ns", 0, &st->sync_error_since_ns, err);
	if (!rc && !(rc = state_opt(s, "sync_errno", 0, &v, err)))
		st->sync_errno = (int)v;
	if (!rc) {
		rc = run1(s, "SELECT count(*) FROM main.archivefs_file", NULL, NULL, &v, err);
		st->files = (long)v;
	}
	if (rc >= 0) {
		rc = run1(s, "SELECT count(*) FROM main.archivefs_journal", NULL, NULL, &v, err);
		st->pending = (long)v;
	}
	if (rc >= 0 && st->pending) {
		struct store_stmt *q = NULL;
		struct value ts;
		rc = store_prepare(s, "SELECT min(ts) FROM main.archivefs_journal", &q, err);
		if (!rc && store_step(q, err) == 1) {
			store_column(q, 0, &ts);
			st->oldest_pending = ts.type == V_REAL ? ts.r : ts.type == V_INT ? (double)ts.i : 0;
		}
		if (q)
			store_finalize(q);
	}
	store_rollback(s);
	return rc < 0 ? rc : 0;
}

int journal_current(struct store *s, const char *path, struct journal_file *f,
		    struct buf *err)
{
	int rc = run1(s, "SELECT 1 FROM main.archivefs_journal LIMIT 1", NULL, NULL,
		      NULL, err);

	if (rc != 0)
		return rc < 0 ? rc : 0;   /* changes not applied yet */
	rc = journal_lookup(s, path, f, err);
	return rc < 0 ? rc : rc == 1;
}

int journal_set_mtime(struct store *s, const char *path, int64_t mtime_ns,
		      struct buf *err)
{
	struct value v[2] = { text_value(path), int_value(mtime_ns) };
	struct store_stmt *st = NULL;
	int64_t before = store_total_changes(s);
	int rc = store_prepare(s, "UPDATE main.archivefs_file SET mtime_ns = ?2"
			       " WHERE path = ?1", &st, err);

	for (int i = 0; !rc && i < 2; i++)
		rc = store_bind(st, i + 1, &v[i]);
	if (!rc)
		rc = store_step(st, err);
	if (st)
		store_finalize(st);
	if (rc < 0)
		return rc;
	return store_total_changes(s) > before ? 1 : 0;
}

int journal_lookup(struct store *s, const char *path, struct journal_file *f,
		   struct buf *err)
{
	struct store_stmt *st;
	struct buf lo = BUF_INIT, hi = BUF_INIT;
	struct value p = text_value(path), a, b;
	int rc;

	rc = store_prepare(s, FILE_COLS " WHERE path = ?1", &st, err);
	if (!rc)
		rc = store_bind(st, 1, &p);
	if (!rc)
		rc = store_step(st, err);
	if (rc == 1)
		file_from_row(st, f);
	store_finalize(st);
	if (rc)
		return rc;
	/* A folder: some path in ["path/", "path0"), '0' being '/' + 1. */
	buf_addstr(&lo, path);
	buf_addch(&lo, '/');
	buf_addstr(&hi, path);
	buf_addch(&hi, '0');
	a = text_value(lo.data);
	b = text_value(hi.data);
	rc = run1(s, "SELECT 1 FROM main.archivefs_file WHERE path > ?1 AND path < ?2"
		  " LIMIT 1", &a, &b, NULL, err);
	buf_release(&lo);
	buf_release(&hi);
	return rc == 1 ? 2 : rc;
}

int journal_list(struct store *s, const char *dir, const char *after,
		 int after_type, journal_list_fn fn, void *ctx, struct buf *err)
{
	struct buf lo = BUF_INIT, hi = BUF_INIT, name = BUF_INIT;
	size_t plen;
	int incl = 0, seen = 0, rc;

	/* The folder's paths are ["dir/", "dir0"); the root's all of them
	 * (escaped names are ASCII, so "\xff" is above every path). */
	if (*dir) {
		buf_addstr(&lo, dir);
		buf_addch(&lo, '/');
		buf_addstr(&hi, dir);
		buf_addch(&hi, '0');
	} else {
		buf_addstr(&hi, "\xff");
	}
	plen = lo.len;
	if (after) {
		buf_addstr(&lo, after);
		if (after_type == TREE_DIR) {   /* past "dir/after/..." */
			buf_addch(&lo, '0');
			incl = 1;
		}
	}
	rc = store_begin(s, 0, err);
	while (!rc) {
		struct store_stmt *st;
		struct value a = text_value(lo.data), b = text_value(hi.data);
		int reseek = 0;

		rc = store_prepare(s, incl ? FILE_COLS " WHERE path >= ?1 AND path < ?2"
				   " ORDER BY path" : FILE_COLS " WHERE path > ?1"
				   " AND path < ?2 ORDER BY path", &st, err);
		if (rc)
			break;
		rc = store_bind(st, 1, &a);
		if (!rc)
			rc = store_bind(st, 2, &b);
		while (!rc && (rc = store_step(st, err)) == 1) {
			struct value p;
			const char *rest, *slash;
			struct journal_file f;

			store_column(st, 0, &p);
			rc = 0;
			if (p.type != V_TEXT || p.n <= plen)
				continue;   /* cannot be: the range says otherwise */
			rest = p.s + plen;
			slash = memchr(rest, '/', p.n - plen);
			seen = 1;
			buf_reset(&name);
			if (slash) {
				buf_add(&name, rest, (size_t)(slash - rest));
				rc = fn(ctx, name.data, TREE_DIR, NULL);
				/* Skip the subfolder's files: one seek. */
				buf_truncate(&lo, plen);
				buf_add(&lo, name.data, name.len);
				buf_addch(&lo, '0');
				incl = reseek = 1;
			} else {
				buf_add(&name, rest, p.n - plen);
				file_from_row(st, &f);
				rc = fn(ctx, name.data, TREE_FILE, &f);
			}
			if (rc || reseek)
				break;
		}
		store_finalize(st);
		if (rc == 1) {   /* fn is full */
			rc = 0;
			break;
		}
		if (rc || !reseek)   /* an error, or the end of the folder */
			break;
	}
	if (!rc)
		rc = store_commit(s, err);
	else
		store_rollback(s);
	if (!rc && !seen && !after && *dir)
		rc = -ENOENT;
	buf_release(&lo);
	buf_release(&hi);
	buf_release(&name);
	return rc;
}

/* --- apply ----------------------------------------------------------------- */

struct cand {
	char *path;
	int64_t mtime;
	int exists;     /* after rendering: 1 exists, 0 gone */
	int report;
	int force;      /* changed before the seeding snapshot: report anyway */
};

struct apply {
	struct store *s;
	const struct layout *l;
	struct buf *err;
	struct buf path, sql;
	struct cand *c;
	size_t n, cap;
	int64_t seed_seq;   /* journal rows up to it predate the seeding snapshot */
	int force;          /* the row being read does */
};

static void add_cand(struct apply *a, const char *path, int64_t mtime)
{
	if (a->n == a->cap) {
		a->cap = a->cap ? a->cap * 2 : 64;
		a->c = realloc(a->c, a->cap * sizeof(*a->c));
		if (!a->c)
			out_of_memory(0);
	}
	a->c[a->n].path = strdup(path);
	if (!a->c[a->n].path)
		out_of_memory(0);
	a->c[a->n].mtime = mtime;
	a->c[a->n].exists = 0;
	a->c[a->n].report = 0;
	a->c[a->n].force = a->force;
	a->n++;
}

/* The file of a non-child home's row, from its name key and date. */
static void add_row_cand(struct apply *a, const struct home *h,
			 const struct value *key, const struct value *date,
			 int64_t mtime)
{
	struct value *vals = calloc((size_t)h->t->ncols + 1, sizeof(*vals));
	int64_t rowid = 0;

	if (!vals)
		out_of_memory(0);
	if (h->t->rowid_key)
		rowid = key->type == V_INT ? key->i : 0;
	else
		vals[h->t->pk[0]] = *key;
	if (h->date_col >= 0)
		vals[h->date_col] = *date;
	buf_reset(&a->path);
	layout_row_path(h, vals, rowid, &a->path);
	add_cand(a, a->path.data, mtime);
	free(vals);
}

/* Child row with parent key fk: the parent's file(s), or the orphans file. */
static int add_child_cands(struct apply *a, const struct home *c,
			   const struct value *fk, int64_t mtime)
{
	const struct home *p = c->parent;
	struct store_stmt *st;
	int rc, found = 0;

	buf_reset(&a->sql);
	buf_addstr(&a->sql, "SELECT ");
	query_name_key(&a->sql, p, "p");
	buf_addstr(&a->sql, ", ");
	if (p->date_col >= 0)
		query_col(&a->sql, "p", p->t, p->date_col);
	else
		buf_addstr(&a->sql, "NULL");
	query_from(&a->sql, p->t, "p");
	buf_addstr(&a->sql, " WHERE ");
	query_col(&a->sql, "p", p->t, p->t->pk[0]);
	buf_addstr(&a->sql, " = ?1");
	rc = store_prepare(a->s, a->sql.data, &st, a->err);
	if (rc)
		return rc;
	rc = store_bind(st, 1, fk);
	while (!rc && (rc = store_step(st, a->err)) == 1) {
		struct value key, date;
		store_column(st, 0, &key);
		store_column(st, 1, &date);
		add_row_cand(a, p, &key, &date, mtime);
		found = 1;
		rc = 0;
	}
	store_finalize(st);
	if (!rc && !found) {
		buf_reset(&a->path);
		layout_orphans_path(c, &a->path);
		add_cand(a, a->path.data, mtime);
	}
	return rc;
}

/* Parent key `key` appeared or disappeared: child rows that reference it
 * moved between the parent's file and their orphans file. */
static int add_orphan_cands(struct apply *a, const struct home *h,
			    const struct value *key, int64_t mtime)
{
	for (int i = 0; i < h->nchildren; i++) {
		const struct home *c = h->children[i];
		struct store_stmt *st;
		int rc;

		buf_reset(&a->sql);
		buf_addstr(&a->sql, "SELECT 1");
		query_from(&a->sql, c->t, "c");
		buf_addstr(&a->sql, " WHERE ");
		query_col(&a->sql, "c", c->t, c->fk_col);
		buf_addstr(&a->sql, " = ?1 LIMIT 1");
		rc = store_prepare(a->s, a->sql.data, &st, a->err);
		if (rc)
			return rc;
		rc = store_bind(st, 1, key);
		if (!rc)
			rc = store_step(st, a->err);
		store_finalize(st);
		if (rc < 0)
			return rc;
		if (rc == 1) {
			buf_reset(&a->path);
			layout_orphans_path(c, &a->path);
			add_cand(a, a->path.data, mtime);
		}
	}
	return 0;
}

/* One side (old or new) of a journal row. */
static int add_side(struct apply *a, const struct home *h, const struct value *key,
		    const struct value *date, const struct value *fk,
		    int key_moved, int64_t mtime)
{
	if (h->kind == HOME_CHILD)
		return add_child_cands(a, h, fk, mtime);
	if (h->t->rowid_key && key->type != V_INT)
		return 0;   /* no rowid alias: the table cannot be archived anyway */
	add_row_cand(a, h, key, date, mtime);
	if (key_moved && h->nchildren && h->kind != HOME_GENERIC)
		return add_orphan_cands(a, h, key, mtime);
	return 0;
}

static int cmp_cand(const void *x, const void *y)
{
	const struct cand *a = x, *b = y;
	return strcmp(a->path, b->path);
}

/* Sort by path and merge duplicates, keeping the latest time. */
static void dedupe(struct apply *a)
{
	size_t j = 0;

	if (!a->n)
		return;
	qsort(a->c, a->n, sizeof(*a->c), cmp_cand);
	for (size_t i = 1; i < a->n; i++) {
		if (strcmp(a->c[i].path, a->c[j].path) == 0) {
			if (a->c[i].mtime > a->c[j].mtime)
				a->c[j].mtime = a->c[i].mtime;
			a->c[j].force |= a->c[i].force;
			free(a->c[i].path);
		} else {
			a->c[++j] = a->c[i];
		}
	}
	a->n = j + 1;
}

static int read_journal(struct apply *a, int64_t from, int64_t *last, long *count)
{
	struct store_stmt *st;
	struct value v;
	int rc;

	rc = store_prepare(a->s, "SELECT seq, tbl, op, ts, ok, nk, od, nd, ofk, nfk"
			   " FROM main.archivefs_journal WHERE seq > ?1 ORDER BY seq",
			   &st, a->err);
	if (rc)
		return rc;
	v = int_value(from);
	rc = store_bind(st, 1, &v);
	while (!rc && (rc = store_step(st, a->err)) == 1) {
		struct value col[10];
		const struct home *h;
		char op;
		int64_t mtime;
		int moved;

		for (int i = 0; i < 10; i++)
			store_column(st, i, &col[i]);
		*last = col[0].i;
		(*count)++;
		a->force = col[0].i <= a->seed_seq;
		rc = 0;
		if (col[1].type != V_TEXT || col[2].type != V_TEXT || !col[2].n)
			continue;
		/* tbl is NUL-terminated text from SQLite */
		h = layout_home(a->l, col[1].s);
		if (!h)
			continue;   /* a table the layout no longer has */
		op = col[2].s[0];
		mtime = ts_to_ns(col[3].type == V_REAL ? col[3].r
				 : col[3].type == V_INT ? (double)col[3].i : 0.0);
		moved = op != 'U' || !value_equal(&col[4], &col[5]);
		if (op != 'I')
			rc = add_side(a, h, &col[4], &col[6], &col[8], moved, mtime);
		if (!rc && op != 'D')
			rc = add_side(a, h, &col[5], &col[7], &col[9], moved, mtime);
	}
	store_finalize(st);
	return rc;
}

/* Render every candidate (on r), compare with the record, update it. */
static int settle(struct apply *a, struct store *r)
{
	struct store_stmt *get = NULL, *put = NULL, *del = NULL;
	struct buf bytes = BUF_INIT;
	int rc;

	rc = store_prepare(a->s, "SELECT hash FROM main.archivefs_file WHERE path = ?1",
			   &get, a->err);
	if (!rc)
		rc = store_prepare(a->s, "INSERT OR REPLACE INTO main.archivefs_file"
				   "(path, mtime_ns, hash, size, mode)"
				   " VALUES (?1, ?2, ?3, ?4, ?5)", &put, a->err);
	if (!rc)
		rc = store_prepare(a->s, "DELETE FROM main.archivefs_file WHERE path = ?1",
				   &del, a->err);
	for (size_t i = 0; !rc && i < a->n; i++) {
		struct cand *c = &a->c[i];
		struct value p = text_value(c->path), hv;
		int64_t hash = 0;
		unsigned mode = 0;
		int recorded;

		/* History files on our own connection: it sees the events this
		 * transaction pruned (the rows of user tables it never writes) */
		rc = archive_render_file(strncmp(c->path, EVENTS_DIR "/", strlen(EVENTS_DIR) + 1) ?
					 r : a->s, a->l, c->path, &bytes, &mode, a->err);
		if (rc == -ENOENT) {
			c->exists = 0;
			rc = 0;
		} else if (rc) {
			break;
		} else {
			c->exists = 1;
			hash = (int64_t)names_hash(bytes.data, bytes.len);
		}
		rc = store_bind(get, 1, &p);
		if (!rc)
			rc = store_step(get, a->err);
		if (rc < 0)
			break;
		recorded = rc;
		if (recorded)
			store_column(get, 0, &hv);
		rc = 0;
		if (!c->exists) {
			c->report = recorded || c->force;
			if (recorded) {
				rc = store_bind(del, 1, &p);
				if (!rc)
					rc = store_step(del, a->err);
				store_reset(del);
			}
		} else if (!recorded || hv.type != V_INT || hv.i != hash || c->force) {
			struct value m = int_value(c->mtime), h = int_value(hash);
			struct value z = int_value((int64_t)bytes.len), md = int_value(mode);
			c->report = 1;
			rc = store_bind(put, 1, &p);
			if (!rc)
				rc = store_bind(put, 2, &m);
			if (!rc)
				rc = store_bind(put, 3, &h);
			if (!rc)
				rc = store_bind(put, 4, &z);
			if (!rc)
				rc = store_bind(put, 5, &md);
			if (!rc)
				rc = store_step(put, a->err);
			store_reset(put);
		}
		store_reset(get);
		if (rc > 0)
			rc = 0;
	}
	if (get)
		store_finalize(get);
	if (put)
		store_finalize(put);
	if (del)
		store_finalize(del);
	buf_release(&bytes);
	return rc;
}

static void add_cand_forced(struct apply *a, const char *path, int64_t mtime_ns, int force)
{
	int saved = a->force;

	a->force = force;
	add_cand(a, path, mtime_ns);
	a->force = saved;
}

static void event_cand(void *ctx, const char *path, int64_t mtime_ns)
{
	add_cand_forced(ctx, path, mtime_ns, 0);
}

/* A file losing events to the retention policy: reported gone even when
 * the records never had it (a sync folder may still hold it). */
static void pruned_cand(void *ctx, const char *path, int64_t mtime_ns)
{
	add_cand_forced(ctx, path, mtime_ns, 1);
}

/* The history files with new events, and those losing events to the
 * retention policy (events.h); both settle like any other file. */
static int read_events(struct apply *a)
{
	int64_t after = 0, before, months = EVENTS_MONTHS;
	int rc = state_opt(a->s, "event_seq", 0, &after, a->err);

	before = after;
	if (!rc)
		rc = events_since(a->s, &after, event_cand, a, a->err);
	if (!rc && after != before)
		rc = state_set(a->s, "event_seq", after, a->err);
	if (!rc)
		rc = state_opt(a->s, "event_months", EVENTS_MONTHS, &months, a->err);
	if (!rc && months > 0)
		rc = events_prune(a->s, events_cutoff(now_ns() / 1000000, (int)months),
				  pruned_cand, a, a->err);
	/* Emptied by the prune: the next event gets seq 1 again. */
	if (!rc && run1(a->s, "SELECT 1 FROM main.archivefs_event LIMIT 1",
			NULL, NULL, NULL, a->err) == 0)
		rc = state_set(a->s, "event_seq", 0, a->err);
	return rc < 0 ? rc : 0;
}

int journal_apply(struct store *s, const struct layout *l,
		  journal_changed_fn changed, void *ctx, long *applied,
		  struct buf *err)
{
	struct apply a = { .s = s, .l = l, .err = err };
	struct store *r = NULL;
	int64_t from = 0, last = 0;
	long count = 0;
	int rc;

	*applied = 0;
	buf_init(&a.path);
	buf_init(&a.sql);
	rc = store_begin(s, 1, err);
	if (rc)
		goto out;
	rc = state_get(s, "applied_seq", &from, err);
	if (!rc)
		rc = state_opt(s, "seed_seq", 0, &a.seed_seq, err);
	if (!rc)
		rc = read_journal(&a, from, &last, &count);
	if (!rc && count)
		rc = read_events(&a);
	if (!rc && count) {
		dedupe(&a);
		if (a.n)
			rc = store_open(store_path(s), STORE_RDONLY, &r, err);
		if (!rc && a.n)
			rc = settle(&a, r);
		if (!rc) {
			struct value v = int_value(last);
			rc = run1(s, "DELETE FROM main.archivefs_journal WHERE seq <= ?1",
				  &v, NULL, NULL, err);
			rc = rc < 0 ? rc : 0;
		}
		/* Emptied (always, while we hold the write lock): the next row
		 * gets seq 1 again, so start over from 0. */
		if (!rc)
			rc = run1(s, "SELECT 1 FROM main.archivefs_journal LIMIT 1",
				  NULL, NULL, NULL, err);
		if (rc >= 0)
			rc = state_set(s, "applied_seq", rc ? last : 0, err);
		/* Every row up to seed_seq has been read now. */
		if (!rc && a.seed_seq)
			rc = state_set(s, "seed_seq", 0, err);
	}
	if (r)
		store_close(r);
	if (!rc)
		rc = store_commit(s, err);
	if (rc) {
		store_rollback(s);
		buf_addstr(err, " (applying the change journal)");
		goto out;
	}
	*applied = count;
	/* Reported after the commit: every report is a durable fact. */
	for (size_t i = 0; changed && i < a.n; i++)
		if (a.c[i].report)
			changed(ctx, a.c[i].path, a.c[i].mtime, a.c[i].exists);
out:
	for (size_t i = 0; i < a.n; i++)
		free(a.c[i].path);
	free(a.c);
	buf_release(&a.path);
	buf_release(&a.sql);
	return rc;
}
