/*
 * fuzz_names.c - libFuzzer target for file-name escaping.
 *
 * Both directions, from the same bytes:
 *   - as a file name: names_parse_key() and names_parse_table() must not
 *     crash; a name they accept must re-encode to a name that decodes to
 *     the same key;
 *   - as a key (the input split into up to three components of every
 *     storage class by its first byte): the escaped name must be a safe
 *     single path component (no '/', no NUL, not starting with '.', only
 *     [A-Za-z0-9_.%,~-]) of bounded length, and decode back to the same
 *     key unless it had to be shortened (then NAMES_HASHED).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "names.h"

#define MAXK 3

static void check_safe(const struct buf *b)
{
	if (!b->len || b->data[0] == '.' || b->len > NAMES_MAX + 17)
		abort();
	for (size_t i = 0; i < b->len; i++) {
		char c = b->data[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || strchr("_.%,~-", c)) || c == 0)
			abort();
	}
}

static void same_key(const struct value *a, const struct value *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!value_equal(&a[i], &b[i]))
			abort();
}

/* Bytes as a file name. */
static void as_name(const char *s, size_t n)
{
	struct value key[MAXK], again[MAXK];
	struct buf st = BUF_INIT, st2 = BUF_INIT, enc = BUF_INIT, tbl = BUF_INIT;
	size_t count = 0, count2 = 0;
	uint64_t h;

	if (names_parse_key(s, n, key, MAXK, &count, &st, &h) == NAMES_OK) {
		names_add_key(&enc, key, count);
		names_fit(&enc, 0);
		check_safe(&enc);
		if (names_parse_key(enc.data, enc.len, again, MAXK, &count2, &st2, &h) ==
		    NAMES_OK) {
			if (count2 != count)
				abort();
			same_key(key, again, count);
		}
	}
	if (names_parse_table(s, n, &tbl) == NAMES_OK) {
		struct buf enc2 = BUF_INIT, back = BUF_INIT;
		names_add_table(&enc2, tbl.data, tbl.len);
		if (names_parse_table(enc2.data, enc2.len, &back) != NAMES_OK ||
		    !buf_eq(&tbl, &back))
			abort();
		buf_release(&enc2);
		buf_release(&back);
	}
	buf_release(&st);
	buf_release(&st2);
	buf_release(&enc);
	buf_release(&tbl);
}

/* Bytes as a key: [class byte, length byte, bytes...] per component. */
static void as_key(const uint8_t *d, size_t n)
{
	struct value key[MAXK], back[MAXK];
	double reals[MAXK];
	struct buf enc = BUF_INIT, st = BUF_INIT;
	size_t k = 0, count = 0;
	uint64_t h;
	int rc;

	while (k < MAXK && n >= 2) {
		size_t len = d[1] < n - 2 ? d[1] : n - 2;
		struct value *v = &key[k];
		memset(v, 0, sizeof(*v));
		switch (d[0] % 5) {
		case 0: v->type = V_NULL; break;
		case 1:
			v->type = V_INT;
			for (size_t i = 0; i < len && i < 8; i++)
				v->i = (int64_t)((uint64_t)v->i << 8 | d[2 + i]);
			break;
		case 2:
			v->type = V_REAL;
			memset(&reals[k], 0, sizeof(reals[k]));
			memcpy(&reals[k], d + 2, len < 8 ? len : 8);
			if (reals[k] != reals[k])
				reals[k] = 0.5;   /* NaN is stored as NULL by SQLite */
			v->r = reals[k];
			break;
		case 3: v->type = V_TEXT; v->s = (const char *)d + 2; v->n = len; break;
		default: v->type = V_BLOB; v->s = (const char *)d + 2; v->n = len; break;
		}
		k++;
		d += 2 + len;
		n -= 2 + len;
	}
	if (!k)
		return;
	names_add_key(&enc, key, k);
	names_fit(&enc, 0);
	check_safe(&enc);
	rc = names_parse_key(enc.data, enc.len, back, MAXK, &count, &st, &h);
	if (rc == NAMES_OK) {
		if (count != k)
			abort();
		same_key(key, back, k);
	} else if (rc != NAMES_HASHED) {
		abort();   /* a name it wrote that it cannot read */
	}
	buf_release(&enc);
	buf_release(&st);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	as_name((const char *)data, size);
	as_key(data, size);
	return 0;
}
