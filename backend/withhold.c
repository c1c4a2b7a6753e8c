/*
 * withhold.c - archivefs withhold: the configured secret columns.
 *
 * See withhold.h for what withholding means; store.c reads the list with
 * the schema and marks the columns, and every renderer skips them.
 */
#include "withhold.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "journal.h"
#include "layout.h"
#include "store.h"

#define EXIT_FAIL 1
#define EXIT_USAGE 2

struct pair {
	char *tbl, *col;
	int gone;   /* renamed or dropped while withheld: the history's only */
};

struct pairs {
	struct pair *v;
	int n, cap;
};

static void pairs_add(struct pairs *p, const char *tbl, const char *col, int gone)
{
	if (p->n == p->cap) {
		p->cap = p->cap ? p->cap * 2 : 8;
		p->v = realloc(p->v, (size_t)p->cap * sizeof(*p->v));
		if (!p->v)
			out_of_memory(0);
	}
	p->v[p->n].tbl = xstrdup(tbl);
	p->v[p->n].gone = gone;
	p->v[p->n++].col = xstrdup(col);
}

static int pairs_find(const struct pairs *p, const char *tbl, const char *col)
{
	for (int i = 0; i < p->n; i++)
		if (!strcmp(p->v[i].tbl, tbl) && !strcmp(p->v[i].col, col))
			return i;
	return -1;
}

static int cmp_pair(const void *a, const void *b)
{
	const struct pair *x = a, *y = b;
	int c = strcmp(x->tbl, y->tbl);

	return c ? c : strcmp(x->col, y->col);
}

static void pairs_release(struct pairs *p)
{
	for (int i = 0; i < p->n; i++) {
		free(p->v[i].tbl);
		free(p->v[i].col);
	}
	free(p->v);
	memset(p, 0, sizeof(*p));
}

/* The rows of main.archivefs_withheld, as the store read them with the
 * schema (inside the caller's transaction: store_reload_schema). */
static int read_pairs(struct store *s, struct pairs *p, struct buf *err)
{
	const struct store_schema *sc;
	int rc = store_reload_schema(s, err);

	if (rc)
		return rc;
	sc = store_schema(s);
	for (int i = 0; i < sc->nwithheld; i++)
		pairs_add(p, sc->withheld[i].tbl, sc->withheld[i].col, sc->withheld[i].gone);
	return 0;
}

/* 1 if the database has column col of table tbl. */
static int has_column(struct store *s, const char *tbl, const char *col)
{
	const struct store_table *t = store_find_table(s, tbl);

	for (int c = 0; t && c < t->ncols; c++)
		if (!t->cols[c].hidden && !strcmp(t->cols[c].name, col))
			return 1;
	return 0;
}

/* Replace the table with p (or drop it when p is empty). */
static int write_pairs(struct store *s, const struct pairs *p, struct buf *err)
{
	struct buf q = BUF_INIT;
	int rc;

	buf_addstr(&q, "DROP TABLE IF EXISTS main." STORE_WITHHELD_TABLE ";\n");
	if (p->n)
		buf_addstr(&q, STORE_WITHHELD_DDL ";\n");
	for (int i = 0; i < p->n; i++) {
		buf_addstr(&q, "INSERT INTO main." STORE_WITHHELD_TABLE " VALUES (");
		buf_add_sqlstr(&q, p->v[i].tbl);
		buf_addstr(&q, ", ");
		buf_add_sqlstr(&q, p->v[i].col);
		buf_addf(&q, ", %d);\n", p->v[i].gone);
	}
	rc = store_exec(s, q.data, err);
	buf_release(&q);
	return rc;
}

/*
 * TABLE.COLUMN: both names may hold dots, so every split is tried; the
 * one naming a table and a column of it wins. 1 found, 0 not.
 */
