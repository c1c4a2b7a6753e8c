/*
 * events.c - the history files (events.h): what the triggers write into
 * archivefs_event, and how it is listed, rendered, pruned and read back.
 */
#include "events.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "archive.h"
#include "format.h"
#include "names.h"

#define SUFFIX_LEN 19   /* "_events_YYYY_MM.txt" */

static const char create_sql[] =
	"CREATE TABLE IF NOT EXISTS main.archivefs_event ("
	" seq INTEGER PRIMARY KEY, tbl TEXT NOT NULL, op TEXT NOT NULL,"
	" ts INTEGER NOT NULL, keys TEXT, kv TEXT, cols TEXT, old TEXT, new TEXT);"
	"CREATE INDEX IF NOT EXISTS main.archivefs_event_file"
	" ON archivefs_event(tbl, ts);";

int events_create(struct store *s, struct buf *err)
{
	return store_exec(s, create_sql, err);
}

/* --- trigger SQL ------------------------------------------------------------ */

/* The SQL expression for one value's literal: quote(), except for a TEXT
 * holding a NUL (quote() stops at it): T + the blob literal of its bytes. */
static void add_quote_expr(struct buf *q, const char *pfx, const char *col)
{
	struct buf x = BUF_INIT;

	buf_addf(&x, "%s.", pfx);
	buf_add_sqlident(&x, col);
	buf_addf(q, "CASE WHEN typeof(%s) = 'text' AND instr(%s, char(0))"
		 " THEN 'T' || quote(CAST(%s AS BLOB)) ELSE quote(%s) END",
		 x.data, x.data, x.data, x.data);
	buf_release(&x);
}

/* A SQL string literal holding the literal list of names (each quoted
 * the way quote() quotes text). */
static void add_names_literal(struct buf *q, const char *const *names, int n)
{
	struct buf list = BUF_INIT;

	for (int i = 0; i < n; i++) {
		struct buf one = BUF_INIT;
		if (i)
			buf_addch(&list, ',');
		buf_add_sqlstr(&one, names[i]);
		buf_add(&list, one.data, one.len);
		buf_release(&one);
	}
	buf_add_sqlstr(q, list.len ? list.data : "");
	buf_release(&list);
}

/* ||','|| between the literals of cols[] of pfx (OLD or NEW). */
static void add_values_expr(struct buf *q, const char *pfx, const char *const *cols, int n)
{
	if (!n) {
		buf_addstr(q, "''");
		return;
	}
	for (int i = 0; i < n; i++) {
		if (i)
			buf_addstr(q, " || ',' || ");
		add_quote_expr(q, pfx, cols[i]);
	}
}

void events_trigger_sql(struct buf *q, const struct home *h, char op)
{
	const struct store_table *t = h->t;
	const char **cols = calloc((size_t)t->ncols + 1, sizeof(*cols));
	const char **keys = calloc((size_t)t->npk + 1, sizeof(*keys));
	const char *side = op == 'I' ? "NEW" : "OLD";
	int n = 0;

	if (!cols || !keys)
		out_of_memory(0);
	for (int i = 0; i < t->ncols; i++)
		if (store_col_archived(&t->cols[i]))
			cols[n++] = t->cols[i].name;
	for (int i = 0; i < t->npk; i++)
		keys[i] = t->cols[t->pk[i]].name;
	/* SELECT ... FROM (the two lists) WHERE they differ: an UPDATE that
	 * changed no value leaves no event, and each list is built once */
	buf_addstr(q, "INSERT INTO archivefs_event(tbl, op, ts, keys, kv, cols, old, new)"
		   " SELECT ");
	buf_add_sqlstr(q, t->name);
	/* the journal's ts expression, in ms, rounded as journal.c rounds */
	buf_addf(q, ", '%c', CAST(round((julianday('now') - 2440587.5) * 86400.0"
		 " * 1000.0) AS INTEGER), ", op);
	if (t->rowid_key) {
		const char *alias = archive_rowid_name(t);
		buf_addstr(q, "NULL, ");
		if (alias)
			buf_addf(q, "quote(%s.%s)", side, alias);
		else
			buf_addstr(q, "NULL");
	} else {
		add_names_literal(q, keys, t->npk);
		buf_addstr(q, ", ");
		add_values_expr(q, side, keys, t->npk);
	}
	buf_addstr(q, ", ");
	add_names_literal(q, cols, n);
	buf_addstr(q, ", o, n FROM (SELECT ");
	if (op == 'I')
		buf_addstr(q, "NULL");
	else
		add_values_expr(q, "OLD", cols, n);
	buf_addstr(q, " AS o, ");
	if (op == 'D')
		buf_addstr(q, "NULL");
	else
		add_values_expr(q, "NEW", cols, n);
	buf_addstr(q, " AS n)");
	if (op == 'U')
		buf_addstr(q, " WHERE o IS NOT n");
	buf_addstr(q, ";\n");
	free(cols);
	free(keys);
}

