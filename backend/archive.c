/*
 * archive.c - stream the database as the text tree (see archive.h).
 *
 * Each home is rendered from one ordered stream of its own rows plus one
 * ordered stream per embedded child table, merged in C:
 *
 *   parents:  SELECT p.* FROM p ORDER BY <file order of p>
 *   children: SELECT c.*, p.key FROM c JOIN p ON p.key = c.fk
 *             ORDER BY <file order of p>, <order of c>, c.key
 *   orphans:  SELECT c.* FROM c WHERE NOT EXISTS (parent) ORDER BY c.fk, ...
 *
 * Because the child stream is sorted by exactly the parent's ORDER BY
 * expressions, the children of each parent arrive right after those of the
 * previous parent, and one pass renders every file. A child row that the
 * merge did not consume would be a bug; the per-table row count at the end
 * turns any such bug into an error instead of a silent loss.
 */
#include "archive.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "events.h"
#include "names.h"
#include "query.h"
#include "strset.h"

struct cursor {
	struct store_stmt *st;
	int has_row;            /* st holds a row not consumed yet */
	int ncols;              /* columns of the table in the row */
	int off;                /* index of the table's first column (1 if rowid) */
	struct value *vals;     /* the current row, ncols entries */
	int64_t rowid;
	struct value ppk;       /* children: the parent's key, last column */
};

struct walk {
	struct store *s;
	const struct layout *l;
	archive_emit_fn emit;
	void *ctx;
	struct buf *err;
	struct buf file;        /* the file being rendered */
	struct buf path;        /* its path ("" when none) */
	struct buf tmp;
	long file_rows;
	unsigned mode;
	long *rendered;         /* rows rendered per table index */
	struct strset paths;    /* every path emitted: none may come twice */
};

/*
 * Which rows of a home a walk renders: all of them (export, verify), or
 * those of one file (the mount): one key value, a key prefix (a shortened
 * file name), or one month.
 */
struct filter {
	enum { F_ALL, F_KEY, F_KEY_RANGE, F_MONTH } kind;
	struct value lo, hi;   /* F_KEY: lo; F_KEY_RANGE: lo <= key < hi */
	char month[8];         /* F_MONTH: "YYYY_MM", or "" for undated rows */
	char from[9], to[9];   /* F_MONTH: "YYYY-MM-" .. "YYYY-MM." (index range) */
};

static const struct filter all_rows = { .kind = F_ALL };

const char *archive_rowid_name(const struct store_table *t)
{
	static const char *const names[] = { "rowid", "_rowid_", "oid" };

	for (size_t k = 0; k < 3; k++) {
		int used = 0;
		for (int i = 0; i < t->ncols; i++)
			if (strcasecmp(t->cols[i].name, names[k]) == 0)
				used = 1;
		if (!used)
			return names[k];
	}
	return NULL;
}

static int table_index(const struct layout *l, const struct home *h)
{
	return (int)(h - l->homes);
}

/* Append "a.c1, a.c2, ..." (every column, hidden ones too, so that the
 * values line up with t->cols). */
static void add_columns(struct buf *q, const struct store_table *t,
			const char *alias)
{
	for (int i = 0; i < t->ncols; i++) {
		if (i)
			buf_addstr(q, ", ");
		buf_addf(q, "%s.", alias);
		buf_add_sqlident(q, t->cols[i].name);
	}
}

static void add_key_order(struct buf *q, const struct home *h, const char *alias)
{
	const struct store_table *t = h->t;

	if (t->rowid_key) {
		buf_addf(q, "%s.%s", alias, archive_rowid_name(t));
		return;
	}
	for (int i = 0; i < t->npk; i++) {
		if (i)
			buf_addstr(q, ", ");
		query_col(q, alias, t, t->pk[i]);
	}
}

