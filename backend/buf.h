/*
 * buf.h - the one growable byte buffer (render, parse and I/O all use it).
 *
 * Invariants, true after buf_init() and after every call below:
 *   - b->data is never NULL (an empty buffer points at a static "");
 *   - b->data[b->len] == '\0', so text can be handed to C string functions;
 *   - b->len never exceeds BUF_MAX; growing past it is a hard error that
 *     aborts the process (a logic error), so callers that take sizes from
 *     outside must check them first;
 *   - running out of memory ends the process through out_of_memory().
 * The buffer owns its bytes; buf_release() frees them and re-initialises.
 * buf_detach() hands the malloc'd bytes to the caller.
 */
#ifndef ARCHIVEFS_BUF_H
#define ARCHIVEFS_BUF_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BUF_MAX ((size_t)1 << 31)  /* 2 GiB: far above any file we render */

struct buf {
	char *data;
	size_t len;
	size_t cap;   /* 0 while data points at the static empty string */
};

#define BUF_INIT { buf_empty_, 0, 0 }
extern char buf_empty_[1];

void buf_init(struct buf *b);
void buf_release(struct buf *b);
char *buf_detach(struct buf *b, size_t *len);

/* Make room for at least `extra` more bytes (len + extra + 1 <= cap). */
void buf_grow(struct buf *b, size_t extra);
void buf_reset(struct buf *b);                   /* len = 0, keeps memory */
void buf_truncate(struct buf *b, size_t len);    /* len must be <= b->len */

void buf_add(struct buf *b, const void *p, size_t n);
void buf_addstr(struct buf *b, const char *s);
void buf_addch(struct buf *b, int c);
void buf_addf(struct buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void buf_vaddf(struct buf *b, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));

/* Append a quoted SQL identifier: "name" with " doubled. */
void buf_add_sqlident(struct buf *b, const char *name);
/* Append a SQL string literal: 'text' with ' doubled. */
void buf_add_sqlstr(struct buf *b, const char *text);

static inline int buf_eq(const struct buf *a, const struct buf *b)
{
	return a->len == b->len && memcmp(a->data, b->data, a->len) == 0;
}

#include "banned.h"

/*
 * Out of memory: archivefs does not go on. Writes "archivefs: out of
 * memory (N bytes)" (N = 0: no size) to stderr and exits with status 1 at
 * once, running no handler. Nothing is left half done by that: every
 * change to a database is one SQLite transaction, which rolls back, and
 * every file is written whole to a temporary name and renamed. A mount's
 * daemon ends too (the mount then says ENOTCONN until it is remounted; the
 * systemd unit restarts it). Every allocation archivefs checks ends here.
 */
_Noreturn void out_of_memory(size_t n);

/* strdup() that ends the process through out_of_memory() on failure. */
char *xstrdup(const char *s);

#endif
