/*
 * save.c - apply the text of one record file to the database (save.h).
 *
 * Rows are matched by table and key: the declared primary key, or @rowid
 * for a table without one. A key is compared as its canonical inline text
 * (format.c), so 5 and "5" are different keys, as in SQLite.
 */
#include "save.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "archive.h"
#include "format.h"
#include "journal.h"
#include "names.h"

/* One record of a parsed file. */
struct rec {
	const struct fmt_doc *doc;
	const struct fmt_record *r;
	const struct store_table *t;
	char *key;              /* table, '\0', key values: see rec_key() */
	size_t key_len;
	int matched;
};

struct side {
	struct fmt_doc doc;
	struct rec *v;
	size_t n;
};

static void side_release(struct side *sd)
{
	for (size_t i = 0; i < sd->n; i++)
		free(sd->v[i].key);
	free(sd->v);
	fmt_doc_release(&sd->doc);
	memset(sd, 0, sizeof(*sd));
}

static const struct fmt_field *rec_field(const struct rec *x, size_t i)
{
	return &x->doc->fields[x->r->first + i];
}

/* The field of column c (by name), or NULL. */
static const struct fmt_field *col_field(const struct rec *x, int c)
{
	const char *name = x->t->cols[c].name;
	size_t n = strlen(name);

	for (size_t i = 0; i < x->r->nfields; i++) {
		const struct fmt_field *f = rec_field(x, i);
		if (!f->pseudo && f->name_len == n && !memcmp(f->name, name, n))
			return f;
	}
	return NULL;
}

static const struct fmt_field *rowid_field(const struct rec *x)
{
	for (size_t i = 0; i < x->r->nfields; i++) {
		const struct fmt_field *f = rec_field(x, i);
		if (f->pseudo && !strcmp(f->name, "rowid"))
			return f;
	}
	return NULL;
}

/* The column index of field f in t, or -1. */
static int field_col(const struct store_table *t, const struct fmt_field *f)
{
	for (int c = 0; c < t->ncols; c++)
		if (strlen(t->cols[c].name) == f->name_len &&
		    !memcmp(t->cols[c].name, f->name, f->name_len))
			return c;
	return -1;
}

static int at(struct buf *err, const char *path, int line, int col)
{
	buf_addf(err, "%s: line %d, column %d: ", path, line, col);
	return -EINVAL;
}

/* A table this file holds: the home's, or one embedded in it. */
static int holds(const struct home *h, const struct store_table *t)
{
	if (h->t == t)
		return 1;
	for (int i = 0; i < h->nchildren; i++)
		if (holds(h->children[i], t))
			return 1;
	return 0;
}

/* x->key: the table name, '\0', then each key value inline, '\x1f'. */
static int rec_key(struct rec *x, const char *path, struct buf *err)
{
	struct buf k = BUF_INIT;
	const struct fmt_field *f;

	buf_add(&k, x->t->name, strlen(x->t->name) + 1);
	if (x->t->rowid_key) {
		f = rowid_field(x);
		if (!f || f->val.type != V_INT) {
			buf_release(&k);
			at(err, path, x->r->line, 1);
			buf_addf(err, "a %s row needs its @rowid (an integer): the table"
				 " has no primary key", x->t->name);
			return -EINVAL;
		}
		fmt_render_inline(&k, &f->val);
	}
	for (int i = 0; i < x->t->npk; i++) {
		f = col_field(x, x->t->pk[i]);
		if (!f) {
			buf_release(&k);
			at(err, path, x->r->line, 1);
			buf_addf(err, "a %s row needs its key column %s", x->t->name,
				 x->t->cols[x->t->pk[i]].name);
			return -EINVAL;
		}
		fmt_render_inline(&k, &f->val);
		buf_addch(&k, '\x1f');
	}
	x->key_len = k.len;
	x->key = k.data;   /* taken over */
	return 0;
}

static int cmp_rec(const void *a, const void *b)
{
	const struct rec *x = a, *y = b;
	size_t n = x->key_len < y->key_len ? x->key_len : y->key_len;
	int c = memcmp(x->key, y->key, n);

	return c ? c : (x->key_len > y->key_len) - (x->key_len < y->key_len);
}

/*
 * Parse text into sd and key its records, sorted by key. `checked`: the
 * text is the user's (every table, column and key is checked, errors at
 * line and column); else it is a rendering, trusted.
 */
static int side_load(struct store *s, const struct home *h, const char *path,
		     const char *text, size_t len, int checked, struct side *sd,
		     struct buf *err)
{
	struct fmt_error fe;
	int rc = 0;