/* The ORDER BY terms that put a home's rows in file order. */
static void add_file_order(struct buf *q, const struct home *h, const char *alias)
{
	if (h->kind == HOME_MONTH) {
		buf_addstr(q, "archivefs_month(");
		query_col(q, alias, h->t, h->date_col);
		buf_addstr(q, "), ");
		query_col(q, alias, h->t, h->order_col >= 0 ? h->order_col : h->date_col);
		buf_addstr(q, ", ");
	} else if (h->kind == HOME_ROW) {
		/* One file per row: any order renders the same files, but
		 * writing them folder by folder keeps the file system's
		 * directory and inode blocks hot (twice as fast on ext4). */
		buf_addstr(q, "archivefs_month(");
		query_col(q, alias, h->t, h->date_col);
		buf_addstr(q, "), ");
	} else if (h->kind == HOME_SINGLE && h->order_col >= 0) {
		query_col(q, alias, h->t, h->order_col);
		buf_addstr(q, ", ");
	}
	add_key_order(q, h, alias);
}

/* Order of children inside their parent's file (and of orphans). */
static void add_child_order(struct buf *q, const struct home *c)
{
	if (c->order_col >= 0) {
		query_col(q, "c", c->t, c->order_col);
		buf_addstr(q, ", ");
	}
	add_key_order(q, c, "c");
}

/* Append " WHERE ..." restricting parent rows (alias p) to the filter. */
static void add_filter(struct buf *q, const struct home *h, const struct filter *f)
{
	switch (f->kind) {
	case F_ALL:
		return;
	case F_KEY:
		buf_addstr(q, " WHERE ");
		query_name_key(q, h, "p");
		buf_addstr(q, " IS ?1");
		return;
	case F_KEY_RANGE:
		buf_addstr(q, " WHERE ");
		query_name_key(q, h, "p");
		buf_addstr(q, " >= ?1 AND ");
		query_name_key(q, h, "p");
		buf_addstr(q, " < ?2");
		return;
	case F_MONTH:
		buf_addstr(q, " WHERE archivefs_month(");
		query_col(q, "p", h->t, h->date_col);
		buf_addstr(q, ") = ?1");
		if (f->month[0]) {
			/* Redundant, but lets an index on the date column serve it. */
			buf_addstr(q, " AND ");
			query_col(q, "p", h->t, h->date_col);
			buf_addstr(q, " >= ?2 AND ");
			query_col(q, "p", h->t, h->date_col);
			buf_addstr(q, " < ?3");
		}
		return;
	}
}

static int bind_filter(struct store_stmt *st, const struct filter *f)
{
	struct value v;
	int rc = 0;

	switch (f->kind) {
	case F_ALL:
		break;
	case F_KEY:
		rc = store_bind(st, 1, &f->lo);
		break;
	case F_KEY_RANGE:
		rc = store_bind(st, 1, &f->lo);
		if (!rc)
			rc = store_bind(st, 2, &f->hi);
		break;
	case F_MONTH:
		memset(&v, 0, sizeof(v));
		v.type = V_TEXT;
		v.s = f->month;
		v.n = strlen(f->month);
		rc = store_bind(st, 1, &v);
		if (!rc && f->month[0]) {
			v.s = f->from;
			v.n = strlen(f->from);
			rc = store_bind(st, 2, &v);
			v.s = f->to;
			v.n = strlen(f->to);
			if (!rc)
				rc = store_bind(st, 3, &v);
		}
		break;
	}
	return rc;
}

static int cursor_open(struct walk *w, struct cursor *c, const struct home *h,
		       const char *sql, int with_ppk)
{
	int rc;

	memset(c, 0, sizeof(*c));
	c->ncols = h->t->ncols;
	c->off = h->t->rowid_key ? 1 : 0;
	c->vals = calloc((size_t)(c->ncols ? c->ncols : 1), sizeof(*c->vals));
	if (!c->vals)
		out_of_memory(0);
	rc = store_prepare(w->s, sql, &c->st, w->err);
	if (rc)
		return rc;
	(void)with_ppk;
	return 0;
}

