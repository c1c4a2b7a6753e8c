/*
 * test_store.c - unit tests for store.c, the one door to SQLite.
 *
 * Pins what the rest of the engine relies on: the SQLite-to-errno table
 * row by row (primary codes, extended codes, unknown codes); how opening
 * fails on a missing or foreign file, and succeeds after a writer was
 * killed mid-transaction (its hot journal rolled back), and so does the next
 * read of a connection opened before; the live schema as struct
 * store_table (keys in key order, WITHOUT ROWID, rowid keys, generated
 * columns, odd names, archivefs_* and sqlite_* exclusions) and the
 * sqlite_schema rows store_objects() hands to a rebuild; exact value
 * round trips of every storage class through bind and column; the
 * archivefs_month() SQL function; the two allowed pragmas; transactions,
 * and one SQLITE_BUSY case that waits out the 5 s busy timeout.
 *
 * Every test gets its own temporary directory (mkdtemp), removed after the
 * test, and after the run even when the test failed.
 * Only this test includes sqlite3.h, for the numeric result codes.
 */
#include <check.h>

#include "unit.h"
#include <errno.h>
#include <fcntl.h>
#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "buf.h"
#include "store.h"
#include "value.h"

/* unit_tmpdir + "/" + name, in one of a few rotating static buffers. */
static const char *tpath(const char *name)
{
	static char bufs[4][8400];
	static int next;
	char *b = bufs[next++ % 4];

	snprintf(b, 8400, "%s/%s", unit_tmpdir, name);
	return b;
}

/* --- helpers for readable failure messages ------------------------------- */

/* --- helpers for databases ------------------------------------------------ */

static struct store *open_new(const char *name)
{
	struct buf err = BUF_INIT;
	struct store *s = NULL;
	int rc = store_open(tpath(name), STORE_RDWR | STORE_CREATE, &s, &err);

	ck_assert_msg(rc == 0 && s, "store_open(%s, create) = %d: %s",
		      name, rc, err.data);
	buf_release(&err);
	return s;
}

#define EXEC(s, sql) exec_ok((s), (sql), __LINE__)

static void exec_ok(struct store *s, const char *sql, int line)
{
	struct buf err = BUF_INIT;
	int rc = store_exec(s, sql, &err);

	ck_assert_msg(rc == 0, "line %d: store_exec(%s) = %d: %s", line,
		      show(sql, strlen(sql)), rc, err.data);
	buf_release(&err);
}

static void reload(struct store *s)
{
	struct buf err = BUF_INIT;
	int rc = store_reload_schema(s, &err);

	ck_assert_msg(rc == 0, "store_reload_schema = %d: %s", rc, err.data);
	buf_release(&err);
}

/* Prepare sql; step once and expect a row. */
static struct store_stmt *query_row(struct store *s, const char *sql)
{
	struct buf err = BUF_INIT;
	struct store_stmt *st = NULL;
	int rc = store_prepare(s, sql, &st, &err);

	ck_assert_msg(rc == 0 && st, "store_prepare(%s) = %d: %s", sql, rc, err.data);
	rc = store_step(st, &err);
	ck_assert_msg(rc == 1, "store_step(%s) = %d, want a row: %s", sql, rc,
		      err.data);
	buf_release(&err);
	return st;
}

/* --- store_errno ---------------------------------------------------------- */

struct code_case {
	int code;
	const char *name;
	int err;            /* expected errno, positive; 0 for SQLITE_OK */
};

#define C(code, err) { code, #code, err }

/* Every row of the table in store.c. */
static const struct code_case primary_codes[] = {
	C(SQLITE_OK, 0),
	C(SQLITE_ERROR, EINVAL),
	C(SQLITE_INTERNAL, EIO),
	C(SQLITE_PERM, EACCES),
	C(SQLITE_ABORT, EINTR),
	C(SQLITE_BUSY, EBUSY),
	C(SQLITE_LOCKED, EBUSY),
	C(SQLITE_NOMEM, ENOMEM),
	C(SQLITE_READONLY, EROFS),
	C(SQLITE_INTERRUPT, EINTR),
	C(SQLITE_IOERR, EIO),
	C(SQLITE_CORRUPT, EIO),
	C(SQLITE_NOTFOUND, ENOENT),
	C(SQLITE_FULL, ENOSPC),
	C(SQLITE_CANTOPEN, ENOENT),
	C(SQLITE_PROTOCOL, EIO),
	C(SQLITE_SCHEMA, EAGAIN),
	C(SQLITE_TOOBIG, EFBIG),
	C(SQLITE_CONSTRAINT, EINVAL),
	C(SQLITE_MISMATCH, EINVAL),
	C(SQLITE_MISUSE, EIO),
	C(SQLITE_NOLFS, EFBIG),
	C(SQLITE_AUTH, EACCES),
	C(SQLITE_RANGE, EINVAL),
	C(SQLITE_NOTADB, EIO),
};

/* Extended codes map like their primary code (the low byte). */
static const struct code_case extended_codes[] = {
	C(SQLITE_OK_LOAD_PERMANENTLY, 0),
	C(SQLITE_ERROR_MISSING_COLLSEQ, EINVAL),
	C(SQLITE_ERROR_RETRY, EINVAL),
	C(SQLITE_ERROR_SNAPSHOT, EINVAL),
	C(SQLITE_ABORT_ROLLBACK, EINTR),
	C(SQLITE_BUSY_RECOVERY, EBUSY),
	C(SQLITE_BUSY_SNAPSHOT, EBUSY),
	C(SQLITE_BUSY_TIMEOUT, EBUSY),
	C(SQLITE_LOCKED_SHAREDCACHE, EBUSY),
	C(SQLITE_LOCKED_VTAB, EBUSY),
	C(SQLITE_READONLY_RECOVERY, EROFS),
	C(SQLITE_READONLY_CANTLOCK, EROFS),
	C(SQLITE_READONLY_ROLLBACK, EROFS),
	C(SQLITE_READONLY_DBMOVED, EROFS),
	C(SQLITE_READONLY_CANTINIT, EROFS),
	C(SQLITE_READONLY_DIRECTORY, EROFS),
	C(SQLITE_IOERR_READ, EIO),
	C(SQLITE_IOERR_SHORT_READ, EIO),
	C(SQLITE_IOERR_WRITE, EIO),
	C(SQLITE_IOERR_FSYNC, EIO),
	C(SQLITE_IOERR_NOMEM, EIO),
	C(SQLITE_IOERR_LOCK, EIO),
	C(SQLITE_CORRUPT_VTAB, EIO),
	C(SQLITE_CORRUPT_SEQUENCE, EIO),
	C(SQLITE_CORRUPT_INDEX, EIO),
	C(SQLITE_CANTOPEN_NOTEMPDIR, ENOENT),
	C(SQLITE_CANTOPEN_ISDIR, ENOENT),
	C(SQLITE_CANTOPEN_FULLPATH, ENOENT),
	C(SQLITE_CANTOPEN_CONVPATH, ENOENT),
	C(SQLITE_CANTOPEN_SYMLINK, ENOENT),
	C(SQLITE_CONSTRAINT_CHECK, EINVAL),
	C(SQLITE_CONSTRAINT_COMMITHOOK, EINVAL),
	C(SQLITE_CONSTRAINT_FOREIGNKEY, EINVAL),
	C(SQLITE_CONSTRAINT_FUNCTION, EINVAL),
	C(SQLITE_CONSTRAINT_NOTNULL, EINVAL),
	C(SQLITE_CONSTRAINT_PRIMARYKEY, EINVAL),
	C(SQLITE_CONSTRAINT_TRIGGER, EINVAL),
	C(SQLITE_CONSTRAINT_UNIQUE, EINVAL),
	C(SQLITE_CONSTRAINT_VTAB, EINVAL),
	C(SQLITE_CONSTRAINT_ROWID, EINVAL),
	C(SQLITE_CONSTRAINT_DATATYPE, EINVAL),
	C(SQLITE_AUTH_USER, EACCES),
};

