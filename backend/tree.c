/*
 * tree.c - list the folders of the text tree from the database (tree.h).
 *
 * A folder's entries come from the homes (layout.h) whose folder is that
 * folder or lies below it:
 *   - a home whose folder lies below: its next path component, as a
 *     folder, if the home has any file (rows, or orphans of its children);
 *   - a home whose folder it is: its files (one per month, one per key,
 *     one for the table), its year folders and undated/ for per-row
 *     homes, and orphans/ when a child has orphans;
 *   - <folder>/YYYY, <folder>/YYYY/MM, <folder>/undated of a per-row home:
 *     its months, or the files of its rows there;
 *   - <folder>/orphans: one file per child table with orphans;
 *   - system/event_log (once any event is recorded): the history files
 *     (events.h).
 * Entries are gathered, de-duplicated and sorted before the callback sees
 * them. Everything is read inside one read transaction.
 */
#include "tree.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "archive.h"
#include "events.h"
#include "query.h"
#include "strset.h"

struct entry {
	char *name;
	int type;
};

struct listing {
	struct store *s;
	const struct layout *l;
	struct buf *err;
	struct strset seen;
	struct entry *e;
	size_t n, cap;
	struct buf sql, tmp;
};

static void add_entry(struct listing *ls, const char *name, size_t len, int type)
{
	char *copy = strndup(name, len);

	if (!copy)
		out_of_memory(0);
	if (!strset_add(&ls->seen, copy)) {
		free(copy);
		return;
	}
	if (ls->n == ls->cap) {
		ls->cap = ls->cap ? ls->cap * 2 : 64;
		ls->e = realloc(ls->e, ls->cap * sizeof(*ls->e));
		if (!ls->e)
			out_of_memory(0);
	}
	ls->e[ls->n].name = copy;
	ls->e[ls->n].type = type;
	ls->n++;
}

/* Run a query whose rows are ignored but the first column of the first
 * row: *v gets it as an integer (0 when there is no row). */
static int query_int(struct listing *ls, const char *sql, long *v)
{
	struct store_stmt *st;
	struct value x;
	int rc = store_prepare(ls->s, sql, &st, ls->err);

	*v = 0;
	if (!rc && (rc = store_step(st, ls->err)) == 1) {
		store_column(st, 0, &x);
		*v = x.type == V_INT ? (long)x.i : 0;
		rc = 0;
	}
	store_finalize(st);
	return rc;
}

static int has_rows(struct listing *ls, const struct home *h, long *yes)
{
	buf_reset(&ls->sql);
	buf_addstr(&ls->sql, "SELECT EXISTS (SELECT 1");
	query_from(&ls->sql, h->t, "p");
	buf_addch(&ls->sql, ')');
	return query_int(ls, ls->sql.data, yes);
}

static int has_orphans(struct listing *ls, const struct home *c, long *yes)
{
	buf_reset(&ls->sql);
	buf_addstr(&ls->sql, "SELECT EXISTS (SELECT 1");
	query_from(&ls->sql, c->t, "c");
	query_orphans_where(&ls->sql, c);
	buf_addch(&ls->sql, ')');
	return query_int(ls, ls->sql.data, yes);
}

static int any_orphans(struct listing *ls, const struct home *h, long *yes)
{
	int rc = 0;

	*yes = 0;
	for (int k = 0; !rc && !*yes && k < h->nchildren; k++)
		rc = has_orphans(ls, h->children[k], yes);
	return rc;
}

/* Does home h put any file in the tree? */
static int has_files(struct listing *ls, const struct home *h, long *yes)
{
	int rc = has_rows(ls, h, yes);

	if (!rc && !*yes)
		rc = any_orphans(ls, h, yes);
	return rc;
}

/*
 * Stream rows of h: "SELECT <name key>, <date> ... [WHERE month = ?]" and
 * add the last component of each row's path (as layout_row_path writes it)
 * as a file. With want_month NULL, every row; "" for undated rows.
 */