/* Step to the next row (if the current one was consumed). 1/0/-errno. */
static int cursor_fill(struct walk *w, struct cursor *c, int with_ppk)
{
	int rc;

	if (c->has_row)
		return 1;
	rc = store_step(c->st, w->err);
	if (rc <= 0)
		return rc;
	if (c->off) {
		struct value v;
		store_column(c->st, 0, &v);
		c->rowid = v.i;
	}
	for (int i = 0; i < c->ncols; i++)
		store_column(c->st, c->off + i, &c->vals[i]);
	if (with_ppk)
		store_column(c->st, c->off + c->ncols, &c->ppk);
	c->has_row = 1;
	return 1;
}

static void cursor_close(struct cursor *c)
{
	store_finalize(c->st);
	free(c->vals);
	memset(c, 0, sizeof(*c));
}

static void render_row(struct walk *w, const struct home *h,
		       const struct value *vals, int64_t rowid)
{
	const struct store_table *t = h->t;

	fmt_render_record(&w->file, t->name, strlen(t->name));
	if (t->rowid_key) {
		struct value r = { .type = V_INT, .i = rowid };
		fmt_render_field(&w->file, "rowid", 5, &r, FMT_PSEUDO);
	}
	for (int i = 0; i < t->ncols; i++) {
		if (!store_col_archived(&t->cols[i]))
			continue;
		fmt_render_field(&w->file, t->cols[i].name, strlen(t->cols[i].name),
				 &vals[i], h->body[i]);
	}
	w->rendered[table_index(w->l, h)]++;
	w->file_rows++;
}

static int flush_file(struct walk *w)
{
	struct archive_file f;
	int rc;

	if (!w->path.len)
		return 0;
	/* Two files at one path would mean the second replaces the first:
	 * rows lost. The layout must make that impossible; check anyway. */
	if (!strset_add(&w->paths, w->path.data)) {
		buf_addf(w->err, "BUG: two files render to %s; stopping rather than"
			 " losing rows", w->path.data);
		return -EIO;
	}
	f.path = w->path.data;
	f.data = w->file.data;
	f.len = w->file.len;
	f.mode = w->mode;
	f.rows = w->file_rows;
	rc = w->emit(w->ctx, &f, w->err);
	buf_reset(&w->path);
	buf_reset(&w->file);
	w->file_rows = 0;
	return rc;
}

/* Begin a new file at `path` (already in w->tmp) for home h. */
static int start_file(struct walk *w, const struct home *h, const struct value *vals,
		      int64_t rowid, int orphans)
{
	int rc = flush_file(w);

	if (rc)
		return rc;
	buf_add(&w->path, w->tmp.data, w->tmp.len);
	/* Orphans of a secret child, or of a secret parent, stay secret. */
	w->mode = layout_file_mode(h);
	if (orphans && h->parent->secret)
		w->mode = layout_file_mode(h->parent);
	layout_title(h, vals, rowid, orphans, &w->file);
	return 0;
}

static int walk_orphans(struct walk *w, const struct home *c)
{
	struct buf q = BUF_INIT;
	struct cursor cur;
	int rc;

	buf_addstr(&q, "SELECT ");
	add_columns(&q, c->t, "c");
	query_from(&q, c->t, "c");
	query_orphans_where(&q, c);
	buf_addstr(&q, " ORDER BY ");
	query_col(&q, "c", c->t, c->fk_col);
	buf_addstr(&q, ", ");
	add_child_order(&q, c);
	rc = cursor_open(w, &cur, c, q.data, 0);
	while (!rc && (rc = cursor_fill(w, &cur, 0)) == 1) {
		if (!w->path.len) {
			buf_reset(&w->tmp);
			layout_orphans_path(c, &w->tmp);
			rc = start_file(w, c, cur.vals, 0, 1);
			if (rc)
				break;
		}
		render_row(w, c, cur.vals, 0);
		cur.has_row = 0;
		rc = 0;
	}
	if (rc == 0)
		rc = flush_file(w);
	cursor_close(&cur);
	buf_release(&q);
	return rc;
}

