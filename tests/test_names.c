/*
 * test_names.c - unit tests for names.c: key and table-name escaping.
 *
 * Hand-written cases pin the exact escaped form; the fuzz cases check the
 * security properties on 100,000 random keys (no name can be a path, ".",
 * "..", hidden, or too long), that every unshortened name decodes back to
 * its key, that distinct keys get distinct names, and that every name the
 * parser accepts is the canonical name of what it decodes to.
 */
#include <check.h>

#include "unit.h"
#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "names.h"
#include "value.h"

#define MAXK 8

#define T(str) ((struct value){ .type = V_TEXT, .s = (str), .n = sizeof(str) - 1 })
#define I(x) ((struct value){ .type = V_INT, .i = (x) })
#define R(x) ((struct value){ .type = V_REAL, .r = (x) })
#define B(str) ((struct value){ .type = V_BLOB, .s = (str), .n = sizeof(str) - 1 })
#define NUL_V ((struct value){ .type = V_NULL })

/* --- helpers for readable failure messages ------------------------------ */

static const char *result_name(int r)
{
	return r == NAMES_OK ? "NAMES_OK" : r == NAMES_HASHED ? "NAMES_HASHED" :
	       r == NAMES_BAD ? "NAMES_BAD" : "?";
}

/* --- hand-written cases --------------------------------------------------- */

/*
 * Check that key k[0..n) is escaped exactly as `want`, appended after a
 * prefix that must stay intact, that names_fit() leaves it alone, and that
 * it parses back to the same key.
 */
static void expect_name(const struct value *k, size_t n, const char *want,
			int line)
{
	struct buf out = BUF_INIT, st = BUF_INIT;
	struct value got[MAXK];
	size_t count = 99, i;
	uint64_t h = 1;
	int r;

	buf_addstr(&out, "dir/");
	names_add_key(&out, k, n);
	ck_assert_msg(memcmp(out.data, "dir/", 4) == 0,
		      "line %d: prefix clobbered: \"%s\"", line,
		      show(out.data, out.len));
	ck_assert_msg(out.len - 4 == strlen(want) &&
		      memcmp(out.data + 4, want, out.len - 4) == 0,
		      "line %d: key %s... escaped as \"%s\", want \"%s\"", line,
		      show_value(&k[0]), show(out.data + 4, out.len - 4), want);
	names_fit(&out, 4);
	ck_assert_msg(out.len - 4 == strlen(want),
		      "line %d: names_fit changed short name \"%s\" to \"%s\"",
		      line, want, show(out.data + 4, out.len - 4));

	r = names_parse_key(out.data + 4, out.len - 4, got, MAXK, &count, &st,
			    &h);
	ck_assert_msg(r == NAMES_OK, "line %d: parse \"%s\" gave %s, want NAMES_OK",
		      line, want, result_name(r));
	ck_assert_msg(count == n, "line %d: parse \"%s\" gave %zu components, want %zu",
		      line, want, count, n);
	ck_assert_msg(h == 0, "line %d: hash not zeroed on NAMES_OK", line);
	for (i = 0; i < n; i++)
		ck_assert_msg(value_equal(&got[i], &k[i]),
			      "line %d: \"%s\" component %zu parsed as %s, want %s",
			      line, want, i, show_value(&got[i]), show_value(&k[i]));
	buf_release(&out);
	buf_release(&st);
}

#define EXPECT_NAME(want, ...) do { \
	const struct value k_[] = { __VA_ARGS__ }; \
	expect_name(k_, sizeof(k_) / sizeof(k_[0]), want, __LINE__); \
} while (0)

START_TEST(test_text_keys)
{
	EXPECT_NAME("3f2a9c1e-7b4d-4c1a-9e2f-0d8b6a5c4e3f",
		    T("3f2a9c1e-7b4d-4c1a-9e2f-0d8b6a5c4e3f"));
	EXPECT_NAME("alice", T("alice"));
	EXPECT_NAME("Under_score.and-dash", T("Under_score.and-dash"));
	EXPECT_NAME("%342", T("42"));
	EXPECT_NAME("%30", T("0"));
	EXPECT_NAME("%3007", T("007"));
	EXPECT_NAME("%2D7", T("-7"));
	EXPECT_NAME("%2D0", T("-0"));
	EXPECT_NAME("%399999999999999999999", T("99999999999999999999"));
	EXPECT_NAME("-", T("-"));
	EXPECT_NAME("--5", T("--5"));
	EXPECT_NAME("-x", T("-x"));
	EXPECT_NAME("4a", T("4a"));
	EXPECT_NAME("%2B5", T("+5"));
	EXPECT_NAME("1.5", T("1.5"));
	EXPECT_NAME("%", T(""));
	EXPECT_NAME("a%2Fb", T("a/b"));
	EXPECT_NAME("%2E", T("."));
	EXPECT_NAME("%2E.", T(".."));
	EXPECT_NAME("%2E..", T("..."));
	EXPECT_NAME("%2Ehidden", T(".hidden"));
	EXPECT_NAME("a.", T("a."));
	EXPECT_NAME("%2E.%2F..%2Fetc%2Fpasswd", T("../../etc/passwd"));
	EXPECT_NAME("%2F", T("/"));
	EXPECT_NAME("line1%0Aline2", T("line1\nline2"));
	EXPECT_NAME("a%00b", T("a\0b"));
	EXPECT_NAME("%00", T("\0"));
	EXPECT_NAME("100%25", T("100%"));
	EXPECT_NAME("a%2Cb", T("a,b"));
	EXPECT_NAME("%7E", T("~"));
	EXPECT_NAME("a%7E0123456789abcdef", T("a~0123456789abcdef"));
	EXPECT_NAME("a%20b", T("a b"));
	EXPECT_NAME("%C3%A9t%C3%A9", T("\xc3\xa9t\xc3\xa9"));
	EXPECT_NAME("%FF", T("\xff"));
	EXPECT_NAME("%25n", T("%n"));
	EXPECT_NAME("%25", T("%"));
	EXPECT_NAME("NULL", T("NULL"));
}
END_TEST

