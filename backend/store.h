/*
 * store.h - the only door to SQLite.
 *
 * Everything that talks to a database goes through this module: opening,
 * reading the live schema, streaming rows, prepared writes, transactions.
 * No other file includes sqlite3.h.
 *
 * Errors: functions return 0 (or a row flag, see store_step) on success and
 * a negative errno on failure, and append a human-readable reason to `err`
 * when it is not NULL. SQLite result codes are mapped to errno in exactly
 * one table (store_errno); the mapping is tested row by row.
 *
 * Ownership: a struct store owns its schema (store_schema()), statements
 * belong to their store and must be finalized before store_close(). Values
 * read from a statement point into SQLite's memory and stay valid only
 * until the next step, reset or finalize of that statement.
 */
#ifndef ARCHIVEFS_STORE_H
#define ARCHIVEFS_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "value.h"

struct store;
struct store_stmt;

enum {
	STORE_RDONLY = 0,
	STORE_RDWR = 1,
	STORE_CREATE = 2,   /* with RDWR: create the file if missing */
	STORE_STALE_WITHHELD = 4,   /* skip archivefs_withheld rows naming a missing
				       column instead of failing (withhold.c only:
				       it is how they are removed) */
};

struct store_col {
	char *name;
	char *decltype;     /* "" when none */
	int notnull;
	int pk;             /* 1-based position in the primary key, 0 if not */
	int hidden;         /* generated or hidden: never archived nor written */
	int withheld;       /* configured secret (archivefs_withheld): never
			       rendered, never written through the archive */
};

/* A column whose values the text archive holds. */
static inline int store_col_archived(const struct store_col *c)
{
	return !c->hidden && !c->withheld;
}

/*
 * The withheld columns: rows (tbl, col, gone) of main.archivefs_withheld,
 * a table `archivefs withhold` keeps (withhold.c). Read with the schema; a
 * row (not gone) that names a table or column the database does not have
 * fails the read: a renamed secret column would otherwise be rendered
 * under its new name.
 */
#define STORE_WITHHELD_TABLE "archivefs_withheld"
#define STORE_WITHHELD_DDL "CREATE TABLE main." STORE_WITHHELD_TABLE \
	" (tbl TEXT NOT NULL, col TEXT NOT NULL, gone INTEGER NOT NULL DEFAULT 0," \
	" PRIMARY KEY (tbl, col)) WITHOUT ROWID"

struct store_table {
	char *name;
	int ncols;
	struct store_col *cols;
	int npk;            /* columns in the declared primary key */
	int *pk;            /* their indexes in cols[], in key order */
	int rowid_key;      /* no primary key: rows are keyed by rowid */
	int without_rowid;  /* a WITHOUT ROWID table */
};

/* A row of archivefs_withheld. gone: the column was renamed or dropped
 * while withheld; its old values stay withheld in the history. */
struct store_withheld {
	char *tbl, *col;
	int gone;
};

struct store_schema {
	int ntables;
	struct store_table *tables;   /* in sqlite_schema order */
	int nwithheld;
	struct store_withheld *withheld;
};

/* 1 if column col[0..n) of table tbl is withheld, or was when it went
 * (the history still holds events under that name). */
int store_withheld_name(const struct store_schema *sc, const char *tbl,
			const char *col, size_t n);

/* One row of sqlite_schema that a rebuild must replay. */
struct store_object {
	char *type;       /* "table", "index", "view", "trigger" */
	char *name;
	char *tbl_name;
	char *sql;
};

int store_open(const char *path, int flags, struct store **out, struct buf *err);
void store_close(struct store *s);
const char *store_path(const struct store *s);

/* The live schema of user tables: everything but sqlite_* internals and
 * archivefs_* objects. Read at open; store_reload_schema() reads it again. */
const struct store_schema *store_schema(struct store *s);
int store_reload_schema(struct store *s, struct buf *err);
const struct store_table *store_find_table(struct store *s, const char *name);

/* The sqlite_schema rows to replay for a rebuild, in creation order
 * (same exclusions). The caller frees them with store_objects_free(). */
int store_objects(struct store *s, struct store_object **out, int *n,
		  struct buf *err);
void store_objects_free(struct store_object *o, int n);

/* The first column of the first row of sql, as an integer (0 when there
 * is no row or it is not an integer): for counts. */
int store_query_long(struct store *s, const char *sql, long *out, struct buf *err);
/* SELECT count(*) FROM schema.table. */
int store_count_rows(struct store *s, const char *schema, const char *table, long *out,
		     struct buf *err);

/* PRAGMA user_version and application_id. */
int store_get_pragma_int(struct store *s, const char *name, int64_t *v,
			 struct buf *err);
int store_set_pragma_int(struct store *s, const char *name, int64_t v,
			 struct buf *err);

/* Run SQL with no results (may hold several statements). */
int store_exec(struct store *s, const char *sql, struct buf *err);

int store_begin(struct store *s, int immediate, struct buf *err);
int store_commit(struct store *s, struct buf *err);
void store_rollback(struct store *s);
/* 1 inside a transaction (BEGIN ran and no COMMIT/ROLLBACK yet), else 0. */
int store_in_txn(struct store *s);
/* Rows changed by the whole connection so far (sqlite3_total_changes64). */
int64_t store_total_changes(struct store *s);

int store_prepare(struct store *s, const char *sql, struct store_stmt **out,
		  struct buf *err);
int store_bind(struct store_stmt *st, int idx, const struct value *v);
/* 1: a row is ready, 0: done, <0: -errno (reason in err). */
int store_step(struct store_stmt *st, struct buf *err);
int store_ncols(struct store_stmt *st);
void store_column(struct store_stmt *st, int i, struct value *v);
void store_reset(struct store_stmt *st);
void store_finalize(struct store_stmt *st);

/*
 * PRAGMA data_version of this connection: it changes when another
 * connection (the application) commits to the database, so polling it is
 * how a daemon notices changes cheaply.
 */
int store_data_version(struct store *s, int64_t *v, struct buf *err);

/*
 * PRAGMA schema_version: it changes with every change of the schema
 * (CREATE, ALTER, DROP), by any connection. store_schema() is read at
 * open: a connection that sees another version is reopened to follow.
 */
int store_schema_version(struct store *s, int64_t *v, struct buf *err);

/* Map a SQLite result code to a negative errno (the one table). */
int store_errno(int sqlite_code);

/* SQLite's online backup of database `from` into the file `to` (created if
 * `create`): one consistent snapshot, never a plain copy of a live WAL
 * database; the application's writers get the lock between steps. */
int store_backup(const char *from, const char *to, int create, struct buf *err);

/* PRAGMA integrity_check of the database at path: 0 when "ok", -EIO with
 * the first problems in err, or another -errno when it cannot be read. */
int store_integrity(const char *path, struct buf *err);

#endif