/* Codes the table does not hold (and junk) are I/O errors. */
static const struct code_case unknown_codes[] = {
	C(SQLITE_EMPTY, EIO),
	C(SQLITE_FORMAT, EIO),
	C(SQLITE_NOTICE, EIO),
	C(SQLITE_WARNING, EIO),
	C(SQLITE_NOTICE_RECOVER_WAL, EIO),
	C(SQLITE_WARNING_AUTOINDEX, EIO),
	C(SQLITE_ROW, EIO),
	C(SQLITE_DONE, EIO),
	{ 99, "99", EIO },
	{ 255, "255", EIO },
	{ 1000, "1000 (low byte 232)", EIO },
	{ -1, "-1", EIO },
	{ INT32_MAX, "INT32_MAX", EIO },
};

static void check_codes(const struct code_case *c, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int got = store_errno(c[i].code);

		ck_assert_msg(got == -c[i].err,
			      "store_errno(%s = %d) = %d (%s), want %d (%s)",
			      c[i].name, c[i].code, got, strerror(-got),
			      -c[i].err, strerror(c[i].err));
	}
}

START_TEST(test_errno_primary)
{
	check_codes(primary_codes, sizeof(primary_codes) / sizeof(primary_codes[0]));
}
END_TEST

START_TEST(test_errno_extended)
{
	check_codes(extended_codes, sizeof(extended_codes) / sizeof(extended_codes[0]));
	/* and every possible extension byte of every primary code */
	for (size_t i = 0; i < sizeof(primary_codes) / sizeof(primary_codes[0]); i++)
		for (int ext = 1; ext < 256; ext++) {
			int code = primary_codes[i].code | ext << 8;
			int got = store_errno(code);

			ck_assert_msg(got == -primary_codes[i].err,
				      "store_errno(%s | %d << 8) = %d, want %d",
				      primary_codes[i].name, ext, got,
				      -primary_codes[i].err);
		}
}
END_TEST

START_TEST(test_errno_unknown)
{
	check_codes(unknown_codes, sizeof(unknown_codes) / sizeof(unknown_codes[0]));
}
END_TEST

/* Real SQLite failures come back through the table with their message. */
START_TEST(test_errno_live)
{
	struct store *s = open_new("live.db");
	struct store_stmt *st = NULL;
	struct buf err = BUF_INIT;
	struct value v = { .type = V_NULL };
	int rc;

	EXEC(s, "CREATE TABLE t(a TEXT PRIMARY KEY, b NOT NULL)");
	EXEC(s, "INSERT INTO t VALUES ('x', 1)");

	rc = store_prepare(s, "SELEKT 1", &st, &err);
	ck_assert_msg(rc == -EINVAL && st == NULL,
		      "syntax error: store_prepare = %d, want -EINVAL", rc);
	ck_assert_msg(strstr(err.data, "syntax error"),
		      "syntax error message: \"%s\"", err.data);

	/* The reason is appended after ": " when err already holds text. */
	buf_reset(&err);
	buf_addstr(&err, "context");
	rc = store_exec(s, "SELECT * FROM no_such_table", &err);
	ck_assert_msg(rc == -EINVAL, "missing table: store_exec = %d", rc);
	ck_assert_msg(strncmp(err.data, "context: ", 9) == 0 &&
		      strstr(err.data, "no such table: no_such_table"),
		      "missing table message: \"%s\"", err.data);

	/* SQLITE_CONSTRAINT_NOTNULL and _PRIMARYKEY from a real step */
	rc = store_prepare(s, "INSERT INTO t VALUES (?1, ?2)", &st, &err);
	ck_assert_int_eq(rc, 0);
	buf_reset(&err);
	v.type = V_TEXT;
	v.s = "y";
	v.n = 1;
	ck_assert_int_eq(store_bind(st, 1, &v), 0);
	rc = store_step(st, &err);
	ck_assert_msg(rc == -EINVAL, "NOT NULL violation: store_step = %d", rc);
	ck_assert_msg(strstr(err.data, "NOT NULL constraint failed: t.b"),
		      "NOT NULL message: \"%s\"", err.data);
	store_reset(st);
	buf_reset(&err);
	v.s = "x";
	ck_assert_int_eq(store_bind(st, 1, &v), 0);
	v.type = V_INT;
	v.i = 2;
	ck_assert_int_eq(store_bind(st, 2, &v), 0);
	rc = store_step(st, &err);
	ck_assert_msg(rc == -EINVAL, "UNIQUE violation: store_step = %d", rc);
	ck_assert_msg(strstr(err.data, "UNIQUE constraint failed: t.a"),
		      "UNIQUE message: \"%s\"", err.data);
	/* binding out of range is SQLITE_RANGE */
	ck_assert_int_eq(store_bind(st, 3, &v), -EINVAL);
	store_finalize(st);
	store_finalize(NULL);
	store_close(s);
	buf_release(&err);
}
END_TEST

/* --- opening --------------------------------------------------------------- */

static int exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0;
}