START_TEST(test_other_keys)
{
	EXPECT_NAME("42", I(42));
	EXPECT_NAME("-7", I(-7));
	EXPECT_NAME("0", I(0));
	EXPECT_NAME("9223372036854775807", I(INT64_MAX));
	EXPECT_NAME("-9223372036854775808", I(INT64_MIN));
	EXPECT_NAME("%r1.5", R(1.5));
	EXPECT_NAME("%r0.30000000000000004", R(0.1 + 0.2));
	EXPECT_NAME("%r1.0", R(1.0));
	EXPECT_NAME("%r0.0", R(0.0));
	EXPECT_NAME("%r-0.0", R(-0.0));
	EXPECT_NAME("%r-2.5", R(-2.5));
	EXPECT_NAME("%r1e%2B100", R(1e100));
	EXPECT_NAME("%r1e-07", R(1e-7));
	EXPECT_NAME("%r4.94065645841247e-324", R(4.9406564584124654e-324));
	EXPECT_NAME("%rInf", R(INFINITY));
	EXPECT_NAME("%r-Inf", R(-INFINITY));
	EXPECT_NAME("%x002fff", B("\x00\x2f\xff"));
	EXPECT_NAME("%x", B(""));
	EXPECT_NAME("%n", NUL_V);
}
END_TEST

START_TEST(test_composite_keys)
{
	EXPECT_NAME("alice,3", T("alice"), I(3));
	EXPECT_NAME("3,alice", I(3), T("alice"));
	EXPECT_NAME("%342,42", T("42"), I(42));
	EXPECT_NAME("%n,%,%x01", NUL_V, T(""), B("\x01"));
	EXPECT_NAME("a%2Cb,c", T("a,b"), T("c"));
	EXPECT_NAME("a,%2Cb%2Cc", T("a"), T(",b,c"));
	EXPECT_NAME("%,%", T(""), T(""));
	EXPECT_NAME("x,%2E.,%2E", T("x"), T(".."), T("."));
	EXPECT_NAME("%r1.5,-1,%x,%n,%30", R(1.5), I(-1), B(""), NUL_V, T("0"));
}
END_TEST

START_TEST(test_nan)
{
	/* NaN (which SQLite never stores) has one name and reads back as NaN */
	struct value k = R(NAN), got;
	struct buf out = BUF_INIT, st = BUF_INIT;
	size_t count;

	names_add_key(&out, &k, 1);
	ck_assert_str_eq(out.data, "%rNaN");
	ck_assert_int_eq(names_parse_key(out.data, out.len, &got, 1, &count,
					 &st, NULL), NAMES_OK);
	ck_assert_msg(count == 1 && got.type == V_REAL && isnan(got.r),
		      "\"%%rNaN\" parsed as %s", show_value(&got));
	buf_release(&out);
	buf_release(&st);
}
END_TEST

START_TEST(test_hash)
{
	/* published FNV-1a 64 test vectors */
	ck_assert_uint_eq(names_hash("", 0), UINT64_C(0xcbf29ce484222325));
	ck_assert_uint_eq(names_hash("a", 1), UINT64_C(0xaf63dc4c8601ec8c));
	ck_assert_uint_eq(names_hash("foobar", 6), UINT64_C(0x85944171f73967e8));
}
END_TEST

/* --- tables ------------------------------------------------------------- */

static void expect_table(const char *name, size_t len, const char *want,
			 int line)
{
	struct buf out = BUF_INIT, back = BUF_INIT;
	int r;

	buf_addstr(&out, "x/");
	names_add_table(&out, name, len);
	ck_assert_msg(strcmp(out.data + 2, want) == 0 && out.len - 2 == strlen(want),
		      "line %d: table \"%s\" escaped as \"%s\", want \"%s\"",
		      line, show(name, len), show(out.data + 2, out.len - 2), want);
	r = names_parse_table(out.data + 2, out.len - 2, &back);
	ck_assert_msg(r == NAMES_OK, "line %d: parse table \"%s\" gave %s",
		      line, want, result_name(r));
	ck_assert_msg(back.len == len && memcmp(back.data, name, len) == 0,
		      "line %d: table \"%s\" parsed as \"%s\", want \"%s\"", line,
		      want, show(back.data, back.len), show(name, len));
	buf_release(&out);
	buf_release(&back);
}

#define EXPECT_TABLE(name, want) \
	expect_table(name, sizeof(name) - 1, want, __LINE__)

START_TEST(test_tables)
{
	EXPECT_TABLE("prayer", "prayer");
	EXPECT_TABLE("user_settings", "user_settings");
	EXPECT_TABLE("42", "42");
	EXPECT_TABLE("-7", "-7");
	EXPECT_TABLE("", "%");
	EXPECT_TABLE(".", "%2E");
	EXPECT_TABLE("..", "%2E.");
	EXPECT_TABLE(".hidden", "%2Ehidden");
	EXPECT_TABLE("a b/c", "a%20b%2Fc");
	EXPECT_TABLE("a,b~c%", "a%2Cb%7Ec%25");
	EXPECT_TABLE("t\0x", "t%00x");
}
END_TEST