static int walk_home(struct walk *w, const struct home *h, const struct filter *f)
{
	struct buf q = BUF_INIT;
	struct cursor par, *kids = NULL;
	const char *rowid = h->t->rowid_key ? archive_rowid_name(h->t) : NULL;
	int rc, k;

	if (h->t->rowid_key && !rowid) {
		buf_addf(w->err, "table %s: rowid, _rowid_ and oid are all column names;"
			 " its rows cannot be keyed", h->t->name);
		return -ENOTSUP;
	}
	buf_addstr(&q, "SELECT ");
	if (rowid)
		buf_addf(&q, "p.%s, ", rowid);
	add_columns(&q, h->t, "p");
	query_from(&q, h->t, "p");
	add_filter(&q, h, f);
	buf_addstr(&q, " ORDER BY ");
	add_file_order(&q, h, "p");
	rc = cursor_open(w, &par, h, q.data, 0);
	if (!rc)
		rc = bind_filter(par.st, f);
	kids = calloc((size_t)(h->nchildren ? h->nchildren : 1), sizeof(*kids));
	if (!kids)
		out_of_memory(0);
	for (k = 0; !rc && k < h->nchildren; k++) {
		const struct home *c = h->children[k];
		buf_reset(&q);
		buf_addstr(&q, "SELECT ");
		add_columns(&q, c->t, "c");
		buf_addstr(&q, ", ");
		query_col(&q, "p", h->t, h->t->pk[0]);
		query_from(&q, c->t, "c");
		buf_addstr(&q, " JOIN main.");
		buf_add_sqlident(&q, h->t->name);
		buf_addstr(&q, " AS p ON ");
		query_col(&q, "p", h->t, h->t->pk[0]);
		buf_addstr(&q, " = ");
		query_col(&q, "c", c->t, c->fk_col);
		add_filter(&q, h, f);
		buf_addstr(&q, " ORDER BY ");
		add_file_order(&q, h, "p");
		buf_addstr(&q, ", ");
		add_child_order(&q, c);
		rc = cursor_open(w, &kids[k], c, q.data, 1);
		if (!rc)
			rc = bind_filter(kids[k].st, f);
	}
	while (!rc && (rc = cursor_fill(w, &par, 0)) == 1) {
		rc = 0;
		buf_reset(&w->tmp);
		layout_row_path(h, par.vals, par.rowid, &w->tmp);
		/* A new file when the path changes, for every kind of home:
		 * rows whose keys share a name (a nullable primary key holding
		 * NULL twice) come out next to each other and must share the
		 * file, not be emitted twice under one path (the second would
		 * replace the first on disk and the row would be lost). */
		if (!buf_eq(&w->tmp, &w->path))
			rc = start_file(w, h, par.vals, par.rowid, 0);
		if (rc)
			break;
		render_row(w, h, par.vals, par.rowid);
		for (k = 0; !rc && k < h->nchildren; k++) {
			const struct value *pk = &par.vals[h->t->pk[0]];
			while ((rc = cursor_fill(w, &kids[k], 1)) == 1 &&
			       value_equal(&kids[k].ppk, pk)) {
				render_row(w, h->children[k], kids[k].vals, 0);
				kids[k].has_row = 0;
			}
			if (rc == 1)
				rc = 0;
		}
		par.has_row = 0;
	}
	if (rc == 0)
		rc = flush_file(w);
	for (k = 0; k < h->nchildren; k++)
		cursor_close(&kids[k]);
	cursor_close(&par);
	free(kids);
	buf_release(&q);
	for (k = 0; !rc && f->kind == F_ALL && k < h->nchildren; k++)
		rc = walk_orphans(w, h->children[k]);
	return rc;
}

static int count_table(struct store *s, const struct store_table *t, long *n,
		       struct buf *err)
{
	struct buf q = BUF_INIT;
	struct store_stmt *st;
	struct value v;
	int rc;

