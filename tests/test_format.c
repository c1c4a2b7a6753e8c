/*
 * test_format.c - unit tests of the archivefs text format (format.c).
 *
 * Hand-written cases cover every row of format.md: how each value is
 * rendered (golden text), how each literal is read, every parse error with
 * its line:column, and the input the reader tolerates (CRLF, no final LF,
 * a BOM). A randomized property test (fixed seed, own PRNG) then checks on
 * thousands of records built from hard fragments that
 * parse(render(rows)) == rows and render(parse(text)) == text, byte for
 * byte, and a mutation test checks that arbitrary damage to a file is
 * either refused with a position or read as values that round-trip.
 */
#include <check.h>
#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format.h"

/* --- helpers ------------------------------------------------------------ */

/* C-escaped bytes for failure messages; a few rotating static buffers. */
static const char *esc(const char *s, size_t n)
{
	static char bufs[8][1200];
	static unsigned k;
	char *o = bufs[k++ % 8];
	size_t i, j = 0;

	for (i = 0; i < n && j < 1100; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '\\' || c == '"') {
			o[j++] = '\\';
			o[j++] = (char)c;
		} else if (c == '\n') {
			o[j++] = '\\';
			o[j++] = 'n';
		} else if (c >= 0x20 && c < 0x7f) {
			o[j++] = (char)c;
		} else {
			j += (size_t)snprintf(o + j, 8, "\\x%02x", c);
		}
	}
	if (i < n) {
		memcpy(o + j, "...", 3);
		j += 3;
	}
	o[j] = '\0';
	return o;
}

static const char *vshow(const struct value *v)
{
	static char bufs[4][1400];
	static unsigned k;
	char *o = bufs[k++ % 4];
	double r;

	switch (v->type) {
	case V_NULL:
		return "NULL";
	case V_INT:
		snprintf(o, 1400, "INTEGER %" PRId64, v->i);
		return o;
	case V_REAL:
		r = v->r;
		snprintf(o, 1400, "REAL %.17g (bits %016" PRIx64 ")", r,
			 ({ uint64_t u; memcpy(&u, &r, 8); u; }));
		return o;
	case V_TEXT:
		snprintf(o, 1400, "TEXT[%zu] \"%s\"", v->n, esc(v->s, v->n));
		return o;
	case V_BLOB:
		snprintf(o, 1400, "BLOB[%zu] \"%s\"", v->n, esc(v->s, v->n));
		return o;
	}
	return "?";
}

/* value_equal(), except that any NaN equals any NaN. */
/* Strict UTF-8 (no overlong forms, surrogates or code points past
 * U+10FFFF), written out here independently of format.c's own check. */