static int add_row_files(struct listing *ls, const struct home *h,
			 const char *want_month)
{
	struct value *vals;
	struct store_stmt *st;
	char from[9], to[9];   /* bound without copying: live until finalize */
	int rc, has_date = h->date_col >= 0;

	vals = calloc((size_t)h->t->ncols + 1, sizeof(*vals));
	if (!vals)
		out_of_memory(0);
	buf_reset(&ls->sql);
	buf_addstr(&ls->sql, "SELECT ");
	query_name_key(&ls->sql, h, "p");
	if (has_date) {
		buf_addstr(&ls->sql, ", ");
		query_col(&ls->sql, "p", h->t, h->date_col);
	}
	query_from(&ls->sql, h->t, "p");
	if (want_month) {
		buf_addstr(&ls->sql, " WHERE archivefs_month(");
		query_col(&ls->sql, "p", h->t, h->date_col);
		buf_addstr(&ls->sql, ") = ?1");
		if (want_month[0]) {
			buf_addstr(&ls->sql, " AND ");
			query_col(&ls->sql, "p", h->t, h->date_col);
			buf_addstr(&ls->sql, " >= ?2 AND ");
			query_col(&ls->sql, "p", h->t, h->date_col);
			buf_addstr(&ls->sql, " < ?3");
		}
	}
	rc = store_prepare(ls->s, ls->sql.data, &st, ls->err);
	if (!rc && want_month) {
		struct value v = { .type = V_TEXT };
		v.s = want_month;
		v.n = strlen(want_month);
		rc = store_bind(st, 1, &v);
		if (!rc && want_month[0]) {
			query_month_bounds(want_month, from, to);
			v.s = from;
			v.n = 8;
			rc = store_bind(st, 2, &v);
			v.s = to;
			if (!rc)
				rc = store_bind(st, 3, &v);
		}
	}
	while (!rc && (rc = store_step(st, ls->err)) == 1) {
		struct value key;
		const char *slash;
		store_column(st, 0, &key);
		if (h->t->rowid_key)
			memset(vals, 0, sizeof(*vals) * (size_t)h->t->ncols);
		else
			vals[h->t->pk[0]] = key;
		if (has_date)
			store_column(st, 1, &vals[h->date_col]);
		buf_reset(&ls->tmp);
		layout_row_path(h, vals, key.type == V_INT ? key.i : 0, &ls->tmp);
		slash = strrchr(ls->tmp.data, '/');
		add_entry(ls, slash + 1, strlen(slash + 1), TREE_FILE);
		rc = 0;
	}
	store_finalize(st);
	free(vals);
	return rc;
}

/* The distinct months ("" for undated) of h's date column, into out. */
static int months(struct listing *ls, const struct home *h, struct strset *out)
{
	struct store_stmt *st;
	struct value v;
	int rc;

	buf_reset(&ls->sql);
	buf_addstr(&ls->sql, "SELECT DISTINCT archivefs_month(");
	query_col(&ls->sql, "p", h->t, h->date_col);
	buf_addch(&ls->sql, ')');
	query_from(&ls->sql, h->t, "p");
	rc = store_prepare(ls->s, ls->sql.data, &st, ls->err);
	while (!rc && (rc = store_step(st, ls->err)) == 1) {
		store_column(st, 0, &v);
		strset_add(out, v.type == V_TEXT ? v.s : "");
		rc = 0;
	}
	store_finalize(st);
	return rc;
}

static int list_orphans(struct listing *ls, const struct home *h)
{
	long yes;
	int rc = 0;

	for (int k = 0; !rc && k < h->nchildren; k++) {
		rc = has_orphans(ls, h->children[k], &yes);
		if (!rc && yes) {
			const char *slash;
			buf_reset(&ls->tmp);
			layout_orphans_path(h->children[k], &ls->tmp);
			slash = strrchr(ls->tmp.data, '/');
			add_entry(ls, slash + 1, strlen(slash + 1), TREE_FILE);
		}
	}
	return rc;
}

/* Entries of h's own folder. */
static int list_home(struct listing *ls, const struct home *h)
{
	struct strset ms;
	long yes;
	int rc;

	rc = any_orphans(ls, h, &yes);
	if (!rc && yes)
		add_entry(ls, "orphans", 7, TREE_DIR);
	if (rc)
		return rc;
	switch (h->kind) {
	case HOME_SINGLE:
		rc = has_rows(ls, h, &yes);
		if (!rc && yes) {
			buf_reset(&ls->tmp);
			buf_addf(&ls->tmp, "%s.txt", h->d->stem);
			add_entry(ls, ls->tmp.data, ls->tmp.len, TREE_FILE);
		}
		return rc;
	case HOME_GENERIC:
		return add_row_files(ls, h, NULL);
	case HOME_ROW:
	case HOME_MONTH:
		break;
	case HOME_CHILD:
		return 0;
	}
	strset_init(&ms);
	rc = months(ls, h, &ms);
	for (size_t i = 0; !rc && i < ms.cap; i++) {
		const char *m = ms.slots[i];
		if (!m)
			continue;
		buf_reset(&ls->tmp);
		if (h->kind == HOME_ROW) {
			if (*m)
				add_entry(ls, m, 4, TREE_DIR);
			else
				add_entry(ls, "undated", 7, TREE_DIR);
			continue;
		}
		if (*m)
			buf_addf(&ls->tmp, "%s_%s.txt", m, h->d->stem);
		else
			buf_addf(&ls->tmp, "undated_%s.txt", h->d->stem);
		add_entry(ls, ls->tmp.data, ls->tmp.len, TREE_FILE);
	}
	strset_release(&ms);
	return rc;
}

static int is_digits(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] < '0' || p[i] > '9')
			return 0;
	return 1;
}

