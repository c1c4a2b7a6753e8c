/*
 * demo.h - deterministic ThyWill demo data, realistic and full of hard cases.
 *
 * demo_fill() writes a believable ThyWill community (users, prayers and the
 * marks, attributes and logs around them, sessions, invites, audit trails)
 * into a database whose ThyWill schema already exists, plus two tables no
 * layout knows (demo_extra_schema_sql). Every value is a pure function of
 * the options: the same seed gives byte-identical databases, on any
 * platform. Besides ordinary rows, the data always holds the awkward values
 * real databases hold (odd ids, invalid UTF-8, NUL bytes, 17-digit REALs,
 * malformed timestamps, orphans, duplicates...), in the first rows, so even
 * the smallest demo has every one of them; demo.c lists them.
 */
#ifndef ARCHIVEFS_DEMO_H
#define ARCHIVEFS_DEMO_H

#include <stdint.h>

#include "buf.h"

struct store;

struct demo_opts {
	long users;      /* <= 0: default, max(40, prayers / 8) */
	long prayers;
	uint64_t seed;
};

/* The smallest sizes demo_fill() writes: smaller requests are raised to
 * these, so the hard cases (which need these many rows) always exist. */
#define DEMO_MIN_USERS 4
#define DEMO_MIN_PRAYERS 8

/*
 * Fill an initialised ThyWill database (schema already created) with demo
 * rows, in one transaction; the extra tables are created first, in the same
 * transaction. Returns 0, or -errno with a reason appended to err (nothing
 * is left written then). progress: if non-NULL, called now and then with
 * the rows written so far and an estimate of the total (the CLI prints it
 * on stderr); the last call has done == total.
 */
int demo_fill(struct store *s, const struct demo_opts *o,
	      void (*progress)(long done, long total, void *ctx), void *ctx,
	      struct buf *err);

/* The extra, non-ThyWill tables the demo adds (DDL), standing in for tables
 * a deployment added that no layout knows: app_note (no primary key, holds
 * exact duplicate rows) and user_preference (WITHOUT ROWID, composite key,
 * an untyped value column holding every storage class). */
extern const char demo_extra_schema_sql[];

#endif