static int valid_utf8(const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;

	for (size_t i = 0; i < n;) {
		unsigned c = u[i], need, cp, min;
		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			need = 1, cp = c & 0x1f, min = 0x80;
		else if (c >= 0xe0 && c <= 0xef)
			need = 2, cp = c & 0x0f, min = 0x800;
		else if (c >= 0xf0 && c <= 0xf4)
			need = 3, cp = c & 0x07, min = 0x10000;
		else
			return 0;
		if (n - i - 1 < need)
			return 0;
		for (unsigned k = 1; k <= need; k++) {
			if ((u[i + k] & 0xc0) != 0x80)
				return 0;
			cp = cp << 6 | (u[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		i += need + 1;
	}
	return 1;
}

static int same_value(const struct value *a, const struct value *b)
{
	if (a->type == V_REAL && b->type == V_REAL && isnan(a->r) && isnan(b->r))
		return 1;
	return value_equal(a, b);
}

static void assert_bytes_eq_(const char *what, const char *got, size_t gn,
			     const char *exp, size_t en, int line)
{
	size_t i = 0, from, gl, el;

	if (gn == en && (!gn || !memcmp(got, exp, gn)))
		return;
	while (i < gn && i < en && got[i] == exp[i])
		i++;
	from = i > 60 ? i - 60 : 0;
	gl = gn - from < 200 ? gn - from : 200;
	el = en - from < 200 ? en - from : 200;
	ck_assert_msg(0, "line %d: %s differ at byte %zu (got %zu bytes, expected %zu)\n"
		      "   got [from byte %zu]: \"%s\"\nexpected [from byte %zu]: \"%s\"",
		      line, what, i, gn, en, from, esc(got + from, gl),
		      from, esc(exp + from, el));
}
#define assert_bytes_eq(what, g, gn, e, en) \
	assert_bytes_eq_(what, g, gn, e, en, __LINE__)

/*
 * Parse from an exact-size heap copy without a NUL terminator, so that
 * ASan catches any read past the end, and free the copy at once, so that
 * any pointer from the document into the input would be caught too.
 */
static int parse_copy(const char *text, size_t len, struct fmt_doc *d,
		      struct fmt_error *e)
{
	char *c = malloc(len ? len : 1);
	int r;

	ck_assert_ptr_nonnull(c);
	if (len)
		memcpy(c, text, len);
	fmt_doc_init(d);
	r = fmt_parse(c, len, d, e);
	free(c);
	return r;
}

/* Parse, failing the test with the parser's message on error. */
static void parse_ok_(const char *text, size_t len, struct fmt_doc *d,
		      int line)
{
	struct fmt_error e;

	if (parse_copy(text, len, d, &e))
		ck_abort_msg("line %d: parse failed at %d:%d: %s\ninput: \"%s\"",
			     line, e.line, e.col, e.msg, esc(text, len));
}
#define parse_ok(t, n, d) parse_ok_(t, n, d, __LINE__)

/* Every string in a parsed document is NUL-terminated. */
static void check_terminated(const struct fmt_doc *d)
{
	size_t i;

	for (i = 0; i < d->nrecs; i++)
		ck_assert_msg(d->recs[i].table[d->recs[i].table_len] == '\0',
			      "table name %zu not NUL-terminated", i);
	for (i = 0; i < d->nfields; i++) {
		const struct fmt_field *f = &d->fields[i];

		ck_assert_msg(f->name[f->name_len] == '\0',
			      "field name %zu not NUL-terminated", i);
		if (f->val.type == V_TEXT || f->val.type == V_BLOB)
			ck_assert_msg(f->val.s && f->val.s[f->val.n] == '\0',
				      "value of field %zu not NUL-terminated", i);
	}
}

/* Render a whole parsed document with flags = 0 (no bodies but forced). */
static void render_doc_plain(struct buf *out, const struct fmt_doc *d)
{
	size_t r, f;

	for (r = 0; r < d->nrecs; r++) {
		const struct fmt_record *rec = &d->recs[r];

		fmt_render_record(out, rec->table, rec->table_len);
		for (f = rec->first; f < rec->first + rec->nfields; f++)
			fmt_render_field(out, d->fields[f].name,
					 d->fields[f].name_len, &d->fields[f].val,
					 d->fields[f].pseudo ? FMT_PSEUDO : 0);
	}
}

/* Two documents hold the same records, names and values. */
static void assert_docs_equal_(const struct fmt_doc *a, const struct fmt_doc *b,
			       int line)
{
	size_t i;

	ck_assert_msg(a->nrecs == b->nrecs, "line %d: %zu records vs %zu",
		      line, a->nrecs, b->nrecs);
	ck_assert_msg(a->nfields == b->nfields, "line %d: %zu fields vs %zu",
		      line, a->nfields, b->nfields);
	for (i = 0; i < a->nrecs; i++) {
		assert_bytes_eq_("table names", a->recs[i].table,
				 a->recs[i].table_len, b->recs[i].table,
				 b->recs[i].table_len, line);
		ck_assert_msg(a->recs[i].first == b->recs[i].first &&
			      a->recs[i].nfields == b->recs[i].nfields,
			      "line %d: record %zu has different fields", line, i);
	}
	for (i = 0; i < a->nfields; i++) {
		const struct fmt_field *x = &a->fields[i], *y = &b->fields[i];

		assert_bytes_eq_("field names", x->name, x->name_len, y->name,
				 y->name_len, line);
		ck_assert_msg(x->pseudo == y->pseudo,
			      "line %d: field %zu pseudo %d vs %d", line, i,
			      x->pseudo, y->pseudo);
		ck_assert_msg(same_value(&x->val, &y->val),
			      "line %d: field %zu (%s): %s vs %s", line, i,
			      esc(x->name, x->name_len), vshow(&x->val),
			      vshow(&y->val));
	}
}
#define assert_docs_equal(a, b) assert_docs_equal_(a, b, __LINE__)

/* Replace every "\n" by "\r\n". */
static char *to_crlf(const char *s, size_t n, size_t *outn)
{
	char *o = malloc(2 * n + 1);
	size_t i, j = 0;

	ck_assert_ptr_nonnull(o);
	for (i = 0; i < n; i++) {
		if (s[i] == '\n')
			o[j++] = '\r';
		o[j++] = s[i];
	}
	*outn = j;
	return o;
}

/*
 * Is s[0..n) valid UTF-8 with no control character but LF and TAB? (An
 * independent check that rendered files are clean text.)
 */
static int clean_text_file(const char *s, size_t n, size_t *where)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, k, j;
	uint32_t cp;

	while (i < n) {
		unsigned char c = u[i];

		*where = i;
		if (c < 0x80) {
			if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7f)
				return 0;
			i++;
			continue;
		}
		if ((c & 0xe0) == 0xc0) {
			k = 2;
			cp = c & 0x1f;
		} else if ((c & 0xf0) == 0xe0) {
			k = 3;
			cp = c & 0x0f;
		} else if ((c & 0xf8) == 0xf0) {
			k = 4;
			cp = c & 0x07;
		} else {
			return 0;
		}
		if (i + k > n)
			return 0;
		for (j = 1; j < k; j++) {
			if ((u[i + j] & 0xc0) != 0x80)
				return 0;
			cp = cp << 6 | (u[i + j] & 0x3f);
		}
		if ((k == 2 && cp < 0x80) || (k == 3 && cp < 0x800) ||
		    (k == 4 && cp < 0x10000) || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		i += k;
	}
	return 1;
}

#define VNULL { .type = V_NULL }
#define VINT(x) { .type = V_INT, .i = (x) }
#define VREAL(x) { .type = V_REAL, .r = (x) }
#define VTEXT(lit) { .type = V_TEXT, .s = (lit), .n = sizeof(lit) - 1 }
#define VBLOB(lit) { .type = V_BLOB, .s = (lit), .n = sizeof(lit) - 1 }

/* --- rendering: golden text ---------------------------------------------- */

struct render_case {
	struct value v;
	int flags;
	const char *exp;   /* the whole field, named "v" */
	size_t explen;
};

#define R(val, fl, e) { val, fl, e, sizeof(e) - 1 }

static const struct render_case render_cases[] = {
	/* NULL vs "" vs "NULL" */
	R(VNULL, 0, "v: NULL\n"),
	R(VTEXT(""), 0, "v: \"\"\n"),
	R(VTEXT(""), FMT_BODY, "v: \"\"\n"),
	R(VTEXT("NULL"), 0, "v: \"NULL\"\n"),
	R(VTEXT("null"), 0, "v: null\n"),
	R(VTEXT("NULLx"), 0, "v: NULLx\n"),
	/* 12 vs "12" */
	R(VINT(12), 0, "v: 12\n"),
	R(VTEXT("12"), 0, "v: \"12\"\n"),
	R(VINT(0), 0, "v: 0\n"),
	R(VINT(-7), 0, "v: -7\n"),
	R(VINT(INT64_MAX), 0, "v: 9223372036854775807\n"),
	R(VINT(INT64_MIN), 0, "v: -9223372036854775808\n"),
	R(VINT(12), FMT_BODY, "v: 12\n"),
	R(VTEXT("-12"), 0, "v: \"-12\"\n"),
	R(VTEXT("012"), 0, "v: \"012\"\n"),
	R(VTEXT("12abc"), 0, "v: 12abc\n"),
	R(VTEXT("-"), 0, "v: -\n"),
	R(VTEXT("+5"), 0, "v: +5\n"),
	/* REAL */
	R(VREAL(0.1 + 0.2), 0, "v: 0.30000000000000004\n"),
	R(VREAL(0.1), 0, "v: 0.1\n"),
	R(VREAL(1.0), 0, "v: 1.0\n"),
	R(VREAL(-0.5), 0, "v: -0.5\n"),
	R(VREAL(100.0), 0, "v: 100.0\n"),
	R(VREAL(0.0), 0, "v: 0.0\n"),
	R(VREAL(-0.0), 0, "v: -0.0\n"),
	R(VREAL(1e300), 0, "v: 1e+300\n"),
	R(VREAL(1e16), 0, "v: 1e+16\n"),
	R(VREAL(123456789.0), 0, "v: 123456789.0\n"),
	R(VREAL(5e-324), 0, "v: 4.94065645841247e-324\n"),
	R(VREAL(DBL_MAX), 0, "v: 1.7976931348623157e+308\n"),
	R(VREAL(-DBL_MAX), 0, "v: -1.7976931348623157e+308\n"),
	R(VREAL(DBL_MIN), 0, "v: 2.2250738585072014e-308\n"),
	R(VREAL(0.95), 0, "v: 0.95\n"),
	R(VREAL(1.0 / 3), 0, "v: 0.3333333333333333\n"),
	R(VREAL(INFINITY), 0, "v: Inf\n"),
	R(VREAL(-INFINITY), 0, "v: -Inf\n"),
	R(VREAL(NAN), 0, "v: NaN\n"),
	R(VREAL(1.5), FMT_BODY, "v: 1.5\n"),
	R(VTEXT("1.5"), 0, "v: \"1.5\"\n"),
	R(VTEXT("1e5"), 0, "v: \"1e5\"\n"),
	R(VTEXT("1E-5"), 0, "v: \"1E-5\"\n"),
	R(VTEXT("Inf"), 0, "v: \"Inf\"\n"),
	R(VTEXT("-Inf"), 0, "v: \"-Inf\"\n"),
	R(VTEXT("NaN"), 0, "v: \"NaN\"\n"),
	R(VTEXT("-NaN"), 0, "v: -NaN\n"),
	R(VTEXT("1."), 0, "v: 1.\n"),
	R(VTEXT(".5"), 0, "v: .5\n"),
	R(VTEXT("1e"), 0, "v: 1e\n"),
	R(VTEXT("Infinity"), 0, "v: Infinity\n"),
	/* BLOB */
	R(VBLOB(""), 0, "v: x''\n"),
	R(VBLOB("\0\0"), 0, "v: x'0000'\n"),
	R(VBLOB("\x00\x01\xab\xff"), 0, "v: x'0001abff'\n"),
	R(VBLOB("hi\n"), FMT_BODY, "v: x'68690a'\n"),
	R(VTEXT("x''"), 0, "v: \"x''\"\n"),
	R(VTEXT("x'00'"), 0, "v: \"x'00'\"\n"),
	R(VTEXT("x'"), 0, "v: \"x'\"\n"),
	R(VTEXT("x'mas"), 0, "v: \"x'mas\"\n"),
	R(VTEXT("X'00'"), 0, "v: X'00'\n"),
	R(VTEXT("x"), 0, "v: x\n"),
	/* TEXT, bare or quoted */
	R(VTEXT("hello world"), 0, "v: hello world\n"),
	R(VTEXT("a: b"), 0, "v: a: b\n"),
	R(VTEXT("# not a comment"), 0, "v: # not a comment\n"),
	R(VTEXT("[x]"), 0, "v: [x]\n"),
	R(VTEXT("| x"), 0, "v: | x\n"),
	R(VTEXT("\\ x"), 0, "v: \\ x\n"),
	R(VTEXT("a\\b"), 0, "v: a\\b\n"),
	R(VTEXT("a\"b\""), 0, "v: a\"b\"\n"),
	R(VTEXT("\"x"), 0, "v: \"\\\"x\"\n"),
	R(VTEXT("\""), 0, "v: \"\\\"\"\n"),
	R(VTEXT("  padded "), 0, "v: \"  padded \"\n"),
	R(VTEXT(" "), 0, "v: \" \"\n"),
	R(VTEXT(" lead"), 0, "v: \" lead\"\n"),
	R(VTEXT("\tlead"), 0, "v: \"\\tlead\"\n"),
	R(VTEXT("in side"), 0, "v: in side\n"),
	R(VTEXT("trailing "), 0, "v: \"trailing \"\n"),
	R(VTEXT("a\tb"), 0, "v: \"a\\tb\"\n"),
	R(VTEXT("a\rb"), 0, "v: \"a\\rb\"\n"),
	R(VTEXT("a\r"), 0, "v: \"a\\r\"\n"),
	R(VTEXT("a\0b"), 0, "v: \"a\\x00b\"\n"),
	R(VTEXT("\0"), 0, "v: \"\\x00\"\n"),
	R(VTEXT("\x01\x1f\x7f"), 0, "v: \"\\x01\\x1f\\x7f\"\n"),
	R(VTEXT("\\\"\t"), 0, "v: \"\\\\\\\"\\t\"\n"),
	R(VTEXT("é"), 0, "v: é\n"),
	R(VTEXT("🙏"), 0, "v: 🙏\n"),
	R(VTEXT("Привет, мир"), 0, "v: Привет, мир\n"),
	R(VTEXT("שלום עולם"), 0, "v: שלום עולם\n"),
	R(VTEXT("مرحبا بالعالم"), 0, "v: مرحبا بالعالم\n"),
	R(VTEXT("  Бо́рис 🙏 "), 0, "v: \"  Бо́рис 🙏 \"\n"),
	R(VTEXT("\xc2\x85"), 0, "v: \xc2\x85\n"),              /* U+0085 */
	R(VTEXT("\xef\xbb\xbf" "a"), 0, "v: \xef\xbb\xbf" "a\n"),
	/* invalid UTF-8: every bad byte escaped, good ones kept */
	R(VTEXT("\xff"), 0, "v: \"\\xff\"\n"),
	R(VTEXT("a\xff" "b"), 0, "v: \"a\\xffb\"\n"),
	R(VTEXT("\xc0\x80"), 0, "v: \"\\xc0\\x80\"\n"),            /* overlong NUL */
	R(VTEXT("\xe0\x80\xaf"), 0, "v: \"\\xe0\\x80\\xaf\"\n"),    /* overlong '/' */
	R(VTEXT("\xed\xa0\x80"), 0, "v: \"\\xed\\xa0\\x80\"\n"),    /* surrogate */
	R(VTEXT("\xf4\x90\x80\x80"), 0, "v: \"\\xf4\\x90\\x80\\x80\"\n"), /* >U+10FFFF */
	R(VTEXT("\xf4\x8f\xbf\xbf"), 0, "v: \xf4\x8f\xbf\xbf\n"),   /* U+10FFFF */
	R(VTEXT("\xe2\x82" "é"), 0, "v: \"\\xe2\\x82é\"\n"),         /* truncated */
	R(VTEXT("é\xa9"), 0, "v: \"é\\xa9\"\n"),
	/* bodies */
	R(VTEXT("a\nb"), 0, "v:\n| a\n| b\n"),
	R(VTEXT("a\n"), 0, "v:\n| a\n|\n"),
	R(VTEXT("\n"), 0, "v:\n|\n|\n"),
	R(VTEXT("\n\n"), 0, "v:\n|\n|\n|\n"),
	R(VTEXT("a\n\nb"), 0, "v:\n| a\n|\n| b\n"),
	R(VTEXT("abc"), FMT_BODY, "v:\n| abc\n"),
	R(VTEXT("abc "), FMT_BODY, "v:\n\\ abc\\x20\n"),
	R(VTEXT("a  "), FMT_BODY, "v:\n\\ a \\x20\n"),
	R(VTEXT(" "), FMT_BODY, "v:\n\\ \\x20\n"),
	R(VTEXT("a\t"), FMT_BODY, "v:\n\\ a\\t\n"),
	R(VTEXT("\ta"), FMT_BODY, "v:\n| \ta\n"),
	R(VTEXT("  indented"), FMT_BODY, "v:\n|   indented\n"),
	R(VTEXT("a\r\nb\r\n"), 0, "v:\n\\ a\\r\n\\ b\\r\n|\n"),
	R(VTEXT("a\rb\n"), 0, "v:\n\\ a\\rb\n|\n"),
	R(VTEXT("[x]\n# x\n| x\n\\ x\nname: v\n"), 0,
	  "v:\n| [x]\n| # x\n| | x\n| \\ x\n| name: v\n|\n"),
	R(VTEXT("a\\b\x01\n"), 0, "v:\n\\ a\\\\b\\x01\n|\n"),
	R(VTEXT("say \"hi\"\x7f"), FMT_BODY, "v:\n\\ say \"hi\"\\x7f\n"),
	R(VTEXT("\"q\"\n"), 0, "v:\n| \"q\"\n|\n"),
	R(VTEXT("\xff\n"), 0, "v:\n\\ \\xff\n|\n"),
	R(VTEXT("a\0b\n"), 0, "v:\n\\ a\\x00b\n|\n"),
	R(VTEXT("NULL"), FMT_BODY, "v:\n| NULL\n"),
	R(VTEXT("12"), FMT_BODY, "v:\n| 12\n"),
	R(VTEXT("Привет 🙏\nשלום"), 0, "v:\n| Привет 🙏\n| שלום\n"),
	R(VTEXT("a \nb"), 0, "v:\n\\ a\\x20\n| b\n"),
};

START_TEST(test_render_value)
{
	const struct render_case *c = &render_cases[_i];
	struct buf b = BUF_INIT;

	fmt_render_field(&b, "v", 1, &c->v, c->flags);
	ck_assert_msg(b.len == c->explen && !memcmp(b.data, c->exp, b.len),
		      "case %d: %s with flags %d rendered as \"%s\", expected \"%s\"",
		      _i, vshow(&c->v), c->flags, esc(b.data, b.len),
		      esc(c->exp, c->explen));
	buf_release(&b);
}
END_TEST

/* Every golden field also parses back to its value (NaN to a NaN). */
START_TEST(test_render_value_parses_back)
{
	const struct render_case *c = &render_cases[_i];
	struct buf b = BUF_INIT, again = BUF_INIT;
	struct fmt_doc d;

	buf_addstr(&b, "[t]\n");
	buf_add(&b, c->exp, c->explen);
	parse_ok(b.data, b.len, &d);
	ck_assert_msg(d.nrecs == 1 && d.nfields == 1,
		      "case %d: %zu records, %zu fields", _i, d.nrecs, d.nfields);
	ck_assert_msg(same_value(&d.fields[0].val, &c->v),
		      "case %d: \"%s\" read as %s, expected %s", _i,
		      esc(c->exp, c->explen), vshow(&d.fields[0].val),
		      vshow(&c->v));
	check_terminated(&d);
	fmt_render_field(&again, d.fields[0].name, d.fields[0].name_len,
			 &d.fields[0].val, c->flags);
	assert_bytes_eq("re-rendered field", again.data, again.len, c->exp,
			c->explen);
	fmt_doc_release(&d);
	buf_release(&b);
	buf_release(&again);
}
END_TEST

START_TEST(test_render_inline)
{
	static const struct {
		struct value v;
		const char *exp;
	} cases[] = {
		{ VNULL, "NULL" },
		{ VINT(-42), "-42" },
		{ VREAL(2.5), "2.5" },
		{ VBLOB("\x01"), "x'01'" },
		{ VTEXT("a\nb"), "\"a\\nb\"" },     /* never a body */
		{ VTEXT("plain"), "plain" },
		{ VTEXT(""), "\"\"" },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct buf b = BUF_INIT;

		fmt_render_inline(&b, &cases[i].v);
		assert_bytes_eq(vshow(&cases[i].v), b.data, b.len, cases[i].exp,
				strlen(cases[i].exp));
		buf_release(&b);
	}
}
END_TEST

START_TEST(test_render_real_direct)
{
	static const struct {
		double r;
		const char *exp;
	} cases[] = {
		{ 0.1 + 0.2, "0.30000000000000004" },
		{ 1.0, "1.0" },
		{ -1.0, "-1.0" },
		{ -0.5, "-0.5" },
		{ 1e300, "1e+300" },
		{ 1e-300, "1e-300" },
		{ 5e-324, "4.94065645841247e-324" },
		{ DBL_MAX, "1.7976931348623157e+308" },
		{ 9007199254740993.0, "9007199254740992.0" },
		{ 1e15, "1e+15" },
		{ 123456789012345.0, "123456789012345.0" },
		{ 0.3, "0.3" },
		{ 2.0 / 3, "0.6666666666666666" },
		{ 1e21, "1e+21" },
		{ INFINITY, "Inf" },
		{ -INFINITY, "-Inf" },
		{ -NAN, "NaN" },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct buf b = BUF_INIT;

		fmt_render_real(&b, cases[i].r);
		assert_bytes_eq("REAL text", b.data, b.len, cases[i].exp,
				strlen(cases[i].exp));
		buf_release(&b);
	}
}
END_TEST

START_TEST(test_render_names)
{
	static const struct {
		const char *name;
		size_t len;
		int flags;
		const char *exp;
	} cases[] = {
		{ "id", 2, 0, "id: 5\n" },
		{ "_x9", 3, 0, "_x9: 5\n" },
		{ "rowid", 5, FMT_PSEUDO, "@rowid: 5\n" },
		{ "rowid", 5, FMT_PSEUDO | FMT_BODY, "@rowid: 5\n" },
		{ "col: 2", 6, 0, "\"col: 2\": 5\n" },
		{ "", 0, 0, "\"\": 5\n" },
		{ "9x", 2, 0, "\"9x\": 5\n" },
		{ "a b", 3, 0, "\"a b\": 5\n" },
		{ "a-b", 3, 0, "\"a-b\": 5\n" },
		{ "@x", 2, 0, "\"@x\": 5\n" },
		{ "é", 2, 0, "\"é\": 5\n" },
		{ "a\"b\\", 4, 0, "\"a\\\"b\\\\\": 5\n" },
		{ "a\nb\0", 4, 0, "\"a\\nb\\x00\": 5\n" },
		{ "#", 1, 0, "\"#\": 5\n" },
		{ "NULL", 4, 0, "NULL: 5\n" },
	};
	struct value five = VINT(5);
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct buf b = BUF_INIT;

		fmt_render_field(&b, cases[i].name, cases[i].len, &five,
				 cases[i].flags);
		assert_bytes_eq("field line", b.data, b.len, cases[i].exp,
				strlen(cases[i].exp));
		buf_release(&b);
	}
}
END_TEST

#define assert_buf_lit(what, b, lit) \
	assert_bytes_eq(what, (b).data, (b).len, lit, sizeof(lit) - 1)

START_TEST(test_render_record_and_comment)
{
	static const char c1[] = "hello \"world\" \\ é";
	static const char c2[] = "a\nb\tc\rd\xff\0\x7f";
	struct buf b = BUF_INIT;

	fmt_render_record(&b, "prayer", 6);
	assert_buf_lit("record", b, "\n[prayer]\n");
	buf_reset(&b);
	fmt_render_record(&b, "my table", 8);
	assert_buf_lit("record", b, "\n[\"my table\"]\n");
	buf_reset(&b);
	fmt_render_record(&b, "", 0);
	assert_buf_lit("record", b, "\n[\"\"]\n");
	buf_reset(&b);
	fmt_render_record(&b, "a]\"", 3);
	assert_buf_lit("record", b, "\n[\"a]\\\"\"]\n");
	buf_reset(&b);
	fmt_render_comment(&b, c1, sizeof(c1) - 1);
	assert_buf_lit("comment", b, "# hello \"world\" \\ é\n");
	buf_reset(&b);
	fmt_render_comment(&b, "", 0);
	assert_buf_lit("comment", b, "#\n");
	buf_reset(&b);
	fmt_render_comment(&b, c2, sizeof(c2) - 1);
	assert_buf_lit("comment", b, "# a\\x0ab\\x09c\\x0dd\\xff\\x00\\x7f\n");
	buf_release(&b);
}
END_TEST

/* A prayer file like the worked example of format.md, rendered through the API. */
static const char golden_prayer[] =
	"# prayer 3f2a9c8e1b2d4f6a8c0e2b4d6f8a0c2e\n"
	"# archivefs text format 1: \"[table]\" starts a row, \"name: value\" is a field,\n"
	"# \"| \" lines are text as written, \"\\ \" lines are text with \\-escapes.\n"
	"\n"
	"[prayer]\n"
	"id: 3f2a9c8e1b2d4f6a8c0e2b4d6f8a0c2e\n"
	"author_username: alice\n"
	"text:\n"
	"| Please pray for my mother: surgery on Friday.\n"
	"| She is 81 and | afraid \\ tired.\n"
	"generated_prayer:\n"
	"\\ Lord, hold her close.\\r\n"
	"\\ Give the doctors steady hands.\\r\n"
	"|\n"
	"project_tag: NULL\n"
	"created_at: 2024-03-14 09:26:53.120034\n"
	"flagged: 0\n"
	"text_file_path: \"\"\n"
	"safety_score: 0.95\n"
	"specificity_confidence: 0.30000000000000004\n"
	"is_featured: 0\n"
	"\n"
	"[prayermark]\n"
	"id: 7d1c0e…\n"
	"username: bob\n"
	"prayer_id: 3f2a9c8e1b2d4f6a8c0e2b4d6f8a0c2e\n"
	"created_at: 2024-03-14 10:02:11.000000\n"
	"text_file_path: NULL\n"
	"\n"
	"[user]\n"
	"display_name: \"  Бо́рис 🙏 \"\n"
	"@rowid: 17\n"
	"avatar: x'89504e470d0a1a0a00'\n";

struct golden_field {
	const char *name;
	int flags;
	struct value v;
};

static const struct golden_field golden_fields[] = {
	{ "id", 0, VTEXT("3f2a9c8e1b2d4f6a8c0e2b4d6f8a0c2e") },
	{ "author_username", 0, VTEXT("alice") },
	{ "text", FMT_BODY, VTEXT("Please pray for my mother: surgery on Friday.\n"
				  "She is 81 and | afraid \\ tired.") },
	{ "generated_prayer", FMT_BODY, VTEXT("Lord, hold her close.\r\n"
					      "Give the doctors steady hands.\r\n") },
	{ "project_tag", 0, VNULL },
	{ "created_at", 0, VTEXT("2024-03-14 09:26:53.120034") },
	{ "flagged", 0, VINT(0) },
	{ "text_file_path", FMT_BODY, VTEXT("") },
	{ "safety_score", 0, VREAL(0.95) },
	{ "specificity_confidence", 0, VREAL(0.1 + 0.2) },
	{ "is_featured", 0, VINT(0) },
	/* [prayermark] */
	{ "id", 0, VTEXT("7d1c0e…") },
	{ "username", 0, VTEXT("bob") },
	{ "prayer_id", 0, VTEXT("3f2a9c8e1b2d4f6a8c0e2b4d6f8a0c2e") },
	{ "created_at", 0, VTEXT("2024-03-14 10:02:11.000000") },
	{ "text_file_path", 0, VNULL },
	/* [user] */
	{ "display_name", 0, VTEXT("  Бо́рис 🙏 ") },
	{ "rowid", FMT_PSEUDO, VINT(17) },
	{ "avatar", 0, VBLOB("\x89PNG\r\n\x1a\n\0") },
};
static const char *const golden_tables[] = { "prayer", "prayermark", "user" };
static const size_t golden_counts[] = { 11, 5, 3 };

static void render_golden(struct buf *b, const struct fmt_doc *from)
{
	static const char *const comments[] = {
		"prayer 3f2a9c8e1b2d4f6a8c0e2b4d6f8a0c2e",
		"archivefs text format 1: \"[table]\" starts a row, \"name: value\" is a field,",
		"\"| \" lines are text as written, \"\\ \" lines are text with \\-escapes.",
	};
	size_t r, f, k = 0;

	for (r = 0; r < 3; r++)
		fmt_render_comment(b, comments[r], strlen(comments[r]));
	for (r = 0; r < 3; r++) {
		fmt_render_record(b, golden_tables[r], strlen(golden_tables[r]));
		for (f = 0; f < golden_counts[r]; f++, k++) {
			const struct golden_field *g = &golden_fields[k];

			if (from)
				fmt_render_field(b, from->fields[k].name,
						 from->fields[k].name_len,
						 &from->fields[k].val, g->flags);
			else
				fmt_render_field(b, g->name, strlen(g->name),
						 &g->v, g->flags);
		}
	}
}

static void check_golden_doc(const struct fmt_doc *d)
{
	size_t r, k;

	ck_assert_msg(d->nrecs == 3, "%zu records", d->nrecs);
	ck_assert_msg(d->nfields == 19, "%zu fields", d->nfields);
	for (r = 0, k = 0; r < 3; k += golden_counts[r], r++) {
		assert_bytes_eq("table", d->recs[r].table, d->recs[r].table_len,
				golden_tables[r], strlen(golden_tables[r]));
		ck_assert_msg(d->recs[r].first == k &&
			      d->recs[r].nfields == golden_counts[r],
			      "record %zu: first %zu, %zu fields", r,
			      d->recs[r].first, d->recs[r].nfields);
	}
	for (k = 0; k < 19; k++) {
		const struct golden_field *g = &golden_fields[k];

		assert_bytes_eq("field name", d->fields[k].name,
				d->fields[k].name_len, g->name, strlen(g->name));
		ck_assert_int_eq(d->fields[k].pseudo, !!(g->flags & FMT_PSEUDO));
		ck_assert_msg(value_equal(&d->fields[k].val, &g->v),
			      "field %s: %s, expected %s", g->name,
			      vshow(&d->fields[k].val), vshow(&g->v));
	}
	check_terminated(d);
}

START_TEST(test_golden_file)
{
	struct buf b = BUF_INIT, again = BUF_INIT;
	struct fmt_doc d;

	render_golden(&b, NULL);
	assert_bytes_eq("golden file", b.data, b.len, golden_prayer,
			sizeof(golden_prayer) - 1);
	parse_ok(b.data, b.len, &d);
	check_golden_doc(&d);
	render_golden(&again, &d);
	assert_bytes_eq("render(parse(golden))", again.data, again.len,
			golden_prayer, sizeof(golden_prayer) - 1);
	fmt_doc_release(&d);
	buf_release(&b);
	buf_release(&again);
}
END_TEST

/* --- parsing: literals ---------------------------------------------------- */

struct parse_case {
	const char *src;   /* after "[t]\n" */
	size_t len;
	struct value v;
};

#define P(s, val) { s, sizeof(s) - 1, val }

static const struct parse_case parse_cases[] = {
	P("v: NULL\n", VNULL),
	P("v: \"NULL\"\n", VTEXT("NULL")),
	P("v: \"\"\n", VTEXT("")),
	P("v: null\n", VTEXT("null")),
	P("v: 12\n", VINT(12)),
	P("v: \"12\"\n", VTEXT("12")),
	P("v: -12\n", VINT(-12)),
	P("v: 0\n", VINT(0)),
	P("v: -0\n", VINT(0)),
	P("v: 007\n", VINT(7)),
	P("v: 9223372036854775807\n", VINT(INT64_MAX)),
	P("v: -9223372036854775808\n", VINT(INT64_MIN)),
	P("v: 00000000000000000000009223372036854775807\n", VINT(INT64_MAX)),
	P("v: 1.5\n", VREAL(1.5)),
	P("v: -0.5\n", VREAL(-0.5)),
	P("v: -0.0\n", VREAL(-0.0)),
	P("v: 1e5\n", VREAL(1e5)),
	P("v: 1E5\n", VREAL(1e5)),
	P("v: 1e+300\n", VREAL(1e300)),
	P("v: 1.5e-3\n", VREAL(1.5e-3)),
	P("v: 1.5E+3\n", VREAL(1.5e3)),
	P("v: 0.30000000000000004\n", VREAL(0.1 + 0.2)),
	P("v: 4.9406564584124654e-324\n", VREAL(5e-324)),
	P("v: 1.7976931348623157e+308\n", VREAL(DBL_MAX)),
	P("v: 1e-400\n", VREAL(0.0)),       /* underflow reads as 0.0 */
	/* 20 significant digits: more than a uint64_t holds */
	P("v: 18446744073709551617.0\n", VREAL(18446744073709551617.0)),
	P("v: 0.18446744073709551617\n", VREAL(0.18446744073709551617)),
	P("v: 36893488147419103233e-20\n", VREAL(0.36893488147419103233)),
	P("v: 9007199254740993.0\n", VREAL(9007199254740993.0)),
	P("v: 0.000000000000000000000000000000000000001\n", VREAL(1e-39)),
	P("v: 123456789e-30\n", VREAL(123456789e-30)),
	P("v: Inf\n", VREAL(INFINITY)),
	P("v: -Inf\n", VREAL(-INFINITY)),
	P("v: NaN\n", VREAL(NAN)),
	P("v: x''\n", VBLOB("")),
	P("v: x'00ff'\n", VBLOB("\x00\xff")),
	P("v: x'00FF'\n", VBLOB("\x00\xff")),
	P("v: x'DEADbeef'\n", VBLOB("\xde\xad\xbe\xef")),
	P("v: hello world\n", VTEXT("hello world")),
	P("v: a: b\n", VTEXT("a: b")),
	P("v: 12abc\n", VTEXT("12abc")),
	P("v: 1.\n", VTEXT("1.")),
	P("v: .5\n", VTEXT(".5")),
	P("v: 1e\n", VTEXT("1e")),
	P("v: 1e+\n", VTEXT("1e+")),
	P("v: 1.5e\n", VTEXT("1.5e")),
	P("v: -\n", VTEXT("-")),
	P("v: --1\n", VTEXT("--1")),
	P("v: +5\n", VTEXT("+5")),
	P("v: Infinity\n", VTEXT("Infinity")),
	P("v: nan\n", VTEXT("nan")),
	P("v: -NaN\n", VTEXT("-NaN")),
	P("v: X'00'\n", VTEXT("X'00'")),
	P("v: x\n", VTEXT("x")),
	P("v: a \"quoted\" word\n", VTEXT("a \"quoted\" word")),
	P("v: back\\slash \\n\n", VTEXT("back\\slash \\n")),
	P("v: as written  \n", VTEXT("as written  ")),  /* bare: to end of line */
	P("v:  lead\n", VTEXT(" lead")),
	P("v: a\tb\n", VTEXT("a\tb")),
	P("v: \"a\\tb\\r\\n\\x00\\\\\\\"\"\n", VTEXT("a\tb\r\n\0\\\"")),
	P("v: \"\\xff\\xC0\\x7F\"\n", VTEXT("\xff\xc0\x7f")),
	P("v: \"with # and : and |\"\n", VTEXT("with # and : and |")),
	P("v: 🙏\n", VTEXT("🙏")),
	P("v: Привет\n", VTEXT("Привет")),
	P("v: שלום\n", VTEXT("שלום")),
	P("v: مرحبا\n", VTEXT("مرحبا")),
	/* bodies */
	P("v:\n| a\n| b\n", VTEXT("a\nb")),
	P("v:\n| a\n|\n", VTEXT("a\n")),
	P("v:\n|\n", VTEXT("")),
	P("v:\n| \n", VTEXT("")),
	P("v:\n| a \n", VTEXT("a ")),                  /* raw: as written */
	P("v:\n|   indented\n", VTEXT("  indented")),
	P("v:\n| \ttab\n", VTEXT("\ttab")),
	P("v:\n| \\n is not an escape here \"\n", VTEXT("\\n is not an escape here \"")),
	P("v:\n\\ a\\x20\n", VTEXT("a ")),
	P("v:\n\\ \\r\n|\n", VTEXT("\r\n")),
	P("v:\n\\ a\\nb\n", VTEXT("a\nb")),
	P("v:\n\\ say \"hi\" \\\"x\\\"\n", VTEXT("say \"hi\" \"x\"")),
	P("v:\n\\ \n", VTEXT("")),
	P("v:\n\\ \\\\\\t\\x00\\xFF\n| z\n", VTEXT("\\\t\0\xff\nz")),
	P("v:\n| [x]\n| # x\n| | x\n| \\ x\n| name: v\n",
	  VTEXT("[x]\n# x\n| x\n\\ x\nname: v")),
	P("v:\n| a\n\n", VTEXT("a")),                 /* blank line ends it */
	P("v:\n| a\n# c\n", VTEXT("a")),              /* so does a comment */
	P("v:\n| a\n| b", VTEXT("a\nb")),             /* no final LF */
	P("v:\n| a\n|", VTEXT("a\n")),
	P("v: x", VTEXT("x")),
	P("v: \"x\"", VTEXT("x")),
	P("v: 12", VINT(12)),
	/* quoted and pseudo names */
	P("\"col: 2\": 5\n", VINT(5)),
	P("\"\": 5\n", VINT(5)),
	P("@rowid: 5\n", VINT(5)),
};

START_TEST(test_parse_value)
{
	const struct parse_case *c = &parse_cases[_i];
	struct buf b = BUF_INIT;
	struct fmt_doc d;

	buf_addstr(&b, "[t]\n");
	buf_add(&b, c->src, c->len);
	parse_ok(b.data, b.len, &d);
	ck_assert_msg(d.nrecs == 1 && d.nfields == 1,
		      "case %d \"%s\": %zu records, %zu fields", _i,
		      esc(c->src, c->len), d.nrecs, d.nfields);
	ck_assert_msg(same_value(&d.fields[0].val, &c->v),
		      "case %d: \"%s\" read as %s, expected %s", _i,
		      esc(c->src, c->len), vshow(&d.fields[0].val), vshow(&c->v));
	if (c->v.type == V_REAL && isnan(c->v.r))
		ck_assert(isnan(d.fields[0].val.r));
	check_terminated(&d);
	fmt_doc_release(&d);
	buf_release(&b);
}
END_TEST

START_TEST(test_parse_names)
{
	static const char text[] =
		"[\"my table\"]\n"
		"\"col: 2\": 1\n"
		"\"\": 2\n"
		"\"a\\x00b\": 3\n"
		"@rowid: 4\n"
		"rowid: 5\n"                 /* not the same field as @rowid */
		"\"rowid2\": 6\n"
		"\n"
		"[\"\"]\n"
		"[\"\\\"]\\\\\"]\n";
	struct fmt_doc d;

	parse_ok(text, sizeof(text) - 1, &d);
	ck_assert_uint_eq(d.nrecs, 3);
	ck_assert_uint_eq(d.nfields, 6);
	assert_bytes_eq("table", d.recs[0].table, d.recs[0].table_len,
			"my table", 8);
	assert_bytes_eq("table", d.recs[1].table, d.recs[1].table_len, "", 0);
	assert_bytes_eq("table", d.recs[2].table, d.recs[2].table_len,
			"\"]\\", 3);
	ck_assert_uint_eq(d.recs[1].nfields, 0);
	ck_assert_uint_eq(d.recs[2].nfields, 0);
	assert_bytes_eq("name", d.fields[0].name, d.fields[0].name_len,
			"col: 2", 6);
	assert_bytes_eq("name", d.fields[1].name, d.fields[1].name_len, "", 0);
	assert_bytes_eq("name", d.fields[2].name, d.fields[2].name_len,
			"a\0b", 3);
	assert_bytes_eq("name", d.fields[3].name, d.fields[3].name_len,
			"rowid", 5);
	ck_assert_int_eq(d.fields[3].pseudo, 1);
	assert_bytes_eq("name", d.fields[4].name, d.fields[4].name_len,
			"rowid", 5);
	ck_assert_int_eq(d.fields[4].pseudo, 0);
	ck_assert_int_eq(d.fields[5].pseudo, 0);
	check_terminated(&d);
	fmt_doc_release(&d);
}
END_TEST

/* Records, positions, comments and blank lines between fields. */
START_TEST(test_parse_structure)
{
	static const char text[] =
		"# title\n"                   /* 1 */
		"#\n"                         /* 2 */
		"\n"                          /* 3 */
		"[a]\n"                       /* 4 */
		"x: 1\n"                      /* 5 */
		"# between fields\n"          /* 6 */
		"\n"                          /* 7 */
		"body:\n"                     /* 8 */
		"| one\n"                     /* 9 */
		"\\ two\\x20\n"               /* 10 */
		"\n"                          /* 11 */
		"@rowid: 9\n"                 /* 12 */
		"\"q n\": \"v\"\n"            /* 13 */
		"[b]\n"                       /* 14: no blank line needed */
		"\n"                          /* 15 */
		"[a]\n"                       /* 16: same table again */
		"x: 2\n"                      /* 17 */
		"#trailing comment\n";        /* 18 */
	struct fmt_doc d;
	const struct fmt_field *f;

	parse_ok(text, sizeof(text) - 1, &d);
	ck_assert_uint_eq(d.nrecs, 3);
	ck_assert_uint_eq(d.nfields, 5);
	ck_assert_int_eq(d.recs[0].line, 4);
	ck_assert_int_eq(d.recs[1].line, 14);
	ck_assert_int_eq(d.recs[2].line, 16);
	ck_assert_uint_eq(d.recs[0].first, 0);
	ck_assert_uint_eq(d.recs[0].nfields, 4);
	ck_assert_uint_eq(d.recs[1].first, 4);
	ck_assert_uint_eq(d.recs[1].nfields, 0);
	ck_assert_uint_eq(d.recs[2].first, 4);
	ck_assert_uint_eq(d.recs[2].nfields, 1);

	f = &d.fields[0];
	ck_assert_int_eq(f->line, 5);
	ck_assert_int_eq(f->col, 1);
	ck_assert_int_eq(f->vline, 5);
	ck_assert_int_eq(f->vcol, 4);
	f = &d.fields[1];
	ck_assert_int_eq(f->line, 8);
	ck_assert_int_eq(f->vline, 9);
	ck_assert_int_eq(f->vcol, 1);
	ck_assert_msg(f->val.type == V_TEXT && f->val.n == 8 &&
		      !memcmp(f->val.s, "one\ntwo ", 8), "body: %s",
		      vshow(&f->val));
	f = &d.fields[2];
	ck_assert_int_eq(f->line, 12);
	ck_assert_int_eq(f->col, 1);
	ck_assert_int_eq(f->pseudo, 1);
	ck_assert_int_eq(f->vcol, 9);
	f = &d.fields[3];
	ck_assert_int_eq(f->line, 13);
	ck_assert_int_eq(f->vcol, 8);
	f = &d.fields[4];
	ck_assert_int_eq(f->line, 17);
	ck_assert_msg(f->val.type == V_INT && f->val.i == 2, "%s",
		      vshow(&f->val));
	check_terminated(&d);
	fmt_doc_release(&d);
}
END_TEST

START_TEST(test_parse_empty_inputs)
{
	static const struct {
		const char *s;
		size_t n;
	} cases[] = {
		{ "", 0 },
		{ "\n", 1 },
		{ "\n\n\n", 3 },
		{ "# only a comment", 16 },
		{ "# c\n#\n\n# d\n", 11 },
		{ "\xef\xbb\xbf", 3 },
		{ "\xef\xbb\xbf\n", 4 },
		{ "\r\n\r\n", 4 },
	};
	struct fmt_doc d;
	struct fmt_error e;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		parse_ok(cases[i].s, cases[i].n, &d);
		ck_assert_msg(d.nrecs == 0 && d.nfields == 0, "case %zu", i);
		fmt_doc_release(&d);
	}
	fmt_doc_init(&d);
	ck_assert_int_eq(fmt_parse(NULL, 0, &d, &e), 0);
	ck_assert_uint_eq(d.nrecs, 0);
	fmt_doc_release(&d);
	/* release twice is harmless, and init'ed docs can be released */
	fmt_doc_release(&d);
}
END_TEST