START_TEST(test_open_missing)
{
	static const int modes[] = { STORE_RDONLY, STORE_RDWR, STORE_CREATE };
	static char sentinel;
	struct buf err = BUF_INIT;
	struct store *s;
	const char *p = tpath("missing.db");
	int rc;

	/* STORE_CREATE only creates together with STORE_RDWR. */
	for (size_t i = 0; i < 3; i++) {
		buf_reset(&err);
		s = (struct store *)(void *)&sentinel;   /* must be reset */
		rc = store_open(p, modes[i], &s, &err);
		ck_assert_msg(rc == -ENOENT, "open missing file, flags %d: %d, want -ENOENT",
			      modes[i], rc);
		ck_assert_msg(s == NULL, "flags %d: *out not NULL on failure", modes[i]);
		ck_assert_msg(strstr(err.data, p) != NULL,
			      "flags %d: message \"%s\" does not name %s",
			      modes[i], err.data, p);
		ck_assert_msg(!exists(p), "flags %d: opening created the file", modes[i]);
	}
	/* err may be NULL */
	rc = store_open(p, STORE_RDONLY, &s, NULL);
	ck_assert_int_eq(rc, -ENOENT);
	/* a missing directory too */
	buf_reset(&err);
	rc = store_open(tpath("no/such/dir.db"), STORE_RDWR | STORE_CREATE, &s, &err);
	ck_assert_msg(rc == -ENOENT, "create in a missing folder: %d, want -ENOENT", rc);
	buf_release(&err);
}
END_TEST

START_TEST(test_open_notadb)
{
	static const int modes[] = { STORE_RDONLY, STORE_RDWR };
	struct buf err = BUF_INIT;
	struct store *s;
	const char *p = tpath("notes.txt");
	FILE *f = fopen(p, "w");
	int rc;

	ck_assert(f != NULL);
	for (int i = 0; i < 200; i++)
		fprintf(f, "line %d: this is a text file, not a database\n", i);
	ck_assert_int_eq(fclose(f), 0);

	for (size_t i = 0; i < 2; i++) {
		buf_reset(&err);
		rc = store_open(p, modes[i], &s, &err);
		ck_assert_msg(rc < 0, "opening a text file, flags %d, succeeded", modes[i]);
		ck_assert_msg(s == NULL, "*out not NULL on failure");
		ck_assert_msg(rc == -EIO, "opening a text file: %d, want -EIO (SQLITE_NOTADB)", rc);
		ck_assert_msg(strstr(err.data, "not a database") != NULL,
			      "opening a text file: message \"%s\"", err.data);
	}
	buf_release(&err);
}
END_TEST

START_TEST(test_open_create)
{
	struct buf err = BUF_INIT;
	struct store *s = NULL;
	const char *p = tpath("new.db");
	int rc;

	rc = store_open(p, STORE_RDWR | STORE_CREATE, &s, &err);
	ck_assert_msg(rc == 0, "create: %d: %s", rc, err.data);
	ck_assert_str_eq(store_path(s), p);
	ck_assert_int_eq(store_schema(s)->ntables, 0);
	EXEC(s, "CREATE TABLE t(a)");
	store_close(s);
	ck_assert_msg(exists(p), "STORE_CREATE did not create %s", p);

	/* reopened read-only: the table is there, and writes are refused */
	rc = store_open(p, STORE_RDONLY, &s, &err);
	ck_assert_msg(rc == 0, "reopen: %d: %s", rc, err.data);
	ck_assert_int_eq(store_schema(s)->ntables, 1);
	ck_assert_str_eq(store_schema(s)->tables[0].name, "t");
	rc = store_exec(s, "INSERT INTO t VALUES (1)", &err);
	ck_assert_msg(rc == -EROFS, "write on a read-only store: %d, want -EROFS", rc);
	store_close(s);
	store_close(NULL);

	/* an empty file is an empty database */
	close(open(tpath("empty.db"), O_CREAT | O_WRONLY, 0644));
	rc = store_open(tpath("empty.db"), STORE_RDONLY, &s, &err);
	ck_assert_msg(rc == 0, "empty file: %d: %s", rc, err.data);
	ck_assert_int_eq(store_schema(s)->ntables, 0);
	store_close(s);
	buf_release(&err);
}
END_TEST

/* A table t of 2000 committed rows, then a writer killed mid-transaction,
 * its changed pages already spilled into the database file: a hot journal. */
