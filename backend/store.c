/*
 * store.c - the SQLite layer: connections, live schema, statements.
 *
 * This is the one file that includes sqlite3.h. It turns SQLite's world
 * (result codes, sqlite3_value, PRAGMA tables) into the engine's (negative
 * errno plus a message, struct value, struct store_table).
 *
 * Connections are opened with foreign-key enforcement off (archivefs never
 * enforces constraints the source database did not), a busy timeout so a
 * writer elsewhere delays us instead of failing us, and the SQL function
 * archivefs_month(x) that the layout's queries group rows by.
 */
#include "store.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "dates.h"

#define BUSY_TIMEOUT_MS 5000

/*
 * Idle prepared statements, kept for reuse: the mount renders one file per
 * request with the same handful of queries, and preparing them again each
 * time would cost more than running them. store_finalize() parks a
 * statement here (reset, bindings cleared: it holds no lock), and
 * store_prepare() takes one back when its SQL text matches.
 */
#define STMT_CACHE 32

struct store {
	sqlite3 *db;
	char *path;
	struct store_schema schema;
	sqlite3_stmt *idle[STMT_CACHE];
	int nidle;
	int stale_withheld_ok;   /* STORE_STALE_WITHHELD */
};

struct store_stmt {
	struct store *s;
	sqlite3_stmt *st;
};

/*
 * The one table from SQLite result codes (primary code) to errno. Kept in
 * one place so the daemon, the CLI and the tests agree on what a failure
 * means; tests/test_store.c checks it row by row.
 */
static const struct {
	int code;
	int err;
} errno_map[] = {
	{ SQLITE_OK, 0 },
	{ SQLITE_ERROR, EINVAL },       /* SQL error or missing object */
	{ SQLITE_INTERNAL, EIO },
	{ SQLITE_PERM, EACCES },
	{ SQLITE_ABORT, EINTR },
	{ SQLITE_BUSY, EBUSY },
	{ SQLITE_LOCKED, EBUSY },
	{ SQLITE_NOMEM, ENOMEM },
	{ SQLITE_READONLY, EROFS },
	{ SQLITE_INTERRUPT, EINTR },
	{ SQLITE_IOERR, EIO },
	{ SQLITE_CORRUPT, EIO },
	{ SQLITE_NOTFOUND, ENOENT },
	{ SQLITE_FULL, ENOSPC },
	{ SQLITE_CANTOPEN, ENOENT },
	{ SQLITE_PROTOCOL, EIO },
	{ SQLITE_SCHEMA, EAGAIN },
	{ SQLITE_TOOBIG, EFBIG },
	{ SQLITE_CONSTRAINT, EINVAL },  /* NOT NULL, UNIQUE, CHECK: bad data */
	{ SQLITE_MISMATCH, EINVAL },    /* datatype mismatch: bad data */
	{ SQLITE_MISUSE, EIO },
	{ SQLITE_NOLFS, EFBIG },
	{ SQLITE_AUTH, EACCES },
	{ SQLITE_RANGE, EINVAL },
	{ SQLITE_NOTADB, EIO },
};

int store_errno(int code)
{
	size_t i;

	for (i = 0; i < sizeof(errno_map) / sizeof(errno_map[0]); i++)
		if (errno_map[i].code == (code & 0xff))
			return -errno_map[i].err;
	return -EIO;
}

/* Record the connection's last error in `err`; return its errno. */
static int fail(struct store *s, int code, const char *what, struct buf *err)
{
	if (err) {
		if (err->len)
			buf_addstr(err, ": ");
		buf_addf(err, "%s: %s", what,
			 s && s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(code));
	}
	return store_errno(code);
}

static void month_func(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	char out[8];
	const unsigned char *t;

	(void)argc;
	if (sqlite3_value_type(argv[0]) != SQLITE_TEXT) {
		sqlite3_result_text(ctx, "", 0, SQLITE_STATIC);
		return;
	}
	t = sqlite3_value_text(argv[0]);
	if (!t) {   /* out of memory: the statement fails with SQLITE_NOMEM */
		sqlite3_result_error_nomem(ctx);
		return;
	}
	if (date_month((const char *)t, (size_t)sqlite3_value_bytes(argv[0]), out))
		sqlite3_result_text(ctx, out, -1, SQLITE_TRANSIENT);
	else
		sqlite3_result_text(ctx, "", 0, SQLITE_STATIC);
}