	buf_addstr(&q, "SELECT count(*) FROM main.");
	buf_add_sqlident(&q, t->name);
	rc = store_prepare(s, q.data, &st, err);
	if (!rc && (rc = store_step(st, err)) == 1) {
		store_column(st, 0, &v);
		*n = (long)v.i;
		rc = 0;
	} else if (rc == 0) {
		rc = -EIO;
	}
	store_finalize(st);
	buf_release(&q);
	return rc;
}

int archive_count_rows(struct store *s, const struct layout *l, long *rows,
		       struct buf *err)
{
	long total = 0, n;
	int rc;

	for (int i = 0; i < l->nhomes; i++) {
		rc = count_table(s, l->homes[i].t, &n, err);
		if (rc)
			return rc;
		total += n;
	}
	*rows = total;
	return 0;
}

/*
 * AUTOINCREMENT counters live in sqlite_sequence, which SQLite creates by
 * itself; they are data (a counter can be above the largest key after
 * deletes), so the schema file carries them.
 */
static int render_sequences(struct store *s, struct buf *out, struct buf *err)
{
	struct store_stmt *st;
	struct value v[2];
	int rc;

	rc = store_prepare(s, "SELECT 1 FROM main.sqlite_schema WHERE type = 'table'"
			   " AND name = 'sqlite_sequence'", &st, err);
	if (!rc)
		rc = store_step(st, err);
	store_finalize(st);
	if (rc <= 0)
		return rc;
	rc = store_prepare(s, "SELECT name, seq FROM main.sqlite_sequence"
			   " ORDER BY name, seq", &st, err);
	while (!rc && (rc = store_step(st, err)) == 1) {
		store_column(st, 0, &v[0]);
		store_column(st, 1, &v[1]);
		fmt_render_record(out, "sqlite_sequence", 15);
		fmt_render_field(out, "name", 4, &v[0], 0);
		fmt_render_field(out, "seq", 3, &v[1], 0);
		rc = 0;
	}
	store_finalize(st);
	return rc;
}

/*
 * The withheld columns (withhold.h): named, never their values, so that a
 * database rebuilt from the archive withholds them too.
 */
static void render_withheld(struct store *s, struct buf *out)
{
	static const char note[] = "columns withheld from the archive (archivefs withhold):"
		" their values are never written here; a rebuild gives them their defaults";
	const struct store_schema *sc = store_schema(s);
	int any = 0;

	for (int i = 0; i < sc->ntables; i++) {
		const struct store_table *t = &sc->tables[i];
		for (int c = 0; c < t->ncols; c++) {
			struct value v = { .type = V_TEXT };
			if (!t->cols[c].withheld)
				continue;
			if (!any++)
				fmt_render_comment(out, note, sizeof(note) - 1);
			fmt_render_record(out, STORE_WITHHELD_TABLE, strlen(STORE_WITHHELD_TABLE));
			v.s = t->name;
			v.n = strlen(t->name);
			fmt_render_field(out, "tbl", 3, &v, 0);
			v.s = t->cols[c].name;
			v.n = strlen(t->cols[c].name);
			fmt_render_field(out, "col", 3, &v, 0);
		}
	}
}