	fmt_doc_init(&sd->doc);
	if (fmt_parse(text, len, &sd->doc, &fe)) {
		at(err, path, fe.line, fe.col);
		buf_addstr(err, fe.msg);
		return checked ? -EINVAL : -EIO;
	}
	sd->v = calloc(sd->doc.nrecs ? sd->doc.nrecs : 1, sizeof(*sd->v));
	if (!sd->v)
		return -ENOMEM;
	for (size_t i = 0; !rc && i < sd->doc.nrecs; i++) {
		struct rec *x = &sd->v[sd->n];
		x->doc = &sd->doc;
		x->r = &sd->doc.recs[i];
		x->t = store_find_table(s, x->r->table);
		if (!x->t || !holds(h, x->t)) {
			rc = at(err, path, x->r->line, 1);
			buf_addf(err, "%s rows do not belong in this file", x->r->table);
			break;
		}
		for (size_t j = 0; checked && j < x->r->nfields; j++) {
			const struct fmt_field *f = rec_field(x, j);
			int c = f->pseudo ? -1 : field_col(x->t, f);
			if (f->pseudo ? strcmp(f->name, "rowid") || !x->t->rowid_key : c < 0) {
				rc = at(err, path, f->line, f->col);
				buf_addf(err, "table %s has no column %s%s", x->t->name,
					 f->pseudo ? "@" : "", f->name);
				break;
			}
			if (c >= 0 && x->t->cols[c].withheld) {
				rc = at(err, path, f->line, f->col);
				buf_addf(err, "column %s.%s is withheld from the archive"
					 " (archivefs withhold); it cannot be written through it",
					 x->t->name, f->name);
				break;
			}
		}
		/* Every row lists every column, as archivefs writes it: a row
		 * without some is a file cut short (or an editor's accident),
		 * and saving it would delete what was cut. */
		for (int c = 0; checked && !rc && c < x->t->ncols; c++) {
			if (!store_col_archived(&x->t->cols[c]) || col_field(x, c))
				continue;
			rc = at(err, path, x->r->line, 1);
			buf_addf(err, "this %s row has no field for column %s (a row lists every"
				 " column; write \"%s: NULL\" for NULL): is the file cut short?",
				 x->t->name, x->t->cols[c].name, x->t->cols[c].name);
		}
		if (!rc)
			rc = rec_key(x, path, err);
		if (!rc)
			sd->n++;
	}
	if (rc)
		return rc;
	qsort(sd->v, sd->n, sizeof(*sd->v), cmp_rec);
	for (size_t i = 1; checked && i < sd->n; i++) {
		if (!cmp_rec(&sd->v[i - 1], &sd->v[i])) {
			const struct rec *x = sd->v[i].r->line > sd->v[i - 1].r->line ?
					      &sd->v[i] : &sd->v[i - 1];
			at(err, path, x->r->line, 1);
			buf_addf(err, "a second %s row with the same key", x->t->name);
			return -EINVAL;
		}
	}
	return 0;
}

static struct rec *side_find(struct side *sd, const struct rec *x)
{
	return bsearch(x, sd->v, sd->n, sizeof(*sd->v), cmp_rec);
}

/* " WHERE key" of x into q, binding from *idx on; binds after prepare. */
static void add_where(struct buf *q, const struct rec *x)
{
	buf_addstr(q, " WHERE ");
	if (x->t->rowid_key) {
		buf_addstr(q, "rowid = ?");
		return;
	}
	for (int i = 0; i < x->t->npk; i++) {
		if (i)
			buf_addstr(q, " AND ");
		buf_add_sqlident(q, x->t->cols[x->t->pk[i]].name);
		buf_addstr(q, " IS ?");
	}
}

static int bind_where(struct store_stmt *st, const struct rec *x, int idx)
{
	int rc = 0;

	if (x->t->rowid_key)
		return store_bind(st, idx, &rowid_field(x)->val);
	for (int i = 0; !rc && i < x->t->npk; i++)
		rc = store_bind(st, idx++, &col_field(x, x->t->pk[i])->val);
	return rc;
}

static int run(struct store *s, const char *sql, const struct rec *x,
	       const struct fmt_field **vals, int nvals, int where,
	       const char *path, struct buf *err)
{
	struct store_stmt *st;
	int rc = store_prepare(s, sql, &st, err);

	for (int i = 0; !rc && i < nvals; i++)
		rc = store_bind(st, i + 1, &vals[i]->val);
	if (!rc && where)
		rc = bind_where(st, x, nvals + 1);
	if (!rc)
		rc = store_step(st, err);
	store_finalize(st);
	if (rc < 0) {
		struct buf why = BUF_INIT;
		buf_add(&why, err->data, err->len);
		buf_reset(err);
		at(err, path, x->r->line, 1);
		buf_addf(err, "%s row: %s", x->t->name, why.data);
		buf_release(&why);
	}
	return rc < 0 ? rc : 0;
}

