/*
 * value.h - one SQLite value, of any storage class, as the engine passes it.
 *
 * A value never owns its bytes: `s` points into a buffer owned by whoever
 * produced the value (a store cursor until its next step, a parsed
 * document until it is freed). Copy what you keep.
 */
#ifndef ARCHIVEFS_VALUE_H
#define ARCHIVEFS_VALUE_H

#include <stddef.h>
#include <stdint.h>

enum vtype {
	V_NULL = 0,
	V_INT,
	V_REAL,
	V_TEXT,
	V_BLOB,
};

struct value {
	enum vtype type;
	int64_t i;        /* V_INT */
	double r;         /* V_REAL */
	const char *s;    /* V_TEXT, V_BLOB: bytes (not necessarily NUL-terminated) */
	size_t n;         /* V_TEXT, V_BLOB: length in bytes */
};

/* Exact equality: same storage class and same bits/bytes (REAL compared
 * bit for bit, so 0.1+0.2 != 0.3 and the comparison never rounds). */
int value_equal(const struct value *a, const struct value *b);

/* Total order used for deterministic sorting: NULL < INT/REAL (numeric) <
 * TEXT (memcmp) < BLOB (memcmp), as SQLite orders with BINARY collation. */
int value_cmp(const struct value *a, const struct value *b);

const char *value_type_name(enum vtype t);   /* "null", "integer", ... */

#endif