/* CRLF line ends, no final LF, and a BOM read as the same values. */
START_TEST(test_parse_tolerance)
{
	static const char mixed[] = "\xef\xbb\xbf[t]\r\nv: 1\nw:\r\n| a\n| b\r\n";
	struct buf b = BUF_INIT, v = BUF_INIT;
	struct fmt_doc ref, d;
	char *crlf;
	size_t n;

	render_golden(&b, NULL);
	parse_ok(b.data, b.len, &ref);

	crlf = to_crlf(b.data, b.len, &n);
	parse_ok(crlf, n, &d);
	assert_docs_equal(&ref, &d);
	fmt_doc_release(&d);

	/* no final LF, with LF and with CRLF line ends */
	parse_ok(b.data, b.len - 1, &d);
	assert_docs_equal(&ref, &d);
	fmt_doc_release(&d);
	parse_ok(crlf, n - 2, &d);
	assert_docs_equal(&ref, &d);
	fmt_doc_release(&d);

	/* BOM, with and without CRLF */
	buf_add(&v, "\xef\xbb\xbf", 3);
	buf_add(&v, b.data, b.len);
	parse_ok(v.data, v.len, &d);
	assert_docs_equal(&ref, &d);
	fmt_doc_release(&d);
	buf_reset(&v);
	buf_add(&v, "\xef\xbb\xbf", 3);
	buf_add(&v, crlf, n);
	parse_ok(v.data, v.len, &d);
	assert_docs_equal(&ref, &d);
	fmt_doc_release(&d);

	/* a BOM right before the first header, and mixed line ends */
	parse_ok(mixed, sizeof(mixed) - 1, &d);
	ck_assert_uint_eq(d.nfields, 2);
	ck_assert_msg(d.fields[1].val.n == 3 && !memcmp(d.fields[1].val.s, "a\nb", 3),
		      "%s", vshow(&d.fields[1].val));
	ck_assert_int_eq(d.recs[0].line, 1);
	fmt_doc_release(&d);

	free(crlf);
	fmt_doc_release(&ref);
	buf_release(&b);
	buf_release(&v);
}
END_TEST