/* --- literal lists ------------------------------------------------------------ */

/* A parsed literal list: values whose text/blob bytes live in `store`. */
struct lits {
	struct value *v;
	size_t n, cap;
	struct buf store;
};

static void lits_release(struct lits *l)
{
	free(l->v);
	buf_release(&l->store);
	memset(l, 0, sizeof(*l));
}

/*
 * Parse a literal list. Values first collect (offset, length) into store;
 * pointers are fixed once the store stops moving. 0, or -EINVAL.
 */
static int lits_parse(const char *s, size_t n, struct lits *out)
{
	size_t i = 0, *offs = NULL;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	buf_init(&out->store);
	if (!s || !n)
		return 0;
	while (!rc) {
		struct value v = { .type = V_NULL };
		size_t off = out->store.len;

		if (out->n == out->cap) {
			size_t cap = out->cap ? out->cap * 2 : 16;
			struct value *nv = realloc(out->v, cap * sizeof(*nv));
			size_t *no = realloc(offs, cap * sizeof(*no));
			if (!nv || !no)
				out_of_memory(0);
			out->v = nv;
			offs = no;
			out->cap = cap;
		}
		if (n - i >= 4 && !memcmp(s + i, "NULL", 4)) {
			i += 4;
		} else if (s[i] == '\'') {
			v.type = V_TEXT;
			for (i++;; i++) {
				if (i >= n) {
					rc = -EINVAL;
					break;
				}
				if (s[i] == '\'') {
					if (i + 1 < n && s[i + 1] == '\'') {
						i++;
					} else {
						i++;
						break;
					}
				}
				buf_addch(&out->store, s[i]);
			}
		} else if (s[i] == 'X' || (s[i] == 'T' && i + 1 < n && s[i + 1] == 'X')) {
			v.type = s[i] == 'T' ? V_TEXT : V_BLOB;
			i += s[i] == 'T' ? 2 : 1;
			if (i >= n || s[i] != '\'')
				rc = -EINVAL;
			for (i++; !rc; i += 2) {
				int hi, lo;
				if (i < n && s[i] == '\'') {
					i++;
					break;
				}
				if (i + 1 >= n || (hi = fmt_hexval(s[i])) < 0 ||
				    (lo = fmt_hexval(s[i + 1])) < 0) {
					rc = -EINVAL;
					break;
				}
				buf_addch(&out->store, hi * 16 + lo);
			}
		} else {
			/* a number: up to the next ',' */
			size_t j = i;
			char num[64], *end;
			while (j < n && s[j] != ',')
				j++;
			if (j == i || j - i >= sizeof(num)) {
				rc = -EINVAL;
				break;
			}
			memcpy(num, s + i, j - i);
			num[j - i] = '\0';
			errno = 0;
			if (strpbrk(num, ".eEIn")) {
				v.type = V_REAL;
				v.r = strtod(num, &end);   /* "Inf": ERANGE-free infinity */
			} else {
				v.type = V_INT;
				v.i = strtoll(num, &end, 10);
				if (errno)
					rc = -EINVAL;
			}
			if (*end)
				rc = -EINVAL;
			i = j;
		}
		if (rc)
			break;
		v.n = out->store.len - off;
		offs[out->n] = off;
		out->v[out->n++] = v;
		if (i == n)
			break;
		if (s[i] != ',') {
			rc = -EINVAL;
			break;
		}
		i++;
	}
	buf_addch(&out->store, '\0');   /* so store.data is never NULL */
	for (size_t k = 0; !rc && k < out->n; k++)
		if (out->v[k].type == V_TEXT || out->v[k].type == V_BLOB)
			out->v[k].s = out->store.data + offs[k];
	free(offs);
	if (rc)
		lits_release(out);
	return rc;
}

