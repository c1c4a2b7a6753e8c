/*
 * import.h - rebuild a database from a text tree.
 *
 * Into a database file that does not exist yet (or is empty), import
 * replays the archive's schema (system/schema.txt): tables first, then the
 * rows, then indexes, views and triggers. It builds a temporary file beside
 * the target and renames it into place only when everything succeeded.
 *
 * Into an existing database it merges by primary key (rowid for tables
 * without one): rows missing are inserted, rows that differ are updated,
 * equal rows are left alone, so a second import changes nothing. It runs in
 * one transaction: on any error nothing is changed. The database's own
 * triggers do not fire for imported rows (they are dropped and recreated
 * inside the transaction), since their effects are already in the archive.
 *
 * Every error names file:line:column. Refused, as archivefs never writes
 * them: raw bytes that are not UTF-8, a row without a field for one of its
 * columns (a file cut short), a row in a file its key or date does not
 * name, a child row whose parent is not in its file. Foreign keys are
 * never enforced; orphans and duplicates are data, and so are values of
 * another type than the column declares (only SQLite's own refusals
 * apply).
 */
#ifndef ARCHIVEFS_IMPORT_H
#define ARCHIVEFS_IMPORT_H

#include "buf.h"

/* A field of `table`'s records read into another column (`to`), or not
 * at all (`to` = ""): how `archivefs migrate` renames and drops columns. */
struct import_rename {
	const char *table, *from, *to;
};

struct import_opts {
	int progress;
	int allow_missing;   /* rows may lack columns (they get their defaults):
				for a migration; otherwise a row must list every
				column, as archivefs writes it */
	const struct import_rename *renames;
	int nrenames;
};

struct import_stats {
	int created;        /* a new database was built */
	long files;
	long rows;          /* records read */
	long inserted, updated, unchanged;
};

int import_run(const char *dir, const char *db, const struct import_opts *o,
	       struct import_stats *stats, struct buf *err);

#endif
