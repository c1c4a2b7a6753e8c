/*
 * format.c - render rows as archivefs text, and parse that text back.
 *
 * This is the one place that knows the text format of format.md: how a
 * value of each storage class is written (canonically, so that rendering
 * is a pure function of the values), and how a file is read back into
 * (table, field, value) triples without loss. Rendering appends to a
 * caller's struct buf. Parsing is strict: anything the grammar does not
 * allow is refused with the line and byte column of the first problem,
 * because a file that is silently misread would corrupt the database on
 * import. Both directions are linear in the size of their input and do no
 * allocation per field: the parser decodes every string into one arena
 * sized up front (decoded text is never longer than its source), so
 * pointers into it stay valid, and keeps records and fields in two arrays
 * that grow by doubling.
 *
 * Numbers are written and read with snprintf() and strtod(), which follow
 * LC_NUMERIC; archivefs never calls setlocale(), so that is the "C" locale.
 */
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format.h"

#define NONE ((size_t)-1)

static const char hexdigits[] = "0123456789abcdef";

static inline int is_digit(int c)
{
	return c >= '0' && c <= '9';
}

/* Bytes of bare names: NS may start (and continue) one, NC only continue. */
#define NS 3
#define NC 2
static const unsigned char name_class[256] = {
	['0'] = NC, ['1'] = NC, ['2'] = NC, ['3'] = NC, ['4'] = NC,
	['5'] = NC, ['6'] = NC, ['7'] = NC, ['8'] = NC, ['9'] = NC,
	['A'] = NS, ['B'] = NS, ['C'] = NS, ['D'] = NS, ['E'] = NS, ['F'] = NS,
	['G'] = NS, ['H'] = NS, ['I'] = NS, ['J'] = NS, ['K'] = NS, ['L'] = NS,
	['M'] = NS, ['N'] = NS, ['O'] = NS, ['P'] = NS, ['Q'] = NS, ['R'] = NS,
	['S'] = NS, ['T'] = NS, ['U'] = NS, ['V'] = NS, ['W'] = NS, ['X'] = NS,
	['Y'] = NS, ['Z'] = NS, ['_'] = NS,
	['a'] = NS, ['b'] = NS, ['c'] = NS, ['d'] = NS, ['e'] = NS, ['f'] = NS,
	['g'] = NS, ['h'] = NS, ['i'] = NS, ['j'] = NS, ['k'] = NS, ['l'] = NS,
	['m'] = NS, ['n'] = NS, ['o'] = NS, ['p'] = NS, ['q'] = NS, ['r'] = NS,
	['s'] = NS, ['t'] = NS, ['u'] = NS, ['v'] = NS, ['w'] = NS, ['x'] = NS,
	['y'] = NS, ['z'] = NS,
};

static inline int is_name_start(unsigned char c)
{
	return name_class[c] == NS;
}

static inline int is_name_char(unsigned char c)
{
	return name_class[c] != 0;
}

int fmt_hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * Appending to a struct buf without a call when there is room (the common
 * case); buf_add() and buf_addch() when it must grow.
 */
static inline void put(struct buf *b, const void *p, size_t n)
{
	if (!n)
		return;
	if (b->len + n < b->cap) {
		memcpy(b->data + b->len, p, n);
		b->len += n;
		b->data[b->len] = '\0';
	} else {
		buf_add(b, p, n);
	}
}

static inline void putch(struct buf *b, char c)
{
	if (b->len + 1 < b->cap) {
		b->data[b->len++] = c;
		b->data[b->len] = '\0';
	} else {
		buf_addch(b, c);
	}
}

__attribute__((noreturn))
static void bug(const char *what)
{
	fprintf(stderr, "archivefs: BUG: format: %s\n", what);
	abort();
}

/* Is s[0..n) a bare name, [A-Za-z_][A-Za-z0-9_]*? */
static int is_bare_name(const char *s, size_t n)
{
	size_t i;

	if (!n || !is_name_start((unsigned char)s[0]))
		return 0;
	for (i = 1; i < n; i++)
		if (!is_name_char((unsigned char)s[i]))
			return 0;
	return 1;
}

/*
 * Length of the valid UTF-8 sequence starting at s[0] (n > 0 bytes
 * available), or 0 when s[0] does not start one. Overlong forms, UTF-16
 * surrogates (U+D800..U+DFFF) and code points above U+10FFFF are invalid.
 */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
	unsigned c = s[0];

	if (c < 0x80)
		return 1;
	if (c < 0xc2)           /* continuation byte, or overlong 2-byte lead */
		return 0;
	if (c < 0xe0)
		return n >= 2 && (s[1] & 0xc0) == 0x80 ? 2 : 0;
	if (c < 0xf0) {
		if (n < 3 || (s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80)
			return 0;
		if (c == 0xe0 && s[1] < 0xa0)   /* overlong */
			return 0;
		if (c == 0xed && s[1] >= 0xa0)  /* surrogate */
			return 0;
		return 3;
	}
	if (c < 0xf5) {
		if (n < 4 || (s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80 ||
		    (s[3] & 0xc0) != 0x80)
			return 0;
		if (c == 0xf0 && s[1] < 0x90)   /* overlong */
			return 0;
		if (c == 0xf4 && s[1] >= 0x90)  /* above U+10FFFF */
			return 0;
		return 4;
	}
	return 0;
}

#define H8 0x8080808080808080ULL

/*
 * Is s[0..n) valid UTF-8 without control characters (TAB allowed when
 * allow_tab)? Printable ASCII, the common case, goes eight bytes a step.
 */
static int clean_utf8(const char *s, size_t n, int allow_tab)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, k;
	uint64_t w;

	while (i < n) {
		unsigned char c = u[i];

		/*
		 * Eight bytes at a time while they are all printable ASCII:
		 * no high bit, each byte + 0x60 has its high bit (>= 0x20),
		 * and none + 1 has it (not 0x7f). No carry crosses a byte
		 * once high bits are known clear.
		 */
		if (n - i >= 8) {
			memcpy(&w, u + i, 8);
			if (!(w & H8) && ((w + 0x6060606060606060ULL) & H8) == H8 &&
			    !((w + 0x0101010101010101ULL) & H8)) {
				i += 8;
				continue;
			}
		}
		if (c >= 0x20 && c < 0x7f) {
			i++;
			continue;
		}
		if (c >= 0x80) {
			k = utf8_seq(u + i, n - i);
			if (!k)
				return 0;
			i += k;
			continue;
		}
		if (c != '\t' || !allow_tab)
			return 0;
		i++;
	}
	return 1;
}