/* A field list long enough to exercise the duplicate-name hash growth. */
START_TEST(test_parse_many_fields)
{
	struct buf b = BUF_INIT;
	struct fmt_doc d;
	struct fmt_error e;
	int i, r;

	for (r = 0; r < 3; r++) {
		buf_addstr(&b, "[wide]\n");
		for (i = 0; i < 1000; i++)
			buf_addf(&b, "f%d: %d\n", i, i * r);
	}
	parse_ok(b.data, b.len, &d);
	ck_assert_uint_eq(d.nrecs, 3);
	ck_assert_uint_eq(d.nfields, 3000);
	ck_assert_int_eq(d.fields[2999].val.i, 999 * 2);
	fmt_doc_release(&d);

	buf_addstr(&b, "f500: 1\n");
	ck_assert_int_eq(parse_copy(b.data, b.len, &d, &e), -1);
	ck_assert_int_eq(e.line, 3004);
	ck_assert_int_eq(e.col, 1);
	ck_assert_msg(strstr(e.msg, "twice") && strstr(e.msg, "line 2504"),
		      "message: %s", e.msg);
	ck_assert_uint_eq(d.nrecs, 0);
	fmt_doc_release(&d);
	buf_release(&b);
}
END_TEST

/* --- parsing: errors ------------------------------------------------------ */

struct err_case {
	const char *text;
	size_t len;
	int line, col;
	const char *msg;   /* must occur in the message */
};

#define E(t, l, c, m) { t, sizeof(t) - 1, l, c, m }

