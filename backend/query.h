/*
 * query.h - SQL text for the layout's queries, in one place.
 *
 * archive.c (rendering) and tree.c (listing) ask the same questions of the
 * same tables; building the SQL here keeps their answers identical (a
 * folder lists a file exactly when the walk renders it). Names are always
 * quoted; values are always bound, never pasted.
 */
#ifndef ARCHIVEFS_QUERY_H
#define ARCHIVEFS_QUERY_H

#include "buf.h"
#include "layout.h"

/* "alias.\"col\"" */
void query_col(struct buf *q, const char *alias, const struct store_table *t, int col);

/* " FROM main.\"table\" AS alias" */
void query_from(struct buf *q, const struct store_table *t, const char *alias);

/* The column a home's file names are keyed by: its first key column, or
 * the rowid (under a name no column shadows) for a table without a key. */
void query_name_key(struct buf *q, const struct home *h, const char *alias);

/* " WHERE NOT EXISTS (parent row)" for rows of child home c (alias c). */
void query_orphans_where(struct buf *q, const struct home *c);

/* The index-friendly bounds of a month "YYYY_MM": from = "YYYY-MM-",
 * to = "YYYY-MM." (every date of that month sorts between them). */
void query_month_bounds(const char *month, char from[9], char to[9]);

#endif
