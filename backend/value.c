/*
 * value.c - comparisons of engine values (see value.h).
 */
#include "value.h"

#include <string.h>

int value_equal(const struct value *a, const struct value *b)
{
	if (a->type != b->type)
		return 0;
	switch (a->type) {
	case V_NULL:
		return 1;
	case V_INT:
		return a->i == b->i;
	case V_REAL:
		return memcmp(&a->r, &b->r, sizeof(a->r)) == 0;
	case V_TEXT:
	case V_BLOB:
		return a->n == b->n && (a->n == 0 || memcmp(a->s, b->s, a->n) == 0);
	}
	return 0;
}

static int class_rank(enum vtype t)
{
	switch (t) {
	case V_NULL: return 0;
	case V_INT:
	case V_REAL: return 1;
	case V_TEXT: return 2;
	case V_BLOB: return 3;
	}
	return 4;
}

static int cmp_bytes(const struct value *a, const struct value *b)
{
	size_t n = a->n < b->n ? a->n : b->n;
	int c = n ? memcmp(a->s, b->s, n) : 0;

	if (c)
		return c < 0 ? -1 : 1;
	return a->n < b->n ? -1 : a->n > b->n;
}

int value_cmp(const struct value *a, const struct value *b)
{
	int ra = class_rank(a->type), rb = class_rank(b->type);

	if (ra != rb)
		return ra < rb ? -1 : 1;
	switch (a->type) {
	case V_NULL:
		return 0;
	case V_INT:
	case V_REAL: {
		if (a->type == V_INT && b->type == V_INT)
			return a->i < b->i ? -1 : a->i > b->i;
		double x = a->type == V_INT ? (double)a->i : a->r;
		double y = b->type == V_INT ? (double)b->i : b->r;
		if (x < y) return -1;
		if (x > y) return 1;
		return (int)a->type - (int)b->type;   /* 1 before 1.0: stable */
	}
	case V_TEXT:
	case V_BLOB:
		return cmp_bytes(a, b);
	}
	return 0;
}

const char *value_type_name(enum vtype t)
{
	switch (t) {
	case V_NULL: return "null";
	case V_INT: return "integer";
	case V_REAL: return "real";
	case V_TEXT: return "text";
	case V_BLOB: return "blob";
	}
	return "?";
}