static int resolve(const struct store_schema *sc, const char *arg,
		   const struct store_table **t, int *c)
{
	for (const char *dot = strchr(arg, '.'); dot; dot = strchr(dot + 1, '.')) {
		size_t tl = (size_t)(dot - arg);
		for (int i = 0; i < sc->ntables; i++) {
			const struct store_table *x = &sc->tables[i];
			if (strlen(x->name) != tl || memcmp(x->name, arg, tl) != 0)
				continue;
			for (int k = 0; k < x->ncols; k++) {
				if (strcmp(x->cols[k].name, dot + 1) == 0) {
					*t = x;
					*c = k;
					return 1;
				}
			}
		}
	}
	return 0;
}

/* Why column c of t cannot be withheld (err), or 0. */
static int refuse(struct store *s, const struct layout *l, const struct store_table *t,
		  int c, struct buf *err)
{
	const struct store_col *col = &t->cols[c];
	const struct home *h = layout_home(l, t->name);
	long no_default = 0;
	struct buf q = BUF_INIT;
	int rc;

	if (col->hidden) {
		buf_addf(err, "%s.%s is a generated column: it is never archived anyway",
			 t->name, col->name);
		return -EINVAL;
	}
	if (col->pk) {
		buf_addf(err, "%s.%s is (part of) the table's key: rows are named and"
			 " matched by it", t->name, col->name);
		return -EINVAL;
	}
	if (h && (h->date_col == c || h->order_col == c || h->fk_col == c)) {
		buf_addf(err, "%s.%s places the table's rows in the tree (its %s column):"
			 " the archive could not put them back", t->name, col->name,
			 h->date_col == c ? "date" : h->fk_col == c ? "parent" : "order");
		return -EINVAL;
	}
	buf_addstr(&q, "SELECT count(*) FROM pragma_table_info(");
	buf_add_sqlstr(&q, t->name);
	buf_addstr(&q, ", 'main') WHERE name = ");
	buf_add_sqlstr(&q, col->name);
	buf_addstr(&q, " AND \"notnull\" AND dflt_value IS NULL");
	rc = store_query_long(s, q.data, &no_default, err);
	buf_release(&q);
	if (rc)
		return rc;
	if (no_default) {
		buf_addf(err, "%s.%s is NOT NULL without a default: a database rebuilt"
			 " from the archive could not hold its rows", t->name, col->name);
		return -EINVAL;
	}
	return 0;
}

static void print_list(struct store *s, struct pairs *p)
{
	const struct store_schema *sc = store_schema(s);

	if (!p->n) {
		printf("no column is withheld\n");
		return;
	}
	qsort(p->v, (size_t)p->n, sizeof(*p->v), cmp_pair);
	for (int i = 0; i < p->n; i++) {
		const struct store_table *t = NULL;
		int found = 0;
		for (int k = 0; k < sc->ntables && !t; k++)
			if (!strcmp(sc->tables[k].name, p->v[i].tbl))
				t = &sc->tables[k];
		for (int c = 0; t && c < t->ncols; c++)
			found |= t->cols[c].withheld && !strcmp(t->cols[c].name, p->v[i].col);
		printf("%s.%s%s\n", p->v[i].tbl, p->v[i].col,
		       found ? "" : p->v[i].gone ? "  (gone from the database: its old"
		       " values stay withheld in the history)" : "  (not in the database:"
		       " renamed or dropped? every command refuses DB until it is removed)");
	}
}

static int usage(const char *msg, const char *arg)
{
	fprintf(stderr, "archivefs: withhold: %s%s\n", msg, arg ? arg : "");
	fprintf(stderr, "usage: archivefs withhold DB [TABLE.COLUMN...] [--remove]\n");
	return EXIT_USAGE;
}