static const struct err_case err_cases[] = {
	/* escapes */
	/* raw bytes that are not UTF-8: another encoding, refused where they are */
	E("[t]\nv: \xff\xfe raw\n", 2, 4, "byte 0xFF is not UTF-8"),
	E("[t]\nv:\n| caf\xe9\n", 3, 6, "byte 0xE9 is not UTF-8"),
	E("# \xc0\x80 overlong\n[t]\nv: 1\n", 1, 3, "byte 0xC0 is not UTF-8"),
	E("[t]\nv: \xed\xa0\x80\n", 2, 4, "byte 0xED is not UTF-8"),      /* surrogate */
	E("[t]\nv: \xf4\x90\x80\x80\n", 2, 4, "byte 0xF4 is not UTF-8"), /* > U+10FFFF */
	E("[t]\nv: ok\xc3\n", 2, 6, "byte 0xC3 is not UTF-8"),             /* cut short */
	E("[t]\na: \"x\\q\"\n", 2, 6, "unknown escape \"\\q\""),
	E("[t]\na:\n\\ ab\\q\n", 3, 5, "unknown escape \"\\q\""),
	E("[t]\na: \"\\\x01\"\n", 2, 5, "unknown escape"),
	E("[t]\na: \"\\x4g\"\n", 2, 5, "two hex digits"),
	E("[t]\na: \"\\x4\"\n", 2, 5, "two hex digits"),
	E("[t]\na:\n\\ \\x4\n", 3, 3, "two hex digits"),
	E("[t]\na:\n\\ abc\\\n", 3, 6, "end of the line"),
	E("[t]\n\"a\\q\": 1\n", 2, 3, "unknown escape \"\\q\""),
	/* quotes */
	E("[t]\na: \"abc\n", 2, 4, "unterminated"),
	E("[t]\na: \"abc\\\"\n", 2, 4, "unterminated"),
	E("[t]\na: \"x", 2, 4, "unterminated"),
	E("[t]\n\"abc: 1\n", 2, 1, "unterminated"),
	E("[\"ab]\n", 1, 2, "unterminated"),
	E("[t]\na: \"abc\" x\n", 2, 9, "after the closing quote"),
	E("[t]\na: \"abc\" \n", 2, 9, "after the closing quote"),
	E("[t]\na: \"a\"\"b\"\n", 2, 7, "after the closing quote"),
	/* names and headers */
	E("[1abc]\n", 1, 2, "expected a table name"),
	E("[]\n", 1, 2, "expected a table name"),
	E("[ t]\n", 1, 2, "expected a table name"),
	E("[@t]\n", 1, 2, "expected a table name"),
	E("[a b]\n", 1, 3, "expected ']'"),
	E("[ab\n", 1, 4, "expected ']'"),
	E("[ab] x\n", 1, 5, "after the \"[table]\" header"),
	E("[ab]]\n", 1, 5, "after the \"[table]\" header"),
	E("[\"a\"x]\n", 1, 5, "expected ']'"),
	E("[t]\na-b: 1\n", 2, 2, "expected ':'"),
	E("[t]\na : 1\n", 2, 2, "expected ':'"),
	E("[t]\nabc\n", 2, 4, "expected ':'"),
	E("[t]\n\"a b\"\n", 2, 6, "expected ':'"),
	E("[t]\n@1x: 1\n", 2, 2, "pseudo-column"),
	E("[t]\n@\"x\": 1\n", 2, 2, "pseudo-column"),
	E("[t]\n@: 1\n", 2, 2, "pseudo-column"),
	E("[t]\n1a: 1\n", 2, 1, "unexpected '1'"),
	E("[t]\n]\n", 2, 1, "unexpected ']'"),
	E("[t]\n\xc3\xa9: 1\n", 2, 1, "unexpected byte 0xc3"),
	/* ": " */
	E("[t]\na:1\n", 2, 3, "expected \": \""),
	E("[t]\na:\t1\n", 2, 3, "expected \": \""),
	E("[t]\n\"a b\":x\n", 2, 7, "expected \": \""),
	E("[t]\na: \n", 2, 4, "missing value"),
	E("[t]\na: ", 2, 4, "missing value"),
	/* record structure */
	E("a: 1\n", 1, 1, "before any \"[table]\" header"),
	E("# c\n\na: 1\n", 3, 1, "before any \"[table]\" header"),
	E("@rowid: 1\n", 1, 1, "before any \"[table]\" header"),
	E("[t]\n| x\n", 2, 1, "does not follow a \"name:\" line"),
	E("[t]\na: 1\n| x\n", 3, 1, "does not follow a \"name:\" line"),
	E("[t]\na:\n| x\n\n| y\n", 5, 1, "does not follow a \"name:\" line"),
	E("[t]\na:\n| x\n# c\n\\ y\n", 5, 1, "does not follow a \"name:\" line"),
	E("\\ x\n", 1, 1, "does not follow a \"name:\" line"),
	E("[t]\na:\n", 2, 3, "has no value"),
	E("[t]\na:", 2, 3, "has no value"),
	E("[t]\na:\nb: 1\n", 2, 3, "has no value"),
	E("[t]\na:\n\n| x\n", 2, 3, "has no value"),
	E("[t]\na:\n# c\n| x\n", 2, 3, "has no value"),
	E("[t]\na:\n[u]\n", 2, 3, "has no value"),
	E("[t]\n\"q q\":\n", 2, 7, "field \"q q\" has no value"),
	E("[t]\na: 1\nb: 2\na: 3\n", 4, 1, "field a given twice in one record (first on line 2)"),
	E("[t]\na: 1\n\"a\": 2\n", 3, 1, "given twice"),
	E("[t]\n@r: 1\n@r: 2\n", 3, 1, "given twice"),
	E("[t]\na:\n| x\na: 2\n", 4, 1, "given twice"),
	E("[t]\n\"\": 1\n\"\": 2\n", 3, 1, "given twice"),
	/* integers, reals and blobs */
	E("[t]\na: 9223372036854775808\n", 2, 4, "64-bit"),
	E("[t]\na: -9223372036854775809\n", 2, 4, "64-bit"),
	E("[t]\na: 99999999999999999999999\n", 2, 4, "64-bit"),
	E("[t]\na: 1e999\n", 2, 4, "too large for a REAL"),
	E("[t]\na: -1.5e400\n", 2, 4, "too large for a REAL"),
	E("[t]\na: x'abc'\n", 2, 4, "odd number of hex digits"),
	E("[t]\na: x'0'\n", 2, 4, "odd number of hex digits"),
	E("[t]\na: x'0g'\n", 2, 7, "'g' is not a hex digit"),
	E("[t]\na: x'00'11'\n", 2, 8, "''' is not a hex digit"),
	E("[t]\na: x'0 '\n", 2, 7, "a space is not a hex digit"),
	E("[t]\na: x'00\n", 2, 4, "closing quote"),
	E("[t]\na: x'\n", 2, 4, "closing quote"),
	E("[t]\na: x'mas\n", 2, 4, "closing quote"),
	/* bytes that may not be in a file */
	E("[t]\na: b\rc\n", 2, 5, "carriage return"),
	E("[t]\na: b\r", 2, 5, "carriage return"),
	E("[t]\na: b\r\r\n", 2, 5, "carriage return"),
	E("[t]\na:\n| x\ry\n", 3, 4, "carriage return"),
	E("\r", 1, 1, "carriage return"),
	E("[t]\n\r", 2, 1, "carriage return"),
	E("[t]\na: b\0c\n", 2, 5, "NUL byte"),
	E("# a\0\n", 1, 4, "NUL byte"),
	E("\0", 1, 1, "NUL byte"),
	E("[t]\na: \"\0\"\n", 2, 5, "NUL byte"),
	E("[t]\n a: 1\nb: \0\n", 2, 1, "column 1"),    /* the first problem */
	E("[t]\na: 1\nb: \0\r\n", 3, 4, "NUL byte"),
	E("[t]\na: 1\nb: \r\0\n", 3, 4, "carriage return"),
	/* lines that do not start in column 1 with a known form */
	E("[t]\n a: 1\n", 2, 1, "line starts with a space"),
	E("[t]\n\ta: 1\n", 2, 1, "line starts with a TAB"),
	E("[t]\n  \n", 2, 1, "column 1"),
	E(" [t]\n", 1, 1, "column 1"),
	E(" # c\n", 1, 1, "column 1"),
	E("[t]\na:\n | x\n", 3, 1, "column 1"),
	E("[t]\na:\n|x\n", 3, 2, "space after '|'"),
	E("[t]\na:\n|\tx\n", 3, 2, "space after '|'"),
	E("[t]\na:\n\\x\n", 3, 2, "space after '\\'"),
	E("[t]\na:\n\\\n", 3, 2, "space after '\\'"),
	E("\xef\xbb\xbf a\n", 1, 1, "column 1"),         /* columns after BOM */
	E("\xef\xbb\xbf[t]\na: \"\\q\"\n", 2, 5, "unknown escape"),
	E("[t]\n\xef\xbb\xbf" "a: 1\n", 2, 1, "byte 0xef"),
	E("[t]\r\na: \"x\\q\"\r\n", 2, 6, "unknown escape \"\\q\""),
	E("[t]\r\na:\r\n\r\n", 2, 3, "has no value"),
	E("[t]\na: 1\n\n\n\nzz\n", 6, 3, "expected ':'"),
};

START_TEST(test_parse_error)
{
	const struct err_case *c = &err_cases[_i];
	struct fmt_doc d;
	struct fmt_error e;
	int r;

	memset(&e, 'x', sizeof(e));
	r = parse_copy(c->text, c->len, &d, &e);
	ck_assert_msg(r == -1, "case %d: \"%s\" parsed, expected error at %d:%d",
		      _i, esc(c->text, c->len), c->line, c->col);
	ck_assert_msg(e.line == c->line && e.col == c->col,
		      "case %d: \"%s\": error at %d:%d (%s), expected %d:%d",
		      _i, esc(c->text, c->len), e.line, e.col, e.msg, c->line,
		      c->col);
	ck_assert_msg(memchr(e.msg, '\0', sizeof(e.msg)) != NULL,
		      "case %d: message not terminated", _i);
	ck_assert_msg(strstr(e.msg, c->msg) != NULL,
		      "case %d: \"%s\": message \"%s\" lacks \"%s\"", _i,
		      esc(c->text, c->len), e.msg, c->msg);
	ck_assert_msg(d.nrecs == 0 && d.nfields == 0,
		      "case %d: failed parse left %zu records", _i, d.nrecs);
	fmt_doc_release(&d);
}
END_TEST

START_TEST(test_error_message_suggests_empty)
{
	struct fmt_doc d;
	struct fmt_error e;

	ck_assert_int_eq(parse_copy("[t]\nnote:\n", 10, &d, &e), -1);
	ck_assert_msg(strstr(e.msg, "\"\"") && strstr(e.msg, "NULL"),
		      "message should suggest \"\" and NULL: %s", e.msg);
	fmt_doc_release(&d);
	ck_assert_int_eq(parse_copy("[t]\nnote: \n", 11, &d, &e), -1);
	ck_assert_msg(strstr(e.msg, "\"\"") && strstr(e.msg, "NULL"),
		      "message should suggest \"\" and NULL: %s", e.msg);
	fmt_doc_release(&d);
}
END_TEST

/* --- classification ------------------------------------------------------- */

START_TEST(test_classify)
{
	static const struct {
		const char *s;
		enum vtype t;
	} cases[] = {
		{ "NULL", V_NULL }, { "NULLL", V_TEXT }, { "NUL", V_TEXT },
		{ "null", V_TEXT }, { "", V_TEXT },
		{ "0", V_INT }, { "-0", V_INT }, { "12", V_INT }, { "007", V_INT },
		{ "-", V_TEXT }, { "--1", V_TEXT }, { "+1", V_TEXT },
		{ "99999999999999999999999", V_INT },   /* shape, not range */
		{ "1.5", V_REAL }, { "-1.5", V_REAL }, { "1.", V_TEXT },
		{ ".5", V_TEXT }, { "1.5.5", V_TEXT }, { "1e5", V_REAL },
		{ "1E5", V_REAL }, { "1e+5", V_REAL }, { "1e-5", V_REAL },
		{ "1.5e5", V_REAL }, { "1e", V_TEXT }, { "1e+", V_TEXT },
		{ "1e5.5", V_TEXT }, { "1.5e", V_TEXT }, { "e5", V_TEXT },
		{ "1e999", V_REAL }, { "Inf", V_REAL }, { "-Inf", V_REAL },
		{ "+Inf", V_TEXT }, { "inf", V_TEXT }, { "Infinity", V_TEXT },
		{ "NaN", V_REAL }, { "-NaN", V_TEXT }, { "nan", V_TEXT },
		{ "x''", V_BLOB }, { "x'00'", V_BLOB }, { "x'", V_BLOB },
		{ "x'zz", V_BLOB }, { "X'00'", V_TEXT }, { "x", V_TEXT },
		{ "xy", V_TEXT }, { "12 ", V_TEXT }, { " 12", V_TEXT },
		{ "1,5", V_TEXT }, { "0x10", V_TEXT },
		{ "2024-03-14", V_TEXT }, { "hello", V_TEXT },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		enum vtype t = fmt_classify_bare(cases[i].s, strlen(cases[i].s));

		ck_assert_msg(t == cases[i].t, "\"%s\" classified %s, expected %s",
			      cases[i].s, value_type_name(t),
			      value_type_name(cases[i].t));
	}
	/* must not read past n */
	ck_assert_int_eq(fmt_classify_bare("12x", 2), V_INT);
	ck_assert_int_eq(fmt_classify_bare("NULLx", 4), V_NULL);
	ck_assert_int_eq(fmt_classify_bare("1.5e", 3), V_REAL);
}
END_TEST