START_TEST(test_tables_bad)
{
	static const struct { const char *s; size_t n; } bad[] = {
#define BAD(str) { str, sizeof(str) - 1 }
		BAD(""), BAD("."), BAD(".."), BAD(".x"), BAD("%3442"),
		BAD("%41"), BAD("a%2c"), BAD("a%2"), BAD("a%"), BAD("%%"),
		BAD("%n"), BAD("%x00"), BAD("a/b"), BAD("a b"), BAD("a~b"),
		BAD("a,b"), BAD("a\0b"), BAD("%2E%2E"), BAD("%GG"),
#undef BAD
	};
	struct buf out = BUF_INIT;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int r;

		buf_addstr(&out, "junk");
		r = names_parse_table(bad[i].s, bad[i].n, &out);
		ck_assert_msg(r == NAMES_BAD,
			      "table name \"%s\" gave %s (\"%s\"), want NAMES_BAD",
			      show(bad[i].s, bad[i].n), result_name(r),
			      show(out.data, out.len));
	}
	buf_release(&out);
}
END_TEST

/* --- names the parser refuses -------------------------------------------- */

START_TEST(test_parse_bad)
{
	static const struct { const char *s; size_t n; } bad[] = {
#define BAD(str) { str, sizeof(str) - 1 }
		/* structure */
		BAD(""), BAD(","), BAD("a,"), BAD(",a"), BAD("a,,b"), BAD("%%"),
		BAD("a%"), BAD("a%4"), BAD("%G0"), BAD("%4g"),
		/* bytes that must be escaped */
		BAD("a/b"), BAD("a b"), BAD("a\nb"), BAD("a\0b"), BAD("a+b"),
		BAD("\xc3\xa9"), BAD("a~b"), BAD("~"), BAD("."), BAD(".."),
		BAD(".a"), BAD("a,.b"),
		/* non-canonical escapes */
		BAD("%2e."), BAD("a%2f"), BAD("%41bc"), BAD("a%41"), BAD("%2E%2E"),
		BAD("%34a"), BAD("%2Da"), BAD("%2D"), BAD("a%2E"), BAD("%5F"),
		/* non-canonical integers */
		BAD("007"), BAD("00"), BAD("-0"), BAD("-007"), BAD("+5"),
		BAD("9223372036854775808"), BAD("-9223372036854775809"),
		BAD("99999999999999999999"),
		/* tags */
		BAD("%N"), BAD("%nx"), BAD("%n%n"), BAD("%X00"), BAD("%x0"),
		BAD("%xAB"), BAD("%xzz"), BAD("%x0g"), BAD("%r"), BAD("%r1"),
		BAD("%r1.50"), BAD("%r01.5"), BAD("%r1e+100"), BAD("%r1E%2B100"),
		BAD("%r1e100"), BAD("%rinf"), BAD("%rInfinity"), BAD("%rnan"),
		BAD("%r0x1p3"), BAD("%r%201.0"), BAD("%r%31.0"), BAD("%r%2B1.0"),
		BAD("%r1.0x"), BAD("%r-0"), BAD("%r.5"), BAD("%r1e400"),
		BAD("%q"), BAD("%z1"),
		/* shortened names */
		BAD("a~0123456789abcde"), BAD("a~0123456789abcdef0"),
		BAD("a~0123456789ABCDEF"), BAD("a~~123456789abcdef"),
		BAD("a~0123456789abcdeg"), BAD("~"), BAD("a,~0123456789abcdef"),
		BAD("a~0123456789abcdef~0123456789abcdef"),
		BAD("a/~0123456789abcdef"), BAD(".a~0123456789abcdef"),
		BAD("007~0123456789abcdef"),
#undef BAD
	};
	struct value got[MAXK];
	struct buf st = BUF_INIT;
	size_t i, count;
	uint64_t h;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int r = names_parse_key(bad[i].s, bad[i].n, got, MAXK, &count,
					&st, &h);

		ck_assert_msg(r == NAMES_BAD,
			      "name \"%s\" gave %s (%zu components, first %s), want NAMES_BAD",
			      show(bad[i].s, bad[i].n), result_name(r), count,
			      count ? show_value(&got[0]) : "-");
		ck_assert_msg(count == 0, "name \"%s\": count %zu on NAMES_BAD",
			      show(bad[i].s, bad[i].n), count);
	}
	buf_release(&st);
}
END_TEST

START_TEST(test_parse_limits)
{
	struct value got[3];
	struct buf st = BUF_INIT, name = BUF_INIT;
	size_t count;

	ck_assert_int_eq(names_parse_key("1,2,3", 5, got, 3, &count, &st, NULL),
			 NAMES_OK);
	ck_assert_uint_eq(count, 3);
	ck_assert_int_eq(names_parse_key("1,2,3", 5, got, 2, &count, &st, NULL),
			 NAMES_BAD);
	ck_assert_int_eq(names_parse_key("1", 1, got, 0, &count, &st, NULL),
			 NAMES_BAD);

	/* an unshortened name longer than NAMES_MAX is never written */
	while (name.len < NAMES_MAX)
		buf_addch(&name, 'a');
	ck_assert_int_eq(names_parse_key(name.data, name.len, got, 3, &count,
					 &st, NULL), NAMES_OK);
	buf_addch(&name, 'a');
	ck_assert_int_eq(names_parse_key(name.data, name.len, got, 3, &count,
					 &st, NULL), NAMES_BAD);

	/* storage: each text is followed by a NUL, and storage is reset */
	buf_addstr(&st, "old");
	ck_assert_int_eq(names_parse_key("ab,%x41,c%2Fd", 13, got, 3, &count,
					 &st, NULL), NAMES_OK);
	ck_assert_uint_eq(count, 3);
	ck_assert_uint_eq(st.len, 9);
	ck_assert_mem_eq(st.data, "ab\0A\0c/d\0", 10);
	ck_assert_ptr_eq(got[0].s, st.data);
	ck_assert_ptr_eq(got[2].s, st.data + 5);
	buf_release(&st);
	buf_release(&name);
}
END_TEST