/* --- rendering --------------------------------------------------------- */

enum esc_mode {
	ESC_QUOTED,   /* inside "...": \ " and controls; \t \r \n by name */
	ESC_BODY,     /* after "\ ": \ and controls; \t \r \n by name */
	ESC_COMMENT,  /* after "# ": only controls, always as \xHH */
};

static void add_hex_escape(struct buf *out, unsigned char c)
{
	char e[4] = { '\\', 'x', hexdigits[c >> 4], hexdigits[c & 15] };

	put(out, e, 4);
}

/*
 * Append s[0..n) with the escapes of `mode`: bytes that are not valid
 * UTF-8 and control characters are always escaped (so the output is valid
 * UTF-8 on one line); everything else is copied in runs.
 */
static void add_escaped(struct buf *out, const char *s, size_t n,
			enum esc_mode mode)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, run = 0, k;

	while (i < n) {
		unsigned char c = u[i];

		if (c >= 0x20 && c < 0x7f) {
			if ((c == '\\' && mode != ESC_COMMENT) ||
			    (c == '"' && mode == ESC_QUOTED)) {
				put(out, s + run, i - run);
				putch(out, '\\');
				putch(out, c);
				run = ++i;
				continue;
			}
			i++;
			continue;
		}
		if (c >= 0x80 && (k = utf8_seq(u + i, n - i))) {
			i += k;
			continue;
		}
		put(out, s + run, i - run);
		if (mode != ESC_COMMENT && c == '\t')
			put(out, "\\t", 2);
		else if (mode != ESC_COMMENT && c == '\r')
			put(out, "\\r", 2);
		else if (mode != ESC_COMMENT && c == '\n')
			put(out, "\\n", 2);
		else
			add_hex_escape(out, c);
		run = ++i;
	}
	if (i > run)
		put(out, s + run, i - run);
}

static void add_quoted(struct buf *out, const char *s, size_t n)
{
	putch(out, '"');
	add_escaped(out, s, n, ESC_QUOTED);
	putch(out, '"');
}

/* A table or field name: bare when it is a bare name, else quoted. */
static void add_name(struct buf *out, const char *s, size_t n)
{
	if (is_bare_name(s, n))
		put(out, s, n);
	else
		add_quoted(out, s, n);
}