/* Entries of `rest` = "YYYY", "YYYY/MM" or "undated" below a per-row home. */
static int list_row_sub(struct listing *ls, const struct home *h, const char *rest)
{
	struct strset ms;
	char month[8];
	int rc;

	if (strcmp(rest, "undated") == 0)
		return add_row_files(ls, h, "");
	if (strlen(rest) == 4 && is_digits(rest, 4)) {
		strset_init(&ms);
		rc = months(ls, h, &ms);
		for (size_t i = 0; !rc && i < ms.cap; i++) {
			const char *m = ms.slots[i];
			if (m && *m && strncmp(m, rest, 4) == 0)
				add_entry(ls, m + 5, 2, TREE_DIR);
		}
		strset_release(&ms);
		return rc;
	}
	if (strlen(rest) == 7 && is_digits(rest, 4) && rest[4] == '/' &&
	    is_digits(rest + 5, 2)) {
		memcpy(month, rest, 7);
		month[4] = '_';
		month[7] = '\0';
		return add_row_files(ls, h, month);
	}
	return 0;
}

static int cmp_entries(const void *a, const void *b)
{
	return strcmp(((const struct entry *)a)->name, ((const struct entry *)b)->name);
}

static int add_event_file(void *ctx, const char *name)
{
	add_entry(ctx, name, strlen(name), TREE_FILE);
	return 0;
}

static int gather(struct listing *ls, const char *dir)
{
	size_t dl = strlen(dir);
	long yes;
	int rc = 0;

	if (!dl) {
		add_entry(ls, LAYOUT_README, strlen(LAYOUT_README), TREE_FILE);
		add_entry(ls, "system", 6, TREE_DIR);
	}
	if (strcmp(dir, "system") == 0) {
		add_entry(ls, "schema.txt", 10, TREE_FILE);
		rc = events_any(ls->s, ls->err);
		if (rc == 1)
			add_entry(ls, "event_log", 9, TREE_DIR);
		if (rc < 0)
			return rc;
		rc = 0;
	}
	if (strcmp(dir, EVENTS_DIR) == 0)
		return events_list(ls->s, add_event_file, ls, ls->err);
	for (int i = 0; !rc && i < ls->l->nhomes; i++) {
		const struct home *h = &ls->l->homes[i];
		const char *f = h->folder, *rest;
		size_t fl = strlen(f);
		if (h->kind == HOME_CHILD)
			continue;
		/* the home's folder lies below dir: its next component */
		if (fl > dl && (dl == 0 || (strncmp(f, dir, dl) == 0 && f[dl] == '/'))) {
			const char *start = dl ? f + dl + 1 : f, *slash = strchr(start, '/');
			rc = has_files(ls, h, &yes);
			if (!rc && yes)
				add_entry(ls, start, slash ? (size_t)(slash - start) : strlen(start),
					  TREE_DIR);
			continue;
		}
		if (strcmp(f, dir) == 0) {
			rc = list_home(ls, h);
			continue;
		}
		/* dir lies below the home's folder */
		if (dl > fl && strncmp(dir, f, fl) == 0 && dir[fl] == '/') {
			rest = dir + fl + 1;
			if (strcmp(rest, "orphans") == 0)
				rc = list_orphans(ls, h);
			else if (h->kind == HOME_ROW)
				rc = list_row_sub(ls, h, rest);
		}
	}
	return rc;
}

int tree_list(struct store *s, const struct layout *l, const char *dir,
	      tree_entry_fn fn, void *ctx, struct buf *err)
{
	struct listing ls;
	int rc;

	memset(&ls, 0, sizeof(ls));
	ls.s = s;
	ls.l = l;
	ls.err = err;
	strset_init(&ls.seen);
	buf_init(&ls.sql);
	buf_init(&ls.tmp);
	rc = store_begin(s, 0, err);
	if (!rc) {
		rc = gather(&ls, dir);
		store_rollback(s);
	}
	if (!rc && !ls.n)
		rc = -ENOENT;
	if (!rc)
		qsort(ls.e, ls.n, sizeof(*ls.e), cmp_entries);
	for (size_t i = 0; !rc && i < ls.n; i++) {
		rc = fn(ctx, ls.e[i].name, ls.e[i].type);
		if (rc == 1) {
			rc = 0;
			break;
		}
	}
	for (size_t i = 0; i < ls.n; i++)
		free(ls.e[i].name);
	free(ls.e);
	strset_release(&ls.seen);
	buf_release(&ls.sql);
	buf_release(&ls.tmp);
	return rc;
}

static int stop_at_first(void *ctx, const char *name, int type)
{
	(void)ctx;
	(void)name;
	(void)type;
	return 1;
}

int tree_collect(void *ctx, const char *name, int type)
{
	struct tree_entries *e = ctx;
	char *copy;

	if (e->n == e->cap) {
		size_t cap = e->cap ? e->cap * 2 : 64;
		struct tree_entry *v = realloc(e->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		e->v = v;
		e->cap = cap;
	}
	copy = strdup(name);
	if (!copy)
		return -ENOMEM;
	e->v[e->n].name = copy;
	e->v[e->n++].type = type;
	return 0;
}

void tree_entries_free(struct tree_entries *e)
{
	for (size_t i = 0; i < e->n; i++)
		free(e->v[i].name);
	free(e->v);
	memset(e, 0, sizeof(*e));
}

int tree_is_dir(struct store *s, const struct layout *l, const char *dir,
		struct buf *err)
{
	int rc = tree_list(s, l, dir, stop_at_first, NULL, err);

	if (rc == -ENOENT)
		return 0;
	return rc < 0 ? rc : 1;
}