/*
 * Column i's text, "" for SQL NULL. SQLite returns NULL also when it ran
 * out of memory converting the value; that is told apart by the error
 * code, and ends the process like every failed allocation (never read as
 * an empty or missing value).
 */
static const char *col_text(sqlite3_stmt *st, int i)
{
	const char *t = (const char *)sqlite3_column_text(st, i);

	if (!t && sqlite3_errcode(sqlite3_db_handle(st)) == SQLITE_NOMEM)
		out_of_memory(0);
	return t ? t : "";
}

static void schema_free(struct store_schema *sc)
{
	int i, j;

	for (i = 0; i < sc->ntables; i++) {
		struct store_table *t = &sc->tables[i];
		for (j = 0; j < t->ncols; j++) {
			free(t->cols[j].name);
			free(t->cols[j].decltype);
		}
		free(t->cols);
		free(t->pk);
		free(t->name);
	}
	free(sc->tables);
	sc->tables = NULL;
	sc->ntables = 0;
	for (i = 0; i < sc->nwithheld; i++) {
		free(sc->withheld[i].tbl);
		free(sc->withheld[i].col);
	}
	free(sc->withheld);
	sc->withheld = NULL;
	sc->nwithheld = 0;
}

int store_withheld_name(const struct store_schema *sc, const char *tbl,
			const char *col, size_t n)
{
	for (int i = 0; i < sc->nwithheld; i++)
		if (!strcmp(sc->withheld[i].tbl, tbl) && strlen(sc->withheld[i].col) == n &&
		    !memcmp(sc->withheld[i].col, col, n))
			return 1;
	return 0;
}

