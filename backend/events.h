/*
 * events.h - history: every insert, update and delete, with its old and
 * new values, as system/event_log/<table>_events_YYYY_MM.txt.
 *
 * The journal triggers (journal.c) also append one row per changed row to
 * archivefs_event, in the application's own transaction:
 *
 *   archivefs_event(seq, tbl, op, ts, keys, kv, cols, old, new)
 *       seq    INTEGER PRIMARY KEY, in commit order; never reused while
 *              older events are kept
 *       op     'I', 'U' or 'D'
 *       ts     UTC milliseconds since 1970 (SQLite's 'now')
 *       keys   the primary key's column names, a literal list; NULL when
 *              the table is keyed by its rowid
 *       kv     the row's key values (the old ones for U and D), or its
 *              rowid
 *       cols   the table's column names (generated ones left out)
 *       old    the values before (U, D), new the values after (I, U)
 *   A literal list is SQLite's quote() of each value joined by ',':
 *   NULL, 12, 1.5, 'it''s', X'00FF', exact for every value (REALs get
 *   enough digits to come back bit for bit), plus T X'..' for a TEXT that
 *   holds a NUL byte (quote() would cut it there).
 *
 * Rendering (one file per table and UTC month of ts, events by seq):
 *
 *   [event]
 *   @seq: 17
 *   @time: 2026-11-21T10:11:12.123Z
 *   @op: update
 *   id: 0555c0a43105452b8b4b9d40973996fb     (or @rowid: 5)
 *
 *   [old]                                     (update: changed columns;
 *   text: ...                                  delete: every column)
 *
 *   [new]                                     (update: changed columns;
 *   text: ...                                  insert: every column)
 *
 * The files are rendered from rows alone (column names travel with each
 * event), so the history of a table that was altered or dropped still
 * renders as it was. `archivefs import` reads them back into
 * archivefs_event, so export -> import -> export gives the same bytes.
 *
 * Retention: events older than the first day of the UTC month
 * `months - 1` months before the current one are deleted by the journal
 * follower (archivefs_state event_months, default EVENTS_MONTHS; 0 turns
 * history off and the triggers write no events).
 */
#ifndef ARCHIVEFS_EVENTS_H
#define ARCHIVEFS_EVENTS_H

#include <stdint.h>

#include "buf.h"
#include "layout.h"
#include "store.h"

#define EVENTS_DIR "system/event_log"
#define EVENTS_MONTHS 12         /* default retention, in months */
#define EVENTS_DIR_MODE 0700     /* history holds every table's old values */

/* CREATE TABLE/INDEX IF NOT EXISTS (inside the caller's transaction). */
int events_create(struct store *s, struct buf *err);

/* Append the trigger-body statement that records one event of h's table
 * (op 'I', 'U' or 'D'), ending in ";\n". */
void events_trigger_sql(struct buf *q, const struct home *h, char op);

/* Is `path` an event file's path? On 1, tbl gets the table name and
 * *month_start / *month_end the month's bounds in UTC ms. */
int events_parse_path(const char *path, struct buf *tbl, int64_t *month_start,
		      int64_t *month_end);

/* Append the path of tbl's event file for the month holding ts_ms. */
void events_path(struct buf *out, const char *tbl, int64_t ts_ms);

/* 1 if archivefs_event holds any event, 0 if not (or no such table). */
int events_any(struct store *s, struct buf *err);

/* Call fn(ctx, name) for every file name of EVENTS_DIR, in byte order;
 * fn returns 0 to go on, 1 to stop, or a negative errno. */
int events_list(struct store *s, int (*fn)(void *ctx, const char *name),
		void *ctx, struct buf *err);

/* Render the event file at path into out (reset first); *mode gets its
 * mode. -ENOENT when it holds no event. */
int events_render(struct store *s, const struct layout *l, const char *path,
		  struct buf *out, unsigned *mode, struct buf *err);

/* Files with events newer than seq *after: fn(ctx, path, newest event's
 * time in ns); *after becomes the newest seq seen. */
int events_since(struct store *s, int64_t *after,
		 void (*fn)(void *ctx, const char *path, int64_t mtime_ns),
		 void *ctx, struct buf *err);

/* Delete the events older than cutoff_ms; fn(ctx, path, cutoff_ns) for
 * every file that loses events. Needs the caller's write transaction. */
int events_prune(struct store *s, int64_t cutoff_ms,
		 void (*fn)(void *ctx, const char *path, int64_t mtime_ns),
		 void *ctx, struct buf *err);

/* The first ms of the UTC month `months - 1` months before now_ms's. */
int64_t events_cutoff(int64_t now_ms, int months);

/* Read one event file (its text) back into archivefs_event, creating the
 * table if needed; the caller holds the write transaction. -EINVAL with
 * "line:col: reason" in err for a file archivefs could not have
 * written; *n gets the number of events. */
int events_import(struct store *s, const char *path, const char *text, size_t len,
		  long *n, struct buf *err);

#endif
