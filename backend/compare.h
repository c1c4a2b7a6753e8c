/*
 * compare.h - do two tables hold exactly the same rows?
 *
 * Used where a database is rebuilt from its archive and must be checked
 * against the original: `archivefs report` (what survives a rebuild) and
 * `archivefs migrate` (the new database before the swap). Both tables are
 * read through one connection, the second database ATTACHed to it.
 *
 * Values are compared exactly: storage class and bytes (a REAL by its
 * round-tripping quote(), TEXT and BLOB by all their bytes, NUL included),
 * so 1 and 1.0, '1' and 1, 'a' and 'a ' all differ.
 */
#ifndef ARCHIVEFS_COMPARE_H
#define ARCHIVEFS_COMPARE_H

#include "buf.h"
#include "store.h"

/* One side of a comparison: schema ("main" or an ATTACH name), table and
 * the columns to compare, pairwise with the other side's. rowid: also
 * compare the rowid (tables keyed by it), under that name. */
struct compare_side {
	const char *schema;
	const char *table;
	const char *const *cols;
	const char *rowid;
};

struct compare_result {
	long rows_a, rows_b;
	long only_a;      /* rows of a with no identical row in b */
	long only_b;
};

int compare_rows(struct store *s, const struct compare_side *a,
		 const struct compare_side *b, int ncols, struct compare_result *r,
		 struct buf *err);

/*
 * The same, for two tables of the same definition t on two connections
 * (no ATTACH: usable inside a write transaction): both are read in the
 * same order (key or rowid, then every column) and compared row by row.
 * *differ gets the rows that differ, or are on one side only.
 */
int compare_stream(struct store *a, struct store *b, const struct store_table *t,
		   long *rows, long *differ, struct buf *err);

/* ATTACH the database file at path as `name` (read through s). */
int compare_attach(struct store *s, const char *path, const char *name,
		   struct buf *err);
int compare_detach(struct store *s, const char *name, struct buf *err);

#endif