/* The writable fields of x (not generated): *vals and *cols (free both),
 * with one slot to spare; returns how many, or -ENOMEM. */
static int writable(const struct rec *x, const struct fmt_field ***vals, int **cols)
{
	int n = 0;

	*vals = calloc(x->r->nfields + 1, sizeof(**vals));
	*cols = calloc(x->r->nfields + 1, sizeof(**cols));
	if (!*vals || !*cols) {
		free(*vals);
		free(*cols);
		return -ENOMEM;
	}
	for (size_t i = 0; i < x->r->nfields; i++) {
		const struct fmt_field *f = rec_field(x, i);
		int c = f->pseudo ? -1 : field_col(x->t, f);
		if (c < 0 || x->t->cols[c].hidden)
			continue;
		(*vals)[n] = f;
		(*cols)[n++] = c;
	}
	return n;
}

static int insert_rec(struct store *s, const struct rec *x, const char *path,
		      struct buf *err)
{
	const struct fmt_field **vals;
	int *cols;
	struct buf q = BUF_INIT;
	int n = writable(x, &vals, &cols), rc;

	if (n < 0)
		return n;
	if (x->t->rowid_key)
		vals[n++] = rowid_field(x);
	buf_addstr(&q, "INSERT INTO main.");
	buf_add_sqlident(&q, x->t->name);
	buf_addch(&q, '(');
	for (int i = 0; i < n; i++) {
		if (i)
			buf_addch(&q, ',');
		if (x->t->rowid_key && i == n - 1)
			buf_addstr(&q, "rowid");
		else
			buf_add_sqlident(&q, x->t->cols[cols[i]].name);
	}
	buf_addstr(&q, ") VALUES (");
	for (int i = 0; i < n; i++)
		buf_addstr(&q, i ? ",?" : "?");
	buf_addch(&q, ')');
	rc = run(s, q.data, x, vals, n, 0, path, err);
	buf_release(&q);
	free(vals);
	free(cols);
	return rc;
}

static int update_rec(struct store *s, const struct rec *x, const char *path,
		      struct buf *err)
{
	const struct fmt_field **vals;
	int *cols;
	struct buf q = BUF_INIT;
	int n = writable(x, &vals, &cols), rc = 0;

	if (n < 0)
		return n;
	if (n) {
		buf_addstr(&q, "UPDATE main.");
		buf_add_sqlident(&q, x->t->name);
		buf_addstr(&q, " SET ");
		for (int i = 0; i < n; i++) {
			if (i)
				buf_addch(&q, ',');
			buf_add_sqlident(&q, x->t->cols[cols[i]].name);
			buf_addstr(&q, " = ?");
		}
		add_where(&q, x);
		rc = run(s, q.data, x, vals, n, 1, path, err);
	}
	buf_release(&q);
	free(vals);
	free(cols);
	return rc;
}

static int delete_rec(struct store *s, const struct rec *x, const char *path,
		      struct buf *err)
{
	struct buf q = BUF_INIT;
	int rc;

	buf_addstr(&q, "DELETE FROM main.");
	buf_add_sqlident(&q, x->t->name);
	add_where(&q, x);
	rc = run(s, q.data, x, NULL, 0, 1, path, err);
	buf_release(&q);
	return rc;
}

/* 1 if x (the text's) gives a value for some field that y (the file's)
 * does not hold, or holds otherwise. */
static int differs(const struct rec *x, const struct rec *y)
{
	for (size_t i = 0; i < x->r->nfields; i++) {
		const struct fmt_field *f = rec_field(x, i), *g;
		int c = f->pseudo ? -1 : field_col(x->t, f);
		if (c < 0)
			continue;
		g = col_field(y, c);
		if (!g || !value_equal(&f->val, &g->val))
			return 1;
	}
	return 0;
}

/* 1 if x's field for column c is new or differs from the file's row. */
static int changed_field(const struct rec *x, struct side *old, int c)
{
	const struct rec *y = side_find(old, x);
	const struct fmt_field *f = col_field(x, c), *g;

	if (!y)
		return 1;
	g = col_field(y, c);
	return !g || !value_equal(&f->val, &g->val);
}

/* Case-insensitive: does decltype contain word? */
static int decl_has(const char *decltype, const char *word)
{
	size_t n = strlen(word);

	for (const char *p = decltype; *p; p++)
		if (!strncasecmp(p, word, n))
			return 1;
	return 0;
}