static void make_db(const char *p)
{
	sqlite3 *db;

	ck_assert_int_eq(sqlite3_open(p, &db), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(db,
		"CREATE TABLE t(a INTEGER PRIMARY KEY, b);"
		"WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000)"
		" INSERT INTO t SELECT i, 'committed' FROM n;", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

static void leave_hot_journal(const char *p)
{
	char jpath[8500];
	struct stat st;
	sqlite3 *db;
	pid_t pid;
	int status;

	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		/* a tiny cache, so the update spills into the file before commit */
		if (sqlite3_open(p, &db) != SQLITE_OK ||
		    sqlite3_exec(db, "PRAGMA cache_size = 2; BEGIN;"
				 " UPDATE t SET b = 'uncommitted ' || hex(randomblob(200));",
				 NULL, NULL, NULL) != SQLITE_OK)
			_exit(2);
		_exit(0);   /* no commit, no rollback: as kill -9 */
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the writer failed");
	snprintf(jpath, sizeof(jpath), "%s-journal", p);
	ck_assert_msg(stat(jpath, &st) == 0 && st.st_size > 0, "no hot journal left behind");
}

static long committed_rows(struct store *s)
{
	struct store_stmt *q = query_row(s, "SELECT count(*) FROM t WHERE b = 'committed'");
	struct value v;

	store_column(q, 0, &v);
	store_finalize(q);
	return (long)v.i;
}

/* The hot journal must be rolled back before a read-only open can read
 * (SQLITE_READONLY_ROLLBACK otherwise), and what it then reads is the
 * last commit. */
START_TEST(test_open_hot_journal)
{
	struct buf err = BUF_INIT;
	struct store *s = NULL;
	const char *p = tpath("hot.db");
	int rc;

	make_db(p);
	leave_hot_journal(p);
	rc = store_open(p, STORE_RDONLY, &s, &err);
	ck_assert_msg(rc == 0, "read-only open after a crashed writer: %d: %s", rc, err.data);
	ck_assert_int_eq(committed_rows(s), 2000);
	store_close(s);
	buf_release(&err);
}
END_TEST

/* The same crash under a read-only connection already open (a mount's
 * readers): its next read rolls the journal back and reads the last
 * commit, inside a transaction too, instead of failing with EROFS. */
START_TEST(test_read_after_hot_journal)
{
	struct buf err = BUF_INIT;
	struct store *s = NULL;
	const char *p = tpath("hot.db");

	make_db(p);
	ck_assert_int_eq(store_open(p, STORE_RDONLY, &s, &err), 0);
	ck_assert_int_eq(committed_rows(s), 2000);
	leave_hot_journal(p);
	ck_assert_int_eq(store_begin(s, 0, &err), 0);
	ck_assert_int_eq(committed_rows(s), 2000);
	store_rollback(s);
	leave_hot_journal(p);
	ck_assert_int_eq(committed_rows(s), 2000);
	store_close(s);
	buf_release(&err);
}
END_TEST

/* --- schema ----------------------------------------------------------------- */

struct want_col {
	const char *name, *decltype;
	int notnull, pk, hidden;
};

struct want_table {
	const char *name;
	int ncols;
	struct want_col cols[6];
	int npk;
	int pk[3];
	int rowid_key, without_rowid;
};

static void check_table(const struct store_table *t, const struct want_table *w)
{
	ck_assert_msg(t != NULL, "table \"%s\" not in the schema",
		      show(w->name, strlen(w->name)));
	ck_assert_msg(strcmp(t->name, w->name) == 0, "table name \"%s\", want \"%s\"",
		      show(t->name, strlen(t->name)), show(w->name, strlen(w->name)));
#define TF(field) ck_assert_msg(t->field == w->field, "table \"%s\": " #field \
				" = %d, want %d", show(w->name, strlen(w->name)), \
				t->field, w->field)
	TF(ncols);
	TF(npk);
	TF(rowid_key);
	TF(without_rowid);
#undef TF
	ck_assert_msg(t->pk != NULL, "table %s: pk is NULL", w->name);
	for (int i = 0; i < w->npk; i++)
		ck_assert_msg(t->pk[i] == w->pk[i], "table %s: pk[%d] = %d, want %d",
			      w->name, i, t->pk[i], w->pk[i]);
	for (int i = 0; i < w->ncols; i++) {
		const struct store_col *c = &t->cols[i];
		const struct want_col *wc = &w->cols[i];

		ck_assert_msg(strcmp(c->name, wc->name) == 0,
			      "table %s: column %d is \"%s\", want \"%s\"", w->name, i,
			      show(c->name, strlen(c->name)), show(wc->name, strlen(wc->name)));
		ck_assert_msg(strcmp(c->decltype, wc->decltype) == 0,
			      "%s.%s: decltype \"%s\", want \"%s\"", w->name, wc->name,
			      c->decltype, wc->decltype);
		ck_assert_msg(c->notnull == wc->notnull, "%s.%s: notnull %d, want %d",
			      w->name, wc->name, c->notnull, wc->notnull);
		ck_assert_msg(c->pk == wc->pk, "%s.%s: pk %d, want %d",
			      w->name, wc->name, c->pk, wc->pk);
		ck_assert_msg(c->hidden == wc->hidden, "%s.%s: hidden %d, want %d",
			      w->name, wc->name, c->hidden, wc->hidden);
	}
}

static const char schema_sql[] =
	"CREATE TABLE t_text(id TEXT PRIMARY KEY, v INT NOT NULL, w);\n"
	"CREATE TABLE t_ipk(x REAL, id INTEGER PRIMARY KEY);\n"
	"CREATE TABLE archivefs_meta(k TEXT PRIMARY KEY, v);\n"
	"CREATE TABLE t_wr(a INT, b TEXT NOT NULL, c BLOB, PRIMARY KEY (b, a)) WITHOUT ROWID;\n"
	"CREATE TABLE t_nopk(a, b VARCHAR(20));\n"
	"CREATE TABLE t_auto(id INTEGER PRIMARY KEY AUTOINCREMENT, u UNIQUE);\n"
	"CREATE TABLE t_gen(a INTEGER PRIMARY KEY, b TEXT,"
	" c INT GENERATED ALWAYS AS (a + 1) VIRTUAL, d AS (b || 'x') STORED);\n"
	"CREATE TABLE \"we\"\"ird\n name\"(\"c 1\" TEXT, \"c\"\"2\" INT, [c;3] NOT NULL,"
	" PRIMARY KEY (\"c 1\"));\n"
	"CREATE VIEW v_text AS SELECT id FROM t_text;\n"
	"CREATE TABLE archivefs_other(x);\n"
	"CREATE TABLE t_last(z);\n";

static const struct want_table want_tables[] = {
	{ "t_text", 3, {
		{ "id", "TEXT", 0, 1, 0 },
		{ "v", "INT", 1, 0, 0 },
		{ "w", "", 0, 0, 0 } }, 1, { 0 }, 0, 0 },
	{ "t_ipk", 2, {
		{ "x", "REAL", 0, 0, 0 },
		{ "id", "INTEGER", 0, 1, 0 } }, 1, { 1 }, 0, 0 },
	/* key order (b, a), not column order; SQLite makes every column of a
	 * WITHOUT ROWID primary key NOT NULL, and says so */
	{ "t_wr", 3, {
		{ "a", "INT", 1, 2, 0 },
		{ "b", "TEXT", 1, 1, 0 },
		{ "c", "BLOB", 0, 0, 0 } }, 2, { 1, 0 }, 0, 1 },
	{ "t_nopk", 2, {
		{ "a", "", 0, 0, 0 },
		{ "b", "VARCHAR(20)", 0, 0, 0 } }, 0, { 0 }, 1, 0 },
	{ "t_auto", 2, {
		{ "id", "INTEGER", 0, 1, 0 },
		{ "u", "", 0, 0, 0 } }, 1, { 0 }, 0, 0 },
	{ "t_gen", 4, {
		{ "a", "INTEGER", 0, 1, 0 },
		{ "b", "TEXT", 0, 0, 0 },
		{ "c", "INT", 0, 0, 1 },
		{ "d", "", 0, 0, 1 } }, 1, { 0 }, 0, 0 },
	{ "we\"ird\n name", 3, {
		{ "c 1", "TEXT", 0, 1, 0 },
		{ "c\"2", "INT", 0, 0, 0 },
		{ "c;3", "", 1, 0, 0 } }, 1, { 0 }, 0, 0 },
	{ "t_last", 1, {
		{ "z", "", 0, 0, 0 } }, 0, { 0 }, 1, 0 },
};
#define NWANT ((int)(sizeof(want_tables) / sizeof(want_tables[0])))

static void check_schema(struct store *s)
{
	const struct store_schema *sc = store_schema(s);

	for (int i = 0; i < sc->ntables && i < NWANT; i++)
		ck_assert_msg(strcmp(sc->tables[i].name, want_tables[i].name) == 0,
			      "table %d is \"%s\", want \"%s\" (sqlite_schema order,"
			      " no archivefs_*, sqlite_* or views)", i,
			      show(sc->tables[i].name, strlen(sc->tables[i].name)),
			      show(want_tables[i].name, strlen(want_tables[i].name)));
	ck_assert_msg(sc->ntables == NWANT, "%d tables, want %d", sc->ntables, NWANT);
	for (int i = 0; i < NWANT; i++) {
		check_table(&sc->tables[i], &want_tables[i]);
		ck_assert_msg(store_find_table(s, want_tables[i].name) == &sc->tables[i],
			      "store_find_table(%s) is not tables[%d]",
			      want_tables[i].name, i);
	}
	ck_assert(store_find_table(s, "archivefs_meta") == NULL);
	ck_assert(store_find_table(s, "archivefs_other") == NULL);
	ck_assert(store_find_table(s, "sqlite_sequence") == NULL);
	ck_assert(store_find_table(s, "sqlite_schema") == NULL);
	ck_assert(store_find_table(s, "v_text") == NULL);
	ck_assert(store_find_table(s, "nope") == NULL);
}

START_TEST(test_schema_tables)
{
	struct store *s = open_new("schema.db");
	struct buf err = BUF_INIT;
	int rc;

	EXEC(s, schema_sql);
	EXEC(s, "INSERT INTO t_auto(u) VALUES (1)");   /* fills sqlite_sequence */
	/* sqlite_* names are SQLite's own: creating one is refused */
	rc = store_exec(s, "CREATE TABLE sqlite_mine(x)", &err);
	ck_assert_msg(rc == -EINVAL, "CREATE TABLE sqlite_mine: %d, want -EINVAL", rc);
	ck_assert_msg(strstr(err.data, "reserved"), "message \"%s\"", err.data);

	/* the schema is read at open: still empty until reloaded */
	ck_assert_int_eq(store_schema(s)->ntables, 0);
	reload(s);
	check_schema(s);
	store_close(s);

	/* and the same when read at open */
	rc = store_open(tpath("schema.db"), STORE_RDONLY, &s, &err);
	ck_assert_msg(rc == 0, "reopen: %d: %s", rc, err.data);
	check_schema(s);
	store_close(s);
	buf_release(&err);
}
END_TEST

START_TEST(test_reload_schema)
{
	struct store *s = open_new("reload.db");
	const struct store_table *t;

	EXEC(s, "CREATE TABLE t(a TEXT PRIMARY KEY)");
	reload(s);
	t = store_find_table(s, "t");
	ck_assert_int_eq(t->ncols, 1);
	EXEC(s, "ALTER TABLE t ADD COLUMN b VARCHAR NOT NULL DEFAULT 'x'");
	/* no reload yet: the old snapshot */
	ck_assert_int_eq(store_find_table(s, "t")->ncols, 1);
	reload(s);
	t = store_find_table(s, "t");
	ck_assert_msg(t && t->ncols == 2, "after ADD COLUMN: %d columns, want 2",
		      t ? t->ncols : -1);
	ck_assert_str_eq(t->cols[1].name, "b");
	ck_assert_str_eq(t->cols[1].decltype, "VARCHAR");
	ck_assert_int_eq(t->cols[1].notnull, 1);
	ck_assert_int_eq(t->cols[1].pk, 0);
	ck_assert_int_eq(t->npk, 1);
	ck_assert_int_eq(t->pk[0], 0);

	EXEC(s, "CREATE TABLE u(x); DROP TABLE t");
	reload(s);
	ck_assert_int_eq(store_schema(s)->ntables, 1);
	ck_assert_str_eq(store_schema(s)->tables[0].name, "u");
	ck_assert(store_find_table(s, "t") == NULL);
	store_close(s);
}
END_TEST

/* --- store_objects ------------------------------------------------------------ */

struct want_obj {
	const char *type, *name, *tbl_name, *sql;
};

START_TEST(test_objects)
{
	static const char *const sql[] = {
		"CREATE TABLE a(id TEXT PRIMARY KEY, n INT UNIQUE)",
		"CREATE TABLE archivefs_meta(k PRIMARY KEY, v)",
		"CREATE INDEX a_n ON a(n DESC) WHERE n > 0",
		"CREATE INDEX archivefs_meta_v ON archivefs_meta(v)",
		"CREATE VIEW \"v \"\"1\"\"\" AS SELECT id FROM a",
		"CREATE TRIGGER a_ins AFTER INSERT ON a BEGIN\n"
		"\tUPDATE a SET n = n + 1 WHERE id = new.id;\nEND",
		"CREATE TABLE b(x INTEGER PRIMARY KEY AUTOINCREMENT, y)",
		"CREATE UNIQUE INDEX b_y ON b(y)",
		/* on one of ours, though not named archivefs_*: ours too */
		"CREATE INDEX meta_v ON archivefs_meta(v)",
		"CREATE TRIGGER meta_del AFTER DELETE ON archivefs_meta BEGIN\n"
		"\tDELETE FROM a WHERE id = old.k;\nEND",
	};
	/* tables, then indexes, views and triggers, each in creation order */
	static const struct want_obj want[] = {
		{ "table", "a", "a", NULL },
		{ "table", "b", "b", NULL },
		{ "index", "a_n", "a", NULL },
		{ "index", "b_y", "b", NULL },
		{ "view", "v \"1\"", "v \"1\"", NULL },
		{ "trigger", "a_ins", "a", NULL },
	};
	/* index into sql[] of each wanted object's statement */
	static const int from[] = { 0, 6, 2, 7, 4, 5 };
	struct store *s = open_new("objects.db");
	struct store_object *o = NULL;
	struct buf err = BUF_INIT, list = BUF_INIT;
	int n = -1, rc;

	for (size_t i = 0; i < sizeof(sql) / sizeof(sql[0]); i++)
		EXEC(s, sql[i]);
	EXEC(s, "INSERT INTO b(y) VALUES (1); ANALYZE");   /* sqlite_sequence, sqlite_stat1 */
	rc = store_objects(s, &o, &n, &err);
	ck_assert_msg(rc == 0, "store_objects: %d: %s", rc, err.data);
	for (int i = 0; i < n; i++)
		buf_addf(&list, " %s \"%s\";", o[i].type, show(o[i].name, strlen(o[i].name)));
	ck_assert_msg(n == (int)(sizeof(want) / sizeof(want[0])),
		      "%d objects, want %zu; got:%s", n, sizeof(want) / sizeof(want[0]),
		      list.data);
	for (int i = 0; i < n; i++) {
		ck_assert_msg(strcmp(o[i].type, want[i].type) == 0 &&
			      strcmp(o[i].name, want[i].name) == 0 &&
			      strcmp(o[i].tbl_name, want[i].tbl_name) == 0,
			      "object %d is %s \"%s\" on \"%s\", want %s \"%s\" on \"%s\"",
			      i, o[i].type, o[i].name, o[i].tbl_name,
			      want[i].type, want[i].name, want[i].tbl_name);
		ck_assert_msg(strcmp(o[i].sql, sql[from[i]]) == 0,
			      "object %d (%s): sql \"%s\", want \"%s\"", i, o[i].name,
			      show(o[i].sql, strlen(o[i].sql)),
			      show(sql[from[i]], strlen(sql[from[i]])));
	}
	store_objects_free(o, n);
	store_close(s);
	buf_release(&err);
	buf_release(&list);
}
END_TEST

/* --- values --------------------------------------------------------------------- */

/* Bit-exact: value_equal, plus a non-NULL pointer for text and blobs. */
static void expect_value(const struct value *got, const struct value *want,
			 const char *what, int i)
{
	ck_assert_msg(value_equal(got, want),
		      "%s, value #%d: got %s, want %s", what, i,
		      show_value(got), show_value(want));
	if (got->type == V_TEXT || got->type == V_BLOB)
		ck_assert_msg(got->s != NULL, "%s, value #%d: NULL pointer for %s",
			      what, i, show_value(got));
}

START_TEST(test_values)
{
	static const char nul_text[] = "a\0b\0";
	static const char bad_utf8[] = "\xff\xfe \xc3\x28 \xc0\xaf \xed\xa0\x80 \xf4\x90\x80\x80";
	static char all_bytes[256];
	static char big[100000];
	const double tiny = 5e-324, sum = 0.1 + 0.2;
	struct value vals[] = {
		{ .type = V_NULL },
		{ .type = V_INT, .i = 0 },
		{ .type = V_INT, .i = 1 },
		{ .type = V_INT, .i = -1 },
		{ .type = V_INT, .i = INT64_MIN },
		{ .type = V_INT, .i = INT64_MAX },
		{ .type = V_INT, .i = INT64_C(9007199254740993) },
		{ .type = V_REAL, .r = sum },
		{ .type = V_REAL, .r = tiny },
		{ .type = V_REAL, .r = -tiny },
		{ .type = V_REAL, .r = DBL_MIN },
		{ .type = V_REAL, .r = DBL_MAX },
		{ .type = V_REAL, .r = -DBL_MAX },
		{ .type = V_REAL, .r = 1.0 },
		{ .type = V_REAL, .r = 0.0 },
		{ .type = V_REAL, .r = -0.0 },
		{ .type = V_REAL, .r = 9007199254740993.0 },
		{ .type = V_REAL, .r = 1e300 },
		{ .type = V_REAL, .r = HUGE_VAL },
		{ .type = V_REAL, .r = -HUGE_VAL },
		{ .type = V_TEXT, .s = "", .n = 0 },
		{ .type = V_TEXT, .s = NULL, .n = 0 },
		{ .type = V_TEXT, .s = "hello", .n = 5 },
		{ .type = V_TEXT, .s = "12", .n = 2 },
		{ .type = V_TEXT, .s = "NULL", .n = 4 },
		{ .type = V_TEXT, .s = nul_text, .n = sizeof(nul_text) - 1 },
		{ .type = V_TEXT, .s = bad_utf8, .n = sizeof(bad_utf8) - 1 },
		{ .type = V_TEXT, .s = "\xe2\x80\xa8\r\n\t\x7f", .n = 8 },
		{ .type = V_TEXT, .s = big, .n = sizeof(big) },
		{ .type = V_BLOB, .s = "", .n = 0 },
		{ .type = V_BLOB, .s = NULL, .n = 0 },
		{ .type = V_BLOB, .s = "\0", .n = 1 },
		{ .type = V_BLOB, .s = all_bytes, .n = sizeof(all_bytes) },
		{ .type = V_BLOB, .s = "12", .n = 2 },
	};
	int nvals = (int)(sizeof(vals) / sizeof(vals[0]));
	struct store *s = open_new("values.db");
	struct store_stmt *ins, *sel, *echo;
	struct buf err = BUF_INIT;
	struct value key = { .type = V_INT }, got, ty;
	int rc;

	for (int i = 0; i < 256; i++)
		all_bytes[i] = (char)i;
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (char)(i % 251);
	/* no affinity: every value is stored as given */
	EXEC(s, "CREATE TABLE v(k INTEGER PRIMARY KEY, x)");
	ck_assert_int_eq(store_prepare(s, "INSERT INTO v(k, x) VALUES (?1, ?2)", &ins, &err), 0);
	ck_assert_int_eq(store_prepare(s, "SELECT x, typeof(x) FROM v WHERE k = ?1", &sel, &err), 0);
	ck_assert_int_eq(store_prepare(s, "SELECT ?1, typeof(?1)", &echo, &err), 0);
	ck_assert_int_eq(store_ncols(sel), 2);

	for (int i = 0; i < nvals; i++) {
		struct value want = vals[i];

		if (want.n == 0 && !want.s && (want.type == V_TEXT || want.type == V_BLOB))
			want.s = "";
		key.i = i;
		ck_assert_int_eq(store_bind(ins, 1, &key), 0);
		ck_assert_int_eq(store_bind(ins, 2, &vals[i]), 0);
		rc = store_step(ins, &err);
		ck_assert_msg(rc == 0, "insert value #%d (%s): %d: %s", i,
			      show_value(&vals[i]), rc, err.data);
		store_reset(ins);

		/* stored in a table and read back */
		ck_assert_int_eq(store_bind(sel, 1, &key), 0);
		rc = store_step(sel, &err);
		ck_assert_msg(rc == 1, "select value #%d: %d: %s", i, rc, err.data);
		store_column(sel, 0, &got);
		store_column(sel, 1, &ty);
		ck_assert_msg(ty.type == V_TEXT && strcmp(ty.s, value_type_name(want.type)) == 0,
			      "value #%d (%s) stored as typeof %s", i,
			      show_value(&want), show_value(&ty));
		expect_value(&got, &want, "stored", i);
		ck_assert_int_eq(store_step(sel, &err), 0);
		store_reset(sel);

		/* bound and selected directly */
		ck_assert_int_eq(store_bind(echo, 1, &vals[i]), 0);
		ck_assert_int_eq(store_step(echo, &err), 1);
		store_column(echo, 0, &got);
		expect_value(&got, &want, "echoed", i);
		store_reset(echo);
	}

	/* NaN: SQLite binds it as NULL (it stores no NaN) */
	{
		struct value nan_v = { .type = V_REAL, .r = NAN }, null_v = { .type = V_NULL };

		ck_assert_int_eq(store_bind(echo, 1, &nan_v), 0);
		ck_assert_int_eq(store_step(echo, &err), 1);
		store_column(echo, 0, &got);
		expect_value(&got, &null_v, "NaN echoed", 0);
		store_reset(echo);
	}
	store_finalize(ins);
	store_finalize(sel);
	store_finalize(echo);

	/* literals: x'' is an empty BLOB, '' an empty TEXT, neither is NULL */
	{
		struct store_stmt *st = query_row(s, "SELECT x'', '', NULL, x'00ff', 0.1 + 0.2,"
						  " -9223372036854775808, 5e-324");
		const struct value want[] = {
			{ .type = V_BLOB, .s = "", .n = 0 },
			{ .type = V_TEXT, .s = "", .n = 0 },
			{ .type = V_NULL },
			{ .type = V_BLOB, .s = "\x00\xff", .n = 2 },
			{ .type = V_REAL, .r = sum },
			{ .type = V_INT, .i = INT64_MIN },
			{ .type = V_REAL, .r = tiny },
		};
		ck_assert_int_eq(store_ncols(st), 7);
		for (int i = 0; i < 7; i++) {
			store_column(st, i, &got);
			expect_value(&got, &want[i], "literal", i);
		}
		ck_assert_int_eq(store_step(st, &err), 0);
		store_finalize(st);
	}
	store_close(s);
	buf_release(&err);
}
END_TEST

/* --- archivefs_month() ----------------------------------------------------------- */

START_TEST(test_month)
{
	static const struct { const char *expr, *want; } cases[] = {
		{ "'2024-03-14 09:00:00'", "2024_03" },
		{ "'2024-13-01'", "" },
		{ "NULL", "" },
		{ "12", "" },
		{ "'yesterday'", "" },
		{ "'2024-03-14'", "2024_03" },
		{ "'2024-03-1'", "" },
		{ "'2024-03-00'", "" },
		{ "'2024-02-31T25:99'", "2024_02" },
		{ "'0000-01-01'", "0000_01" },
		{ "'2024/03/14'", "" },
		{ "' 2024-03-14'", "" },
		{ "'２０２４-03-14'", "" },
		{ "x'323032342d30332d3134'", "" },     /* the bytes of a date, as a BLOB */
		{ "20240314.0", "" },
		{ "''", "" },
	};
	struct store *s = open_new("month.db");
	struct buf q = BUF_INIT, err = BUF_INIT;
	struct value got;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct store_stmt *st;

		buf_reset(&q);
		buf_addf(&q, "SELECT archivefs_month(%s)", cases[i].expr);
		st = query_row(s, q.data);
		store_column(st, 0, &got);
		ck_assert_msg(got.type == V_TEXT && got.n == strlen(cases[i].want) &&
			      memcmp(got.s, cases[i].want, got.n) == 0,
			      "archivefs_month(%s) = %s, want text \"%s\"",
			      cases[i].expr, show_value(&got), cases[i].want);
		store_finalize(st);
	}
	/* one argument only */
	ck_assert_int_eq(store_exec(s, "SELECT archivefs_month('a', 'b')", &err), -EINVAL);
	ck_assert_msg(strstr(err.data, "archivefs_month"), "message \"%s\"", err.data);
	/* grouping rows by month puts the undated first */
	EXEC(s, "CREATE TABLE t(d); INSERT INTO t VALUES ('2024-03-02'), (NULL),"
		" ('2023-12-31 23:59'), ('soon'), ('2024-03-01'), (7)");
	{
		static const char want[] = "=NULL|=7|='soon'|2023_12='2023-12-31 23:59'"
			"|2024_03='2024-03-01'|2024_03='2024-03-02'";
		struct store_stmt *st = query_row(s,
			"SELECT group_concat(m || '=' || quote(d), '|') FROM"
			" (SELECT archivefs_month(d) AS m, d FROM t"
			" ORDER BY archivefs_month(d), d)");
		store_column(st, 0, &got);
		ck_assert_msg(got.type == V_TEXT && got.n == sizeof(want) - 1 &&
			      strcmp(got.s, want) == 0,
			      "grouped: %s, want \"%s\"", show_value(&got), want);
		store_finalize(st);
	}
	store_close(s);
	buf_release(&q);
	buf_release(&err);
}
END_TEST

/* --- pragmas ------------------------------------------------------------------------- */

START_TEST(test_pragmas)
{
	static const char *const bad[] = {
		"page_size", "USER_VERSION", "user_version ", "", "schema_version",
		"user_version = 3; DROP TABLE t; --", "application_id;",
	};
	struct store *s = open_new("pragma.db");
	struct buf err = BUF_INIT;
	int64_t v = -99;
	int rc;

	EXEC(s, "CREATE TABLE t(a)");
	ck_assert_int_eq(store_get_pragma_int(s, "user_version", &v, &err), 0);
	ck_assert_int_eq(v, 0);
	ck_assert_int_eq(store_get_pragma_int(s, "application_id", &v, &err), 0);
	ck_assert_int_eq(v, 0);
	ck_assert_int_eq(store_set_pragma_int(s, "user_version", 42, &err), 0);
	ck_assert_int_eq(store_set_pragma_int(s, "application_id", 0x41524346, &err), 0);
	ck_assert_int_eq(store_get_pragma_int(s, "user_version", &v, &err), 0);
	ck_assert_int_eq(v, 42);
	ck_assert_int_eq(store_get_pragma_int(s, "application_id", &v, &err), 0);
	ck_assert_int_eq(v, 0x41524346);
	ck_assert_int_eq(store_set_pragma_int(s, "user_version", -7, &err), 0);
	ck_assert_int_eq(store_get_pragma_int(s, "user_version", &v, &err), 0);
	ck_assert_int_eq(v, -7);

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		v = 12345;
		rc = store_get_pragma_int(s, bad[i], &v, &err);
		ck_assert_msg(rc == -EINVAL, "get pragma \"%s\": %d, want -EINVAL", bad[i], rc);
		ck_assert_msg(v == 12345, "get pragma \"%s\" wrote %" PRId64, bad[i], v);
		rc = store_set_pragma_int(s, bad[i], 3, &err);
		ck_assert_msg(rc == -EINVAL, "set pragma \"%s\": %d, want -EINVAL", bad[i], rc);
	}
	/* nothing was run: t is still there */
	store_finalize(query_row(s, "SELECT count(*) FROM t"));
	store_close(s);

	/* persisted in the file */
	rc = store_open(tpath("pragma.db"), STORE_RDONLY, &s, &err);
	ck_assert_int_eq(rc, 0);
	ck_assert_int_eq(store_get_pragma_int(s, "user_version", &v, &err), 0);
	ck_assert_int_eq(v, -7);
	ck_assert_int_eq(store_get_pragma_int(s, "application_id", &v, &err), 0);
	ck_assert_int_eq(v, 0x41524346);
	/* read-only: setting fails with SQLite's reason */
	buf_reset(&err);
	rc = store_set_pragma_int(s, "user_version", 1, &err);
	ck_assert_msg(rc == -EROFS, "set pragma on a read-only store: %d: %s", rc, err.data);
	store_close(s);
	buf_release(&err);
}
END_TEST

