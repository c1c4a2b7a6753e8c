/*
 * buf.c - growable byte buffer; see buf.h for the invariants.
 */
#include "buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

char buf_empty_[1];

void buf_init(struct buf *b)
{
	b->data = buf_empty_;
	b->len = 0;
	b->cap = 0;
}

void buf_release(struct buf *b)
{
	if (b->cap)
		free(b->data);
	buf_init(b);
}

char *buf_detach(struct buf *b, size_t *len)
{
	char *p;

	if (!b->cap)
		buf_grow(b, 0);
	p = b->data;
	if (len)
		*len = b->len;
	buf_init(b);
	return p;
}

void out_of_memory(size_t n)
{
	char msg[80];
	int len;

	/* No allocation, no stdio buffer: a plain write(2) of a stack string. */
	if (n)
		len = snprintf(msg, sizeof(msg), "archivefs: out of memory (%zu bytes)\n", n);
	else
		len = snprintf(msg, sizeof(msg), "archivefs: out of memory\n");
	if (write(2, msg, (size_t)len) < 0)
		_exit(EXIT_FAILURE);
	_exit(EXIT_FAILURE);
}

void buf_grow(struct buf *b, size_t extra)
{
	size_t need, cap;
	char *p;

	if (extra > BUF_MAX || b->len + extra > BUF_MAX) {
		fprintf(stderr, "archivefs: BUG: buffer would exceed %zu bytes\n",
			(size_t)BUF_MAX);
		abort();
	}
	need = b->len + extra + 1;
	if (need <= b->cap)
		return;
	cap = b->cap ? b->cap : 64;
	while (cap < need)
		cap = cap < (SIZE_MAX / 2) ? cap * 2 : need;
	p = b->cap ? realloc(b->data, cap) : malloc(cap);
	if (!p)
		out_of_memory(cap);
	if (!b->cap)
		p[0] = '\0';
	b->data = p;
	b->cap = cap;
}

void buf_reset(struct buf *b)
{
	buf_truncate(b, 0);
}

void buf_truncate(struct buf *b, size_t len)
{
	if (len > b->len)
		abort();
	b->len = len;
	if (b->cap)
		b->data[len] = '\0';
}

void buf_add(struct buf *b, const void *p, size_t n)
{
	if (!n)
		return;
	buf_grow(b, n);
	memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
}

void buf_addstr(struct buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

void buf_addch(struct buf *b, int c)
{
	buf_grow(b, 1);
	b->data[b->len++] = (char)c;
	b->data[b->len] = '\0';
}

void buf_vaddf(struct buf *b, const char *fmt, va_list ap)
{
	va_list cp;
	int n;

	buf_grow(b, 64);
	va_copy(cp, ap);
	n = vsnprintf(b->data + b->len, b->cap - b->len, fmt, cp);
	va_end(cp);
	if (n < 0)
		return;
	if ((size_t)n >= b->cap - b->len) {
		buf_grow(b, (size_t)n);
		n = vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
	}
	b->len += (size_t)n;
}

void buf_addf(struct buf *b, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	buf_vaddf(b, fmt, ap);
	va_end(ap);
}

/* text between two q's, each q inside doubled (SQL's one escape). */
static void add_quoted(struct buf *b, const char *text, char q)
{
	buf_addch(b, q);
	for (; *text; text++) {
		if (*text == q)
			buf_addch(b, q);
		buf_addch(b, *text);
	}
	buf_addch(b, q);
}

void buf_add_sqlstr(struct buf *b, const char *text)
{
	add_quoted(b, text, '\'');
}

void buf_add_sqlident(struct buf *b, const char *name)
{
	add_quoted(b, name, '"');
}

char *xstrdup(const char *s)
{
	char *d = strdup(s);

	if (!d)
		out_of_memory(strlen(s) + 1);
	return d;
}