/* Fill t->cols from PRAGMA table_xinfo and work out the key. */
static int read_table(struct store *s, struct store_table *t, struct buf *err)
{
	sqlite3_stmt *st = NULL;
	int rc, cap = 0, i;

	rc = sqlite3_prepare_v2(s->db,
		"SELECT name, type, \"notnull\", pk, hidden"
		" FROM pragma_table_xinfo(?1) ORDER BY cid", -1, &st, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(st, 1, t->name, -1, SQLITE_STATIC);
	if (rc != SQLITE_OK) {
		rc = fail(s, rc, "reading columns", err);
		goto out;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct store_col *c;
		if (t->ncols == cap) {
			cap = cap ? cap * 2 : 8;
			t->cols = realloc(t->cols, (size_t)cap * sizeof(*t->cols));
			if (!t->cols)
				out_of_memory(0);
		}
		c = &t->cols[t->ncols++];
		c->name = xstrdup(col_text(st, 0));
		c->decltype = xstrdup(col_text(st, 1));
		c->notnull = sqlite3_column_int(st, 2);
		c->pk = sqlite3_column_int(st, 3);
		c->hidden = sqlite3_column_int(st, 4) != 0;
		c->withheld = 0;   /* read_withheld() marks them */
		if (c->pk)
			t->npk++;
	}
	if (rc != SQLITE_DONE) {
		rc = fail(s, rc, "reading columns", err);
		goto out;
	}
	rc = 0;
	t->pk = calloc((size_t)(t->npk ? t->npk : 1), sizeof(int));
	if (!t->pk)
		out_of_memory(0);
	for (i = 0; i < t->ncols; i++)
		if (t->cols[i].pk)
			t->pk[t->cols[i].pk - 1] = i;
	t->rowid_key = t->npk == 0;
out:
	sqlite3_finalize(st);
	return rc;
}

static struct store_table *find_in(struct store_schema *sc, const char *name)
{
	for (int i = 0; i < sc->ntables; i++)
		if (strcmp(sc->tables[i].name, name) == 0)
			return &sc->tables[i];
	return NULL;
}

/* Mark the columns main.archivefs_withheld names (see store.h). */
static int read_withheld(struct store *s, struct store_schema *sc, struct buf *err)
{
	sqlite3_stmt *st = NULL;
	int rc;

	/* No such table: nothing is withheld. Asked, not probed with a
	 * failing query: any other failure is one. */
	rc = sqlite3_prepare_v2(s->db, "SELECT 1 FROM main.sqlite_schema WHERE"
				" name = '" STORE_WITHHELD_TABLE "'", -1, &st, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc == SQLITE_DONE)
		return 0;
	if (rc != SQLITE_ROW)
		return fail(s, rc, "reading " STORE_WITHHELD_TABLE, err);
	rc = sqlite3_prepare_v2(s->db, "SELECT tbl, col, gone FROM main." STORE_WITHHELD_TABLE
				" ORDER BY tbl, col", -1, &st, NULL);
	if (rc != SQLITE_OK)
		return fail(s, rc, "reading " STORE_WITHHELD_TABLE, err);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *tn = col_text(st, 0), *cn = col_text(st, 1);
		struct store_table *t = find_in(sc, tn);
		struct store_withheld *w;
		int c = -1, gone = sqlite3_column_int(st, 2) != 0;

		if (sc->nwithheld % 8 == 0) {
			sc->withheld = realloc(sc->withheld, (size_t)(sc->nwithheld + 8) *
					       sizeof(*sc->withheld));
			if (!sc->withheld)
				out_of_memory(0);
		}
		w = &sc->withheld[sc->nwithheld++];
		w->tbl = xstrdup(tn);
		w->col = xstrdup(cn);
		w->gone = gone;
		for (int i = 0; t && i < t->ncols; i++)
			if (!t->cols[i].hidden && strcmp(t->cols[i].name, cn) == 0)
				c = i;
		if (c < 0 && (gone || s->stale_withheld_ok))
			continue;
		if (c < 0) {
			buf_addf(err, "%s: " STORE_WITHHELD_TABLE " withholds %s.%s, which the"
				 " database does not have (renamed or dropped?): run"
				 " `archivefs withhold DB --remove %s.%s` (its old values"
				 " stay withheld in the history), then withhold its new"
				 " name", s->path, tn, cn, tn, cn);
			sqlite3_finalize(st);
			return -EINVAL;
		}
		t->cols[c].withheld = 1;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return fail(s, rc, "reading " STORE_WITHHELD_TABLE, err);
	return 0;
}

int store_reload_schema(struct store *s, struct buf *err)
{
	static const char q[] =
		"SELECT s.name, l.wr FROM sqlite_schema AS s"
		" JOIN pragma_table_list AS l ON l.schema = 'main' AND l.name = s.name"
		" WHERE s.type = 'table' AND l.type = 'table'"
		" AND s.name NOT LIKE 'sqlite\\_%' ESCAPE '\\'"
		" AND s.name NOT GLOB 'archivefs_*'"
		" ORDER BY s.rowid";
	sqlite3_stmt *st = NULL;
	struct store_schema sc = { 0 };
	int rc, cap = 0;

	rc = sqlite3_prepare_v2(s->db, q, -1, &st, NULL);
	if (rc != SQLITE_OK)
		return fail(s, rc, "reading the schema", err);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct store_table *t;
		if (sc.ntables == cap) {
			cap = cap ? cap * 2 : 16;
			sc.tables = realloc(sc.tables, (size_t)cap * sizeof(*sc.tables));
			if (!sc.tables)
				out_of_memory(0);
		}
		t = &sc.tables[sc.ntables++];
		memset(t, 0, sizeof(*t));
		t->name = xstrdup(col_text(st, 0));
		t->without_rowid = sqlite3_column_int(st, 1);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		schema_free(&sc);
		return fail(s, rc, "reading the schema", err);
	}
	for (int i = 0; i < sc.ntables; i++) {
		rc = read_table(s, &sc.tables[i], err);
		if (rc) {
			schema_free(&sc);
			return rc;
		}
	}
	rc = read_withheld(s, &sc, err);
	if (rc) {
		schema_free(&sc);
		return rc;
	}
	schema_free(&s->schema);
	s->schema = sc;
	return 0;
}

/* A writer killed mid-transaction leaves a hot rollback journal, which a
 * read-only connection cannot roll back (SQLITE_READONLY_ROLLBACK). The
 * first read on a read-write connection rolls it back, as the
 * application's own next open would: the database is then as its last
 * commit left it. 0, or the SQLite code of the failure. */