/* --- hand-picked round trips ------------------------------------------------ */

#define S(lit) { lit, sizeof(lit) - 1 }

static const struct {
	const char *s;
	size_t n;
} nasty[] = {
	S(""), S(" "), S("  "), S("\t"), S("\r"), S("\n"), S("\r\n"),
	S("\n\n"), S("a\r\nb\r\n"), S("a\rb"), S("abc "), S(" abc"),
	S("a\n\nb"), S("a \nb \n"), S("a\t\nb\t"), S("no final newline"),
	S("final newline\n"), S("\n\nblank lines\n\n\n"),
	S("[x]"), S("# x"), S("| x"), S("\\ x"), S("name: v"), S("\n[x]\n"),
	S("\n# x\n| x\n\\ x\nname: v\n"), S(":"), S("|"), S("\\"), S("\""),
	S("\"\""), S("\\\\"), S("x'"), S("x''"), S("NULL"), S("12"), S("-1"),
	S("1.5"), S("1e5"), S("Inf"), S("NaN"), S("@rowid"), S("é"),
	S("🙏"), S("Привет"), S("שלום"), S("مرحبا"), S("Бо́рис 🙏\nשלום\r\n"),
	S("\xff"), S("\xc0\x80"), S("\xed\xa0\x80"), S("\xf4\x90\x80\x80"),
	S("\xe2\x82"), S("\0"), S("a\0b"), S("\0\n\0"), S("\x7f"),
	S("\x01\x02\x1b[0m"), S("\xef\xbb\xbf"), S("\xef\xbb\xbf\n"),
	S("a\\x41"), S("\\q"), S("end with backslash\\"), S("\n|"),
	S("\n\\ "), S(" \n "), S("\t\n\t"), S("\xc2\x85"), S("\xe2\x80\xa8"),
};

static void roundtrip_one(const char *table, size_t tlen, const char *name,
			  size_t nlen, const struct value *v, int flags)
{
	struct buf b = BUF_INIT, again = BUF_INIT;
	struct fmt_doc d;
	size_t where;

	fmt_render_comment(&b, name, nlen);
	fmt_render_record(&b, table, tlen);
	fmt_render_field(&b, name, nlen, v, flags);
	ck_assert_msg(clean_text_file(b.data, b.len, &where),
		      "rendered file has a raw control or invalid byte at %zu: \"%s\"",
		      where, esc(b.data, b.len));
	parse_ok(b.data, b.len, &d);
	ck_assert_msg(d.nrecs == 1 && d.nfields == 1, "\"%s\": %zu/%zu",
		      esc(b.data, b.len), d.nrecs, d.nfields);
	assert_bytes_eq("table", d.recs[0].table, d.recs[0].table_len, table,
			tlen);
	assert_bytes_eq("name", d.fields[0].name, d.fields[0].name_len, name,
			nlen);
	ck_assert_msg(same_value(&d.fields[0].val, v),
		      "\"%s\" read as %s, expected %s", esc(b.data, b.len),
		      vshow(&d.fields[0].val), vshow(v));
	check_terminated(&d);
	fmt_render_comment(&again, name, nlen);
	fmt_render_record(&again, d.recs[0].table, d.recs[0].table_len);
	fmt_render_field(&again, d.fields[0].name, d.fields[0].name_len,
			 &d.fields[0].val, flags);
	assert_bytes_eq("render(parse(text))", again.data, again.len, b.data,
			b.len);
	fmt_doc_release(&d);
	buf_release(&b);
	buf_release(&again);
}

START_TEST(test_roundtrip_nasty)
{
	size_t i, j;

	for (i = 0; i < sizeof(nasty) / sizeof(nasty[0]); i++) {
		struct value t = { .type = V_TEXT, .s = nasty[i].s, .n = nasty[i].n };
		struct value bl = { .type = V_BLOB, .s = nasty[i].s, .n = nasty[i].n };

		roundtrip_one("t", 1, "v", 1, &t, 0);
		roundtrip_one("t", 1, "v", 1, &t, FMT_BODY);
		roundtrip_one("t", 1, "v", 1, &bl, FMT_BODY);
		/* as names of tables and fields */
		roundtrip_one(nasty[i].s, nasty[i].n, "v", 1, &t, 0);
		roundtrip_one("t", 1, nasty[i].s, nasty[i].n, &t, FMT_BODY);
		/* glued to each other */
		for (j = 0; j < sizeof(nasty) / sizeof(nasty[0]); j++) {
			char tmp[128];
			struct value g = { .type = V_TEXT, .s = tmp,
					   .n = nasty[i].n + nasty[j].n };

			memcpy(tmp, nasty[i].s, nasty[i].n);
			memcpy(tmp + nasty[i].n, nasty[j].s, nasty[j].n);
			roundtrip_one("t", 1, "v", 1, &g, 0);
			roundtrip_one("t", 1, "v", 1, &g, FMT_BODY);
		}
	}
}
END_TEST

START_TEST(test_roundtrip_numbers)
{
	static const int64_t ints[] = {
		0, 1, -1, 9, 10, -10, 12, INT32_MAX, INT32_MIN, (int64_t)1 << 53,
		INT64_MAX, INT64_MIN, INT64_MAX - 1, INT64_MIN + 1,
	};
	static const double reals[] = {
		0.0, -0.0, 0.1 + 0.2, 0.1, 1.0, -0.5, 1e300, -1e300, 5e-324,
		-5e-324, DBL_MAX, -DBL_MAX, DBL_MIN, DBL_EPSILON, 1e16, 1e15,
		1e-5, 123456.789, 9007199254740993.0, INFINITY, -INFINITY,
		2.2250738585072009e-308, 1.0 / 3, M_PI, 100.0,
	};
	size_t i;

	for (i = 0; i < sizeof(ints) / sizeof(ints[0]); i++) {
		struct value v = { .type = V_INT, .i = ints[i] };
		struct buf b = BUF_INIT;
		char exp[32];

		roundtrip_one("t", 1, "n", 1, &v, 0);
		fmt_render_inline(&b, &v);
		snprintf(exp, sizeof(exp), "%" PRId64, ints[i]);
		assert_bytes_eq("INTEGER text", b.data, b.len, exp, strlen(exp));
		buf_release(&b);
	}
	for (i = 0; i < sizeof(reals) / sizeof(reals[0]); i++) {
		struct value v = { .type = V_REAL, .r = reals[i] };

		roundtrip_one("t", 1, "n", 1, &v, 0);
	}
}
END_TEST

/* --- randomized properties ---------------------------------------------- */

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static size_t rndn(size_t n)
{
	return (size_t)(rnd() % n);
}

static const struct {
	const char *s;
	size_t n;
} frags[] = {
	S("\r"), S("\n"), S("\r\n"), S(" "), S("  "), S("\t"), S("\\"),
	S("\""), S("|"), S("| "), S("\\ "), S(":"), S(": "), S("#"), S("# "),
	S("["), S("]"), S("@"), S("NULL"), S("x'"), S("'"), S("x''"), S("0"),
	S("7"), S("12"), S("-"), S("."), S("e"), S("E+"), S("1.5"), S("Inf"),
	S("NaN"), S("é"), S("🙏"), S("Привет"), S("שלום"), S("مرحبا"),
	S("\xff"), S("\xc0\x80"), S("\xed\xa0\x80"), S("\xf4\x90\x80\x80"),
	S("\xe2\x82"), S("\xef\xbb\xbf"), S("\0"), S("\x7f"), S("\x01"),
	S("\x1b"), S("abc"), S("hello world"), S("a"), S("_"), S("\\x41"),
	S("\\q"), S("\\n"), S("\n|"), S("\n\\ "), S("\n["), S("\n#"),
	S("\xe2\x80\xa8"), S("\xc2\x85"), S("name: v"),
};

struct tfield {
	const char *name;
	size_t nlen;
	int flags;
	int extra;          /* 1: a comment line before, 2: a blank line */
	struct value v;
};

struct trec {
	const char *table;
	size_t tlen;
	const char *comment;   /* a comment line before the record, or NULL */
	size_t clen;
	size_t first, n;
};

struct gen {
	char *mem;
	size_t used, cap;
	struct trec *recs;
	size_t nrecs;
	struct tfield *fields;
	size_t nfields;
};

static char *gen_alloc(struct gen *g, size_t n)
{
	char *p;

	ck_assert_msg(g->used + n <= g->cap, "test arena full");
	p = g->mem + g->used;
	g->used += n;
	return p;
}

/* Random nasty bytes: up to `maxf` fragments, sometimes a literal-like word. */
static const char *gen_text(struct gen *g, size_t maxf, size_t *n)
{
	char tmp[512];
	size_t len = 0, k, i, f;
	char *p;

	switch (rndn(8)) {
	case 0: {
		static const char *const words[] = {
			"12", "-7", "NULL", "1.5", "1e5", "x'00'", "Inf", "-Inf",
			"NaN", "\"q\"", " x", "x ", "", "0.30000000000000004",
			"9223372036854775808", "alice", "2024-03-14 09:26:53",
		};
		const char *w = words[rndn(sizeof(words) / sizeof(words[0]))];

		len = strlen(w);
		memcpy(tmp, w, len);
		break;
	}
	case 1:   /* random bytes */
		k = rndn(12);
		for (i = 0; i < k; i++)
			tmp[len++] = (char)rnd();
		break;
	default:
		k = rndn(maxf + 1);
		for (i = 0; i < k; i++) {
			f = rndn(sizeof(frags) / sizeof(frags[0]));
			memcpy(tmp + len, frags[f].s, frags[f].n);
			len += frags[f].n;
		}
	}
	p = gen_alloc(g, len + 1);
	memcpy(p, tmp, len);
	p[len] = '\0';
	*n = len;
	return p;
}

static const char *gen_bare_name(struct gen *g, size_t *n)
{
	static const char first[] =
		"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_";
	static const char rest[] =
		"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_0123456789";
	size_t len = 1 + rndn(12), i;
	char *p = gen_alloc(g, len + 1);

	p[0] = first[rndn(sizeof(first) - 1)];
	for (i = 1; i < len; i++)
		p[i] = rest[rndn(sizeof(rest) - 1)];
	p[len] = '\0';
	*n = len;
	return p;
}

static void gen_value(struct gen *g, struct value *v)
{
	static const int64_t ints[] = {
		0, 1, -1, 12, INT64_MAX, INT64_MIN, INT64_MAX - 1, INT64_MIN + 1,
		1000000, -999,
	};
	static const double reals[] = {
		0.0, -0.0, 0.1 + 0.2, 1.0, -0.5, 1e300, 5e-324, DBL_MAX,
		-DBL_MAX, DBL_MIN, INFINITY, -INFINITY, 1e16, 0.95, 100.0,
	};
	uint64_t bits;

	memset(v, 0, sizeof(*v));
	switch (rndn(6)) {
	case 0:
		v->type = V_NULL;
		break;
	case 1:
		v->type = V_INT;
		switch (rndn(3)) {
		case 0:
			v->i = ints[rndn(sizeof(ints) / sizeof(ints[0]))];
			break;
		case 1:
			v->i = (int64_t)rnd();
			break;
		default:
			v->i = (int64_t)rndn(2000) - 1000;
		}
		break;
	case 2:
		v->type = V_REAL;
		if (rndn(3)) {
			do {
				bits = rnd();
				memcpy(&v->r, &bits, sizeof(bits));
			} while (isnan(v->r));
		} else {
			v->r = reals[rndn(sizeof(reals) / sizeof(reals[0]))];
		}
		break;
	case 3:
		v->type = V_BLOB;
		v->s = gen_text(g, 6, &v->n);
		break;
	default:
		v->type = V_TEXT;
		v->s = gen_text(g, 10, &v->n);
	}
}

static int name_taken(const struct gen *g, size_t first, const char *s,
		      size_t n, int pseudo)
{
	size_t i;

	for (i = first; i < g->nfields; i++)
		if (g->fields[i].nlen == n && !!(g->fields[i].flags & FMT_PSEUDO) == pseudo &&
		    !memcmp(g->fields[i].name, s, n))
			return 1;
	return 0;
}

