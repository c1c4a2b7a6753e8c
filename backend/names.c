/*
 * names.c - reversible file-name escaping for keys and table names.
 *
 * Every file and folder archivefs shows is named after a row's key or a
 * table's name, so this module is where untrusted bytes become path
 * components. Its one job is to make that mapping safe, injective and
 * reversible: the escaped form uses only [A-Za-z0-9_.%,-] (plus "~" in a
 * shortened name), never starts with '.', never contains '/' or NUL, and
 * decodes back to exactly one key. The grammar is in names.h; the points
 * it leaves open are settled here:
 *
 *   - Canonical names only. names_parse_key() accepts a name only if
 *     names_add_key() (and names_fit()) would write exactly those bytes for
 *     the key it decodes to: upper-case %HH only, no escape of a byte that
 *     did not need one (the mandated first-byte escape of '.' and of an
 *     integer-looking TEXT excepted), integers without leading zeros, "-0"
 *     or '+', REALs in format.c's canonical text. So every key has one name
 *     and every accepted name one key; a lookup of "%41" never finds "A".
 *   - REAL: "%r" + fmt_render_real(), escaped byte by byte (only '+' needs
 *     it) with no first-byte rule. NaN is written "%rNaN" and reads back as
 *     strtod's NaN, whatever its payload was (SQLite stores no NaN).
 *   - An unshortened key name is at most NAMES_MAX bytes; a longer one
 *     without "~" is refused, since names_fit() would have shortened it.
 *   - names_fit() cuts only where the kept prefix still decodes without
 *     ambiguity (see fit_cut()), so the prefix of a shortened name is a
 *     list of well-formed components of which only the last may be partial,
 *     and only if it is TEXT or BLOB.
 *
 * names_parse_key() places the decoded TEXT and BLOB bytes in the caller's
 * storage buffer, each followed by a NUL byte; the buffer may move while
 * decoding, so components remember offsets and pointers are set at the end.
 */
#include "names.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "format.h"

#define HASH_DIGITS 16                        /* after the "~" */
#define CUT_MAX (NAMES_MAX - 1 - HASH_DIGITS) /* bytes kept when shortening */

static const char hex_upper[] = "0123456789ABCDEF";
static const char hex_lower[] = "0123456789abcdef";

/* How a run of text is escaped; they differ only in the first byte. */
enum esc_mode {
	ESC_KEY,     /* TEXT key: first byte escaped if '.' or integer-like */
	ESC_KEY_CUT, /* the cut-short last TEXT of a shortened name (parse) */
	ESC_TABLE,   /* table name: first byte escaped if '.' */
	ESC_REAL,    /* REAL text after "%r": no first-byte rule */
};