/* Append v as a literal, the way the trigger writes it. */
static void lit_add(struct buf *out, const struct value *v)
{
	static const char hex[] = "0123456789ABCDEF";

	switch (v->type) {
	case V_NULL:
		buf_addstr(out, "NULL");
		break;
	case V_INT:
		buf_addf(out, "%lld", (long long)v->i);
		break;
	case V_REAL: {
		char num[64];
		snprintf(num, sizeof(num), "%.17g", v->r);
		buf_addstr(out, num);
		if (!strpbrk(num, ".eIn"))
			buf_addstr(out, ".0");
		break;
	}
	case V_TEXT:
		if (!memchr(v->s, '\0', v->n)) {
			buf_addch(out, '\'');
			for (size_t i = 0; i < v->n; i++) {
				if (v->s[i] == '\'')
					buf_addch(out, '\'');
				buf_addch(out, v->s[i]);
			}
			buf_addch(out, '\'');
			break;
		}
		buf_addch(out, 'T');
		__attribute__((fallthrough));   /* its bytes as a blob literal */
	case V_BLOB:
		buf_addstr(out, "X'");
		for (size_t i = 0; i < v->n; i++) {
			buf_addch(out, hex[(unsigned char)v->s[i] >> 4]);
			buf_addch(out, hex[(unsigned char)v->s[i] & 15]);
		}
		buf_addch(out, '\'');
		break;
	}
}

/* --- paths and months --------------------------------------------------------- */

/* UTC calendar arithmetic through libc (gmtime_r, timegm: no time zone). */

/* Seconds holding ts_ms (floor, also before 1970). */
static time_t secs_of(int64_t ms)
{
	return (time_t)(ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000));
}

static int64_t month_start_ms(int64_t y, int m)
{
	struct tm tm = { .tm_year = (int)(y - 1900), .tm_mon = m - 1, .tm_mday = 1 };

	return (int64_t)timegm(&tm) * 1000;
}

/* The UTC year and month holding ts_ms. */
static void month_of(int64_t ts_ms, int64_t *y, int *m)
{
	time_t t = secs_of(ts_ms);
	struct tm tm;

	gmtime_r(&t, &tm);
	*y = (int64_t)tm.tm_year + 1900;
	*m = tm.tm_mon + 1;
}

int64_t events_cutoff(int64_t now_ms, int months)
{
	int64_t y;
	int m;

	month_of(now_ms, &y, &m);
	m -= months - 1;
	while (m < 1) {
		m += 12;
		y--;
	}
	return month_start_ms(y, m);
}

void events_path(struct buf *out, const char *tbl, int64_t ts_ms)
{
	int64_t y;
	int m;

	month_of(ts_ms, &y, &m);
	buf_addstr(out, EVENTS_DIR "/");
	names_add_table(out, tbl, strlen(tbl));
	buf_addf(out, "_events_%04lld_%02d.txt", (long long)y, m);
}