int archive_render_schema(struct store *s, struct buf *out, struct buf *err)
{
	struct store_object *o;
	int n, rc;
	int64_t uv, aid;

	rc = store_objects(s, &o, &n, err);
	if (rc)
		return rc;
	rc = store_get_pragma_int(s, "user_version", &uv, err);
	if (!rc)
		rc = store_get_pragma_int(s, "application_id", &aid, err);
	if (rc) {
		store_objects_free(o, n);
		return rc;
	}
	{
		static const char t1[] = "database schema: the exact CREATE statements, tables first, then indexes, views, triggers";
		static const char t2[] = "archivefs import replays them into a new database before the rows";
		struct value v = { .type = V_INT };
		fmt_render_comment(out, t1, sizeof(t1) - 1);
		fmt_render_comment(out, t2, sizeof(t2) - 1);
		fmt_render_record(out, "database", 8);
		v.i = uv;
		fmt_render_field(out, "user_version", 12, &v, 0);
		v.i = aid;
		fmt_render_field(out, "application_id", 14, &v, 0);
	}
	for (int i = 0; i < n; i++) {
		struct value v = { .type = V_TEXT };
		const char *f[4] = { o[i].type, o[i].name, o[i].tbl_name, o[i].sql };
		static const char *const names[4] = { "type", "name", "tbl_name", "sql" };
		fmt_render_record(out, "sqlite_schema", 13);
		for (int j = 0; j < 4; j++) {
			v.s = f[j];
			v.n = strlen(f[j]);
			fmt_render_field(out, names[j], strlen(names[j]), &v,
					 j == 3 ? FMT_BODY : 0);
		}
	}
	store_objects_free(o, n);
	rc = render_sequences(s, out, err);
	if (!rc)
		render_withheld(s, out);
	return rc;
}

static void walk_init(struct walk *w, struct store *s, const struct layout *l,
		      archive_emit_fn emit, void *ctx, struct buf *err)
{
	memset(w, 0, sizeof(*w));
	w->s = s;
	w->l = l;
	w->emit = emit;
	w->ctx = ctx;
	w->err = err;
	buf_init(&w->file);
	buf_init(&w->path);
	buf_init(&w->tmp);
	strset_init(&w->paths);
	w->rendered = calloc((size_t)(l->nhomes ? l->nhomes : 1), sizeof(long));
	if (!w->rendered)
		out_of_memory(0);
}

static void walk_release(struct walk *w)
{
	free(w->rendered);
	strset_release(&w->paths);
	buf_release(&w->file);
	buf_release(&w->path);
	buf_release(&w->tmp);
}

/* The history files (events.h), in name order. */
static int walk_one_event_file(void *ctx, const char *name)
{
	struct walk *w = ctx;
	struct archive_file f = { 0 };
	int rc;

	buf_reset(&w->path);
	buf_addf(&w->path, "%s/%s", EVENTS_DIR, name);
	rc = events_render(w->s, w->l, w->path.data, &w->file, &f.mode, w->err);
	if (rc)
		return rc;
	f.path = w->path.data;
	f.data = w->file.data;
	f.len = w->file.len;
	rc = w->emit(w->ctx, &f, w->err);
	buf_reset(&w->file);
	return rc;
}

static int walk_events(struct walk *w)
{
	return events_list(w->s, walk_one_event_file, w, w->err);
}

int archive_walk(struct store *s, const struct layout *l,
		 archive_emit_fn emit, void *ctx, struct buf *err)
{
	struct walk w;
	struct archive_file f = { 0 };
	int rc, i, own = !store_in_txn(s);

	walk_init(&w, s, l, emit, ctx, err);

	rc = own ? store_begin(s, 0, err) : 0;
	if (rc)
		goto out_nocommit;

	layout_readme(l, &w.file);
	f.path = LAYOUT_README;
	f.data = w.file.data;
	f.len = w.file.len;
	f.mode = 0644;
	rc = emit(ctx, &f, err);
	buf_reset(&w.file);
	if (!rc)
		rc = archive_render_schema(s, &w.file, err);
	if (!rc) {
		f.path = LAYOUT_SCHEMA;
		f.data = w.file.data;
		f.len = w.file.len;
		rc = emit(ctx, &f, err);
		buf_reset(&w.file);
	}
	for (i = 0; !rc && i < l->nhomes; i++)
		if (l->homes[i].kind != HOME_CHILD)
			rc = walk_home(&w, &l->homes[i], &all_rows);
	if (!rc)
		rc = walk_events(&w);
	/* Every row rendered exactly once, or the walk failed. */
	for (i = 0; !rc && i < l->nhomes; i++) {
		long n;
		rc = count_table(s, l->homes[i].t, &n, err);
		if (!rc && n != w.rendered[i]) {
			buf_addf(err, "BUG: table %s holds %ld rows but %ld were rendered",
				 l->homes[i].t->name, n, w.rendered[i]);
			rc = -EIO;
		}
	}
	if (own)
		store_rollback(s);   /* read-only transaction: nothing to keep */
out_nocommit:
	walk_release(&w);
	return rc;
}