/* --- shortened names ----------------------------------------------------- */

/*
 * Encode k[0..n) and shorten it; check the result is `want_prefix` + "~" +
 * hash of the full text, and that it parses as NAMES_HASHED into `want`
 * (want_n components, the last possibly cut short).
 */
static void expect_hashed(const struct value *k, size_t n,
			  const char *want_prefix, const struct value *want,
			  size_t want_n, int line)
{
	struct buf full = BUF_INIT, name = BUF_INIT, st = BUF_INIT;
	struct value got[MAXK];
	char tail[32];
	size_t count = 99, i, plen = strlen(want_prefix);
	uint64_t h = 0;
	int r;

	names_add_key(&full, k, n);
	ck_assert_msg(full.len > NAMES_MAX, "line %d: test key too short", line);
	buf_addstr(&name, "d/");
	buf_add(&name, full.data, full.len);
	names_fit(&name, 2);
	snprintf(tail, sizeof(tail), "~%016" PRIx64, names_hash(full.data, full.len));
	ck_assert_msg(name.len - 2 == plen + 17 &&
		      memcmp(name.data + 2, want_prefix, plen) == 0 &&
		      memcmp(name.data + 2 + plen, tail, 17) == 0,
		      "line %d: shortened to \"%s\" (%zu bytes), want \"%s%s\"", line,
		      show(name.data + 2, name.len - 2), name.len - 2,
		      show(want_prefix, plen), tail);
	ck_assert_msg(name.len - 2 <= NAMES_MAX, "line %d: %zu bytes", line,
		      name.len - 2);

	r = names_parse_key(name.data + 2, name.len - 2, got, MAXK, &count,
			    &st, &h);
	ck_assert_msg(r == NAMES_HASHED, "line %d: parse gave %s", line,
		      result_name(r));
	ck_assert_msg(h == names_hash(full.data, full.len),
		      "line %d: hash %016" PRIx64 ", want %016" PRIx64, line, h,
		      names_hash(full.data, full.len));
	ck_assert_msg(count == want_n, "line %d: %zu components, want %zu",
		      line, count, want_n);
	for (i = 0; i < want_n; i++)
		ck_assert_msg(value_equal(&got[i], &want[i]),
			      "line %d: component %zu is %s, want %s", line, i,
			      show_value(&got[i]), show_value(&want[i]));
	buf_release(&full);
	buf_release(&name);
	buf_release(&st);
}

/* A string of `n` copies of `unit` (unit_len bytes each), plus `tail`. */
static const char *rep(struct buf *b, const char *unit, size_t unit_len,
		       size_t n, const char *tail)
{
	size_t i;

	buf_reset(b);
	for (i = 0; i < n; i++)
		buf_add(b, unit, unit_len);
	buf_addstr(b, tail);
	return b->data;
}

static struct value text_of(const struct buf *b)
{
	struct value v = { .type = V_TEXT, .s = b->data, .n = b->len };
	return v;
}