static int roll_back_hot_journal(const char *path)
{
	sqlite3 *db = NULL;
	int rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);

	if (rc == SQLITE_OK) {
		sqlite3_busy_timeout(db, BUSY_TIMEOUT_MS);
		rc = sqlite3_exec(db, "SELECT count(*) FROM sqlite_schema", NULL, NULL, NULL);
	}
	sqlite3_close(db);
	return rc;
}

static int store_open_once(const char *path, int flags, struct store **out,
			   struct buf *err, int *xcode);

int store_open(const char *path, int flags, struct store **out, struct buf *err)
{
	size_t mark = err ? err->len : 0;
	int xcode = SQLITE_OK;
	int rc = store_open_once(path, flags, out, err, &xcode);

	if (rc && xcode == SQLITE_READONLY_ROLLBACK && roll_back_hot_journal(path) == SQLITE_OK) {
		if (err)
			buf_truncate(err, mark);
		rc = store_open_once(path, flags, out, err, &xcode);
	}
	return rc;
}

static int store_open_once(const char *path, int flags, struct store **out,
			   struct buf *err, int *xcode)
{
	struct store *s;
	int oflags, rc;

	*out = NULL;
	s = calloc(1, sizeof(*s));
	if (!s)
		out_of_memory(0);
	s->path = xstrdup(path);
	s->stale_withheld_ok = (flags & STORE_STALE_WITHHELD) != 0;
	oflags = (flags & STORE_RDWR) ? SQLITE_OPEN_READWRITE : SQLITE_OPEN_READONLY;
	if ((flags & STORE_RDWR) && (flags & STORE_CREATE))
		oflags |= SQLITE_OPEN_CREATE;
	rc = sqlite3_open_v2(path, &s->db, oflags | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		rc = fail(s, rc, path, err);
		goto fail;
	}
	sqlite3_extended_result_codes(s->db, 1);
	sqlite3_busy_timeout(s->db, BUSY_TIMEOUT_MS);
	rc = sqlite3_exec(s->db, "PRAGMA foreign_keys = OFF", NULL, NULL, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_create_function(s->db, "archivefs_month", 1,
			SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS,
			NULL, month_func, NULL, NULL);
	if (rc != SQLITE_OK) {
		rc = fail(s, rc, path, err);
		goto fail;
	}
	/* Reading the schema is the first real access: it tells "not a
	 * database" and "locked" apart from a good file. */
	rc = store_reload_schema(s, err);
	if (rc) {
		*xcode = sqlite3_extended_errcode(s->db);
		goto fail;
	}
	*out = s;
	return 0;
fail:
	store_close(s);
	return rc;
}

void store_close(struct store *s)
{
	if (!s)
		return;
	schema_free(&s->schema);
	for (int i = 0; i < s->nidle; i++)
		sqlite3_finalize(s->idle[i]);
	sqlite3_close(s->db);
	free(s->path);
	free(s);
}

const char *store_path(const struct store *s)
{
	return s->path;
}

const struct store_schema *store_schema(struct store *s)
{
	return &s->schema;
}

const struct store_table *store_find_table(struct store *s, const char *name)
{
	for (int i = 0; i < s->schema.ntables; i++)
		if (strcmp(s->schema.tables[i].name, name) == 0)
			return &s->schema.tables[i];
	return NULL;
}

int store_objects(struct store *s, struct store_object **out, int *n,
		  struct buf *err)
{
	/* sqlite_* objects are made by SQLite itself (autoindexes,
	 * sqlite_sequence, sqlite_stat*): replaying them is neither possible
	 * nor needed. archivefs_* objects are ours, never carried over, and
	 * so are indexes and triggers on them, whatever their name (replayed
	 * without their table they would fail the rebuild). */
	static const char q[] =
		"SELECT type, name, tbl_name, sql FROM sqlite_schema"
		" WHERE sql IS NOT NULL"
		" AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'"
		" AND name NOT GLOB 'archivefs_*'"
		" AND tbl_name NOT GLOB 'archivefs_*'"
		/* A virtual table's shadow tables are made by its CREATE
		 * VIRTUAL TABLE: replaying them too would fail. */
		" AND tbl_name NOT IN (SELECT name FROM pragma_table_list"
		"   WHERE schema = 'main' AND type = 'shadow')"
		" ORDER BY CASE type WHEN 'table' THEN 0 WHEN 'index' THEN 1"
		" WHEN 'view' THEN 2 ELSE 3 END, rowid";
	sqlite3_stmt *st = NULL;
	struct store_object *o = NULL;
	int rc, cap = 0, cnt = 0;