static int digits(const char *s, int n)
{
	for (int i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return 1;
}

/* Parse a file name (no folder); 1 if it is an event file's. */
static int parse_name(const char *name, struct buf *tbl, int64_t *lo, int64_t *hi)
{
	size_t n = strlen(name);
	const char *suf;
	int y, m;

	if (n <= SUFFIX_LEN)
		return 0;
	suf = name + n - SUFFIX_LEN;
	if (strncmp(suf, "_events_", 8) || !digits(suf + 8, 4) || suf[12] != '_' ||
	    !digits(suf + 13, 2) || strcmp(suf + 15, ".txt"))
		return 0;
	y = (suf[8] - '0') * 1000 + (suf[9] - '0') * 100 + (suf[10] - '0') * 10 + (suf[11] - '0');
	m = (suf[13] - '0') * 10 + (suf[14] - '0');
	if (m < 1 || m > 12)
		return 0;
	buf_reset(tbl);
	if (names_parse_table(name, (size_t)(suf - name), tbl) != NAMES_OK)
		return 0;
	*lo = month_start_ms(y, m);
	*hi = m == 12 ? month_start_ms(y + 1, 1) : month_start_ms(y, m + 1);
	return 1;
}

int events_parse_path(const char *path, struct buf *tbl, int64_t *lo, int64_t *hi)
{
	size_t dl = strlen(EVENTS_DIR);
	struct buf check = BUF_INIT;
	int ok;

	if (strncmp(path, EVENTS_DIR "/", dl + 1) || strchr(path + dl + 1, '/'))
		return 0;
	ok = parse_name(path + dl + 1, tbl, lo, hi);
	if (ok) {
		/* only the one spelling events_path() writes */
		events_path(&check, tbl->data, *lo);
		ok = strcmp(check.data, path) == 0;
	}
	buf_release(&check);
	return ok;
}

/* --- reading ---------------------------------------------------------------- */

static int has_table(struct store *s, struct buf *err)
{
	struct store_stmt *st;
	int rc = store_prepare(s, "SELECT 1 FROM main.sqlite_schema WHERE type = 'table'"
			       " AND name = 'archivefs_event'", &st, err);
	if (rc)
		return rc;
	rc = store_step(st, err);
	store_finalize(st);
	return rc;
}

int events_any(struct store *s, struct buf *err)
{
	struct store_stmt *st;
	int rc = has_table(s, err);

	if (rc != 1)
		return rc;
	rc = store_prepare(s, "SELECT 1 FROM main.archivefs_event LIMIT 1", &st, err);
	if (rc)
		return rc;
	rc = store_step(st, err);
	store_finalize(st);
	return rc;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int events_list(struct store *s, int (*fn)(void *ctx, const char *name),
		void *ctx, struct buf *err)
{
	struct store_stmt *next_tbl = NULL, *next_ts = NULL;
	struct buf tbl = BUF_INIT, path = BUF_INIT;
	char **names = NULL;
	size_t n = 0, cap = 0;
	int rc = has_table(s, err), first = 1;

	if (rc != 1)
		return rc;
	/* skip-scans of the (tbl, ts) index: one probe per table and month */
	rc = store_prepare(s, "SELECT tbl FROM main.archivefs_event WHERE ?1 OR tbl > ?2"
			   " ORDER BY tbl LIMIT 1", &next_tbl, err);
	if (!rc)
		rc = store_prepare(s, "SELECT ts FROM main.archivefs_event"
				   " WHERE tbl = ?1 AND ts >= ?2 ORDER BY ts LIMIT 1",
				   &next_ts, err);
	while (!rc) {
		struct value f = { .type = V_INT, .i = first }, t, v;
		struct value after = { .type = V_TEXT, .s = tbl.data ? tbl.data : "", .n = tbl.len };
		int64_t from = INT64_MIN;

		rc = store_bind(next_tbl, 1, &f);
		if (!rc)
			rc = store_bind(next_tbl, 2, &after);
		if (!rc)
			rc = store_step(next_tbl, err);
		if (rc != 1)
			break;
		store_column(next_tbl, 0, &t);
		if (t.type != V_TEXT) {
			rc = 0;
			break;
		}
		buf_reset(&tbl);
		buf_add(&tbl, t.s, t.n);
		store_reset(next_tbl);
		first = 0;
		for (;;) {
			struct value tv = { .type = V_TEXT, .s = tbl.data, .n = tbl.len };
			struct value fv = { .type = V_INT, .i = from };
			int64_t y;
			int m;

			rc = store_bind(next_ts, 1, &tv);
			if (!rc)
				rc = store_bind(next_ts, 2, &fv);
			if (!rc)
				rc = store_step(next_ts, err);
			if (rc != 1)
				break;
			store_column(next_ts, 0, &v);
			store_reset(next_ts);
			if (v.type != V_INT) {
				rc = 0;
				break;
			}
			buf_reset(&path);
			events_path(&path, tbl.data, v.i);
			if (n == cap) {
				cap = cap ? cap * 2 : 16;
				names = realloc(names, cap * sizeof(*names));
				if (!names)
					out_of_memory(0);
			}
			names[n] = strdup(path.data + strlen(EVENTS_DIR) + 1);
			if (!names[n])
				out_of_memory(0);
			n++;
			month_of(v.i, &y, &m);
			from = m == 12 ? month_start_ms(y + 1, 1) : month_start_ms(y, m + 1);
		}
		store_reset(next_ts);
		if (rc < 0)
			break;
		rc = 0;
	}
	if (rc > 0)
		rc = 0;
	if (next_tbl)
		store_finalize(next_tbl);
	if (next_ts)
		store_finalize(next_ts);
	if (n)
		qsort(names, n, sizeof(*names), cmp_str);
	for (size_t i = 0, stop = 0; i < n; i++) {
		if (!rc && !stop) {
			rc = fn(ctx, names[i]);
			stop = rc == 1;   /* stop early: not an error */
			if (stop)
				rc = 0;
		}
		free(names[i]);
	}
	free(names);
	buf_release(&tbl);
	buf_release(&path);
	return rc;
}

static const char *op_word(char op)
{
	return op == 'I' ? "insert" : op == 'U' ? "update" : op == 'D' ? "delete" : NULL;
}

/* "2026-11-21T10:11:12.123Z" */
static void format_time(int64_t ms, char out[64])
{
	time_t t = secs_of(ms);
	struct tm tm;

	gmtime_r(&t, &tm);
	snprintf(out, 64, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		 (int)(ms - (int64_t)t * 1000));
}

static void render_time(struct buf *out, int64_t ms)
{
	struct value v = { .type = V_TEXT };
	char when[64];

	format_time(ms, when);
	v.s = when;
	v.n = strlen(when);
	fmt_render_field(out, "time", 4, &v, FMT_PSEUDO);
}

/* Fields name[i]: val[i] of one side; only where old and new differ when
 * both are given (an update). Never a column of table tbl that is or was
 * withheld (store.h): an event recorded before still holds its values. */
static void render_side(struct buf *out, const char *table, const struct lits *names,
			const struct lits *vals, const struct lits *other,
			const struct store_schema *sc, const char *tbl)
{
	int any = 0;

	for (size_t i = 0; i < names->n && i < vals->n; i++) {
		if (other && i < other->n && value_equal(&vals->v[i], &other->v[i]))
			continue;
		if (store_withheld_name(sc, tbl, names->v[i].s, names->v[i].n))
			continue;
		if (!any)
			fmt_render_record(out, table, strlen(table));
		any = 1;
		fmt_render_field(out, names->v[i].s, names->v[i].n, &vals->v[i], 0);
	}
}

/* Render one event; -EINVAL if its row is not what a trigger writes. */
static int render_event(struct buf *out, const struct store_schema *sc,
			const char *tbl, int64_t seq, char op, int64_t ts,
			const struct value *keys, const struct value *kv,
			const struct value *cols, const struct value *old,
			const struct value *new)
{
	struct lits kn, kvals, cn, ov, nv;
	struct value v = { .type = V_INT, .i = seq };
	const char *word = op_word(op);
	int rc;

	memset(&ov, 0, sizeof(ov));
	memset(&nv, 0, sizeof(nv));
	if (!word)
		return -EINVAL;
	rc = lits_parse(keys->type == V_TEXT ? keys->s : NULL, keys->n, &kn);
	if (rc)
		return rc;
	rc = lits_parse(kv->type == V_TEXT ? kv->s : NULL, kv->n, &kvals);
	if (!rc)
		rc = lits_parse(cols->type == V_TEXT ? cols->s : NULL, cols->n, &cn);
	else
		memset(&cn, 0, sizeof(cn));
	if (!rc)
		rc = lits_parse(old->type == V_TEXT ? old->s : NULL, old->n, &ov);
	if (!rc)
		rc = lits_parse(new->type == V_TEXT ? new->s : NULL, new->n, &nv);
	if (!rc && ((op != 'I' && ov.n != cn.n) || (op != 'D' && nv.n != cn.n) ||
		    (keys->type == V_TEXT && kn.n != kvals.n) ||
		    (keys->type != V_TEXT && kvals.n > 1)))
		rc = -EINVAL;
	for (size_t i = 0; !rc && i < kn.n; i++)
		if (kn.v[i].type != V_TEXT)
			rc = -EINVAL;
	for (size_t i = 0; !rc && i < cn.n; i++)
		if (cn.v[i].type != V_TEXT)
			rc = -EINVAL;
	if (!rc) {
		struct value w = { .type = V_TEXT, .s = word, .n = strlen(word) };
		fmt_render_record(out, "event", 5);
		fmt_render_field(out, "seq", 3, &v, FMT_PSEUDO);
		render_time(out, ts);
		fmt_render_field(out, "op", 2, &w, FMT_PSEUDO);
		if (keys->type != V_TEXT) {
			if (kvals.n)
				fmt_render_field(out, "rowid", 5, &kvals.v[0], FMT_PSEUDO);
		} else {
			for (size_t i = 0; i < kn.n; i++)
				fmt_render_field(out, kn.v[i].s, kn.v[i].n, &kvals.v[i], 0);
		}
		if (op != 'I')
			render_side(out, "old", &cn, &ov, op == 'U' ? &nv : NULL, sc, tbl);
		if (op != 'D')
			render_side(out, "new", &cn, &nv, op == 'U' ? &ov : NULL, sc, tbl);
	}
	lits_release(&kn);
	lits_release(&kvals);
	lits_release(&cn);
	lits_release(&ov);
	lits_release(&nv);
	return rc;
}

int events_render(struct store *s, const struct layout *l, const char *path,
		  struct buf *out, unsigned *mode, struct buf *err)
{
	struct buf tbl = BUF_INIT, title = BUF_INIT;
	struct store_stmt *st = NULL;
	int64_t lo, hi, y;
	int rc, m, found = 0;
	const struct home *h;

	buf_reset(out);
	if (!events_parse_path(path, &tbl, &lo, &hi)) {
		buf_release(&tbl);
		return -ENOENT;
	}
	rc = has_table(s, err);
	if (rc != 1) {
		buf_release(&tbl);
		return rc ? rc : -ENOENT;
	}
	month_of(lo, &y, &m);
	buf_addf(&title, "%s events of %04lld-%02d: every insert, update and delete,"
		 " oldest first (history: read-only)", tbl.data, (long long)y, m);
	fmt_render_comment(out, title.data, title.len);
	layout_format_note(out);
	rc = store_prepare(s, "SELECT seq, op, ts, keys, kv, cols, old, new"
			   " FROM main.archivefs_event WHERE tbl = ?1 AND ts >= ?2 AND ts < ?3"
			   " ORDER BY seq", &st, err);
	if (!rc) {
		struct value a = { .type = V_TEXT, .s = tbl.data, .n = tbl.len };
		struct value b = { .type = V_INT, .i = lo }, c = { .type = V_INT, .i = hi };
		rc = store_bind(st, 1, &a);
		if (!rc)
			rc = store_bind(st, 2, &b);
		if (!rc)
			rc = store_bind(st, 3, &c);
	}
	while (!rc && (rc = store_step(st, err)) == 1) {
		struct value col[8];
		for (int i = 0; i < 8; i++)
			store_column(st, i, &col[i]);
		rc = 0;
		if (col[0].type != V_INT || col[1].type != V_TEXT || col[1].n != 1 ||
		    col[2].type != V_INT ||
		    render_event(out, store_schema(s), tbl.data, col[0].i, col[1].s[0], col[2].i, &col[3], &col[4],
				 &col[5], &col[6], &col[7])) {
			buf_addf(err, "archivefs_event row %lld is not one archivefs wrote",
				 col[0].type == V_INT ? (long long)col[0].i : -1LL);
			rc = -EIO;
		}
		found = 1;
	}
	if (st)
		store_finalize(st);
	if (!rc && !found)
		rc = -ENOENT;
	h = layout_home(l, tbl.data);
	if (!rc && mode)
		*mode = h && h->secret ? 0400 : 0444;
	if (rc)
		buf_reset(out);
	buf_release(&tbl);
	buf_release(&title);
	return rc;
}

int events_since(struct store *s, int64_t *after,
		 void (*fn)(void *ctx, const char *path, int64_t mtime_ns),
		 void *ctx, struct buf *err)
{
	struct store_stmt *st;
	struct value a = { .type = V_INT, .i = *after };
	struct buf path = BUF_INIT;
	int rc = has_table(s, err);

	if (rc != 1)
		return rc;
	rc = store_prepare(s, "SELECT seq, tbl, ts FROM main.archivefs_event"
			   " WHERE seq > ?1 ORDER BY seq", &st, err);
	if (rc)
		return rc;
	rc = store_bind(st, 1, &a);
	while (!rc && (rc = store_step(st, err)) == 1) {
		struct value seq, tbl, ts;
		store_column(st, 0, &seq);
		store_column(st, 1, &tbl);
		store_column(st, 2, &ts);
		rc = 0;
		if (seq.type == V_INT)
			*after = seq.i;
		if (tbl.type != V_TEXT || ts.type != V_INT)
			continue;
		buf_reset(&path);
		events_path(&path, tbl.s, ts.i);
		fn(ctx, path.data, ts.i * 1000000);
	}
	store_finalize(st);
	buf_release(&path);
	return rc;
}

int events_prune(struct store *s, int64_t cutoff_ms,
		 void (*fn)(void *ctx, const char *path, int64_t mtime_ns),
		 void *ctx, struct buf *err)
{
	struct store_stmt *st;
	struct value c = { .type = V_INT, .i = cutoff_ms };
	struct buf path = BUF_INIT;
	int rc = has_table(s, err);

	if (rc != 1)
		return rc;
	/* events come in seq order, about in time order: the oldest by seq
	 * tells whether anything is due (once a month) */
	rc = store_prepare(s, "SELECT 1 FROM main.archivefs_event WHERE seq ="
			   " (SELECT min(seq) FROM main.archivefs_event) AND ts < ?1", &st, err);
	if (!rc) {
		rc = store_bind(st, 1, &c);
		if (!rc)
			rc = store_step(st, err);
		store_finalize(st);
	}
	if (rc != 1)
		return rc;
	rc = store_prepare(s, "SELECT DISTINCT tbl, ts FROM main.archivefs_event"
			   " WHERE ts < ?1", &st, err);
	if (rc)
		return rc;
	rc = store_bind(st, 1, &c);
	while (!rc && (rc = store_step(st, err)) == 1) {
		struct value tbl, ts;
		store_column(st, 0, &tbl);
		store_column(st, 1, &ts);
		rc = 0;
		if (tbl.type != V_TEXT || ts.type != V_INT)
			continue;
		buf_reset(&path);
		events_path(&path, tbl.s, ts.i);
		fn(ctx, path.data, cutoff_ms * 1000000);
	}
	store_finalize(st);
	buf_release(&path);
	if (!rc) {
		rc = store_prepare(s, "DELETE FROM main.archivefs_event WHERE ts < ?1", &st, err);
		if (!rc) {
			rc = store_bind(st, 1, &c);
			if (!rc)
				rc = store_step(st, err);
			store_finalize(st);
			rc = rc < 0 ? rc : 0;
		}
	}
	return rc;
}

/* --- import ------------------------------------------------------------------- */

static int bad(struct buf *err, const char *path, int line, const char *why)
{
	buf_addf(err, "%s:%d: %s", path, line, why);
	return -EINVAL;
}

/* "YYYY-MM-DDTHH:MM:SS.mmmZ" to ms, only in the one spelling
 * format_time() writes; 0 on success. */
static int parse_time(const struct value *v, int64_t *ms)
{
	int y, mo, d, h, mi, s, f;
	char again[64];

	if (v->type != V_TEXT || v->n != 24 ||
	    sscanf(v->s, "%4d-%2d-%2dT%2d:%2d:%2d.%3d", &y, &mo, &d, &h, &mi, &s, &f) != 7 ||
	    mo < 1 || mo > 12 || d < 1 || d > 31 || h < 0 || h > 23 || mi < 0 || mi > 59 ||
	    s < 0 || s > 59 || f < 0 || y < 0)
		return -1;
	{
		struct tm tm = { .tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d,
				 .tm_hour = h, .tm_min = mi, .tm_sec = s };
		*ms = (int64_t)timegm(&tm) * 1000 + f;
	}
	format_time(*ms, again);   /* refuses 2026-02-31 and other spellings */
	return strcmp(again, v->s) ? -1 : 0;
}

static const struct fmt_field *pseudo(const struct fmt_doc *doc, const struct fmt_record *r,
				      const char *name)
{
	for (size_t i = r->first; i < r->first + r->nfields; i++)
		if (doc->fields[i].pseudo && !strcmp(doc->fields[i].name, name))
			return &doc->fields[i];
	return NULL;
}

/* The literal lists of a record's non-pseudo fields: names and values. */
static void side_lits(const struct fmt_doc *doc, const struct fmt_record *r,
		      struct buf *names, struct buf *vals)
{
	int n = 0;

	for (size_t i = r->first; i < r->first + r->nfields; i++) {
		const struct fmt_field *f = &doc->fields[i];
		struct value nv = { .type = V_TEXT, .s = f->name, .n = f->name_len };
		if (f->pseudo)
			continue;
		if (n++) {
			buf_addch(names, ',');
			buf_addch(vals, ',');
		}
		lit_add(names, &nv);
		lit_add(vals, &f->val);
	}
}

int events_import(struct store *s, const char *path, const char *text, size_t len,
		  long *n, struct buf *err)
{
	struct fmt_doc doc;
	struct fmt_error fe;
	struct buf tbl = BUF_INIT, keys = BUF_INIT, kv = BUF_INIT, cols = BUF_INIT,
		   ocols = BUF_INIT, old = BUF_INIT, new = BUF_INIT;
	struct store_stmt *put = NULL;
	int64_t lo, hi;
	int rc = 0;

	*n = 0;
	if (!events_parse_path(path, &tbl, &lo, &hi)) {
		buf_addf(err, "%s: not an event file name", path);
		buf_release(&tbl);
		return -EINVAL;
	}
	fmt_doc_init(&doc);
	if (fmt_parse(text, len, &doc, &fe)) {
		buf_addf(err, "%s:%d:%d: %s", path, fe.line, fe.col, fe.msg);
		rc = -EINVAL;
		goto out;
	}
	rc = events_create(s, err);
	if (!rc)
		rc = store_prepare(s, "INSERT INTO main.archivefs_event"
				   "(seq, tbl, op, ts, keys, kv, cols, old, new)"
				   " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)", &put, err);
	for (size_t i = 0; !rc && i < doc.nrecs; i++) {
		const struct fmt_record *r = &doc.recs[i], *ro = NULL, *rn = NULL;
		const struct fmt_field *fseq, *ftime, *fop, *frowid;
		int64_t ts;
		char op;

		if (strcmp(r->table, "event")) {
			rc = bad(err, path, r->line, "expected an [event] record");
			break;
		}
		fseq = pseudo(&doc, r, "seq");
		ftime = pseudo(&doc, r, "time");
		fop = pseudo(&doc, r, "op");
		frowid = pseudo(&doc, r, "rowid");
		if (!fseq || fseq->val.type != V_INT || fseq->val.i <= 0) {
			rc = bad(err, path, r->line, "@seq must be a positive integer");
			break;
		}
		if (!ftime || parse_time(&ftime->val, &ts) || ts < lo || ts >= hi) {
			rc = bad(err, path, r->line, "@time must be YYYY-MM-DDTHH:MM:SS.mmmZ"
				 " within the file's month");
			break;
		}
		if (!fop || fop->val.type != V_TEXT ||
		    !(op = !strcmp(fop->val.s, "insert") ? 'I' : !strcmp(fop->val.s, "update") ?
		      'U' : !strcmp(fop->val.s, "delete") ? 'D' : 0)) {
			rc = bad(err, path, r->line, "@op must be insert, update or delete");
			break;
		}
		if (i + 1 < doc.nrecs && !strcmp(doc.recs[i + 1].table, "old"))
			ro = &doc.recs[++i];
		if (i + 1 < doc.nrecs && !strcmp(doc.recs[i + 1].table, "new"))
			rn = &doc.recs[++i];
		if ((op == 'I' && (ro || !rn)) || (op == 'D' && (rn || !ro)) ||
		    (op == 'U' && !ro != !rn)) {
			rc = bad(err, path, r->line, "an insert has [new], a delete [old],"
				 " an update both or neither");
			break;
		}
		buf_reset(&keys);
		buf_reset(&kv);
		buf_reset(&cols);
		buf_reset(&ocols);
		buf_reset(&old);
		buf_reset(&new);
		if (frowid) {
			lit_add(&kv, &frowid->val);
		} else {
			side_lits(&doc, r, &keys, &kv);
			if (!keys.len) {
				rc = bad(err, path, r->line, "an event names its row's key");
				break;
			}
		}
		if (ro)
			side_lits(&doc, ro, &ocols, &old);
		if (rn)
			side_lits(&doc, rn, &cols, &new);
		if (ro && rn && (ocols.len != cols.len || memcmp(ocols.data, cols.data, cols.len))) {
			rc = bad(err, path, ro->line, "[old] and [new] must name the same columns");
			break;
		}
		if (ro && !rn)
			buf_add(&cols, ocols.data, ocols.len);
		{
			struct value v[9] = {
				{ .type = V_INT, .i = fseq->val.i },
				{ .type = V_TEXT, .s = tbl.data, .n = tbl.len },
				{ .type = V_TEXT, .s = op == 'I' ? "I" : op == 'U' ? "U" : "D", .n = 1 },
				{ .type = V_INT, .i = ts },
				{ .type = frowid ? V_NULL : V_TEXT, .s = keys.data, .n = keys.len },
				{ .type = V_TEXT, .s = kv.data, .n = kv.len },
				{ .type = V_TEXT, .s = cols.data ? cols.data : "", .n = cols.len },
				{ .type = ro ? V_TEXT : V_NULL, .s = old.data ? old.data : "", .n = old.len },
				{ .type = rn ? V_TEXT : V_NULL, .s = new.data ? new.data : "", .n = new.len },
			};
			if (op == 'U' && !ro) {   /* an update that changed nothing */
				v[7].type = V_TEXT;
				v[8].type = V_TEXT;
			}
			for (int k = 0; !rc && k < 9; k++)
				rc = store_bind(put, k + 1, &v[k]);
			if (!rc)
				rc = store_step(put, err);
			store_reset(put);
			if (rc == -EEXIST || rc == -EINVAL)
				buf_addf(err, " (%s:%d: @seq %lld)", path, r->line,
					 (long long)fseq->val.i);
			if (rc > 0)
				rc = 0;
		}
		(*n)++;
	}
out:
	if (put)
		store_finalize(put);
	fmt_doc_release(&doc);
	buf_release(&tbl);
	buf_release(&keys);
	buf_release(&kv);
	buf_release(&cols);
	buf_release(&ocols);
	buf_release(&old);
	buf_release(&new);
	return rc;
}