START_TEST(test_hashed)
{
	struct buf a = BUF_INIT, b = BUF_INIT, c = BUF_INIT, d = BUF_INIT;
	struct value k[3], w[3];

	/* a 300-byte id keeps its first 183 bytes */
	rep(&a, "x", 1, 300, "");
	rep(&b, "x", 1, 183, "");
	k[0] = text_of(&a);
	w[0] = text_of(&b);
	expect_hashed(k, 1, b.data, w, 1, __LINE__);

	/* never cut inside an escape: 61 whole "%2F" = 183 bytes */
	rep(&a, "/", 1, 100, "");
	k[0] = text_of(&a);
	rep(&b, "/", 1, 61, "");
	w[0] = text_of(&b);
	rep(&c, "%2F", 3, 61, "");
	expect_hashed(k, 1, c.data, w, 1, __LINE__);

	/* "ab/" repeated: 182 bytes = 36 * "ab%2F" + "ab" */
	rep(&a, "ab/", 3, 80, "");
	k[0] = text_of(&a);
	rep(&b, "ab/", 3, 36, "ab");
	w[0] = text_of(&b);
	rep(&c, "ab%2F", 5, 36, "ab");
	expect_hashed(k, 1, c.data, w, 1, __LINE__);

	/* an integer-like text keeps its first-byte escape */
	rep(&a, "5", 1, 300, "");
	k[0] = text_of(&a);
	rep(&b, "5", 1, 181, "");
	w[0] = text_of(&b);
	rep(&c, "5", 1, 180, "");
	rep(&d, "%35", 3, 1, c.data);
	expect_hashed(k, 1, d.data, w, 1, __LINE__);

	/* "-5555...": the kept prefix may read "-" then digits */
	rep(&a, "5", 1, 300, "");
	rep(&c, "-", 1, 1, a.data);
	k[0] = text_of(&c);
	rep(&b, "5", 1, 180, "");
	rep(&d, "-", 1, 1, b.data);
	w[0] = text_of(&d);
	rep(&a, "%2D", 3, 1, b.data);
	expect_hashed(k, 1, a.data, w, 1, __LINE__);

	/* a text cut must not leave an integer-lookalike: 250 digits + "a"
	 * has no cut point within reach, so nothing is kept: "~<hash>" */
	rep(&a, "1", 1, 250, "a");
	k[0] = text_of(&a);
	expect_hashed(k, 1, "", w, 0, __LINE__);

	/* ...but "1a" + digits can be cut anywhere after the 'a' */
	rep(&a, "1", 1, 300, "");
	rep(&c, "1a", 2, 1, a.data);
	k[0] = text_of(&c);
	rep(&b, "1", 1, 181, "");
	rep(&d, "1a", 2, 1, b.data);
	w[0] = text_of(&d);
	expect_hashed(k, 1, d.data, w, 1, __LINE__);

	/* composite: an INTEGER is never cut; the ',' goes with it */
	rep(&a, "a", 1, 180, "");
	k[0] = text_of(&a);
	k[1] = I(123456);
	w[0] = text_of(&a);
	rep(&c, "a", 1, 190, "");
	k[2] = text_of(&c);
	expect_hashed(k, 3, a.data, w, 1, __LINE__);

	/* composite: an INTEGER that fits is kept whole, then the text cut */
	k[0] = I(-42);
	rep(&a, "z", 1, 300, "");
	k[1] = text_of(&a);
	w[0] = I(-42);
	rep(&b, "z", 1, 179, "");
	w[1] = text_of(&b);
	rep(&c, "-42,", 4, 1, b.data);
	expect_hashed(k, 2, c.data, w, 2, __LINE__);

	/* a REAL is never cut either */
	rep(&a, "q", 1, 175, "");
	k[0] = text_of(&a);
	k[1] = R(0.1 + 0.2);            /* "%r0.30000000000000004" */
	k[2] = T("tail");
	w[0] = text_of(&a);
	expect_hashed(k, 3, a.data, w, 1, __LINE__);

	/* a BLOB is cut after whole bytes: "%x" + 180 hex digits */
	rep(&a, "\x5a", 1, 200, "");
	k[0] = (struct value){ .type = V_BLOB, .s = a.data, .n = a.len };
	w[0] = (struct value){ .type = V_BLOB, .s = a.data, .n = 90 };
	rep(&c, "5a", 2, 90, "");
	rep(&d, "%x", 2, 1, c.data);
	expect_hashed(k, 1, d.data, w, 1, __LINE__);

	/* a NULL and an empty text are kept whole or not at all */
	rep(&a, "n", 1, 181, "");
	k[0] = text_of(&a);
	k[1] = NUL_V;
	k[2] = text_of(&a);
	w[0] = text_of(&a);
	expect_hashed(k, 3, a.data, w, 1, __LINE__);       /* 181 + ",%n" */
	rep(&a, "n", 1, 180, "");
	k[0] = text_of(&a);
	k[2] = text_of(&a);
	w[0] = text_of(&a);
	w[1] = NUL_V;
	rep(&c, "n", 1, 180, ",%n");
	expect_hashed(k, 3, c.data, w, 2, __LINE__);       /* 180 + ",%n" */
	k[1] = T("");
	w[1] = T("");
	rep(&c, "n", 1, 180, ",%");
	expect_hashed(k, 3, c.data, w, 2, __LINE__);
	rep(&b, "n", 1, 182, "");
	k[0] = text_of(&b);
	w[0] = text_of(&b);
	expect_hashed(k, 3, b.data, w, 1, __LINE__);       /* 182 + ",%" */

	buf_release(&a);
	buf_release(&b);
	buf_release(&c);
	buf_release(&d);
}
END_TEST

START_TEST(test_hashed_distinct)
{
	/* same 183-byte prefix, different tails: different names */
	struct buf a = BUF_INIT, n1 = BUF_INIT, n2 = BUF_INIT;
	struct value k;

	rep(&a, "p", 1, 250, "1");
	k = text_of(&a);
	names_add_key(&n1, &k, 1);
	names_fit(&n1, 0);
	a.data[249] = 'q';
	names_add_key(&n2, &k, 1);
	names_fit(&n2, 0);
	ck_assert_msg(!buf_eq(&n1, &n2), "both named \"%s\"",
		      show(n1.data, n1.len));
	ck_assert_uint_eq(n1.len, n2.len);
	ck_assert_mem_eq(n1.data, n2.data, 184);

	/* shortening is a pure function of the key */
	buf_reset(&n1);
	names_add_key(&n1, &k, 1);
	names_fit(&n1, 0);
	ck_assert_msg(buf_eq(&n1, &n2), "\"%s\" then \"%s\"",
		      show(n2.data, n2.len), show(n1.data, n1.len));

	/* exactly NAMES_MAX is kept, one more is shortened */
	rep(&a, "m", 1, NAMES_MAX, "");
	k = text_of(&a);
	buf_reset(&n1);
	names_add_key(&n1, &k, 1);
	names_fit(&n1, 0);
	ck_assert_uint_eq(n1.len, NAMES_MAX);
	ck_assert_ptr_null(memchr(n1.data, '~', n1.len));
	buf_addch(&a, 'm');
	k = text_of(&a);
	buf_reset(&n1);
	names_add_key(&n1, &k, 1);
	names_fit(&n1, 0);
	ck_assert_uint_eq(n1.len, NAMES_MAX);
	ck_assert_ptr_nonnull(memchr(n1.data, '~', n1.len));

	buf_release(&a);
	buf_release(&n1);
	buf_release(&n2);
}
END_TEST