/*
 * A value a save writes must fit the column's declared type, beyond what
 * SQLite itself enforces (it stores text in an INTEGER column): a column
 * of INTEGER affinity takes integers, REAL affinity numbers, BOOLEAN 0 or
 * 1; NULL is NOT NULL's business. Other types (DATETIME, NUMERIC, TEXT,
 * none) take what SQLite takes. Values already in the database are data
 * and never checked: only the ones a save writes.
 */
static const char *type_problem(const struct store_col *c, const struct value *v)
{
	const char *d = c->decltype ? c->decltype : "";

	if (v->type == V_NULL)
		return NULL;
	if (decl_has(d, "BOOL"))
		return v->type == V_INT && (v->i == 0 || v->i == 1) ? NULL : "0 or 1";
	if (decl_has(d, "INT"))
		return v->type == V_INT ? NULL : "an integer";
	if (decl_has(d, "REAL") || decl_has(d, "FLOA") || decl_has(d, "DOUB"))
		return v->type == V_INT || v->type == V_REAL ? NULL : "a number";
	return NULL;
}

/* After applying: every row the text adds or changes reads back with its
 * values, every row it removes is gone. */
static int check_back(struct store *s, const struct home *h, const char *path,
		      const char *text, size_t len, struct side *nw, struct side *old,
		      const unsigned char *did, const struct layout *l,
		      struct save_stats *st, struct buf *err)
{
	struct buf now = BUF_INIT;
	struct side parsed = { 0 }, *back = &parsed;
	unsigned mode = 0;
	int rc = archive_render_file(s, l, path, &now, &mode, err);

	st->exists = rc == 0;
	if (rc == -ENOENT)
		rc = 0;
	st->after = names_hash(now.data ? now.data : "", now.len);
	if (!rc && journal_installed(s) == 1)
		rc = journal_record_file(s, path, st->exists ? &now : NULL, mode, err);
	/* The usual case: the file renders back exactly as the text was
	 * written. Then it holds exactly the rows the text does, and the text's
	 * own parse is the rendering's: no second parse. */
	if (!rc && now.len == len && !memcmp(now.data, text, len))
		back = nw;
	else if (!rc)
		rc = side_load(s, h, path, now.data ? now.data : "", now.len, 0, &parsed, err);

	for (size_t i = 0; !rc && i < nw->n; i++) {
		const struct rec *x = &nw->v[i], *y;
		if (!did[i])
			continue;
		y = side_find(back, x);
		if (!y) {
			rc = at(err, path, x->r->line, 1);
			buf_addf(err, "this %s row would not be in this file any more"
				 " (a date or parent that belongs to another file?)",
				 x->t->name);
			break;
		}
		for (size_t j = 0; j < x->r->nfields; j++) {
			const struct fmt_field *f = rec_field(x, j), *g;
			int c = f->pseudo ? -1 : field_col(x->t, f);
			if (c < 0)
				continue;
			g = col_field(y, c);
			if (!g || !value_equal(&f->val, &g->val)) {
				rc = at(err, path, f->vline, f->vcol);
				buf_addf(err, "%s.%s would read back as another value"
					 " (the column's type or a trigger changes it)",
					 x->t->name, x->t->cols[c].name);
				break;
			}
			if (changed_field(x, old, c) && type_problem(&x->t->cols[c], &g->val)) {
				rc = at(err, path, f->vline, f->vcol);
				buf_addf(err, "%s.%s is declared %s: it takes %s",
					 x->t->name, x->t->cols[c].name, x->t->cols[c].decltype,
					 type_problem(&x->t->cols[c], &g->val));
				break;
			}
		}
	}
	for (size_t i = 0; !rc && i < old->n; i++) {
		if (!old->v[i].matched && side_find(back, &old->v[i])) {
			rc = -EIO;
			buf_addf(err, "%s: a removed %s row is still there", path,
				 old->v[i].t->name);
		}
	}
	side_release(&parsed);
	buf_release(&now);
	return rc;
}

/*
 * Where a text differs from the file's current rendering, widened to whole
 * records: bytes [a, old_end) of the rendering and [a, text_end) of the
 * text, lines [first_line, end_line) of the text. A record is a "[table]"
 * line and the lines up to the next one (no other line starts with '[':
 * field names that would are quoted), and records outside the region are
 * byte for byte the rendering's, so they hold the same rows: only the
 * region's rows are compared. An edit of one field of a prayer with a
 * thousand marks compares one row, not a thousand.
 */
struct region {
	size_t a, old_end, text_end;
	long first_line, end_line;
};

