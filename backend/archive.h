/*
 * archive.h - render a whole database as the text tree, file by file.
 *
 * archive_walk() streams every file of the tree through a callback, in a
 * fixed order, inside one read transaction (a consistent snapshot): the
 * README, the schema file, then each table's home. Rows are streamed from
 * SQLite and never held in memory beyond the file being rendered, so the
 * walk's memory is bounded by the largest file, not the database.
 *
 * Export writes what it is given, verify compares it, the mount will serve
 * single files from the same rendering code.
 *
 * The walk checks that it rendered exactly as many rows of each table as
 * the table holds, and fails loudly otherwise: rows are never dropped.
 */
#ifndef ARCHIVEFS_ARCHIVE_H
#define ARCHIVEFS_ARCHIVE_H

#include "buf.h"
#include "format.h"
#include "layout.h"
#include "store.h"

struct archive_file {
	const char *path;      /* relative to the archive root */
	const char *data;      /* the file's bytes (valid during the callback) */
	size_t len;
	unsigned mode;         /* 0644 or 0600; folders: layout_folder_mode() */
	long rows;             /* rows it holds (0 for README) */
};

/* Return 0 to go on, or a negative errno to stop the walk with it. */
typedef int (*archive_emit_fn)(void *ctx, const struct archive_file *f,
			       struct buf *err);

/* Emit every file of the tree, all read in one read transaction: its
 * own, or the caller's when one is open. */
int archive_walk(struct store *s, const struct layout *l,
		 archive_emit_fn emit, void *ctx, struct buf *err);

/*
 * Render the one file at `path` into out (reset first), exactly as
 * archive_walk() renders it, in one short read transaction, reading only
 * the rows that file holds (indexes on keys and dates make that fast).
 * *mode gets its mode bits. -ENOENT when no row renders to that path.
 * Reads in one read transaction: its own, or the caller's when one is
 * open (so the caller can read more from the same snapshot).
 */
int archive_render_file(struct store *s, const struct layout *l, const char *path,
			struct buf *out, unsigned *mode, struct buf *err);

/*
 * Create the indexes that make archive_render_file() and tree_list() read
 * only the rows of one file: on each embedded table's parent column and on
 * each home's date column. They are named archivefs_idx_*, so they are
 * never archived or replayed, and plain column indexes, so the
 * application's connections need nothing from archivefs to maintain them.
 * Idempotent; needs a read-write store.
 */
int archive_install_indexes(struct store *s, const struct layout *l, struct buf *err);

/* Total rows in the database's user tables (for progress reports). */
int archive_count_rows(struct store *s, const struct layout *l, long *rows,
		       struct buf *err);

/* Render the schema file (system/schema.txt) into out. */
int archive_render_schema(struct store *s, struct buf *out, struct buf *err);

/* The name under which `rowid` can be selected from t (a column may shadow
 * "rowid"), or NULL if all three aliases are taken. */
const char *archive_rowid_name(const struct store_table *t);

#endif