/* --- indexes for single files -------------------------------------------- */

/* "archivefs_idx_<table>_<column>", made of safe bytes, plus a hash of the
 * exact names so two odd names can never share an index name. */
static void index_name(struct buf *out, const struct store_table *t, int col)
{
	struct buf full = BUF_INIT;

	buf_addstr(out, "archivefs_idx_");
	buf_addf(&full, "%s", t->name);
	buf_addch(&full, '\0');
	buf_addstr(&full, t->cols[col].name);
	for (size_t i = 0; i < full.len; i++) {
		unsigned char c = (unsigned char)full.data[i];
		if (!c)
			buf_addch(out, '_');
		else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			 (c >= '0' && c <= '9') || c == '_')
			buf_addch(out, c);
	}
	buf_addf(out, "_%08x", (unsigned)(names_hash(full.data, full.len) & 0xffffffffu));
	buf_release(&full);
}

static int install_index(struct store *s, const struct store_table *t, int col,
			 struct buf *err)
{
	struct buf q = BUF_INIT, name = BUF_INIT;
	int rc;

	index_name(&name, t, col);
	buf_addstr(&q, "CREATE INDEX IF NOT EXISTS main.");
	buf_add_sqlident(&q, name.data);
	buf_addstr(&q, " ON ");
	buf_add_sqlident(&q, t->name);
	buf_addstr(&q, " (");
	buf_add_sqlident(&q, t->cols[col].name);
	buf_addch(&q, ')');
	rc = store_exec(s, q.data, err);
	buf_release(&q);
	buf_release(&name);
	return rc;
}

int archive_install_indexes(struct store *s, const struct layout *l, struct buf *err)
{
	int rc = store_begin(s, 1, err);

	for (int i = 0; !rc && i < l->nhomes; i++) {
		const struct home *h = &l->homes[i];
		if (h->kind == HOME_CHILD)
			rc = install_index(s, h->t, h->fk_col, err);
		else if (h->date_col >= 0)
			rc = install_index(s, h->t, h->date_col, err);
	}
	if (!rc)
		rc = store_commit(s, err);
	else
		store_rollback(s);
	return rc;
}

/* --- one file ------------------------------------------------------------ */

struct capture {
	const char *want;
	struct buf *out;
	unsigned mode;
	int found;
};

static int capture(void *ctx, const struct archive_file *f, struct buf *err)
{
	struct capture *c = ctx;

	(void)err;
	if (strcmp(f->path, c->want) == 0) {
		buf_add(c->out, f->data, f->len);
		c->mode = f->mode;
		c->found = 1;
	}
	return 0;
}

/* The smallest value above every value that starts with bytes p[0..n):
 * the prefix with its last byte below 0xff incremented, or, when there is
 * none, an empty BLOB (above every TEXT in SQLite's order). */
static void prefix_end(const struct value *lo, struct buf *store, struct value *hi)
{
	size_t n = lo->n;

	while (n && (unsigned char)lo->s[n - 1] == 0xff)
		n--;
	buf_reset(store);
	memset(hi, 0, sizeof(*hi));
	if (!n || lo->type != V_TEXT) {
		hi->type = V_BLOB;
		hi->s = "";
		if (lo->type == V_BLOB && n) {
			buf_add(store, lo->s, n);
			store->data[n - 1]++;
			hi->s = store->data;
			hi->n = n;
		}
		return;
	}
	buf_add(store, lo->s, n);
	store->data[n - 1]++;
	hi->type = V_TEXT;
	hi->s = store->data;
	hi->n = n;
}