/* --- transactions ------------------------------------------------------------------- */

static int64_t count_rows(struct store *s, const char *table)
{
	struct buf q = BUF_INIT;
	struct store_stmt *st;
	struct value v;

	buf_addstr(&q, "SELECT count(*) FROM ");
	buf_add_sqlident(&q, table);
	st = query_row(s, q.data);
	store_column(st, 0, &v);
	store_finalize(st);
	buf_release(&q);
	return v.i;
}

START_TEST(test_transactions)
{
	struct store *s = open_new("tx.db");
	struct buf err = BUF_INIT;
	int64_t c0;

	EXEC(s, "CREATE TABLE t(a)");
	c0 = store_total_changes(s);
	ck_assert_int_eq(store_begin(s, 1, &err), 0);
	EXEC(s, "INSERT INTO t VALUES (1), (2)");
	store_rollback(s);
	ck_assert_int_eq(count_rows(s, "t"), 0);
	store_rollback(s);     /* no transaction: harmless */
	ck_assert_int_eq(store_begin(s, 0, &err), 0);
	EXEC(s, "INSERT INTO t VALUES (3)");
	ck_assert_int_eq(store_commit(s, &err), 0);
	ck_assert_int_eq(count_rows(s, "t"), 1);
	ck_assert_int_eq(store_total_changes(s) - c0, 3);
	/* COMMIT without BEGIN is an SQL error */
	ck_assert_int_eq(store_commit(s, &err), -EINVAL);
	/* nested BEGIN too */
	ck_assert_int_eq(store_begin(s, 0, &err), 0);
	ck_assert_int_eq(store_begin(s, 0, &err), -EINVAL);
	store_rollback(s);
	store_close(s);
	buf_release(&err);
}
END_TEST

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The one test that waits out the 5 s busy timeout. */
START_TEST(test_busy)
{
	struct store *s = open_new("busy.db"), *other = NULL;
	struct buf err = BUF_INIT;
	double t0, dt;
	int rc;

	EXEC(s, "CREATE TABLE t(a)");
	rc = store_open(tpath("busy.db"), STORE_RDWR, &other, &err);
	ck_assert_msg(rc == 0, "second connection: %d: %s", rc, err.data);
	EXEC(other, "BEGIN EXCLUSIVE; INSERT INTO t VALUES (1)");

	/* a deferred BEGIN takes no lock yet */
	ck_assert_int_eq(store_begin(s, 0, &err), 0);
	store_rollback(s);

	t0 = now();
	rc = store_begin(s, 1, &err);
	dt = now() - t0;
	ck_assert_msg(rc == -EBUSY, "BEGIN IMMEDIATE against an exclusive lock: %d (%s),"
		      " want -EBUSY", rc, err.data);
	ck_assert_msg(strstr(err.data, "locked"), "busy message: \"%s\"", err.data);
	ck_assert_msg(dt > 4.0 && dt < 30.0,
		      "gave up after %.2f s, want the 5 s busy timeout", dt);

	/* once the other side is done, it goes through */
	EXEC(other, "COMMIT");
	buf_reset(&err);
	ck_assert_int_eq(store_begin(s, 1, &err), 0);
	EXEC(s, "INSERT INTO t VALUES (2)");
	ck_assert_int_eq(store_commit(s, &err), 0);
	ck_assert_int_eq(count_rows(s, "t"), 2);
	store_close(other);
	store_close(s);
	buf_release(&err);
}
END_TEST