static void gen_records(struct gen *g, size_t nrecs, size_t max_fields)
{
	static const char *const tables[] = { "prayer", "user", "t", "_x9" };
	size_t r, k, nf;

	g->cap = nrecs * (max_fields + 2) * 200 + 4096;
	g->mem = malloc(g->cap);
	g->used = 0;
	g->recs = calloc(nrecs, sizeof(*g->recs));
	g->fields = calloc(nrecs * max_fields + 1, sizeof(*g->fields));
	ck_assert(g->mem && g->recs && g->fields);
	g->nrecs = nrecs;
	g->nfields = 0;
	for (r = 0; r < nrecs; r++) {
		struct trec *rec = &g->recs[r];

		if (rndn(10) < 7) {
			rec->table = tables[rndn(4)];
			rec->tlen = strlen(rec->table);
		} else {
			rec->table = gen_text(g, 4, &rec->tlen);
		}
		rec->comment = NULL;
		if (!rndn(10))
			rec->comment = gen_text(g, 6, &rec->clen);
		rec->first = g->nfields;
		nf = rndn(max_fields + 1);
		for (k = 0; k < nf; k++) {
			struct tfield *f = &g->fields[g->nfields];
			int pseudo;

			do {
				pseudo = !rndn(10);
				if (pseudo || rndn(10) < 6)
					f->name = gen_bare_name(g, &f->nlen);
				else
					f->name = gen_text(g, 4, &f->nlen);
			} while (name_taken(g, rec->first, f->name, f->nlen, pseudo));
			f->flags = (pseudo ? FMT_PSEUDO : 0) |
				   (rndn(10) < 3 ? FMT_BODY : 0);
			f->extra = rndn(20) == 0 ? 1 : rndn(20) == 0 ? 2 : 0;
			gen_value(g, &f->v);
			g->nfields++;
		}
		rec->n = g->nfields - rec->first;
	}
}

static void gen_free(struct gen *g)
{
	free(g->mem);
	free(g->recs);
	free(g->fields);
}

/*
 * Render records and fields as a file: the same function renders the
 * generated rows and, with names and values swapped for the parsed ones,
 * the parsed document, so the two texts must be identical.
 */
static void render_gen(struct buf *out, const struct trec *recs, size_t nrecs,
		       const struct tfield *fields)
{
	size_t r, k;

	fmt_render_comment(out, "random file \"\\ \n", 17);
	fmt_render_comment(out, "", 0);
	for (r = 0; r < nrecs; r++) {
		if (recs[r].comment)
			fmt_render_comment(out, recs[r].comment, recs[r].clen);
		fmt_render_record(out, recs[r].table, recs[r].tlen);
		for (k = recs[r].first; k < recs[r].first + recs[r].n; k++) {
			if (fields[k].extra == 1)
				fmt_render_comment(out, fields[k].name,
						   fields[k].nlen);
			else if (fields[k].extra == 2)
				buf_addch(out, '\n');
			fmt_render_field(out, fields[k].name, fields[k].nlen,
					 &fields[k].v, fields[k].flags);
		}
	}
}

static void compare_gen(const struct fmt_doc *d, const struct gen *g,
			const char *what)
{
	size_t r, k;

	ck_assert_msg(d->nrecs == g->nrecs, "%s: %zu records, expected %zu",
		      what, d->nrecs, g->nrecs);
	ck_assert_msg(d->nfields == g->nfields, "%s: %zu fields, expected %zu",
		      what, d->nfields, g->nfields);
	for (r = 0; r < g->nrecs; r++) {
		const struct trec *t = &g->recs[r];

		if (d->recs[r].table_len != t->tlen ||
		    memcmp(d->recs[r].table, t->table, t->tlen))
			ck_abort_msg("%s: record %zu: table \"%s\", expected \"%s\"",
				     what, r, esc(d->recs[r].table, d->recs[r].table_len),
				     esc(t->table, t->tlen));
		ck_assert_msg(d->recs[r].first == t->first && d->recs[r].nfields == t->n,
			      "%s: record %zu: fields %zu+%zu, expected %zu+%zu",
			      what, r, d->recs[r].first, d->recs[r].nfields,
			      t->first, t->n);
	}
	for (k = 0; k < g->nfields; k++) {
		const struct tfield *f = &g->fields[k];
		const struct fmt_field *p = &d->fields[k];

		if (p->name_len != f->nlen || memcmp(p->name, f->name, f->nlen))
			ck_abort_msg("%s: field %zu: name \"%s\", expected \"%s\"",
				     what, k, esc(p->name, p->name_len),
				     esc(f->name, f->nlen));
		ck_assert_msg(p->pseudo == !!(f->flags & FMT_PSEUDO),
			      "%s: field %zu (%s): pseudo %d", what, k,
			      esc(f->name, f->nlen), p->pseudo);
		ck_assert_msg(value_equal(&p->val, &f->v),
			      "%s: field %zu (%s, flags %d): read %s, wrote %s",
			      what, k, esc(f->name, f->nlen), f->flags,
			      vshow(&p->val), vshow(&f->v));
	}
}

/* The generated rows with names and values replaced by the parsed ones. */
static void rerender(struct buf *out, const struct fmt_doc *d,
		     const struct gen *g)
{
	struct trec *recs = malloc((g->nrecs + 1) * sizeof(*recs));
	struct tfield *fields = malloc((g->nfields + 1) * sizeof(*fields));
	size_t i;

	ck_assert(recs && fields);
	for (i = 0; i < g->nrecs; i++) {
		recs[i] = g->recs[i];
		recs[i].table = d->recs[i].table;
		recs[i].tlen = d->recs[i].table_len;
		recs[i].first = d->recs[i].first;
		recs[i].n = d->recs[i].nfields;
	}
	for (i = 0; i < g->nfields; i++) {
		fields[i] = g->fields[i];
		fields[i].name = d->fields[i].name;
		fields[i].nlen = d->fields[i].name_len;
		fields[i].v = d->fields[i].val;
		fields[i].flags = (g->fields[i].flags & FMT_BODY) |
				  (d->fields[i].pseudo ? FMT_PSEUDO : 0);
	}
	render_gen(out, recs, g->nrecs, fields);
	free(recs);
	free(fields);
}

/* Independent check of the REAL and INTEGER texts of every value. */
static void check_number_texts(const struct gen *g)
{
	size_t k;

	for (k = 0; k < g->nfields; k++) {
		const struct value *v = &g->fields[k].v;
		struct buf b = BUF_INIT;
		char exp[48];
		int prec, n = 0;
		double back;

		if (v->type == V_INT) {
			fmt_render_inline(&b, v);
			n = snprintf(exp, sizeof(exp), "%" PRId64, v->i);
			assert_bytes_eq("INTEGER text", b.data, b.len, exp, (size_t)n);
		} else if (v->type == V_REAL && isfinite(v->r)) {
			fmt_render_inline(&b, v);
			for (prec = 15; prec <= 17; prec++) {
				n = snprintf(exp, sizeof(exp), "%.*g", prec, v->r);
				back = strtod(exp, NULL);
				if (!memcmp(&back, &v->r, sizeof(back)))
					break;
			}
			ck_assert_msg(prec <= 17, "%.17g does not read back", v->r);
			if (!strchr(exp, '.') && !strchr(exp, 'e'))
				n += snprintf(exp + n, sizeof(exp) - (size_t)n, ".0");
			assert_bytes_eq("REAL text", b.data, b.len, exp, (size_t)n);
		}
		buf_release(&b);
	}
}

/* parse(render(rows)) == rows, render(parse(text)) == text, and variants. */
static void check_gen(const struct gen *g, int variants)
{
	struct buf text = BUF_INIT, again = BUF_INIT, v = BUF_INIT;
	struct fmt_doc d;
	char *crlf;
	size_t n, where;

	render_gen(&text, g->recs, g->nrecs, g->fields);
	ck_assert_msg(clean_text_file(text.data, text.len, &where),
		      "rendered text has a raw control or invalid UTF-8 byte at %zu: \"%s\"",
		      where, esc(text.data + (where > 40 ? where - 40 : 0), 80));
	ck_assert_msg(text.len && text.data[text.len - 1] == '\n',
		      "rendered text does not end with LF");

	parse_ok(text.data, text.len, &d);
	compare_gen(&d, g, "parse(render(rows))");
	check_terminated(&d);
	rerender(&again, &d, g);
	assert_bytes_eq("render(parse(text))", again.data, again.len,
			text.data, text.len);
	fmt_doc_release(&d);
	if (!variants)
		goto out;

	crlf = to_crlf(text.data, text.len, &n);
	parse_ok(crlf, n, &d);
	compare_gen(&d, g, "parse(crlf(render(rows)))");
	fmt_doc_release(&d);
	parse_ok(crlf, n - 2, &d);
	compare_gen(&d, g, "parse(crlf(render(rows)) without final CRLF)");
	fmt_doc_release(&d);
	free(crlf);

	parse_ok(text.data, text.len - 1, &d);
	compare_gen(&d, g, "parse(render(rows) without final LF)");
	fmt_doc_release(&d);

	buf_add(&v, "\xef\xbb\xbf", 3);
	buf_add(&v, text.data, text.len);
	parse_ok(v.data, v.len, &d);
	compare_gen(&d, g, "parse(BOM + render(rows))");
	fmt_doc_release(&d);
out:
	buf_release(&text);
	buf_release(&again);
	buf_release(&v);
}

/* One big file of 6000 random records. */
START_TEST(test_random_big_file)
{
	struct gen g;

	rng = 0x2545f4914f6cdd1dULL;
	gen_records(&g, 6000, 12);
	ck_assert_uint_ge(g.nfields, 20000);
	check_number_texts(&g);
	check_gen(&g, 1);
	gen_free(&g);
}
END_TEST

/* Many small files, each checked with every variant. */
START_TEST(test_random_small_files)
{
	int i;

	rng = 0x853c49e6748fea9bULL;
	for (i = 0; i < 3000; i++) {
		struct gen g;

		gen_records(&g, 1 + rndn(3), 6);
		check_gen(&g, 1);
		gen_free(&g);
	}
}
END_TEST

/*
 * Whatever fmt_classify_bare() calls text, the parser reads back as that
 * exact text; whatever it calls something else, the parser never reads as
 * text. This is what makes bare rendering safe.
 */
START_TEST(test_random_classify_agrees)
{
	struct gen g = { 0 };
	int i;

	rng = 0xda942042e4dd58b5ULL;
	g.cap = 1 << 22;
	g.mem = malloc(g.cap);
	ck_assert_ptr_nonnull(g.mem);
	for (i = 0; i < 20000; i++) {
		struct buf b = BUF_INIT;
		struct fmt_doc d;
		struct fmt_error e;
		size_t n;
		const char *s = gen_text(&g, 4, &n);
		enum vtype t = fmt_classify_bare(s, n);
		int r;

		if (!n || s[0] == '"' || memchr(s, '\n', n) || memchr(s, '\r', n) ||
		    memchr(s, '\0', n) || !valid_utf8(s, n))
			continue;   /* not a bare value (raw non-UTF-8 is refused) */
		buf_addstr(&b, "[t]\nv: ");
		buf_add(&b, s, n);
		r = parse_copy(b.data, b.len, &d, &e);
		if (t == V_TEXT) {
			ck_assert_msg(r == 0, "bare \"%s\" refused: %s", esc(s, n), e.msg);
			ck_assert_msg(d.fields[0].val.type == V_TEXT &&
				      d.fields[0].val.n == n &&
				      !memcmp(d.fields[0].val.s, s, n),
				      "bare \"%s\" read as %s", esc(s, n),
				      vshow(&d.fields[0].val));
		} else if (r == 0) {
			ck_assert_msg(d.fields[0].val.type == t,
				      "\"%s\" classified %s, read as %s", esc(s, n),
				      value_type_name(t), vshow(&d.fields[0].val));
		}
		fmt_doc_release(&d);
		buf_release(&b);
		if (g.used > g.cap - 4096)
			g.used = 0;
	}
	free(g.mem);
}
END_TEST

/*
 * Damage rendered files at random: the parser must either refuse them
 * with a sensible position and message, or read values that then
 * round-trip through render/parse unchanged (and render idempotently).
 */