/*
 * Work out which rows of h the file `base` (its last path component)
 * holds. Returns 0, or -ENOENT for a name no row could have.
 */
static int file_filter(const struct home *h, const char *base, struct filter *f,
		       struct buf *keybuf, struct buf *hibuf)
{
	const char *k = base;
	size_t count, n;
	uint64_t hash;
	int rc;

	memset(f, 0, sizeof(*f));
	switch (h->kind) {
	case HOME_SINGLE:
		f->kind = F_ALL;
		return 0;
	case HOME_MONTH:
		f->kind = F_MONTH;
		if (strncmp(base, "undated_", 8) == 0)
			return 0;
		memcpy(f->month, base, 7);
		f->month[7] = '\0';
		query_month_bounds(f->month, f->from, f->to);
		return 0;
	case HOME_ROW:
		/* YYYY_MM_DD_<stem>_<key>.txt or <stem>_<key>.txt */
		k = base[0] >= '0' && base[0] <= '9' ? base + 11 : base;
		k += strlen(h->d->stem) + 1;
		break;
	case HOME_GENERIC:
		break;
	case HOME_CHILD:
		return -ENOENT;
	}
	n = strlen(k);
	if (n < 4)
		return -ENOENT;
	rc = names_parse_key(k, n - 4, &f->lo, 1, &count, keybuf, &hash);
	if (rc == NAMES_OK && count == 1) {
		f->kind = F_KEY;
		return 0;
	}
	if (rc != NAMES_HASHED)
		return -ENOENT;
	if (count == 1 && (f->lo.type == V_TEXT || f->lo.type == V_BLOB)) {
		f->kind = F_KEY_RANGE;
		prefix_end(&f->lo, hibuf, &f->hi);
	} else {
		f->kind = F_ALL;   /* nothing kept of the key: look at every row */
	}
	return 0;
}

int archive_render_file(struct store *s, const struct layout *l, const char *path,
			struct buf *out, unsigned *mode, struct buf *err)
{
	struct capture cap = { path, out, 0, 0 };
	struct buf keybuf = BUF_INIT, hibuf = BUF_INIT;
	struct filter f;
	struct walk w;
	struct home *h;
	enum path_kind kind;
	const char *base = strrchr(path, '/');
	int rc, own = !store_in_txn(s);

	buf_reset(out);
	kind = layout_classify(l, path, &h);
	if (kind == PATH_NONE)
		return -ENOENT;
	if (kind == PATH_EVENTS) {
		rc = own ? store_begin(s, 0, err) : 0;
		if (!rc)
			rc = events_render(s, l, path, out, mode, err);
		if (own)
			store_rollback(s);
		return rc;
	}
	if (kind == PATH_CANONICAL) {
		rc = file_filter(h, base ? base + 1 : path, &f, &keybuf, &hibuf);
		if (rc)
			goto out_nowalk;
	}
	rc = own ? store_begin(s, 0, err) : 0;
	if (rc)
		goto out_nowalk;
	walk_init(&w, s, l, capture, &cap, err);
	switch (kind) {
	case PATH_DERIVED:
		layout_readme(l, out);
		cap.found = 1;
		cap.mode = 0644;
		break;
	case PATH_SCHEMA:
		rc = archive_render_schema(s, out, err);
		cap.found = 1;
		cap.mode = 0644;
		break;
	case PATH_ORPHANS:
		rc = walk_orphans(&w, h);
		break;
	case PATH_CANONICAL:
		rc = walk_home(&w, h, &f);
		break;
	case PATH_NONE:
	case PATH_EVENTS:
		break;
	}
	walk_release(&w);
	if (own)
		store_rollback(s);
	if (!rc && !cap.found)
		rc = -ENOENT;
	if (!rc && mode)
		*mode = cap.mode;
out_nowalk:
	buf_release(&keybuf);
	buf_release(&hibuf);
	if (rc)
		buf_reset(out);
	return rc;
}