/* --- random keys ------------------------------------------------------------ */

/*
 * ck_assert_msg() reports every passing check to the parent process (a
 * pipe write under CK_FORK), far too slow for millions of checks: CHECK()
 * only calls into Check when the condition fails.
 */
#define CHECK(expr, fmt, ...) do { \
	if (!(expr)) \
		ck_abort_msg("'%s' failed: " fmt, #expr, ##__VA_ARGS__); \
} while (0)

#define FUZZ_KEYS 100000
#define GEN_MAXC 4

static uint64_t rnd(uint64_t *s)       /* splitmix64 */
{
	uint64_t z = (*s += UINT64_C(0x9e3779b97f4a7c15));

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

static unsigned below(uint64_t *s, unsigned n)
{
	return (unsigned)(rnd(s) % n);
}

struct gkey {
	struct value v[GEN_MAXC];
	size_t n;
	struct buf bytes;
};

static const char *const nasty[] = {
	"", ".", "..", "...", "./", "../", "../../etc/passwd", "/", "//", "-",
	"--", "-0", "0", "00", "007", "42", "-42", "+5", "%", "%%", "%2E",
	"%2e", "%n", "%x", "%x00", "%r1.0", "~", "~0123456789abcdef", ",", ",,",
	"a,b", "\n", "\r\n", " ", ".hidden", "NULL", "1.5", "1.0", "Inf", "NaN",
	"9223372036854775808", "-9223372036854775809", "\xc3\xa9", "a/b",
};

/* Random bytes for a TEXT or BLOB of length len, from one of a few pools
 * chosen per value (so long all-digit texts happen too). */
static void gen_bytes(uint64_t *s, struct buf *b, size_t len)
{
	static const char *const pools[] = {
		"0123456789", "-0123456789", "./", "./%,~-0a",
		"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-",
		"/.\n%,~ \r\t-+", "a.",
	};
	unsigned pool = below(s, 9);
	size_t i;

	for (i = 0; i < len; i++) {
		unsigned char c;

		if (pool >= 7) {
			c = (unsigned char)rnd(s);
		} else {
			const char *p = pools[pool];
			c = (unsigned char)p[below(s, (unsigned)strlen(p))];
			if (below(s, 50) == 0)
				c = (unsigned char)(below(s, 2) ? '\0' : '/');
		}
		buf_addch(b, c);
	}
	if (len && pool <= 1 && below(s, 4) == 0)
		b->data[b->len - 1] = 'a';       /* digits then a letter */
}

static size_t gen_len(uint64_t *s)
{
	unsigned p = below(s, 100);

	if (p < 40)
		return below(s, 5);
	if (p < 75)
		return 5 + below(s, 36);
	if (p < 94)
		return 41 + below(s, 210);
	return 251 + below(s, 4096 - 250);
}

/* Key number `seed`, regenerated identically every time. */
static void gen_key(uint64_t seed, struct gkey *g)
{
	uint64_t s = seed * UINT64_C(0x2545f4914f6cdd1d) + 12345;
	size_t off[GEN_MAXC], i;
	unsigned p = below(&s, 100);

	g->n = p < 60 ? 1 : p < 85 ? 2 : p < 95 ? 3 : 4;
	buf_reset(&g->bytes);
	for (i = 0; i < g->n; i++) {
		struct value *v = &g->v[i];
		unsigned t = below(&s, 100);

		memset(v, 0, sizeof(*v));
		off[i] = g->bytes.len;
		if (t < 55) {
			v->type = V_TEXT;
			if (below(&s, 12) == 0) {
				const char *w = nasty[below(&s, sizeof(nasty) / sizeof(nasty[0]))];
				buf_addstr(&g->bytes, w);
				if (!*w && below(&s, 2))
					buf_addch(&g->bytes, '\0');
			} else {
				gen_bytes(&s, &g->bytes, gen_len(&s));
			}
		} else if (t < 70) {
			unsigned q = below(&s, 10);

			v->type = V_INT;
			if (q < 4)
				v->i = (int64_t)below(&s, 41) - 20;
			else if (q < 7)
				v->i = (int64_t)rnd(&s);
			else if (q < 8)
				v->i = below(&s, 2) ? INT64_MIN : INT64_MAX;
			else {
				unsigned shift = 1 + below(&s, 63);
				int64_t m = (int64_t)(rnd(&s) >> shift);
				v->i = below(&s, 2) ? m : -m;
			}
		} else if (t < 80) {
			static const double fixed[] = {
				0.0, -0.0, 1.5, 0.1 + 0.2, 1e100, 1e-7, 5e-324,
				1.7976931348623157e308, 100.0, -3.25, 42.0,
			};
			unsigned q = below(&s, 4);

			v->type = V_REAL;
			if (q == 0) {
				v->r = fixed[below(&s, sizeof(fixed) / sizeof(fixed[0]))];
			} else if (q == 1) {
				v->r = below(&s, 2) ? INFINITY : -INFINITY;
			} else if (q == 2) {
				v->r = (double)((int64_t)below(&s, 2001) - 1000) / 8;
			} else {
				uint64_t bits = rnd(&s);
				memcpy(&v->r, &bits, sizeof(v->r));
				if (isnan(v->r))
					v->r = 0.5;
			}
		} else if (t < 92) {
			v->type = V_BLOB;
			gen_bytes(&s, &g->bytes, below(&s, 4) ? below(&s, 12) :
				  below(&s, 300));
		} else {
			v->type = V_NULL;
		}
		v->n = g->bytes.len - off[i];
	}
	for (i = 0; i < g->n; i++)
		if (g->v[i].type == V_TEXT || g->v[i].type == V_BLOB)
			g->v[i].s = g->bytes.data + off[i];
		else
			g->v[i].n = 0;
}

static int keys_equal(const struct gkey *a, const struct gkey *b)
{
	size_t i;

	if (a->n != b->n)
		return 0;
	for (i = 0; i < a->n; i++)
		if (!value_equal(&a->v[i], &b->v[i]))
			return 0;
	return 1;
}

/* Whether got is `want` cut short: same TEXT/BLOB prefix, else equal. */
static int is_cut_of(const struct value *got, const struct value *want)
{
	if (got->type != want->type)
		return 0;
	if (got->type == V_TEXT || got->type == V_BLOB)
		return got->n <= want->n &&
		       (got->n == 0 || memcmp(got->s, want->s, got->n) == 0);
	return value_equal(got, want);
}

static int name_byte_ok(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	       (c >= '0' && c <= '9') || strchr("_.-%,~", c) != NULL;
}

/* The safety properties every name must have, whatever the key. */
static void check_safe(const char *nm, size_t len, int shortened, uint64_t seed)
{
	size_t i;

	CHECK(len > 0 && len <= NAMES_MAX,
		      "key #%" PRIu64 ": name of %zu bytes", seed, len);
	CHECK(!memchr(nm, '/', len) && !memchr(nm, '\0', len),
		      "key #%" PRIu64 ": name \"%s\" has '/' or NUL", seed,
		      show(nm, len));
	CHECK(nm[0] != '.', "key #%" PRIu64 ": name \"%s\" starts with '.'",
		      seed, show(nm, len));
	CHECK(!(len == 1 && nm[0] == '.') &&
		      !(len == 2 && nm[0] == '.' && nm[1] == '.'),
		      "key #%" PRIu64 ": name \"%s\"", seed, show(nm, len));
	for (i = 0; i < len; i++)
		CHECK(name_byte_ok((unsigned char)nm[i]) &&
			      (nm[i] != '~' || (shortened && i == len - 17)),
			      "key #%" PRIu64 ": name \"%s\" has byte 0x%02x at %zu",
			      seed, show(nm, len), (unsigned char)nm[i], i);
}

struct named {
	size_t off, len;
	uint32_t seed;
};

static const char *sort_arena;

static int cmp_named(const void *pa, const void *pb)
{
	const struct named *a = pa, *b = pb;
	size_t n = a->len < b->len ? a->len : b->len;
	int c = memcmp(sort_arena + a->off, sort_arena + b->off, n);

	if (c)
		return c;
	return a->len < b->len ? -1 : a->len > b->len;
}

START_TEST(test_fuzz_keys)
{
	struct gkey g = { .bytes = BUF_INIT }, g2 = { .bytes = BUF_INIT };
	struct buf full = BUF_INIT, name = BUF_INIT, st = BUF_INIT,
		   arena = BUF_INIT;
	struct named *names = calloc(FUZZ_KEYS, sizeof(*names));
	struct value got[MAXK];
	size_t i, j, count, nshort = 0, ndup = 0;
	uint64_t seed, h;

	CHECK(names != NULL, "out of memory");
	for (seed = 0; seed < FUZZ_KEYS; seed++) {
		int r, shortened;

		gen_key(seed, &g);
		buf_reset(&full);
		names_add_key(&full, g.v, g.n);
		CHECK(full.len && full.data[0] != '.' &&
			      !memchr(full.data, '/', full.len) &&
			      !memchr(full.data, '\0', full.len) &&
			      !memchr(full.data, '~', full.len),
			      "key #%" PRIu64 ": escaped as \"%s\"", seed,
			      show(full.data, full.len));
		buf_reset(&name);
		buf_add(&name, full.data, full.len);
		names_fit(&name, 0);
		shortened = full.len > NAMES_MAX;
		check_safe(name.data, name.len, shortened, seed);

		r = names_parse_key(name.data, name.len, got, MAXK, &count, &st, &h);
		if (!shortened) {
			CHECK(buf_eq(&name, &full),
				      "key #%" PRIu64 ": fit changed \"%s\"", seed,
				      show(full.data, full.len));
			CHECK(r == NAMES_OK && count == g.n,
				      "key #%" PRIu64 ": \"%s\" parsed: %s, %zu of %zu components",
				      seed, show(name.data, name.len),
				      result_name(r), count, g.n);
			for (i = 0; i < g.n; i++)
				CHECK(value_equal(&got[i], &g.v[i]),
					      "key #%" PRIu64 ": \"%s\" component %zu read back as %s, was %s",
					      seed, show(name.data, name.len), i,
					      show_value(&got[i]), show_value(&g.v[i]));
		} else {
			nshort++;
			CHECK(r == NAMES_HASHED,
				      "key #%" PRIu64 ": \"%s\" parsed: %s, want NAMES_HASHED",
				      seed, show(name.data, name.len), result_name(r));
			CHECK(h == names_hash(full.data, full.len),
				      "key #%" PRIu64 ": hash %016" PRIx64 " of \"%s\"",
				      seed, h, show(name.data, name.len));
			CHECK(memcmp(name.data, full.data, name.len - 17) == 0,
				      "key #%" PRIu64 ": \"%s\" is not a prefix of \"%s\"",
				      seed, show(name.data, name.len),
				      show(full.data, full.len));
			CHECK(count <= g.n, "key #%" PRIu64 ": %zu components",
				      seed, count);
			for (i = 0; i + 1 < count; i++)
				CHECK(value_equal(&got[i], &g.v[i]),
					      "key #%" PRIu64 ": \"%s\" component %zu read back as %s, was %s",
					      seed, show(name.data, name.len), i,
					      show_value(&got[i]), show_value(&g.v[i]));
			if (count)
				CHECK(is_cut_of(&got[count - 1], &g.v[count - 1]),
					      "key #%" PRIu64 ": \"%s\" last component %s, not a cut of %s",
					      seed, show(name.data, name.len),
					      show_value(&got[count - 1]),
					      show_value(&g.v[count - 1]));
		}
		names[seed].off = arena.len;
		names[seed].len = name.len;
		names[seed].seed = (uint32_t)seed;
		buf_add(&arena, name.data, name.len);
	}

	/* distinct keys, distinct names: equal names must come from equal keys */
	sort_arena = arena.data;
	qsort(names, FUZZ_KEYS, sizeof(*names), cmp_named);
	for (i = 0; i + 1 < FUZZ_KEYS; i = j) {
		for (j = i + 1; j < FUZZ_KEYS && cmp_named(&names[i], &names[j]) == 0; j++) {
			gen_key(names[i].seed, &g);
			gen_key(names[j].seed, &g2);
			CHECK(keys_equal(&g, &g2),
				      "keys #%u (%s...) and #%u (%s...) both named \"%s\"",
				      names[i].seed, show_value(&g.v[0]),
				      names[j].seed, show_value(&g2.v[0]),
				      show(arena.data + names[i].off, names[i].len));
			ndup++;
		}
	}
	/* the generator must reach both regimes for this test to mean much */
	CHECK(nshort > 1000, "only %zu shortened names", nshort);
	CHECK(ndup < FUZZ_KEYS / 2, "%zu duplicate keys", ndup);

	free(names);
	buf_release(&g.bytes);
	buf_release(&g2.bytes);
	buf_release(&full);
	buf_release(&name);
	buf_release(&st);
	buf_release(&arena);
}
END_TEST

/*
 * Every name the parser accepts is the one the writer gives what it
 * decodes to: mutate valid names a byte or two and check that whatever is
 * still accepted re-encodes to exactly the same bytes.
 */
START_TEST(test_fuzz_canonical)
{
	static const char alphabet[] = "0123456789abcdefABCDEFnrxNRX-._%,~/+ ";
	struct gkey g = { .bytes = BUF_INIT };
	struct buf name = BUF_INIT, st = BUF_INIT, again = BUF_INIT;
	struct value got[MAXK];
	uint64_t s = 99, seed, h;
	size_t count, accepted = 0;

	for (seed = 0; seed < FUZZ_KEYS; seed++) {
		unsigned m, nmut = 1 + below(&s, 2);
		int r;

		gen_key(seed, &g);
		buf_reset(&name);
		names_add_key(&name, g.v, g.n);
		names_fit(&name, 0);
		for (m = 0; m < nmut; m++) {
			unsigned op = below(&s, 3);
			size_t at = below(&s, (unsigned)name.len + 1);
			char c = alphabet[below(&s, sizeof(alphabet) - 1)];

			if (op == 0 && at < name.len) {
				name.data[at] = c;
			} else if (op == 1 && at < name.len) {
				memmove(name.data + at, name.data + at + 1,
					name.len - at - 1);
				buf_truncate(&name, name.len - 1);
			} else {
				buf_addch(&name, 0);
				memmove(name.data + at + 1, name.data + at,
					name.len - at - 1);
				name.data[at] = c;
			}
		}
		r = names_parse_key(name.data, name.len, got, MAXK, &count, &st, &h);
		if (r == NAMES_BAD)
			continue;
		accepted++;
		check_safe(name.data, name.len, r == NAMES_HASHED, seed);
		buf_reset(&again);
		if (r == NAMES_OK) {
			names_add_key(&again, got, count);
			CHECK(buf_eq(&again, &name),
				      "accepted \"%s\" but its key is named \"%s\"",
				      show(name.data, name.len),
				      show(again.data, again.len));
		} else if (count > 1) {
			/* all but the last component are whole */
			names_add_key(&again, got, count - 1);
			CHECK(name.len > again.len &&
				      memcmp(again.data, name.data, again.len) == 0 &&
				      name.data[again.len] == ',',
				      "accepted \"%s\" but its whole components are named \"%s\"",
				      show(name.data, name.len),
				      show(again.data, again.len));
		}
	}
	CHECK(accepted > 1000, "only %zu mutated names accepted", accepted);
	buf_release(&g.bytes);
	buf_release(&name);
	buf_release(&st);
	buf_release(&again);
}
END_TEST

static Suite *names_suite(void)
{
	Suite *s = suite_create("names");
	TCase *tc = tcase_create("hand");
	TCase *fz = tcase_create("fuzz");

	tcase_add_test(tc, test_text_keys);
	tcase_add_test(tc, test_other_keys);
	tcase_add_test(tc, test_composite_keys);
	tcase_add_test(tc, test_nan);
	tcase_add_test(tc, test_hash);
	tcase_add_test(tc, test_tables);
	tcase_add_test(tc, test_tables_bad);
	tcase_add_test(tc, test_parse_bad);
	tcase_add_test(tc, test_parse_limits);
	tcase_add_test(tc, test_hashed);
	tcase_add_test(tc, test_hashed_distinct);
	suite_add_tcase(s, tc);

	tcase_set_timeout(fz, 240);
	tcase_add_test(fz, test_fuzz_keys);
	tcase_add_test(fz, test_fuzz_canonical);
	suite_add_tcase(s, fz);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(names_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