	rc = sqlite3_prepare_v2(s->db, q, -1, &st, NULL);
	if (rc != SQLITE_OK)
		return fail(s, rc, "reading the schema", err);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (cnt == cap) {
			cap = cap ? cap * 2 : 32;
			o = realloc(o, (size_t)cap * sizeof(*o));
			if (!o)
				out_of_memory(0);
		}
		o[cnt].type = xstrdup(col_text(st, 0));
		o[cnt].name = xstrdup(col_text(st, 1));
		o[cnt].tbl_name = xstrdup(col_text(st, 2));
		o[cnt].sql = xstrdup(col_text(st, 3));
		cnt++;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		store_objects_free(o, cnt);
		return fail(s, rc, "reading the schema", err);
	}
	*out = o;
	*n = cnt;
	return 0;
}

void store_objects_free(struct store_object *o, int n)
{
	for (int i = 0; i < n; i++) {
		free(o[i].type);
		free(o[i].name);
		free(o[i].tbl_name);
		free(o[i].sql);
	}
	free(o);
}

static int pragma_name_ok(const char *name)
{
	return strcmp(name, "user_version") == 0 ||
	       strcmp(name, "application_id") == 0 ||
	       strcmp(name, "cache_size") == 0;
}

int store_get_pragma_int(struct store *s, const char *name, int64_t *v,
			 struct buf *err)
{
	struct buf sql = BUF_INIT;
	sqlite3_stmt *st = NULL;
	int rc;

	if (!pragma_name_ok(name))
		return -EINVAL;
	buf_addf(&sql, "PRAGMA %s", name);
	rc = sqlite3_prepare_v2(s->db, sql.data, -1, &st, NULL);
	if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		*v = sqlite3_column_int64(st, 0);
		rc = 0;
	} else {
		rc = fail(s, rc, sql.data, err);
	}
	sqlite3_finalize(st);
	buf_release(&sql);
	return rc;
}

int store_set_pragma_int(struct store *s, const char *name, int64_t v,
			 struct buf *err)
{
	struct buf sql = BUF_INIT;
	int rc;

	if (!pragma_name_ok(name))
		return -EINVAL;
	buf_addf(&sql, "PRAGMA %s = %lld", name, (long long)v);
	rc = store_exec(s, sql.data, err);
	buf_release(&sql);
	return rc;
}

/* One integer from a PRAGMA with no argument. */
static int pragma_int(struct store *s, const char *pragma, int64_t *v, struct buf *err)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(s->db, pragma, -1, &st, NULL);

	if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		*v = sqlite3_column_int64(st, 0);
		rc = 0;
	} else {
		rc = fail(s, rc, pragma, err);
	}
	sqlite3_finalize(st);
	return rc;
}

int store_data_version(struct store *s, int64_t *v, struct buf *err)
{
	return pragma_int(s, "PRAGMA data_version", v, err);
}

int store_schema_version(struct store *s, int64_t *v, struct buf *err)
{
	return pragma_int(s, "PRAGMA schema_version", v, err);
}

int store_exec(struct store *s, const char *sql, struct buf *err)
{
	int rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);

	return rc == SQLITE_OK ? 0 : fail(s, rc, "executing SQL", err);
}

int store_begin(struct store *s, int immediate, struct buf *err)
{
	return store_exec(s, immediate ? "BEGIN IMMEDIATE" : "BEGIN", err);
}

int store_commit(struct store *s, struct buf *err)
{
	return store_exec(s, "COMMIT", err);
}

void store_rollback(struct store *s)
{
	if (!sqlite3_get_autocommit(s->db))
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
}

int store_in_txn(struct store *s)
{
	return !sqlite3_get_autocommit(s->db);
}

int64_t store_total_changes(struct store *s)
{
	return sqlite3_total_changes64(s->db);
}

int store_prepare(struct store *s, const char *sql, struct store_stmt **out,
		  struct buf *err)
{
	struct store_stmt *st;
	int rc;