/* The bytes a name may hold as themselves. */
static int is_safe(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	       (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
}

/* Whether s[0..n) matches -?[0-9]+, the integer grammar. */
static int is_intlike(const char *s, size_t n)
{
	size_t i = 0;

	if (n && s[0] == '-')
		i = 1;
	if (i == n)
		return 0;
	for (; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return 1;
}

/* Value of an upper-case hex digit, or -1. */
static int unhex_upper(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Value of a lower-case hex digit, or -1. */
static int unhex_lower(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/*
 * Whether the writer escapes byte c at offset pos of a text written in
 * `mode`, where `intlike` says whether the whole text is integer-like
 * (ESC_KEY only). The single rule both the writer and the canonical-form
 * check of the reader use.
 */
static int must_escape(unsigned char c, size_t pos, enum esc_mode mode,
		       int intlike)
{
	if (!is_safe(c))
		return 1;
	if (pos != 0 || mode == ESC_REAL)
		return 0;
	return c == '.' || (mode == ESC_KEY && intlike);
}

/* Append s[0..n) escaped in `mode` (not for an empty TEXT: see callers). */
static void add_escaped(struct buf *out, const char *s, size_t n,
			enum esc_mode mode)
{
	int intlike = mode == ESC_KEY && is_intlike(s, n);
	size_t i, run;

	buf_grow(out, n);
	for (i = 0; i < n; i = run) {
		unsigned char c = (unsigned char)s[i];

		if (must_escape(c, i, mode, intlike)) {
			char e[3] = { '%', hex_upper[c >> 4], hex_upper[c & 15] };
			buf_add(out, e, 3);
			run = i + 1;
			continue;
		}
		for (run = i + 1; run < n && !must_escape((unsigned char)s[run],
							  run, mode, intlike); run++)
			;
		buf_add(out, s + i, run - i);
	}
}

/*
 * Decode escaped text e[0..en) written in `mode`, appending the bytes to
 * dst. Returns 0, or -1 (dst holding junk past its old length) when the
 * text is not exactly what add_escaped() writes for the decoded bytes.
 * In ESC_KEY_CUT mode the text is a prefix of a TEXT: when the prefix reads
 * "-" or -?[0-9]+, the full text may or may not have been integer-like
 * ("%2D" from "-5", "-" from "-x"), so either form of the first byte is
 * accepted; every other byte is held to the ESC_KEY rules.
 */
static int decode_escaped(const char *e, size_t en, struct buf *dst,
			  enum esc_mode mode)
{
	size_t start = dst->len, i, k, dn;
	const unsigned char *d;
	int intlike = 0, lenient = 0;

	buf_grow(dst, en);
	for (i = 0; i < en; ) {
		if (e[i] == '%') {
			int hi, lo;

			if (en - i < 3)
				return -1;
			hi = unhex_upper(e[i + 1]);
			lo = unhex_upper(e[i + 2]);
			if (hi < 0 || lo < 0)
				return -1;
			buf_addch(dst, hi << 4 | lo);
			i += 3;
		} else if (is_safe((unsigned char)e[i])) {
			buf_addch(dst, e[i]);
			i++;
		} else {
			return -1;
		}
	}

	/* Second pass: each byte escaped exactly when the writer would. */
	d = (const unsigned char *)dst->data + start;
	dn = dst->len - start;
	if (mode == ESC_KEY)
		intlike = is_intlike((const char *)d, dn);
	else if (mode == ESC_KEY_CUT)
		lenient = (dn == 1 && d[0] == '-') ||
			  is_intlike((const char *)d, dn);
	for (i = 0, k = 0; k < dn; k++) {
		int escaped = e[i] == '%';

		if (escaped != must_escape(d[k], k, mode, intlike) &&
		    !(k == 0 && lenient))
			return -1;
		i += escaped ? 3 : 1;
	}
	return 0;
}

void names_add_key(struct buf *out, const struct value *key, size_t n)
{
	size_t i, j;

	for (i = 0; i < n; i++) {
		const struct value *v = &key[i];

		if (i)
			buf_addch(out, ',');
		switch (v->type) {
		case V_NULL:
			buf_addstr(out, "%n");
			break;
		case V_INT:
			buf_addf(out, "%" PRId64, v->i);
			break;
		case V_REAL: {
			struct buf tmp = BUF_INIT;

			fmt_render_real(&tmp, v->r);
			buf_addstr(out, "%r");
			add_escaped(out, tmp.data, tmp.len, ESC_REAL);
			buf_release(&tmp);
			break;
		}
		case V_TEXT:
			if (!v->n)
				buf_addch(out, '%');
			else
				add_escaped(out, v->s, v->n, ESC_KEY);
			break;
		case V_BLOB:
			buf_addstr(out, "%x");
			buf_grow(out, 2 * v->n);
			for (j = 0; j < v->n; j++) {
				unsigned char c = (unsigned char)v->s[j];
				char h[2] = { hex_lower[c >> 4], hex_lower[c & 15] };
				buf_add(out, h, 2);
			}
			break;
		}
	}
}

void names_add_table(struct buf *out, const char *name, size_t len)
{
	if (!len)
		buf_addch(out, '%');
	else
		add_escaped(out, name, len, ESC_TABLE);
}

uint64_t names_hash(const char *s, size_t n)
{
	uint64_t h = UINT64_C(0xcbf29ce484222325);
	size_t i;

	for (i = 0; i < n; i++) {
		h ^= (unsigned char)s[i];
		h *= UINT64_C(0x100000001b3);
	}
	return h;
}

/*
 * Where names_fit() cuts escaped key text e[0..n): the largest cut point
 * <= CUT_MAX. Cut points are the end of every component (the ',' after it
 * is dropped with the rest), and inside a component only:
 *   TEXT  after a whole byte (never inside "%HH"), when the kept part does
 *         not itself match -?[0-9]+ (it would read as an INTEGER);
 *   BLOB  after "%x" and an even number of hex digits.
 * INTEGER, REAL, NULL and the empty TEXT "%" are never cut inside. So the
 * kept prefix is a list of well-formed components, and only a last TEXT or
 * BLOB can be partial. The result may be 0 (nothing kept) when the first
 * component has no cut point in reach, e.g. 250 digits then a letter:
 * the name is then "~" and the hash alone.
 * Written to be memory-safe on any input, not just escaped keys.
 */
static size_t fit_cut(const char *e, size_t n)
{
	size_t best = 0, pos = 0, end, p;

	while (pos < n && pos <= CUT_MAX) {
		const char *c = e + pos;
		const char *comma = memchr(c, ',', n - pos);
		size_t cn;

		end = comma ? (size_t)(comma - e) : n;
		cn = end - pos;
		if (cn >= 2 && c[0] == '%' && c[1] == 'x') {
			for (p = pos + 2; p <= end && p <= CUT_MAX; p += 2)
				best = p;
		} else if (c[0] == '%' && (cn == 1 || c[1] == 'n' || c[1] == 'r')) {
			/* atomic: only its end */
		} else if (!is_intlike(c, cn)) {
			for (p = pos; p < end; ) {
				p += e[p] == '%' ? 3 : 1;
				if (p > end || p > CUT_MAX)
					break;
				if (!is_intlike(c, p - pos))
					best = p;
			}
		}
		if (end > CUT_MAX)
			break;
		best = end;
		pos = end + 1;
	}
	return best;
}

void names_fit(struct buf *out, size_t start)
{
	uint64_t h;
	size_t cut;

	if (out->len - start <= NAMES_MAX)
		return;
	h = names_hash(out->data + start, out->len - start);
	cut = fit_cut(out->data + start, out->len - start);
	buf_truncate(out, start + cut);
	buf_addf(out, "~%016" PRIx64, h);
}

/* Decode a decimal INTEGER component (already known to be -?[0-9]+). */
static int parse_int(const char *c, size_t cn, struct value *v)
{
	int neg = c[0] == '-';
	uint64_t m = 0, lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	size_t i = neg;

	if (c[i] == '0' && (cn - i > 1 || neg))
		return -1;                  /* "007", "-0" */
	for (; i < cn; i++) {
		unsigned d = (unsigned)(c[i] - '0');

		if (m > (lim - d) / 10)
			return -1;              /* out of 64-bit range */
		m = m * 10 + d;
	}
	v->type = V_INT;
	v->i = neg ? (int64_t)(0 - m) : (int64_t)m;
	return 0;
}

/* Decode a REAL component's text c[0..cn) (after "%r"); canonical only. */
static int parse_real(const char *c, size_t cn, struct value *v,
		      struct buf *st)
{
	size_t off = st->len, mid;
	char *end;
	double r;
	int ok;

	if (!cn || decode_escaped(c, cn, st, ESC_REAL) < 0)
		return -1;
	mid = st->len;                       /* st->data[mid] == '\0' */
	r = strtod(st->data + off, &end);
	ok = end == st->data + mid;
	if (ok) {
		fmt_render_real(st, r);
		ok = st->len - mid == mid - off &&
		     memcmp(st->data + off, st->data + mid, mid - off) == 0;
	}
	buf_truncate(st, off);
	if (!ok)
		return -1;
	v->type = V_REAL;
	v->r = r;
	return 0;
}

/* Decode a BLOB component's hex c[0..cn) (after "%x") into st. */
static int parse_blob(const char *c, size_t cn, struct buf *st)
{
	size_t i;

	if (cn % 2)
		return -1;
	buf_grow(st, cn / 2);
	for (i = 0; i < cn; i += 2) {
		int hi = unhex_lower(c[i]), lo = unhex_lower(c[i + 1]);

		if (hi < 0 || lo < 0)
			return -1;
		buf_addch(st, hi << 4 | lo);
	}
	return 0;
}

/*
 * Decode one component c[0..cn). `cut` is set for the last component of a
 * shortened name, whose TEXT may be a prefix (see fit_cut()). TEXT and BLOB
 * bytes are appended to st followed by a NUL; v->s is left NULL and v->i
 * holds their offset in st until names_parse_key() fixes the pointers up.
 */
static int parse_component(const char *c, size_t cn, int cut,
			   struct value *v, struct buf *st)
{
	size_t off = st->len;
	int r;

	memset(v, 0, sizeof(*v));
	if (!cn)
		return -1;
	if (c[0] == '%' && cn >= 2 && c[1] == 'n')
		return cn == 2 ? 0 : -1;    /* V_NULL is 0 */
	if (c[0] == '%' && cn >= 2 && c[1] == 'r')
		return parse_real(c + 2, cn - 2, v, st);
	if (c[0] == '%' && cn >= 2 && c[1] == 'x') {
		v->type = V_BLOB;
		r = parse_blob(c + 2, cn - 2, st);
	} else if (is_intlike(c, cn)) {
		return parse_int(c, cn, v);
	} else {
		v->type = V_TEXT;
		r = cn == 1 && c[0] == '%' ? 0 :
		    decode_escaped(c, cn, st, cut ? ESC_KEY_CUT : ESC_KEY);
	}
	if (r < 0)
		return -1;
	v->n = st->len - off;
	v->i = (int64_t)off;
	buf_addch(st, '\0');
	return 0;
}

int names_parse_key(const char *s, size_t n, struct value *key, size_t max,
		    size_t *count, struct buf *storage, uint64_t *hash)
{
	const char *tilde;
	uint64_t h = 0;
	size_t nc = 0, pos, end, i;
	int hashed;

	*count = 0;
	if (hash)
		*hash = 0;
	buf_reset(storage);
	if (!n)
		return NAMES_BAD;
	tilde = memchr(s, '~', n);
	hashed = tilde != NULL;
	if (hashed) {
		/* prefix "~" + exactly 16 lower-case hex digits, at the end */
		size_t plen = (size_t)(tilde - s);

		if (n - plen != 1 + HASH_DIGITS || plen > CUT_MAX)
			return NAMES_BAD;
		for (i = plen + 1; i < n; i++) {
			int d = unhex_lower(s[i]);

			if (d < 0)
				return NAMES_BAD;
			h = h << 4 | (uint64_t)d;
		}
		n = plen;
	} else if (n > NAMES_MAX) {
		return NAMES_BAD;
	}

	/* Components split at ','; "a," and ",a" have an empty one (BAD).
	 * A shortened name may keep nothing at all before its "~". */
	for (pos = 0; n; pos = end + 1) {
		const char *comma = memchr(s + pos, ',', n - pos);
		int last = comma == NULL;

		end = last ? n : (size_t)(comma - s);
		if (nc == max ||
		    parse_component(s + pos, end - pos, hashed && last,
				    &key[nc], storage) < 0) {
			buf_reset(storage);
			return NAMES_BAD;
		}
		nc++;
		if (last)
			break;
	}

	for (i = 0; i < nc; i++) {
		if (key[i].type == V_TEXT || key[i].type == V_BLOB) {
			key[i].s = storage->data + (size_t)key[i].i;
			key[i].i = 0;
		}
	}
	*count = nc;
	if (!hashed)
		return NAMES_OK;
	if (hash)
		*hash = h;
	return NAMES_HASHED;
}

int names_parse_table(const char *s, size_t n, struct buf *out)
{
	buf_reset(out);
	if (n == 1 && s[0] == '%')
		return NAMES_OK;
	if (!n || decode_escaped(s, n, out, ESC_TABLE) < 0) {
		buf_reset(out);
		return NAMES_BAD;
	}
	return NAMES_OK;
}