int withhold_command(int argc, char **argv)
{
	const char *db = NULL;
	const char **names = calloc((size_t)argc + 1, sizeof(*names));
	int nnames = 0, remove = 0, rc, changed = 0;
	struct store *s = NULL;
	struct layout l;
	struct pairs p = { 0 };
	struct buf err = BUF_INIT;

	if (!names)
		out_of_memory(0);
	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--remove")) {
			remove = 1;
		} else if (argv[i][0] == '-' && argv[i][1]) {
			free(names);
			return usage("unknown option ", argv[i]);
		} else if (!db) {
			db = argv[i];
		} else {
			names[nnames++] = argv[i];
		}
	}
	if (!db || (remove && !nnames)) {
		free(names);
		return usage(db ? "--remove needs the columns to stop withholding"
			     : "needs a database", NULL);
	}
	rc = store_open(db, (nnames ? STORE_RDWR : STORE_RDONLY) | STORE_STALE_WITHHELD,
			&s, &err);
	if (!rc)
		rc = store_begin(s, nnames > 0, &err);
	if (!rc)
		rc = read_pairs(s, &p, &err);
	if (!rc)
		rc = layout_bind(&l, store_schema(s), &err);
	if (rc)
		goto out;
	for (int i = 0; !rc && i < nnames; i++) {
		const struct store_table *t;
		int c, k;
		if (remove) {
			/* by the stored names: a stale row has no column left */
			for (k = 0; k < p.n; k++) {
				size_t tl = strlen(p.v[k].tbl);
				if (!strncmp(names[i], p.v[k].tbl, tl) && names[i][tl] == '.' &&
				    !strcmp(names[i] + tl + 1, p.v[k].col))
					break;
			}
			if (k == p.n) {
				buf_addf(&err, "%s is not withheld", names[i]);
				rc = -ENOENT;
				break;
			}
			changed = 1;
			if (!p.v[k].gone && !has_column(s, p.v[k].tbl, p.v[k].col)) {
				/* renamed or dropped: its history stays withheld */
				p.v[k].gone = 1;
				continue;
			}
			free(p.v[k].tbl);
			free(p.v[k].col);
			p.v[k] = p.v[--p.n];
			continue;
		}
		if (!resolve(store_schema(s), names[i], &t, &c)) {
			buf_addf(&err, "%s: no such column (TABLE.COLUMN of a table of %s)",
				 names[i], db);
			rc = -ENOENT;
			break;
		}
		if ((k = pairs_find(&p, t->name, t->cols[c].name)) >= 0) {
			/* already withheld (a name that went and came back is
			 * withheld as it is now) */
			changed |= p.v[k].gone;
			p.v[k].gone = 0;
			continue;
		}
		rc = refuse(s, &l, t, c, &err);
		if (!rc) {
			pairs_add(&p, t->name, t->cols[c].name, 0);
			changed = 1;
		}
	}
	layout_release(&l);
	if (!rc && changed)
		rc = write_pairs(s, &p, &err);
	if (!rc && nnames)
		rc = store_commit(s, &err);
	if (rc)
		goto out;
	if (!nnames) {
		store_rollback(s);   /* ends the read */
	} else if (changed) {
		/* The history's triggers list the archived columns: made again
		 * without the withheld ones (and with the ones given back). */
		rc = store_reload_schema(s, &err);
		if (!rc && journal_installed(s)) {
			rc = layout_bind(&l, store_schema(s), &err);
			if (!rc) {
				rc = journal_install(s, &l, &err);
				layout_release(&l);
			}
		}
		if (rc) {
			buf_addstr(&err, " (the list is saved and the archive leaves the"
				   " columns out; the history's triggers were not made again,"
				   " and until the next sync or mount makes them they record"
				   " the values in DB's own history table, never shown)");
			goto out;
		}
	}
	print_list(s, &p);
	if (changed)
		fprintf(stderr, "archivefs: withhold: the mount, export and sync leave these"
			" columns out from now on; copies made before (backups, snapshots,"
			" other folders) still hold their values\n");
out:
	if (rc) {
		while (err.len && err.data[err.len - 1] == '\n')
			buf_truncate(&err, err.len - 1);
		fprintf(stderr, "archivefs: withhold: %s\n", err.data);
	}
	pairs_release(&p);
	if (s) {
		store_rollback(s);   /* when a failure left the transaction open */
		store_close(s);
	}
	buf_release(&err);
	free(names);
	return rc ? EXIT_FAIL : 0;
}