	*out = NULL;
	st = calloc(1, sizeof(*st));
	if (!st)
		out_of_memory(0);
	st->s = s;
	for (int i = s->nidle - 1; i >= 0; i--) {
		if (strcmp(sqlite3_sql(s->idle[i]), sql) == 0) {
			st->st = s->idle[i];
			memmove(&s->idle[i], &s->idle[i + 1],
				(size_t)(s->nidle - i - 1) * sizeof(s->idle[0]));
			s->nidle--;
			*out = st;
			return 0;
		}
	}
	rc = sqlite3_prepare_v2(s->db, sql, -1, &st->st, NULL);
	if (rc != SQLITE_OK) {
		free(st);
		return fail(s, rc, "preparing a query", err);
	}
	*out = st;
	return 0;
}

int store_bind(struct store_stmt *st, int idx, const struct value *v)
{
	int rc = SQLITE_MISUSE;

	switch (v->type) {
	case V_NULL:
		rc = sqlite3_bind_null(st->st, idx);
		break;
	case V_INT:
		rc = sqlite3_bind_int64(st->st, idx, v->i);
		break;
	case V_REAL:
		rc = sqlite3_bind_double(st->st, idx, v->r);
		break;
	case V_TEXT:
		rc = sqlite3_bind_text64(st->st, idx, v->n ? v->s : "", v->n,
					 SQLITE_STATIC, SQLITE_UTF8);
		break;
	case V_BLOB:
		rc = sqlite3_bind_blob64(st->st, idx, v->n ? v->s : "", v->n,
					 SQLITE_STATIC);
		break;
	}
	return rc == SQLITE_OK ? 0 : store_errno(rc);
}

int store_step(struct store_stmt *st, struct buf *err)
{
	int rc = sqlite3_step(st->st);

	/* A writer killed mid-transaction left a hot journal, which a
	 * read-only connection (a mount's readers) cannot roll back: the
	 * first read of a transaction fails with it, before any row. Roll it
	 * back as the application's next open would, and read again: the
	 * client that asked did nothing wrong. */
	if (rc == SQLITE_READONLY_ROLLBACK) {
		sqlite3_reset(st->st);
		if (roll_back_hot_journal(st->s->path) == SQLITE_OK)
			rc = sqlite3_step(st->st);
		else
			rc = SQLITE_READONLY_ROLLBACK;
	}

	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE)
		return 0;
	rc = fail(st->s, rc, "running a query", err);
	sqlite3_reset(st->st);
	return rc;
}

int store_ncols(struct store_stmt *st)
{
	return sqlite3_column_count(st->st);
}

void store_column(struct store_stmt *st, int i, struct value *v)
{
	memset(v, 0, sizeof(*v));
	switch (sqlite3_column_type(st->st, i)) {
	case SQLITE_INTEGER:
		v->type = V_INT;
		v->i = sqlite3_column_int64(st->st, i);
		break;
	case SQLITE_FLOAT:
		v->type = V_REAL;
		v->r = sqlite3_column_double(st->st, i);
		break;
	case SQLITE_TEXT:
		v->type = V_TEXT;
		v->s = col_text(st->st, i);
		v->n = (size_t)sqlite3_column_bytes(st->st, i);
		break;
	case SQLITE_BLOB:
		v->type = V_BLOB;
		v->s = sqlite3_column_blob(st->st, i);
		if (!v->s && sqlite3_errcode(sqlite3_db_handle(st->st)) == SQLITE_NOMEM)
			out_of_memory(0);
		v->n = (size_t)sqlite3_column_bytes(st->st, i);
		if (!v->s)
			v->s = "";
		break;
	default:
		v->type = V_NULL;
		break;
	}
}

void store_reset(struct store_stmt *st)
{
	sqlite3_reset(st->st);
	sqlite3_clear_bindings(st->st);
}

void store_finalize(struct store_stmt *st)
{
	struct store *s;

	if (!st)
		return;
	s = st->s;
	if (st->st && sqlite3_reset(st->st) == SQLITE_OK && sqlite3_sql(st->st)) {
		sqlite3_clear_bindings(st->st);
		if (s->nidle == STMT_CACHE) {
			sqlite3_finalize(s->idle[0]);
			memmove(&s->idle[0], &s->idle[1],
				(size_t)(STMT_CACHE - 1) * sizeof(s->idle[0]));
			s->nidle--;
		}
		s->idle[s->nidle++] = st->st;
	} else {
		sqlite3_finalize(st->st);
	}
	free(st);
}