static int record_start(const char *s, size_t i)
{
	return s[i] == '[' && (i == 0 || s[i - 1] == '\n');
}

static long lines_before(const char *s, size_t end)
{
	long n = 1;

	for (const char *p = s; (p = memchr(p, '\n', (size_t)(s + end - p))); p++)
		n++;
	return n;
}

static void changed_region(const char *o, size_t olen, const char *t, size_t tlen,
			   struct region *r)
{
	size_t n = olen < tlen ? olen : tlen, p = 0, q = 0, e;

	while (p < n && o[p] == t[p])
		p++;
	while (q < n - p && o[olen - 1 - q] == t[tlen - 1 - q])
		q++;
	/* back to the start of the record p is in (0: the title lines) */
	r->a = p;
	while (r->a > 0 && !(r->a < olen && record_start(o, r->a)))
		r->a--;
	/* on to the first record wholly inside the common end */
	for (e = olen - q; e < olen; e++) {
		size_t te = e + tlen - olen;
		if (record_start(o, e) && (te == 0 || t[te - 1] == '\n'))
			break;
	}
	r->old_end = e;
	r->text_end = e + tlen - olen;
	r->first_line = lines_before(t, r->a);
	r->end_line = lines_before(t, r->text_end);
}

/* The current rendering of path into cur: the caller's hint when the
 * records prove it current, else rendered. */
static int current(struct store *s, const struct layout *l, const char *path,
		   const struct buf *hint, struct buf *cur, struct buf *err)
{
	struct journal_file jf;
	unsigned mode;

	if (hint && journal_installed(s) == 1 &&
	    journal_current(s, path, &jf, err) == 1 &&
	    jf.size == (int64_t)hint->len && jf.hash == names_hash(hint->data, hint->len)) {
		buf_add(cur, hint->data, hint->len);
		return 0;
	}
	buf_reset(err);
	return archive_render_file(s, l, path, cur, &mode, err);
}

int save_file(struct store *s, const struct layout *l, const char *path,
	      const char *text, size_t len, const uint64_t *base,
	      const struct buf *hint, struct save_stats *st, struct buf *err)
{
	struct home *h = NULL;
	struct side nw = { 0 }, old = { 0 };
	struct buf cur = BUF_INIT;
	struct region reg;
	unsigned char *did = NULL;
	int rc;

	memset(st, 0, sizeof(*st));
	if (layout_classify(l, path, &h) != PATH_CANONICAL) {
		buf_addf(err, "%s is not a set of rows: it cannot be written", path);
		return -EACCES;
	}
	rc = side_load(s, h, path, text, len, 1, &nw, err);
	if (!rc)
		rc = store_begin(s, 1, err);
	if (rc)
		goto out;
	rc = current(s, l, path, hint, &cur, err);
	if (rc == -ENOENT)
		rc = 0;   /* a new file */
	if (!rc && base && names_hash(cur.data ? cur.data : "", cur.len) != *base) {
		buf_addf(err, "%s: its rows changed since it was read (another editor"
			 " or the application): nothing saved", path);
		rc = -ESTALE;
	}
	if (!rc) {
		changed_region(cur.data, cur.len, text, len, &reg);
		rc = side_load(s, h, path, cur.data + reg.a, reg.old_end - reg.a, 0, &old, err);
	}
	if (!rc && !(did = calloc(nw.n ? nw.n : 1, 1)))
		rc = -ENOMEM;
	for (size_t i = 0; !rc && i < nw.n; i++) {
		struct rec *x = &nw.v[i], *y;
		if (x->r->line < reg.first_line || x->r->line >= reg.end_line) {
			st->unchanged++;   /* its lines are the file's, as they were */
			continue;
		}
		y = side_find(&old, x);
		if (y) {
			y->matched = 1;
			if (!differs(x, y)) {
				st->unchanged++;
				continue;
			}
			rc = update_rec(s, x, path, err);
			st->updated++;
		} else {
			rc = insert_rec(s, x, path, err);
			st->inserted++;
		}
		did[i] = 1;
	}
	for (size_t i = 0; !rc && i < old.n; i++) {
		if (old.v[i].matched)
			continue;
		rc = delete_rec(s, &old.v[i], path, err);
		st->deleted++;
	}
	if (!rc)
		rc = check_back(s, h, path, text, len, &nw, &old, did, l, st, err);
	if (!rc)
		rc = store_commit(s, err);
	if (rc)
		store_rollback(s);
out:
	if (rc)
		memset(st, 0, sizeof(*st));
	free(did);
	side_release(&nw);
	side_release(&old);
	buf_release(&cur);
	return rc;
}