static Suite *store_suite(void)
{
	Suite *s = suite_create("store");
	TCase *codes = tcase_create("errno");
	TCase *open = tcase_create("open");
	TCase *schema = tcase_create("schema");
	TCase *vals = tcase_create("values");
	TCase *busy = tcase_create("busy");

	tcase_add_test(codes, test_errno_primary);
	tcase_add_test(codes, test_errno_extended);
	tcase_add_test(codes, test_errno_unknown);
	tcase_add_checked_fixture(codes, unit_setup, unit_teardown);
	tcase_add_test(codes, test_errno_live);
	suite_add_tcase(s, codes);

	tcase_add_checked_fixture(open, unit_setup, unit_teardown);
	tcase_add_test(open, test_open_missing);
	tcase_add_test(open, test_open_notadb);
	tcase_add_test(open, test_open_create);
	tcase_add_test(open, test_open_hot_journal);
	tcase_add_test(open, test_read_after_hot_journal);
	suite_add_tcase(s, open);

	tcase_add_checked_fixture(schema, unit_setup, unit_teardown);
	tcase_add_test(schema, test_schema_tables);
	tcase_add_test(schema, test_reload_schema);
	tcase_add_test(schema, test_objects);
	suite_add_tcase(s, schema);

	tcase_add_checked_fixture(vals, unit_setup, unit_teardown);
	tcase_set_timeout(vals, 60);
	tcase_add_test(vals, test_values);
	tcase_add_test(vals, test_month);
	tcase_add_test(vals, test_pragmas);
	tcase_add_test(vals, test_transactions);
	suite_add_tcase(s, vals);

	tcase_add_checked_fixture(busy, unit_setup, unit_teardown);
	tcase_set_timeout(busy, 60);
	tcase_add_test(busy, test_busy);
	suite_add_tcase(s, busy);
	return s;
}

int main(void)
{
	return unit_run(store_suite(), "store");
}