/* --- online backup ------------------------------------------------------------ */

int store_backup(const char *from, const char *to, int create, struct buf *err)
{
	sqlite3 *src = NULL, *dst = NULL;
	sqlite3_backup *b;
	int rc, pages;

	rc = sqlite3_open_v2(from, &src, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_open_v2(to, &dst, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX |
				     (create ? SQLITE_OPEN_CREATE : 0), NULL);
	if (rc != SQLITE_OK) {
		buf_addf(err, "%s", sqlite3_errmsg(dst ? dst : src));
		goto out;
	}
	sqlite3_busy_timeout(src, BUSY_TIMEOUT_MS);
	sqlite3_busy_timeout(dst, BUSY_TIMEOUT_MS);
	b = sqlite3_backup_init(dst, "main", src, "main");
	if (!b) {
		rc = sqlite3_errcode(dst);
		buf_addf(err, "%s", sqlite3_errmsg(dst));
		goto out;
	}
	/* WAL: all in one step, in one read transaction that never blocks
	 * the application's writers. Rollback journal: a few pages at a time,
	 * so writers get the lock between steps; a commit meanwhile restarts
	 * the copy (SQLite's online backup). Either way the copy is one
	 * consistent snapshot. */
	{
		sqlite3_stmt *jm = NULL;
		int wal = 0;
		if (sqlite3_prepare_v2(src, "PRAGMA journal_mode", -1, &jm, NULL) == SQLITE_OK &&
		    sqlite3_step(jm) == SQLITE_ROW)
			wal = !strcmp(col_text(jm, 0), "wal");
		sqlite3_finalize(jm);
		pages = wal ? -1 : 256;
	}
	/* busy/locked: retried, for at most about the busy timeout in all */
	for (int busy = 0;;) {
		rc = sqlite3_backup_step(b, pages);
		if ((rc == SQLITE_BUSY || rc == SQLITE_LOCKED) && busy++ < BUSY_TIMEOUT_MS / 5) {
			sqlite3_sleep(5);
			continue;
		}
		if (rc != SQLITE_OK)
			break;
	}
	{
		int frc = sqlite3_backup_finish(b);
		if (rc == SQLITE_DONE)
			rc = frc;
	}
	if (rc != SQLITE_OK)
		buf_addf(err, "%s", sqlite3_errstr(rc));
out:
	sqlite3_close(src);
	sqlite3_close(dst);
	return rc == SQLITE_OK ? 0 : store_errno(rc);
}

int store_integrity(const char *path, struct buf *err)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL);
	int bad = 0;

	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL);
	while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *line = col_text(st, 0);
		rc = SQLITE_OK;
		if (strcmp(line, "ok")) {
			if (bad++ < 5)
				buf_addf(err, "%s%s", bad > 1 ? "; " : "", line);
		}
	}
	if (rc == SQLITE_DONE)
		rc = SQLITE_OK;
	if (rc != SQLITE_OK)
		buf_addf(err, "%s", db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
	sqlite3_finalize(st);
	sqlite3_close(db);
	if (rc != SQLITE_OK)
		return store_errno(rc);
	return bad ? -EIO : 0;
}

int store_query_long(struct store *s, const char *sql, long *out, struct buf *err)
{
	struct store_stmt *st;
	struct value v;
	int rc = store_prepare(s, sql, &st, err);

	*out = 0;
	if (rc)
		return rc;
	rc = store_step(st, err);
	if (rc == 1) {
		store_column(st, 0, &v);
		*out = v.type == V_INT ? (long)v.i : 0;
		rc = 0;
	}
	store_finalize(st);
	return rc;
}

int store_count_rows(struct store *s, const char *schema, const char *table, long *out,
		     struct buf *err)
{
	struct buf q = BUF_INIT;
	int rc;

	buf_addstr(&q, "SELECT count(*) FROM ");
	buf_add_sqlident(&q, schema);
	buf_addch(&q, '.');
	buf_add_sqlident(&q, table);
	rc = store_query_long(s, q.data, out, err);
	buf_release(&q);
	return rc;
}
