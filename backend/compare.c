/*
 * compare.c - exact comparison of two tables' rows (compare.h).
 *
 * Each row becomes a list of (storage class, exact text) pairs and the two
 * lists are compared with EXCEPT (both directions only when they differ,
 * see compare_rows): SQLite does the
 * sorting, in its temporary b-trees, so memory stays flat whatever the
 * table's size. Rows are unique on both sides (a key, or the rowid), so
 * EXCEPT's de-duplication hides nothing; row counts are compared too.
 */
#include "compare.h"

#include <errno.h>
#include <string.h>

#include "archive.h"

/* The exact image of column c: class, then bytes. hex() reads TEXT and
 * BLOB whole (past a NUL); quote() gives a REAL that reads back to the
 * same double; INTEGER's text is exact. */
static void add_image(struct buf *q, const char *schema, const char *table,
		      const char *col)
{
	struct buf ref = BUF_INIT;

	buf_add_sqlident(&ref, schema);
	buf_addch(&ref, '.');
	buf_add_sqlident(&ref, table);
	buf_addch(&ref, '.');
	buf_add_sqlident(&ref, col);
	buf_addf(q, "typeof(%s), CASE typeof(%s) WHEN 'real' THEN quote(%s) ELSE hex(%s) END",
		 ref.data, ref.data, ref.data, ref.data);
	buf_release(&ref);
}

static void add_select(struct buf *q, const struct compare_side *x, int ncols)
{
	buf_addstr(q, "SELECT ");
	if (x->rowid) {
		buf_add_sqlident(q, x->schema);
		buf_addch(q, '.');
		buf_add_sqlident(q, x->table);
		buf_addf(q, ".%s", x->rowid);
	} else {
		buf_addstr(q, "NULL");
	}
	for (int i = 0; i < ncols; i++) {
		buf_addstr(q, ", ");
		add_image(q, x->schema, x->table, x->cols[i]);
	}
	buf_addstr(q, " FROM ");
	buf_add_sqlident(q, x->schema);
	buf_addch(q, '.');
	buf_add_sqlident(q, x->table);
}

static int except_count(struct store *s, const struct compare_side *x,
			const struct compare_side *y, int ncols, long *n,
			struct buf *err)
{
	struct buf q = BUF_INIT;
	int rc;

	buf_addstr(&q, "SELECT count(*) FROM (");
	add_select(&q, x, ncols);
	buf_addstr(&q, " EXCEPT ");
	add_select(&q, y, ncols);
	buf_addch(&q, ')');
	rc = store_query_long(s, q.data, n, err);
	buf_release(&q);
	return rc;
}

int compare_rows(struct store *s, const struct compare_side *a,
		 const struct compare_side *b, int ncols, struct compare_result *r,
		 struct buf *err)
{
	int rc;

	r->rows_a = r->rows_b = r->only_a = r->only_b = 0;
	rc = store_count_rows(s, a->schema, a->table, &r->rows_a, err);
	if (!rc)
		rc = store_count_rows(s, b->schema, b->table, &r->rows_b, err);
	if (!rc)
		rc = except_count(s, a, b, ncols, &r->only_a, err);
	/* a's rows are unique: when each has its twin in b and b has as many
	 * rows, b holds exactly a's (and no duplicates); only otherwise is the
	 * other direction worth its sort. */
	if (!rc && (r->only_a || r->rows_a != r->rows_b))
		rc = except_count(s, b, a, ncols, &r->only_b, err);
	if (rc)
		buf_addf(err, " (comparing table %s)", a->table);
	return rc;
}

int compare_attach(struct store *s, const char *path, const char *name,
		   struct buf *err)
{
	struct buf q = BUF_INIT;
	int rc;

	buf_addstr(&q, "ATTACH DATABASE ");
	buf_add_sqlstr(&q, path);
	buf_addstr(&q, " AS ");
	buf_add_sqlident(&q, name);
	rc = store_exec(s, q.data, err);
	buf_release(&q);
	return rc;
}

int compare_detach(struct store *s, const char *name, struct buf *err)
{
	struct buf q = BUF_INIT;
	int rc;

	buf_addstr(&q, "DETACH DATABASE ");
	buf_add_sqlident(&q, name);
	rc = store_exec(s, q.data, err);
	buf_release(&q);
	return rc;
}

static int prepare_ordered(struct store *s, const struct store_table *t, int *n,
			   struct store_stmt **st, struct buf *err)
{
	struct buf q = BUF_INIT, order = BUF_INIT;
	int rc;

	*n = 0;
	buf_addstr(&q, "SELECT ");
	for (int c = 0; c < t->ncols; c++) {
		if (t->cols[c].hidden)
			continue;
		if (*n)
			buf_addstr(&q, ", ");
		buf_add_sqlident(&q, t->cols[c].name);
		(*n)++;
	}
	if (!*n)
		buf_addstr(&q, "NULL");
	buf_addstr(&q, " FROM main.");
	buf_add_sqlident(&q, t->name);
	buf_addstr(&q, " ORDER BY ");
	for (int k = 0; k < t->npk; k++) {
		buf_add_sqlident(&order, t->cols[t->pk[k]].name);
		buf_addstr(&order, ", ");
	}
	if (t->rowid_key && archive_rowid_name(t))
		buf_addf(&order, "%s, ", archive_rowid_name(t));
	/* then every column: rows equal up to here sort the same way on both */
	for (int c = 0, k = 0; c < t->ncols; c++) {
		if (t->cols[c].hidden)
			continue;
		k++;
		buf_addf(&order, "%s%d", k > 1 ? ", " : "", k);
	}
	if (!*n)
		buf_addstr(&order, "1");
	while (order.len > 2 && !memcmp(order.data + order.len - 2, ", ", 2))
		buf_truncate(&order, order.len - 2);
	buf_add(&q, order.data, order.len);
	rc = store_prepare(s, q.data, st, err);
	buf_release(&q);
	buf_release(&order);
	return rc;
}

int compare_stream(struct store *a, struct store *b, const struct store_table *t,
		   long *rows, long *differ, struct buf *err)
{
	struct store_stmt *sa = NULL, *sb = NULL;
	int n, rc, ra, rb;

	*rows = *differ = 0;
	rc = prepare_ordered(a, t, &n, &sa, err);
	if (!rc)
		rc = prepare_ordered(b, t, &n, &sb, err);
	while (!rc) {
		ra = store_step(sa, err);
		rb = store_step(sb, err);
		if (ra < 0 || rb < 0) {
			rc = ra < 0 ? ra : rb;
			break;
		}
		if (!ra && !rb)
			break;
		if (ra)
			(*rows)++;
		if (!ra || !rb) {
			(*differ)++;
			continue;
		}
		for (int i = 0; i < n; i++) {
			struct value va, vb;
			store_column(sa, i, &va);
			store_column(sb, i, &vb);
			if (!value_equal(&va, &vb)) {
				(*differ)++;
				break;
			}
		}
	}
	if (rc)
		buf_addf(err, " (comparing table %s)", t->name);
	store_finalize(sa);
	store_finalize(sb);
	return rc;
}