START_TEST(test_random_mutations)
{
	static const char bytes[] = "\n\r\0\"\\: |[]#@x'0-e.\t\xff\xc3";
	int i, k, ok = 0, refused = 0;

	rng = 0xbf58476d1ce4e5b9ULL;
	for (i = 0; i < 4000; i++) {
		struct gen g;
		struct buf text = BUF_INIT, r1 = BUF_INIT, r2 = BUF_INIT;
		struct fmt_doc d1, d2;
		struct fmt_error e;
		size_t nlines = 1, j;

		gen_records(&g, 1 + rndn(2), 4);
		render_gen(&text, g.recs, g.nrecs, g.fields);
		for (k = 1 + (int)rndn(3); k > 0; k--) {
			size_t at = rndn(text.len);

			switch (rndn(3)) {
			case 0:   /* overwrite */
				text.data[at] = rndn(2) ? bytes[rndn(sizeof(bytes) - 1)]
							: (char)rnd();
				break;
			case 1:   /* delete */
				memmove(text.data + at, text.data + at + 1,
					text.len - at - 1);
				buf_truncate(&text, text.len - 1);
				break;
			default:  /* insert */
				buf_addch(&text, 0);
				memmove(text.data + at + 1, text.data + at,
					text.len - at - 1);
				text.data[at] = bytes[rndn(sizeof(bytes) - 1)];
			}
			if (!text.len)
				break;
		}
		for (j = 0; j < text.len; j++)
			nlines += text.data[j] == '\n';
		if (parse_copy(text.data, text.len, &d1, &e)) {
			refused++;
			ck_assert_msg(e.line >= 1 && (size_t)e.line <= nlines &&
				      e.col >= 1 && (size_t)e.col <= text.len + 1 &&
				      e.msg[0], "bad error %d:%d \"%s\" for \"%s\"",
				      e.line, e.col, e.msg, esc(text.data, text.len));
		} else {
			ok++;
			check_terminated(&d1);
			render_doc_plain(&r1, &d1);
			parse_ok(r1.data, r1.len, &d2);
			assert_docs_equal(&d1, &d2);
			render_doc_plain(&r2, &d2);
			assert_bytes_eq("render(parse(render(doc)))", r2.data,
					r2.len, r1.data, r1.len);
			fmt_doc_release(&d2);
		}
		fmt_doc_release(&d1);
		buf_release(&text);
		buf_release(&r1);
		buf_release(&r2);
		gen_free(&g);
	}
	/* both outcomes must actually have been exercised */
	ck_assert_msg(ok > 100 && refused > 100, "ok %d, refused %d", ok, refused);
}
END_TEST

/* --- REAL text against the literal definition ----------------------------- */

/* format.md's definition, done the slow, obvious way. */
static size_t oracle_real(char *out, size_t size, double r)
{
	int prec, n = 0;
	double back;

	if (isnan(r))
		return (size_t)snprintf(out, size, "NaN");
	if (isinf(r))
		return (size_t)snprintf(out, size, r > 0 ? "Inf" : "-Inf");
	for (prec = 15; prec <= 17; prec++) {
		n = snprintf(out, size, "%.*g", prec, r);
		back = strtod(out, NULL);
		if (!memcmp(&back, &r, sizeof(r)))
			break;
	}
	if (!strchr(out, '.') && !strchr(out, 'e'))
		n += snprintf(out + n, size - (size_t)n, ".0");
	return (size_t)n;
}

static void check_real_text(double r)
{
	struct buf b = BUF_INIT;
	char exp[64];
	size_t n = oracle_real(exp, sizeof(exp), r);

	fmt_render_real(&b, r);
	if (b.len != n || memcmp(b.data, exp, n))
		ck_abort_msg("REAL %a rendered \"%s\", format.md says \"%s\"", r,
			     esc(b.data, b.len), exp);
	buf_release(&b);
}

static double from_bits(uint64_t u)
{
	double r;

	memcpy(&r, &u, sizeof(r));
	return r;
}

START_TEST(test_real_text_oracle)
{
	char lit[64];
	int i, e, k;
	double r;

	rng = 0x94d049bb133111ebULL;
	for (i = 0; i < 60000; i++) {
		/* any bits */
		r = from_bits(rnd());
		if (!isnan(r))
			check_real_text(r);
		/* subnormals */
		check_real_text(from_bits(rnd() >> 12));
		/* short decimals at every scale: mostly %.15g */
		snprintf(lit, sizeof(lit), "%" PRIu64 "e%d", rnd() % 1000000,
			 (int)rndn(80) - 40);
		check_real_text(strtod(lit, NULL));
		/* 16 and 17 digit decimals */
		snprintf(lit, sizeof(lit), "%016" PRIu64 "e%d",
			 rnd() % UINT64_C(10000000000000000), (int)rndn(60) - 30);
		check_real_text(strtod(lit, NULL));
		/* integers, and their neighbours */
		r = (double)(int64_t)(rnd() >> rndn(64));
		check_real_text(r);
		check_real_text(nextafter(r, INFINITY));
		check_real_text(-nextafter(r, -INFINITY));
		/* 17 digits that end in the rounding midpoints "50" and "5" */
		snprintf(lit, sizeof(lit), "%015" PRIu64 "%se%d",
			 rnd() % UINT64_C(1000000000000000), rndn(2) ? "50" : "5",
			 (int)rndn(40) - 20);
		r = strtod(lit, NULL);
		check_real_text(r);
		check_real_text(nextafter(r, 0));
		check_real_text(nextafter(r, INFINITY));
	}
	/* powers of ten, exact ties of small binary fractions, extremes */
	for (e = -325; e <= 308; e++) {
		snprintf(lit, sizeof(lit), "1e%d", e);
		r = strtod(lit, NULL);
		check_real_text(r);
		check_real_text(nextafter(r, 0));
		check_real_text(nextafter(r, INFINITY));
	}
	for (k = 1; k < 60; k++) {
		check_real_text(ldexp(1.0, -k));
		check_real_text(1.0 + ldexp(1.0, -k));
		check_real_text(ldexp(1.0, k) + 0.5);
		check_real_text(ldexp(1.0, k));
	}
	check_real_text(DBL_MAX);
	check_real_text(DBL_MIN);
	check_real_text(DBL_TRUE_MIN);
	check_real_text(-0.0);
	check_real_text(0.0);
	check_real_text(9.5);
	check_real_text(0.5);
	check_real_text(1e23);
	check_real_text(8.41e21);
	check_real_text(5e-324);
	check_real_text(2.2250738585072011e-308);
}
END_TEST

/* Every REAL literal the grammar allows reads as strtod() reads it. */
START_TEST(test_real_parse_oracle)
{
	struct buf b = BUF_INIT, lits = BUF_INIT;
	size_t *starts = malloc(200001 * sizeof(*starts)), i, nl = 0;
	struct fmt_doc d;
	int j, nd;

	ck_assert_ptr_nonnull(starts);
	rng = 0xd6e8feb86659fd93ULL;
	for (i = 0; i < 200000; i++) {
		starts[nl++] = lits.len;
		if (rndn(2))
			buf_addch(&lits, '-');
		nd = 1 + (int)rndn(rndn(4) ? 8 : 25);
		for (j = 0; j < nd; j++)
			buf_addch(&lits, (char)('0' + (j == 0 && rndn(3) ? rndn(2) : rndn(10))));
		if (rndn(4)) {
			buf_addch(&lits, '.');
			nd = 1 + (int)rndn(rndn(4) ? 10 : 30);
			for (j = 0; j < nd; j++)
				buf_addch(&lits, (char)('0' + rndn(10)));
		}
		if (lits.data[lits.len - 1] != '.' && (!memchr(lits.data + starts[nl - 1], '.',
		    lits.len - starts[nl - 1]) || rndn(2))) {
			buf_addch(&lits, rndn(2) ? 'e' : 'E');
			if (rndn(2))
				buf_addch(&lits, rndn(2) ? '-' : '+');
			buf_addf(&lits, "%d", (int)rndn(rndn(3) ? 30 : 280));
		}
		buf_addch(&lits, '\0');
	}
	for (i = 0; i < nl; i++) {
		if (i % 1000 == 0)
			buf_addstr(&b, "[t]\n");
		buf_addf(&b, "f%zu: %s\n", i % 1000, lits.data + starts[i]);
	}
	parse_ok(b.data, b.len, &d);
	ck_assert_uint_eq(d.nfields, nl);
	for (i = 0; i < nl; i++) {
		const char *lit = lits.data + starts[i];
		double want = strtod(lit, NULL);
		const struct value *v = &d.fields[i].val;

		if (v->type == V_INT)
			continue;   /* no '.', no exponent */
		ck_assert_msg(v->type == V_REAL && !memcmp(&v->r, &want, sizeof(want)),
			      "\"%s\" read as %s, strtod says %a", lit, vshow(v), want);
	}
	fmt_doc_release(&d);
	buf_release(&b);
	buf_release(&lits);
	free(starts);
}
END_TEST

/* --- edge cases of the API ------------------------------------------------ */

/* Empty TEXT and BLOB may come with a NULL pointer (SQLite does that). */
START_TEST(test_null_pointers)
{
	struct value t = { .type = V_TEXT, .s = NULL, .n = 0 };
	struct value bl = { .type = V_BLOB, .s = NULL, .n = 0 };
	struct buf b = BUF_INIT;

	fmt_render_field(&b, "v", 1, &t, FMT_BODY);
	fmt_render_field(&b, "w", 1, &bl, 0);
	fmt_render_field(&b, NULL, 0, &t, 0);
	fmt_render_comment(&b, NULL, 0);
	fmt_render_record(&b, NULL, 0);
	fmt_render_inline(&b, &t);
	assert_buf_lit("renders", b, "v: \"\"\nw: x''\n\"\": \"\"\n#\n\n[\"\"]\n\"\"");
	buf_release(&b);
}
END_TEST

/* Names in messages are shown as written, cut short when long. */
START_TEST(test_error_long_name)
{
	struct buf b = BUF_INIT;
	struct fmt_doc d;
	struct fmt_error e;
	int i;

	buf_addstr(&b, "[t]\n");
	for (i = 0; i < 2; i++) {
		buf_addch(&b, '"');
		for (int j = 0; j < 300; j++)
			buf_addstr(&b, "\\x01");
		buf_addstr(&b, "\": 1\n");
	}
	ck_assert_int_eq(parse_copy(b.data, b.len, &d, &e), -1);
	ck_assert_int_eq(e.line, 3);
	ck_assert_int_eq(e.col, 1);
	ck_assert_msg(strstr(e.msg, "\"\\x01\\x01") && strstr(e.msg, "...") &&
		      strstr(e.msg, "twice"), "message: %s", e.msg);
	fmt_doc_release(&d);
	buf_release(&b);
}
END_TEST

/* A pseudo-column must have a bare name: anything else is a caller bug. */
START_TEST(test_pseudo_not_bare_aborts)
{
	struct value v = { .type = V_INT, .i = 1 };
	struct buf b = BUF_INIT;

	fmt_render_field(&b, "a b", 3, &v, FMT_PSEUDO);
	buf_release(&b);
}
END_TEST

/* --- suite ------------------------------------------------------------- */

static Suite *format_suite(void)
{
	Suite *s = suite_create("format");
	TCase *tc;

	tc = tcase_create("render");
	tcase_add_loop_test(tc, test_render_value, 0,
			    sizeof(render_cases) / sizeof(render_cases[0]));
	tcase_add_loop_test(tc, test_render_value_parses_back, 0,
			    sizeof(render_cases) / sizeof(render_cases[0]));
	tcase_add_test(tc, test_render_inline);
	tcase_add_test(tc, test_render_real_direct);
	tcase_add_test(tc, test_render_names);
	tcase_add_test(tc, test_render_record_and_comment);
	tcase_add_test(tc, test_golden_file);
	suite_add_tcase(s, tc);

	tc = tcase_create("parse");
	tcase_add_loop_test(tc, test_parse_value, 0,
			    sizeof(parse_cases) / sizeof(parse_cases[0]));
	tcase_add_test(tc, test_parse_names);
	tcase_add_test(tc, test_parse_structure);
	tcase_add_test(tc, test_parse_empty_inputs);
	tcase_add_test(tc, test_parse_tolerance);
	tcase_add_test(tc, test_parse_many_fields);
	tcase_add_test(tc, test_classify);
	suite_add_tcase(s, tc);

	tc = tcase_create("errors");
	tcase_add_loop_test(tc, test_parse_error, 0,
			    sizeof(err_cases) / sizeof(err_cases[0]));
	tcase_add_test(tc, test_error_message_suggests_empty);
	suite_add_tcase(s, tc);

	tc = tcase_create("api");
	tcase_add_test(tc, test_null_pointers);
	tcase_add_test(tc, test_error_long_name);
	if (!getenv("CK_FORK") || strcmp(getenv("CK_FORK"), "no"))
		tcase_add_test_raise_signal(tc, test_pseudo_not_bare_aborts, SIGABRT);
	suite_add_tcase(s, tc);

	tc = tcase_create("roundtrip");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_roundtrip_nasty);
	tcase_add_test(tc, test_roundtrip_numbers);
	tcase_add_test(tc, test_real_text_oracle);
	tcase_add_test(tc, test_real_parse_oracle);
	suite_add_tcase(s, tc);

	tc = tcase_create("random");
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, test_random_big_file);
	tcase_add_test(tc, test_random_small_files);
	tcase_add_test(tc, test_random_classify_agrees);
	tcase_add_test(tc, test_random_mutations);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(format_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