static void add_int(struct buf *out, int64_t v)
{
	char tmp[24], *p = tmp + sizeof(tmp);
	uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;

	do {
		*--p = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (v < 0)
		*--p = '-';
	put(out, p, (size_t)(tmp + sizeof(tmp) - p));
}

static void add_blob(struct buf *out, const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	char *p;
	size_t i;

	if (n > BUF_MAX / 2)
		bug("blob too large to render");
	buf_grow(out, 2 * n + 3);
	p = out->data + out->len;
	*p++ = 'x';
	*p++ = '\'';
	for (i = 0; i < n; i++) {
		*p++ = hexdigits[u[i] >> 4];
		*p++ = hexdigits[u[i] & 15];
	}
	*p++ = '\'';
	*p = '\0';
	out->len = (size_t)(p - out->data);
}

/*
 * Can TEXT s[0..n) be written bare on a field line and read back the same?
 * See format.md: non-empty, no leading '"', no leading or trailing space,
 * no control character, valid UTF-8, and not one of the other literals.
 */
static int text_is_bare(const char *s, size_t n)
{
	if (!n || s[0] == '"' || s[0] == ' ' || s[n - 1] == ' ')
		return 0;
	if (!clean_utf8(s, n, 0))
		return 0;
	return fmt_classify_bare(s, n) == V_TEXT;
}

/* One piece of a body (a line of the text, without its LF). */
static void add_body_line(struct buf *out, const char *s, size_t n)
{
	if (!n) {
		put(out, "|\n", 2);
		return;
	}
	if (s[n - 1] != ' ' && s[n - 1] != '\t' && clean_utf8(s, n, 1)) {
		put(out, "| ", 2);
		put(out, s, n);
		putch(out, '\n');
		return;
	}
	put(out, "\\ ", 2);
	if (s[n - 1] == ' ') {
		/* so that stripping trailing blanks cannot change the text */
		add_escaped(out, s, n - 1, ESC_BODY);
		put(out, "\\x20", 4);
	} else {
		add_escaped(out, s, n, ESC_BODY);
	}
	putch(out, '\n');
}

/* Body lines of a non-empty text: one per LF-separated piece. */
static void add_body(struct buf *out, const char *s, size_t n)
{
	const char *end = s + n, *nl;

	for (;;) {
		nl = memchr(s, '\n', (size_t)(end - s));
		if (!nl) {
			add_body_line(out, s, (size_t)(end - s));
			return;
		}
		add_body_line(out, s, (size_t)(nl - s));
		s = nl + 1;
	}
}

void fmt_render_comment(struct buf *out, const char *text, size_t len)
{
	if (!len) {
		put(out, "#\n", 2);
		return;
	}
	put(out, "# ", 2);
	add_escaped(out, text, len, ESC_COMMENT);
	putch(out, '\n');
}

void fmt_render_record(struct buf *out, const char *table, size_t len)
{
	put(out, "\n[", 2);
	add_name(out, table, len);
	put(out, "]\n", 2);
}

/*
 * A field is "name: inline\n", or "name:\n" and body lines when the value
 * is TEXT holding a LF, or non-empty TEXT of a FMT_BODY column. A
 * FMT_PSEUDO name must be a bare name (the grammar has no "@" quoted
 * form); anything else is a bug in the caller and aborts.
 */
void fmt_render_field(struct buf *out, const char *name, size_t len,
		      const struct value *v, int flags)
{
	if (flags & FMT_PSEUDO) {
		if (!is_bare_name(name, len))
			bug("pseudo-column name is not a bare name");
		putch(out, '@');
	}
	add_name(out, name, len);
	if (v->type == V_TEXT && v->n &&
	    ((flags & FMT_BODY) || memchr(v->s, '\n', v->n))) {
		put(out, ":\n", 2);
		add_body(out, v->s, v->n);
		return;
	}
	put(out, ": ", 2);
	fmt_render_inline(out, v);
	putch(out, '\n');
}

void fmt_render_inline(struct buf *out, const struct value *v)
{
	switch (v->type) {
	case V_NULL:
		put(out, "NULL", 4);
		return;
	case V_INT:
		add_int(out, v->i);
		return;
	case V_REAL:
		fmt_render_real(out, v->r);
		return;
	case V_TEXT:
		if (text_is_bare(v->s, v->n))
			put(out, v->s, v->n);
		else
			add_quoted(out, v->s, v->n);
		return;
	case V_BLOB:
		add_blob(out, v->s, v->n);
		return;
	}
	bug("value of unknown type");
}

/*
 * Numbers. A REAL is written as the first of %.15g, %.16g and %.17g that
 * strtod() reads back to the same bits. Doing that literally costs three
 * snprintf() and three strtod() calls for most doubles, so instead:
 *
 *  - a short decimal such as 0.95 is found and proven without printf
 *    (add_short_decimal());
 *  - otherwise one snprintf("%.16e") gives the 17 correctly rounded
 *    digits D17;
 *  - %.15g and %.16g are D17 rounded to 15 and 16 digits, which is what
 *    printf would print unless the dropped digits of D17 are exactly
 *    "50"/"5": rounding to nearest is monotonic and that midpoint lies on
 *    the 17-digit grid, so any other D17 is on the same side of it as the
 *    exact value. On the midpoint we ask snprintf() itself;
 *  - whether a candidate reads back is decided by Clinger's fast path when
 *    it applies (see fast_decimal()), else by strtod();
 *  - %.17g always reads back and needs no check.
 * tests/test_format.c compares this with the literal definition on many
 * random doubles.
 */
#if defined(FLT_EVAL_METHOD) && FLT_EVAL_METHOD == 0
#define FAST_DECIMAL 1
#else
#define FAST_DECIMAL 0          /* excess precision would round twice */
#endif

static const double pow10_exact[23] = {
	1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12,
	1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
};

/*
 * Store the double nearest to m * 10^k, exactly as strtod() rounds it,
 * when one IEEE operation on exact operands computes it (m <= 2^53,
 * |k| <= 22: both m and 10^|k| are exact doubles, and a single correctly
 * rounded multiply or divide is the correctly rounded result). Returns 0
 * when it cannot; the caller then uses strtod().
 */
static int fast_decimal(uint64_t m, int k, double *out)
{
	if (!FAST_DECIMAL || m > ((uint64_t)1 << 53) || k < -22 || k > 22)
		return 0;
	if (k < 0)
		*out = (double)m / pow10_exact[-k];
	else
		*out = (double)m * pow10_exact[k];
	return 1;
}

/* Does the decimal d[0..n) x 10^(x-n+1) read back as exactly `a`? */
static int reads_back(const char *d, int n, int x, double a)
{
	uint64_t m = 0;
	double v;
	char tmp[48];
	int i;

	while (n > 1 && d[n - 1] == '0')
		n--;
	for (i = 0; i < n; i++)
		m = m * 10 + (uint64_t)(d[i] - '0');
	if (!fast_decimal(m, x - (n - 1), &v)) {
		snprintf(tmp, sizeof(tmp), "%.*se%d", n, d, x - (n - 1));
		v = strtod(tmp, NULL);
	}
	return !memcmp(&v, &a, sizeof(a));
}

/*
 * Round the 17 digits d[] (leading digit at 10^x) to `prec` digits c[],
 * with the exponent of the result in *xc. Returns 0, leaving c[]
 * undefined, when the dropped digits are exactly half a unit.
 */
static int round_digits(const char *d, int x, int prec, char *c, int *xc)
{
	int i, tie = d[prec] == '5', up;

	for (i = prec + 1; i < 17 && tie; i++)
		tie = d[i] == '0';
	if (tie)
		return 0;
	up = d[prec] >= '5';
	memcpy(c, d, (size_t)prec);
	*xc = x;
	if (!up)
		return 1;
	for (i = prec - 1; i >= 0 && c[i] == '9'; i--)
		c[i] = '0';
	if (i < 0) {
		c[0] = '1';
		(*xc)++;
	} else {
		c[i]++;
	}
	return 1;
}

/*
 * Append what "%.*g" (precision `prec`) prints for the positive number
 * with the n <= prec significant digits d[] and exponent x (the leading
 * digit's power of ten), followed by the ".0" that marks an integral
 * value as REAL.
 */
static void add_g(struct buf *out, const char *d, int n, int x, int prec)
{
	char tmp[48], *p = tmp;
	int i, ax;

	while (n > 1 && d[n - 1] == '0')
		n--;
	if (x < -4 || x >= prec) {
		*p++ = d[0];
		if (n > 1) {
			*p++ = '.';
			memcpy(p, d + 1, (size_t)n - 1);
			p += n - 1;
		}
		*p++ = 'e';
		*p++ = x < 0 ? '-' : '+';
		ax = x < 0 ? -x : x;
		if (ax >= 100)
			*p++ = (char)('0' + ax / 100);
		*p++ = (char)('0' + ax / 10 % 10);
		*p++ = (char)('0' + ax % 10);
	} else if (x >= 0) {
		for (i = 0; i <= x; i++)
			*p++ = i < n ? d[i] : '0';
		*p++ = '.';
		if (n > x + 1) {
			memcpy(p, d + x + 1, (size_t)(n - x - 1));
			p += n - x - 1;
		} else {
			*p++ = '0';
		}
	} else {
		*p++ = '0';
		*p++ = '.';
		for (i = -1; i > x; i--)
			*p++ = '0';
		memcpy(p, d, (size_t)n);
		p += n;
	}
	put(out, tmp, (size_t)(p - tmp));
}

/* The literal definition, for the rare digits round_digits() cannot round. */
static int add_g_slow(struct buf *out, double a, int prec)
{
	char tmp[48];
	int len = snprintf(tmp, sizeof(tmp), "%.*g", prec, a);
	double back = strtod(tmp, NULL);

	if (memcmp(&back, &a, sizeof(a)))
		return 0;
	put(out, tmp, (size_t)len);
	if (!memchr(tmp, '.', (size_t)len) && !memchr(tmp, 'e', (size_t)len))
		put(out, ".0", 2);
	return 1;
}

/*
 * The common REAL that is a short decimal (0.95, 12.5, 3.0), without
 * printf: if m * 10^-k, m < 10^15, reads back as a (checked exactly by
 * fast_decimal()), then it is within half an ulp of a, far less than half
 * a unit in the 15th digit, so it is also a rounded to 15 digits: what
 * %.15g prints. The guesses m = round(a * 10^k) only need to be good
 * enough to find it. Returns 0 for any other a (0 < a).
 */
static int add_short_decimal(struct buf *out, double a)
{
	char d[24], *p;
	double x, m, v;
	uint64_t u;
	int k;

	if (!FAST_DECIMAL || !(a < 1e15) || a < 1e-7)
		return 0;
	for (k = 0; k <= 22; k++) {
		x = a * pow10_exact[k];
		if (x >= 1e15)
			return 0;
		u = (uint64_t)(x + 0.5);        /* exact: x < 2^50 */
		m = (double)u;
		if (!u || fabs(x - m) > x * 0x1p-50)
			continue;
		if (!fast_decimal(u, -k, &v) || memcmp(&v, &a, sizeof(a)))
			continue;
		for (p = d + sizeof(d); u; u /= 10)
			*--p = (char)('0' + u % 10);
		add_g(out, p, (int)(d + sizeof(d) - p),
		      (int)(d + sizeof(d) - p) - 1 - k, 15);
		return 1;
	}
	return 0;
}

void fmt_render_real(struct buf *out, double r)
{
	char e17[48], d[17], c[17];
	int len, x, xc, prec;
	double a;

	if (isnan(r)) {
		put(out, "NaN", 3);
		return;
	}
	if (isinf(r)) {
		if (r > 0)
			put(out, "Inf", 3);
		else
			put(out, "-Inf", 4);
		return;
	}
	if (r == 0) {
		if (signbit(r))
			put(out, "-0.0", 4);
		else
			put(out, "0.0", 3);
		return;
	}
	if (r < 0)
		putch(out, '-');
	a = fabs(r);
	if (add_short_decimal(out, a))
		return;
	/* "d.dddddddddddddddde[+-]XX[X]" */
	len = snprintf(e17, sizeof(e17), "%.16e", a);
	if (len < 22 || len > 23 || e17[1] != '.' || e17[18] != 'e')
		bug("unexpected %.16e output");
	d[0] = e17[0];
	memcpy(d + 1, e17 + 2, 16);
	x = (int)strtol(e17 + 19, NULL, 10);
	for (prec = 15; prec <= 16; prec++) {
		if (!round_digits(d, x, prec, c, &xc)) {
			if (add_g_slow(out, a, prec))
				return;
			continue;
		}
		if (reads_back(c, prec, xc, a)) {
			add_g(out, c, prec, xc, prec);
			return;
		}
	}
	add_g(out, d, 17, x, 17);
}

static size_t skip_digits(const char *s, size_t i, size_t n)
{
	while (i < n && is_digit((unsigned char)s[i]))
		i++;
	return i;
}

/*
 * Classify by shape only, so that it is cheap and so that every word the
 * parser would not take as plain text (including malformed literals it
 * refuses, such as an out-of-range integer or "x'0'") is reported as
 * something other than V_TEXT:
 *   NULL                                         V_NULL
 *   -?[0-9]+                                     V_INT
 *   -?[0-9]+.[0-9]+([eE][+-]?[0-9]+)?            V_REAL
 *   -?[0-9]+[eE][+-]?[0-9]+, Inf, -Inf, NaN      V_REAL
 *   x' followed by anything                      V_BLOB
 */
enum vtype fmt_classify_bare(const char *s, size_t n)
{
	size_t i = 0, j;

	if (!n)
		return V_TEXT;
	switch (s[0]) {
	case 'N':
		if (n == 4 && !memcmp(s, "NULL", 4))
			return V_NULL;
		return n == 3 && !memcmp(s, "NaN", 3) ? V_REAL : V_TEXT;
	case 'I':
		return n == 3 && !memcmp(s, "Inf", 3) ? V_REAL : V_TEXT;
	case 'x':
		return n >= 2 && s[1] == '\'' ? V_BLOB : V_TEXT;
	case '-':
		if (n == 4 && !memcmp(s, "-Inf", 4))
			return V_REAL;
		i = 1;
		break;
	default:
		if (!is_digit((unsigned char)s[0]))
			return V_TEXT;
	}
	j = skip_digits(s, i, n);
	if (j == i)
		return V_TEXT;
	if (j == n)
		return V_INT;
	if (s[j] == '.') {
		i = j + 1;
		j = skip_digits(s, i, n);
		if (j == i)
			return V_TEXT;
		if (j == n)
			return V_REAL;
	}
	if (s[j] != 'e' && s[j] != 'E')
		return V_TEXT;
	i = j + 1;
	if (i < n && (s[i] == '+' || s[i] == '-'))
		i++;
	j = skip_digits(s, i, n);
	return j > i && j == n ? V_REAL : V_TEXT;
}

/* --- parsing ----------------------------------------------------------- */

struct parser {
	const char *t;          /* the whole input */
	size_t len;
	struct fmt_doc *doc;
	struct fmt_error *err;
	size_t bad;             /* offset of the first NUL or stray CR, or len */
	int lineno;             /* current line, 1-based */
	size_t ls;              /* offset of the current line's first byte */
	int have_rec;           /* a "[table]" header was seen */
	size_t body;            /* field awaiting/collecting body lines, or NONE */
	int body_lines;         /* body lines collected for it so far */
	size_t body_start;      /* arena offset of its text */
	size_t *slots;          /* duplicate-name hash: field index + 1 */
	size_t nslots;          /* power of two, or 0 */
};

static void *xrealloc_array(void *p, size_t *cap, size_t size)
{
	size_t n = *cap ? *cap * 2 : 64;

	if (n > SIZE_MAX / 2 / size)
		bug("array too large");
	p = realloc(p, n * size);
	if (!p) {
		out_of_memory(n * size);
	}
	*cap = n;
	return p;
}

__attribute__((format(printf, 4, 0)))
static int failv(struct parser *p, int line, int col, const char *fmt,
		 va_list ap)
{
	p->err->line = line;
	p->err->col = col;
	vsnprintf(p->err->msg, sizeof(p->err->msg), fmt, ap);
	return -1;
}

__attribute__((format(printf, 4, 5)))
static int fail_at(struct parser *p, int line, int col, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	failv(p, line, col, fmt, ap);
	va_end(ap);
	return -1;
}

/* Report an error at byte offset `pos` of the current line; returns -1. */
__attribute__((format(printf, 3, 4)))
static int fail(struct parser *p, size_t pos, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	failv(p, p->lineno, (int)(pos - p->ls + 1), fmt, ap);
	va_end(ap);
	return -1;
}

/* As fail(), for helpers that return an offset: returns NONE. */
__attribute__((format(printf, 3, 4)))
static size_t fail_pos(struct parser *p, size_t pos, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	failv(p, p->lineno, (int)(pos - p->ls + 1), fmt, ap);
	va_end(ap);
	return NONE;
}

/* Describe a byte for a message: 'q', a space, byte 0xff. */
static const char *show_byte(char *tmp, size_t size, unsigned char c)
{
	if (c == ' ')
		return "a space";
	if (c == '\t')
		return "a TAB";
	if (c > 0x20 && c < 0x7f)
		snprintf(tmp, size, "'%c'", c);
	else
		snprintf(tmp, size, "byte 0x%02x", c);
	return tmp;
}

/* A name as it would be written, cut short, for a message. */
static const char *show_name(char *tmp, size_t size, const char *s,
			     size_t n)
{
	struct buf b = BUF_INIT;

	add_name(&b, s, n);
	if (b.len < size)
		memcpy(tmp, b.data, b.len + 1);
	else
		snprintf(tmp, size, "%.*s...", (int)(size - 4), b.data);
	buf_release(&b);
	return tmp;
}

/* Make sure `need` more bytes fit in the arena (a bug if not: see fmt_parse). */
static char *arena_reserve(struct parser *p, size_t need)
{
	struct fmt_doc *d = p->doc;

	if (need > d->arena_cap - d->arena_len)
		bug("parse arena too small");
	return d->arena + d->arena_len;
}

/*
 * Decode the escape whose backslash is t[i], before line end `e`, writing
 * the byte at *o. Returns the offset after the escape, or NONE on error.
 */
static size_t decode_escape(struct parser *p, size_t i, size_t e, char **o)
{
	const char *t = p->t;
	unsigned char c;
	char tmp[16];
	int hi, lo;

	if (i + 1 >= e)
		return fail_pos(p, i, "incomplete escape: '\\' at the end of the line");
	c = (unsigned char)t[i + 1];
	switch (c) {
	case '\\':
	case '"':
		*(*o)++ = (char)c;
		return i + 2;
	case 'n':
		*(*o)++ = '\n';
		return i + 2;
	case 'r':
		*(*o)++ = '\r';
		return i + 2;
	case 't':
		*(*o)++ = '\t';
		return i + 2;
	case 'x':
		hi = i + 2 < e ? fmt_hexval((unsigned char)t[i + 2]) : -1;
		lo = i + 3 < e ? fmt_hexval((unsigned char)t[i + 3]) : -1;
		if (hi < 0 || lo < 0)
			return fail_pos(p, i, "bad escape: \"\\x\" must be followed by two hex digits");
		*(*o)++ = (char)(hi << 4 | lo);
		return i + 4;
	}
	if (c > 0x20 && c < 0x7f)
		return fail_pos(p, i, "unknown escape \"\\%c\" (known: \\\\ \\\" \\n \\r \\t \\xHH)", c);
	return fail_pos(p, i, "unknown escape: '\\' followed by %s (known: \\\\ \\\" \\n \\r \\t \\xHH)",
			show_byte(tmp, sizeof(tmp), c));
}

/*
 * Decode the quoted string whose opening '"' is t[q], which must close
 * before line end `e`, into the arena (NUL-terminated). Stores its arena
 * offset and length; returns the offset after the closing '"', or NONE.
 */
static size_t parse_quoted(struct parser *p, size_t q, size_t e,
			   size_t *off, size_t *n)
{
	struct fmt_doc *d = p->doc;
	const char *t = p->t;
	char *start = arena_reserve(p, e - q), *o = start;
	size_t i = q + 1;

	for (;;) {
		if (i >= e)
			return fail_pos(p, q, "unterminated quoted string: no closing '\"' on this line");
		if (t[i] == '"')
			break;
		if (t[i] == '\\') {
			i = decode_escape(p, i, e, &o);
			if (i == NONE)
				return NONE;
			continue;
		}
		*o++ = t[i++];
	}
	*o = '\0';
	*off = d->arena_len;
	*n = (size_t)(o - start);
	d->arena_len += *n + 1;
	return i + 1;
}

/*
 * Parse a bare or quoted name starting at t[pos] into the arena. `what`
 * names it in messages. Returns the offset after it, or NONE.
 */
static size_t parse_name(struct parser *p, size_t pos, size_t e,
			 const char *what, size_t *off, size_t *n)
{
	struct fmt_doc *d = p->doc;
	const char *t = p->t;
	size_t j;
	char *o;

	if (pos < e && t[pos] == '"')
		return parse_quoted(p, pos, e, off, n);
	if (pos >= e || !is_name_start((unsigned char)t[pos]))
		return fail_pos(p, pos, "expected a %s name: [A-Za-z_][A-Za-z0-9_]*, or any name in double quotes", what);
	for (j = pos + 1; j < e && is_name_char((unsigned char)t[j]); j++)
		;
	o = arena_reserve(p, j - pos + 1);
	memcpy(o, t + pos, j - pos);
	o[j - pos] = '\0';
	*off = d->arena_len;
	*n = j - pos;
	d->arena_len += *n + 1;
	return j;
}

/* A hash of a whole name, eight bytes at a step. */
static uint64_t name_hash(const char *s, size_t n, int pseudo)
{
	uint64_t h = 0x9e3779b97f4a7c15ULL * (n * 2 + (uint64_t)pseudo + 1), w;

	for (; n >= 8; s += 8, n -= 8) {
		memcpy(&w, s, 8);
		h = (h ^ w) * 0xff51afd7ed558ccdULL;
		h ^= h >> 32;
	}
	if (n) {
		w = 0;
		memcpy(&w, s, n);
		h = (h ^ w) * 0xc4ceb9fe1a85ec53ULL;
	}
	return h ^ (h >> 29);
}

static int same_name(const struct fmt_field *a, const struct fmt_field *b)
{
	return a->pseudo == b->pseudo && a->name_len == b->name_len &&
	       !memcmp(a->name, b->name, a->name_len);
}

/*
 * Look for field `idx` among the earlier fields of the current record in
 * an open-addressing hash table; add it when absent. A slot holds a field
 * index + 1; a slot holding a field of an earlier record counts as free,
 * so the table never needs clearing between records (the fields of the
 * current record are only ever added, so their probe chains stay intact).
 * Returns the index of the earlier field of the same name, or NONE.
 */
static size_t find_or_add_field(struct parser *p, size_t idx)
{
	struct fmt_doc *d = p->doc;
	size_t first = d->recs[d->nrecs - 1].first, h, v, i, mask;
	const struct fmt_field *f;

	if ((idx - first + 1) * 2 > p->nslots) {
		size_t n = p->nslots ? p->nslots : 32;

		while ((idx - first + 1) * 2 > n)
			n *= 2;
		free(p->slots);
		p->slots = calloc(n, sizeof(*p->slots));
		if (!p->slots)
			out_of_memory(n * sizeof(*p->slots));
		p->nslots = n;
		for (i = first; i < idx; i++)
			find_or_add_field(p, i);
	}
	f = &d->fields[idx];
	mask = p->nslots - 1;
	h = (size_t)name_hash(f->name, f->name_len, f->pseudo) & mask;
	for (;; h = (h + 1) & mask) {
		v = p->slots[h];
		if (v <= first) {
			p->slots[h] = idx + 1;
			return NONE;
		}
		if (same_name(&d->fields[v - 1], f))
			return v - 1;
	}
}

static size_t push_field(struct parser *p)
{
	struct fmt_doc *d = p->doc;

	if (d->nfields == d->fields_cap)
		d->fields = xrealloc_array(d->fields, &d->fields_cap,
					   sizeof(*d->fields));
	memset(&d->fields[d->nfields], 0, sizeof(d->fields[0]));
	d->recs[d->nrecs - 1].nfields++;
	return d->nfields++;
}

/*
 * End the body that the current field may be collecting: fail if its
 * "name:" line got no body lines, else NUL-terminate and store its text.
 */
static int end_body(struct parser *p)
{
	struct fmt_doc *d = p->doc;
	struct fmt_field *f;
	char tmp[48];

	if (p->body == NONE)
		return 0;
	f = &d->fields[p->body];
	if (!p->body_lines) {
		show_name(tmp, sizeof(tmp), f->name, f->name_len);
		return fail_at(p, f->vline, f->vcol,
			       "field %s%s has no value: body lines (\"| \" or \"\\ \") must follow; for empty text write %s%s: \"\", for NULL %s%s: NULL",
			       f->pseudo ? "@" : "", tmp, f->pseudo ? "@" : "", tmp,
			       f->pseudo ? "@" : "", tmp);
	}
	d->arena[d->arena_len] = '\0';
	f->val.type = V_TEXT;
	f->val.s = d->arena + p->body_start;
	f->val.n = d->arena_len - p->body_start;
	d->arena_len++;
	p->body = NONE;
	return 0;
}

/* A "| raw" or "\ escaped" line t[s..e): append one piece to the body. */
static int parse_body_line(struct parser *p, size_t s, size_t e)
{
	struct fmt_doc *d = p->doc;
	const char *t = p->t, *bs;
	size_t i, run;
	char *o;

	if (p->body == NONE)
		return fail(p, s, "body line (starting with '|' or '\\') does not follow a \"name:\" line");
	if (t[s] == '|') {
		if (s + 1 < e && t[s + 1] != ' ')
			return fail(p, s + 1, "expected a space after '|' (\"| text\", or '|' alone for an empty line)");
	} else if (s + 1 >= e || t[s + 1] != ' ') {
		return fail(p, s + 1, "expected a space after '\\' at the start of a line (\"\\ text\" is a line of escaped text)");
	}
	/* separator, at most e - s - 2 bytes of text, and the final NUL */
	o = arena_reserve(p, e - s + 1);
	if (p->body_lines++) {
		*o++ = '\n';
	} else {
		d->fields[p->body].vline = p->lineno;
		d->fields[p->body].vcol = 1;
	}
	i = s + 2;
	if (t[s] == '|') {
		if (i < e) {
			memcpy(o, t + i, e - i);
			o += e - i;
		}
	} else {
		while (i < e) {
			bs = memchr(t + i, '\\', e - i);
			run = bs ? (size_t)(bs - t) : e;
			memcpy(o, t + i, run - i);
			o += run - i;
			if (!bs)
				break;
			i = decode_escape(p, run, e, &o);
			if (i == NONE)
				return -1;
		}
	}
	d->arena_len = (size_t)(o - d->arena);
	return 0;
}

static int parse_int(struct parser *p, size_t pos, size_t e, struct value *v)
{
	const char *t = p->t;
	int neg = t[pos] == '-';
	uint64_t u = 0, lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	unsigned dig;
	size_t i;

	for (i = pos + neg; i < e; i++) {
		dig = (unsigned)(t[i] - '0');
		if (u > (lim - dig) / 10)
			return fail(p, pos, "integer out of the 64-bit range (-9223372036854775808 to 9223372036854775807)");
		u = u * 10 + dig;
	}
	v->type = V_INT;
	v->i = neg ? (u ? -(int64_t)(u - 1) - 1 : 0) : (int64_t)u;
	return 0;
}

/*
 * Read a REAL literal of the shape fmt_classify_bare() checked (not Inf or
 * NaN) through fast_decimal() when it can: returns 0 when strtod() must.
 */
static int parse_decimal(const char *s, size_t n, double *out)
{
	size_t i = 0;
	uint64_t m = 0;
	int neg = s[0] == '-', nd = 0, k = 0, e = 0, eneg = 0;

	for (i = (size_t)neg; i < n && is_digit((unsigned char)s[i]); i++) {
		if (!m && s[i] == '0')
			continue;
		if (++nd > 19)
			return 0;
		m = m * 10 + (uint64_t)(s[i] - '0');
	}
	if (i < n && s[i] == '.') {
		for (i++; i < n && is_digit((unsigned char)s[i]); i++) {
			k--;
			if (!m && s[i] == '0')
				continue;
			if (++nd > 19)
				return 0;
			m = m * 10 + (uint64_t)(s[i] - '0');
		}
	}
	if (i < n) {            /* [eE][+-]?[0-9]+ */
		i++;
		if (s[i] == '+' || s[i] == '-')
			eneg = s[i++] == '-';
		for (; i < n; i++) {
			e = e * 10 + (s[i] - '0');
			if (e > 100000)
				return 0;
		}
	}
	k += eneg ? -e : e;
	if (!m)
		k = 0;
	if (!fast_decimal(m, k, out))
		return 0;
	if (neg)
		*out = -*out;
	return 1;
}

static int parse_real(struct parser *p, size_t pos, size_t e, struct value *v)
{
	const char *t = p->t;
	size_t n = e - pos;
	char *tmp, *end;

	v->type = V_REAL;
	if (n == 3 && t[pos] == 'I') {
		v->r = INFINITY;
		return 0;
	}
	if (n == 4 && t[pos + 1] == 'I') {
		v->r = -INFINITY;
		return 0;
	}
	if (n == 3 && t[pos] == 'N') {
		v->r = NAN;
		return 0;
	}
	if (parse_decimal(t + pos, n, &v->r))
		return 0;
	/* strtod() wants a NUL-terminated copy: use the arena as scratch */
	tmp = arena_reserve(p, n + 1);
	memcpy(tmp, t + pos, n);
	tmp[n] = '\0';
	v->r = strtod(tmp, &end);
	if (end != tmp + n)
		bug("strtod disagrees with fmt_classify_bare");
	if (isinf(v->r))
		return fail(p, pos, "number too large for a REAL (write Inf or -Inf for infinity)");
	return 0;
}

static int parse_blob(struct parser *p, size_t pos, size_t e, struct value *v)
{
	struct fmt_doc *d = p->doc;
	const char *t = p->t;
	size_t i, nd;
	char tmp[16], *o;

	if (e - pos < 3 || t[e - 1] != '\'')
		return fail(p, pos, "blob literal without its closing quote: write x'' with hex digits inside, as in x'00ff'");
	for (i = pos + 2; i < e - 1; i++)
		if (fmt_hexval((unsigned char)t[i]) < 0)
			return fail(p, i, "%s is not a hex digit, in blob literal",
				    show_byte(tmp, sizeof(tmp), (unsigned char)t[i]));
	nd = e - 1 - (pos + 2);
	if (nd % 2)
		return fail(p, pos, "blob literal with an odd number of hex digits (%zu)", nd);
	o = arena_reserve(p, nd / 2 + 1);
	for (i = 0; i < nd / 2; i++)
		o[i] = (char)(fmt_hexval((unsigned char)t[pos + 2 + 2 * i]) << 4 |
			      fmt_hexval((unsigned char)t[pos + 3 + 2 * i]));
	o[nd / 2] = '\0';
	v->type = V_BLOB;
	v->s = o;
	v->n = nd / 2;
	d->arena_len += nd / 2 + 1;
	return 0;
}

/* The value of a "name: value" line, t[pos..e), non-empty. */
static int parse_inline(struct parser *p, size_t pos, size_t e,
			struct value *v)
{
	struct fmt_doc *d = p->doc;
	const char *t = p->t;
	size_t off, n, after;
	char *o;

	if (t[pos] == '"') {
		after = parse_quoted(p, pos, e, &off, &n);
		if (after == NONE)
			return -1;
		if (after != e)
			return fail(p, after, "unexpected text after the closing quote (a quoted value must end its line)");
		v->type = V_TEXT;
		v->s = d->arena + off;
		v->n = n;
		return 0;
	}
	switch (fmt_classify_bare(t + pos, e - pos)) {
	case V_NULL:
		v->type = V_NULL;
		return 0;
	case V_INT:
		return parse_int(p, pos, e, v);
	case V_REAL:
		return parse_real(p, pos, e, v);
	case V_BLOB:
		return parse_blob(p, pos, e, v);
	case V_TEXT:
		break;
	}
	n = e - pos;
	o = arena_reserve(p, n + 1);
	memcpy(o, t + pos, n);
	o[n] = '\0';
	v->type = V_TEXT;
	v->s = o;
	v->n = n;
	d->arena_len += n + 1;
	return 0;
}

/* A field line t[s..e): "name: value", or "name:" before body lines. */
static int parse_field(struct parser *p, size_t s, size_t e)
{
	struct fmt_doc *d = p->doc;
	const char *t = p->t;
	int pseudo = t[s] == '@';
	size_t pos = s + (size_t)pseudo, off, n, idx, dup;
	struct fmt_field *f;
	char tmp[64];

	if (!p->have_rec)
		return fail(p, s, "field before any \"[table]\" header");
	if (pseudo && (pos >= e || !is_name_start((unsigned char)t[pos])))
		return fail(p, pos, "expected a pseudo-column name after '@': [A-Za-z_][A-Za-z0-9_]*");
	pos = parse_name(p, pos, e, "field", &off, &n);
	if (pos == NONE)
		return -1;
	if (pos >= e || t[pos] != ':')
		return fail(p, pos, "expected ':' after the field name (a name other than [A-Za-z_][A-Za-z0-9_]* must be written in double quotes)");
	idx = push_field(p);
	f = &d->fields[idx];
	f->name = d->arena + off;
	f->name_len = n;
	f->pseudo = pseudo;
	f->line = p->lineno;
	f->col = (int)(s - p->ls + 1);
	dup = find_or_add_field(p, idx);
	if (dup != NONE)
		return fail(p, s, "field %s given twice in one record (first on line %d)",
			    show_name(tmp, sizeof(tmp), f->name, f->name_len),
			    d->fields[dup].line);
	pos++;
	f->vline = p->lineno;
	f->vcol = (int)(pos - p->ls + 1);
	if (pos == e) {
		p->body = idx;
		p->body_lines = 0;
		p->body_start = d->arena_len;
		return 0;
	}
	if (t[pos] != ' ')
		return fail(p, pos, "expected \": \" after the field name (\"name: value\", or \"name:\" alone before body lines)");
	pos++;
	f->vcol++;
	if (pos == e) {
		show_name(tmp, sizeof(tmp), f->name, f->name_len);
		return fail(p, pos, "missing value after \"%s%s: \"; for empty text write %s%s: \"\", for NULL %s%s: NULL",
			    pseudo ? "@" : "", tmp, pseudo ? "@" : "", tmp,
			    pseudo ? "@" : "", tmp);
	}
	return parse_inline(p, pos, e, &f->val);
}

/* A "[table]" line t[s..e): starts a record. */
static int parse_header(struct parser *p, size_t s, size_t e)
{
	struct fmt_doc *d = p->doc;
	const char *t = p->t;
	struct fmt_record *r;
	size_t pos, off, n;

	pos = parse_name(p, s + 1, e, "table", &off, &n);
	if (pos == NONE)
		return -1;
	if (pos >= e || t[pos] != ']')
		return fail(p, pos, "expected ']' after the table name (a name other than [A-Za-z_][A-Za-z0-9_]* must be written in double quotes)");
	if (pos + 1 != e)
		return fail(p, pos + 1, "unexpected text after the \"[table]\" header");
	if (d->nrecs == d->recs_cap)
		d->recs = xrealloc_array(d->recs, &d->recs_cap, sizeof(*d->recs));
	r = &d->recs[d->nrecs++];
	r->table = d->arena + off;
	r->table_len = n;
	r->line = p->lineno;
	r->first = d->nfields;
	r->nfields = 0;
	p->have_rec = 1;
	return 0;
}

/* One line t[s..e), without its line end. */
static int parse_line(struct parser *p, size_t s, size_t e)
{
	const char *t = p->t;
	unsigned char c;
	char tmp[16];

	if (s == e || t[s] == '#')
		return end_body(p);
	c = (unsigned char)t[s];
	if (c == '|' || c == '\\')
		return parse_body_line(p, s, e);
	if (c == ' ' || c == '\t')
		return fail(p, s, "line starts with %s: every line must start in column 1 with a field name, '[', '|', '\\' or '#', or be empty",
			    show_byte(tmp, sizeof(tmp), c));
	if (c != '[' && c != '@' && c != '"' && !is_name_start(c))
		return fail(p, s, "unexpected %s at the start of a line: expected a field (name: value), a \"[table]\" header, a \"|\" or \"\\ \" body line, a \"#\" comment, or an empty line",
			    show_byte(tmp, sizeof(tmp), c));
	if (end_body(p) < 0)
		return -1;
	if (c == '[')
		return parse_header(p, s, e);
	return parse_field(p, s, e);
}

/* Offset of the first NUL byte or CR not followed by LF, or len. */
static size_t find_bad_byte(const char *t, size_t len)
{
	const char *z = memchr(t, '\0', len), *cr;
	size_t lim = z ? (size_t)(z - t) : len, i = 0;

	while (i < lim) {
		cr = memchr(t + i, '\r', lim - i);
		if (!cr)
			break;
		i = (size_t)(cr - t);
		if (i + 1 >= len || t[i + 1] != '\n')
			return i;
		i += 2;
	}
	return lim;
}

/* Offset of the first byte that does not start or continue valid UTF-8,
 * or len. archivefs writes every other byte escaped (\xHH), so such a byte
 * means the file was saved in another encoding (Latin-1...): reading it as
 * is would put that encoding's bytes in the database. */
static size_t find_bad_utf8(const char *t, size_t len)
{
	const unsigned char *u = (const unsigned char *)t;
	size_t i = 0, k;

	while (i < len) {
		if (u[i] < 0x80) {
			i++;
			continue;
		}
		k = utf8_seq(u + i, len - i);
		if (!k)
			return i;
		i += k;
	}
	return len;
}

void fmt_doc_init(struct fmt_doc *doc)
{
	memset(doc, 0, sizeof(*doc));
}

void fmt_doc_release(struct fmt_doc *doc)
{
	free(doc->recs);
	free(doc->fields);
	free(doc->arena);
	fmt_doc_init(doc);
}

/*
 * Lines are found with memchr(); NUL bytes and stray CRs are located once
 * up front and reported when the line holding them is reached, so errors
 * still come out in file order. The arena gets 2 * len + 64 bytes: every
 * string decoded from the file (name, value, body) takes at most the bytes
 * of its source plus a NUL, and each has at least one source byte of its
 * own, so this can never run out (arena_reserve() checks anyway).
 */
int fmt_parse(const char *text, size_t len, struct fmt_doc *doc,
	      struct fmt_error *err)
{
	struct parser p;
	size_t pos = 0, le, ce, bad_utf8;
	const char *nl;
	int ret = -1;

	memset(&p, 0, sizeof(p));
	p.t = text;
	p.len = len;
	p.doc = doc;
	p.err = err;
	p.body = NONE;
	err->line = err->col = 0;
	err->msg[0] = '\0';
	if (len >= INT_MAX || len > (SIZE_MAX - 64) / 2)
		return fail_at(&p, 0, 0, "file too large (%zu bytes)", len);
	doc->arena_cap = 2 * len + 64;
	doc->arena_len = 0;
	doc->arena = malloc(doc->arena_cap);
	if (!doc->arena) {
		out_of_memory(doc->arena_cap);
	}
	p.bad = len ? find_bad_byte(text, len) : 0;
	bad_utf8 = find_bad_utf8(text, len);
	if (len >= 3 && !memcmp(text, "\xef\xbb\xbf", 3))
		pos = 3;        /* UTF-8 byte order mark */
	while (pos < len) {
		nl = memchr(text + pos, '\n', len - pos);
		le = nl ? (size_t)(nl - text) : len;
		p.lineno++;
		p.ls = pos;
		if (bad_utf8 < le && bad_utf8 < p.bad) {
			fail(&p, bad_utf8, "byte 0x%02X is not UTF-8: the file was saved in another"
			     " encoding? Save it as UTF-8 (inside a value, write such a byte as"
			     " \\x%02X on a \"\\ \" line)", (unsigned char)text[bad_utf8],
			     (unsigned char)text[bad_utf8]);
			goto out;
		}
		if (p.bad < le) {
			if (text[p.bad])
				fail(&p, p.bad, "carriage return (CR) not followed by a line feed; inside a value write it as \\r");
			else
				fail(&p, p.bad, "NUL byte in the file; inside a value write it as \\x00");
			goto out;
		}
		ce = le;
		if (nl && ce > pos && text[ce - 1] == '\r')
			ce--;
		if (parse_line(&p, pos, ce) < 0)
			goto out;
		pos = nl ? le + 1 : len;
	}
	if (end_body(&p) < 0)
		goto out;
	ret = 0;
out:
	free(p.slots);
	if (ret) {
		doc->nrecs = 0;
		doc->nfields = 0;
	}
	return ret;
}
