/*
 * migrate.c - `archivefs migrate` and `archivefs rollback` (migrate.h).
 */
#include "migrate.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "archive.h"
#include "backup.h"
#include "buf.h"
#include "compare.h"
#include "events.h"
#include "export.h"
#include "import.h"
#include "journal.h"
#include "layout.h"
#include "progress.h"
#include "store.h"

#define EXIT_FAIL 1
#define EXIT_USAGE 2

struct mapping {
	char *table, *from, *to;   /* to "" drops the column */
	int used;
};

struct migration {
	const char *db;           /* the database migrated (a copy for --dry-run) */
	const char *user_db;      /* the one named on the command line */
	const char *schema_path;
	struct buf new_sql;
	struct mapping *maps;
	int nmaps;
	int dry_run, keep_work, quiet;
	struct buf work, archive, scratch, built, dry, pre;
	struct store *w;          /* DB, read-write, holding the write transaction */
	struct store *n;          /* the scratch database holding NEW.sql */
	struct buf plan;          /* what changes, one line each */
	long refusals;
	struct buf refused;       /* why it stops, one line each */
	long rows;                /* rows of DB */
	int committed;            /* the swap is committed */
};

static int say(const struct migration *m, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int say(const struct migration *m, const char *fmt, ...)
{
	va_list ap;

	if (m->quiet)
		return 0;
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fflush(stdout);
	return 0;
}

/* --- files ------------------------------------------------------------------ */

static int rm_entry(const char *path, const struct stat *st, int type, struct FTW *f)
{
	(void)st;
	(void)f;
	return (type == FTW_DP ? rmdir(path) : unlink(path)) < 0 && errno != ENOENT ? -1 : 0;
}

/* rm -rf path (never following symlinks). */
static int remove_tree(const char *path)
{
	struct stat st;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	return nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS) < 0 ? -errno : 0;
}

static int read_file(const char *path, struct buf *out, struct buf *err)
{
	FILE *f = fopen(path, "re");
	char chunk[65536];
	size_t n;

	if (!f) {
		buf_addf(err, "cannot read %s: %s", path, strerror(errno));
		return -errno;
	}
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		buf_add(out, chunk, n);
	if (ferror(f)) {
		buf_addf(err, "cannot read %s: %s", path, strerror(errno));
		fclose(f);
		return -EIO;
	}
	fclose(f);
	return 0;
}

static int write_file(const char *path, const struct buf *data, struct buf *err)
{
	FILE *f = fopen(path, "we");

	if (!f || fwrite(data->data, 1, data->len, f) != data->len || fclose(f) != 0) {
		buf_addf(err, "cannot write %s: %s", path, strerror(errno ? errno : EIO));
		return -EIO;
	}
	return 0;
}

/* --- small queries ------------------------------------------------------------ */

static void add_ref(struct buf *q, const char *schema, const char *table)
{
	buf_add_sqlident(q, schema);
	buf_addch(q, '.');
	buf_add_sqlident(q, table);
}

static int count_values(struct store *s, const char *table, const char *col, long *n,
			struct buf *err)
{
	struct buf q = BUF_INIT;
	int rc;

	buf_addstr(&q, "SELECT count(*) FROM ");
	add_ref(&q, "main", table);
	buf_addstr(&q, " WHERE ");
	buf_add_sqlident(&q, col);
	buf_addstr(&q, " IS NOT NULL");
	rc = store_query_long(s, q.data, n, err);
	buf_release(&q);
	return rc;
}

static const struct store_col *find_col(const struct store_table *t, const char *name)
{
	for (int i = 0; t && i < t->ncols; i++)
		if (!t->cols[i].hidden && strcmp(t->cols[i].name, name) == 0)
			return &t->cols[i];
	return NULL;
}

static const struct store_table *find_table(const struct store_schema *sc, const char *name)
{
	for (int i = 0; i < sc->ntables; i++)
		if (strcmp(sc->tables[i].name, name) == 0)
			return &sc->tables[i];
	return NULL;
}

static struct mapping *find_map(struct migration *m, const char *table, const char *col)
{
	for (int i = 0; i < m->nmaps; i++)
		if (!strcmp(m->maps[i].table, table) && !strcmp(m->maps[i].from, col))
			return &m->maps[i];
	return NULL;
}

/* The new column old column `col` of `table` goes to: a name, "" (dropped) */
static const char *target_col(struct migration *m, const struct store_table *nt,
			      const char *table, const char *col)
{
	struct mapping *mp = find_map(m, table, col);

	if (mp)
		return mp->to;
	return find_col(nt, col) ? col : "";
}

/* --- 2. plan ------------------------------------------------------------------ */

static void refuse(struct migration *m, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void refuse(struct migration *m, const char *fmt, ...)
{
	va_list ap;

	m->refusals++;
	buf_addstr(&m->refused, "  - ");
	va_start(ap, fmt);
	buf_vaddf(&m->refused, fmt, ap);
	va_end(ap);
	buf_addch(&m->refused, '\n');
}

/* The default of new column `col` (NULL when none) via table_xinfo. */
static int column_default(struct store *s, const char *table, const char *col,
			  struct buf *out, int *has, struct buf *err)
{
	struct store_stmt *st;
	struct value v;
	int rc = store_prepare(s, "SELECT dflt_value FROM pragma_table_xinfo(?1) WHERE name = ?2",
			       &st, err);

	*has = 0;
	if (rc)
		return rc;
	v.type = V_TEXT;
	v.s = table;
	v.n = strlen(table);
	store_bind(st, 1, &v);
	v.s = col;
	v.n = strlen(col);
	store_bind(st, 2, &v);
	rc = store_step(st, err);
	if (rc == 1) {
		store_column(st, 0, &v);
		if (v.type == V_TEXT) {
			buf_add(out, v.s, v.n);
			*has = 1;
		}
		rc = 0;
	}
	store_finalize(st);
	return rc;
}

static int plan_table(struct migration *m, const struct store_table *ot,
		      const struct store_table *nt, struct buf *err)
{
	long rows;
	int rc = store_count_rows(m->w, "main", ot->name, &rows, err);

	if (rc)
		return rc;
	m->rows += rows;
	if (!nt) {
		if (rows)
			refuse(m, "table %s holds %ld rows but NEW.sql has no such table", ot->name,
			       rows);
		else
			buf_addf(&m->plan, "  drop table %s (empty)\n", ot->name);
		return 0;
	}
	for (int c = 0; c < ot->ncols; c++) {
		const struct store_col *oc = &ot->cols[c];
		struct mapping *mp = find_map(m, ot->name, oc->name);
		const struct store_col *ncol;
		long used;
		if (oc->hidden)
			continue;
		if (oc->withheld) {
			refuse(m, "column %s.%s is withheld from the archive (archivefs"
			       " withhold): an archive-only migration cannot carry its values;"
			       " `archivefs withhold DB --remove %s.%s` for the migration, and"
			       " withhold it again after", ot->name, oc->name, ot->name, oc->name);
			continue;
		}
		if (mp) {
			mp->used = 1;
			if (!*mp->to) {
				buf_addf(&m->plan, "  drop column %s.%s (--map)\n", ot->name, oc->name);
				continue;
			}
			ncol = find_col(nt, mp->to);
			if (!ncol) {
				refuse(m, "--map %s.%s=%s: NEW.sql's %s has no column %s", ot->name,
				       oc->name, mp->to, ot->name, mp->to);
			} else if (find_col(ot, mp->to) && !find_map(m, ot->name, mp->to)) {
				refuse(m, "--map %s.%s=%s: %s.%s already holds its own values (map"
				       " it elsewhere too)", ot->name, oc->name, mp->to, ot->name,
				       mp->to);
			} else {
				buf_addf(&m->plan, "  rename column %s.%s to %s\n", ot->name, oc->name,
					 mp->to);
			}
			continue;
		}
		ncol = find_col(nt, oc->name);
		if (ncol) {
			if (strcasecmp(ncol->decltype, oc->decltype))
				buf_addf(&m->plan, "  column %s.%s: type %s -> %s (values are"
					 " checked unchanged)\n", ot->name, oc->name,
					 *oc->decltype ? oc->decltype : "(none)",
					 *ncol->decltype ? ncol->decltype : "(none)");
			continue;
		}
		rc = count_values(m->w, ot->name, oc->name, &used, err);
		if (rc)
			return rc;
		if (used)
			refuse(m, "column %s.%s holds data in %ld rows but NEW.sql has no such"
			       " column: give --map %s.%s=NEWNAME to move it, or --map %s.%s="
			       " to drop it", ot->name, oc->name, used, ot->name, oc->name,
			       ot->name, oc->name);
		else
			buf_addf(&m->plan, "  drop column %s.%s (NULL in every row)\n", ot->name,
				 oc->name);
	}
	for (int c = 0; c < nt->ncols; c++) {
		const struct store_col *ncol = &nt->cols[c];
		struct buf dflt = BUF_INIT;
		int has, mapped = 0;
		if (ncol->hidden || find_col(ot, ncol->name))
			continue;
		for (int i = 0; i < m->nmaps; i++)
			if (!strcmp(m->maps[i].table, ot->name) && !strcmp(m->maps[i].to, ncol->name))
				mapped = 1;
		if (mapped)
			continue;
		rc = column_default(m->n, nt->name, ncol->name, &dflt, &has, err);
		if (rc) {
			buf_release(&dflt);
			return rc;
		}
		if (!has && ncol->notnull && rows)
			refuse(m, "new column %s.%s is NOT NULL with no default, and the table"
			       " holds %ld rows: give it a DEFAULT", nt->name, ncol->name, rows);
		else
			buf_addf(&m->plan, "  add column %s.%s (default %s)\n", nt->name,
				 ncol->name, has ? dflt.data : "NULL");
		buf_release(&dflt);
	}
	return 0;
}

static int make_plan(struct migration *m, struct buf *err)
{
	const struct store_schema *os = store_schema(m->w), *ns = store_schema(m->n);
	long n;
	int rc;

	/* NEW.sql defines a schema, nothing else. */
	rc = store_query_long(m->n, "SELECT count(*) FROM main.sqlite_schema WHERE name LIKE"
			" 'archivefs\\_%' ESCAPE '\\'", &n, err);
	if (rc)
		return rc;
	if (n)
		refuse(m, "NEW.sql creates archivefs_* objects: those names are archivefs's own");
	for (int i = 0; i < ns->ntables; i++) {
		rc = store_count_rows(m->n, "main", ns->tables[i].name, &n, err);
		if (rc)
			return rc;
		if (n)
			refuse(m, "NEW.sql inserts %ld rows into %s: it must only define the"
			       " schema (insert data after the migration)", n, ns->tables[i].name);
	}
	for (int i = 0; i < m->nmaps; i++) {
		const struct store_table *ot = find_table(os, m->maps[i].table);
		if (!ot || !find_col(ot, m->maps[i].from))
			refuse(m, "--map %s.%s: the database has no such column", m->maps[i].table,
			       m->maps[i].from);
	}
	for (int i = 0; i < os->ntables; i++) {
		rc = plan_table(m, &os->tables[i], find_table(ns, os->tables[i].name), err);
		if (rc)
			return rc;
	}
	for (int i = 0; i < ns->ntables; i++)
		if (!find_table(os, ns->tables[i].name))
			buf_addf(&m->plan, "  add table %s\n", ns->tables[i].name);
	return 0;
}

/* --- 6. verify ----------------------------------------------------------------- */

/* Every row of every table of `db` (main) against the built database
 * (attached as "n"): old columns through the mapping. */
static int verify_rows(struct migration *m, const char *db, long *bad,
		       struct buf *report, struct buf *err)
{
	struct store *s = NULL, *nb = NULL;
	int rc = store_open(db, STORE_RDONLY, &s, err);

	*bad = 0;
	if (!rc)
		rc = store_open(m->built.data, STORE_RDONLY, &nb, err);
	if (!rc)
		rc = compare_attach(s, m->built.data, "n", err);
	for (int i = 0; !rc && i < store_schema(s)->ntables; i++) {
		const struct store_table *ot = &store_schema(s)->tables[i];
		const struct store_table *nt = find_table(store_schema(nb), ot->name);
		const char **oc = calloc((size_t)ot->ncols + 1, sizeof(*oc));
		const char **nc = calloc((size_t)ot->ncols + 1, sizeof(*nc));
		struct compare_side a = { "main", ot->name, oc, NULL };
		struct compare_side b = { "n", ot->name, nc, NULL };
		struct compare_result cr;
		int k = 0;
		if (!oc || !nc)
			out_of_memory(0);
		if (nt) {
			for (int c = 0; c < ot->ncols; c++) {
				const char *to;
				if (ot->cols[c].hidden)
					continue;
				to = target_col(m, nt, ot->name, ot->cols[c].name);
				if (!*to)
					continue;
				oc[k] = ot->cols[c].name;
				nc[k++] = to;
			}
			if (ot->rowid_key && nt->rowid_key) {
				a.rowid = archive_rowid_name(ot);
				b.rowid = archive_rowid_name(nt);
			}
			rc = compare_rows(s, &a, &b, k, &cr, err);
			if (!rc && (cr.only_a || cr.only_b || cr.rows_a != cr.rows_b)) {
				*bad += cr.only_a + cr.only_b;
				buf_addf(report, "  %s: %ld rows, %ld in the new database; %ld not"
					 " there identically, %ld new\n", ot->name, cr.rows_a,
					 cr.rows_b, cr.only_a, cr.only_b);
			}
		}
		free(oc);
		free(nc);
	}
	if (!rc) {
		/* The history came through the archive too. */
		long a = 0, b = 0;
		struct buf e = BUF_INIT;
		if (store_query_long(s, "SELECT count(*) FROM main.archivefs_event", &a, &e))
			a = 0;
		if (store_query_long(s, "SELECT count(*) FROM n.archivefs_event", &b, &e))
			b = 0;
		if (a != b) {
			*bad += labs(a - b);
			buf_addf(report, "  history: %ld events, %ld in the new database\n", a, b);
		}
		buf_release(&e);
	}
	if (s && !rc)
		rc = compare_detach(s, "n", err);
	store_close(s);
	store_close(nb);
	return rc;
}

/* --- 7. swap ----------------------------------------------------------------- */

static int drop_all(struct store *s, struct buf *err)
{
	static const char *const kinds[] = { "trigger", "view", "table" };
	struct store_object *o = NULL;
	int n = 0, rc = store_objects(s, &o, &n, err);
	struct buf q = BUF_INIT;

	for (int k = 0; !rc && k < 3; k++)
		for (int i = n - 1; !rc && i >= 0; i--) {
			if (strcmp(o[i].type, kinds[k]))
				continue;
			buf_reset(&q);
			buf_addf(&q, "DROP %s IF EXISTS ", kinds[k]);
			add_ref(&q, "main", o[i].name);
			rc = store_exec(s, q.data, err);
		}
	store_objects_free(o, n);
	/* archivefs's own objects: the journal describes the old tree. */
	for (int k = 0; !rc && k < 3; k++) {
		struct store_stmt *st;
		struct value v;
		char **names = NULL;
		size_t nn = 0;
		rc = store_prepare(s, "SELECT name FROM main.sqlite_schema WHERE type = ?1 AND"
				   " name LIKE 'archivefs\\_%' ESCAPE '\\'", &st, err);
		if (rc)
			break;
		v.type = V_TEXT;
		v.s = kinds[k];
		v.n = strlen(kinds[k]);
		store_bind(st, 1, &v);
		while ((rc = store_step(st, err)) == 1) {
			names = realloc(names, (nn + 1) * sizeof(*names));
			if (!names)
				out_of_memory(0);
			store_column(st, 0, &v);
			names[nn] = strndup(v.s, v.n);
			if (!names[nn++])
				out_of_memory(0);
		}
		store_finalize(st);
		for (size_t i = 0; i < nn; i++) {
			if (!rc) {
				buf_reset(&q);
				buf_addf(&q, "DROP %s IF EXISTS ", kinds[k]);
				add_ref(&q, "main", names[i]);
				rc = store_exec(s, q.data, err);
			}
			free(names[i]);
		}
		free(names);
	}
	if (!rc && store_find_table(s, "sqlite_sequence"))
		rc = store_exec(s, "DELETE FROM main.sqlite_sequence", err);
	buf_release(&q);
	return rc;
}

/* Copy every row of table `name` from `from` to `to` (same columns):
 * cols NULL copies all columns in order (SELECT *). */
static int copy_rows(struct store *from, struct store *to, const char *name,
		     const struct store_table *t, long *copied, struct buf *err)
{
	struct buf sel = BUF_INIT, ins = BUF_INIT, vals = BUF_INIT;
	struct store_stmt *rs = NULL, *ws = NULL;
	int n = 0, rc;
	const char *rowid = t && t->rowid_key ? archive_rowid_name(t) : NULL;

	buf_addstr(&sel, "SELECT ");
	buf_addstr(&ins, "INSERT INTO ");
	add_ref(&ins, "main", name);
	if (t) {
		buf_addstr(&ins, " (");
		if (rowid) {
			buf_addstr(&sel, rowid);
			buf_addstr(&ins, rowid);
			buf_addstr(&vals, "?");
			n++;
		}
		for (int c = 0; c < t->ncols; c++) {
			if (t->cols[c].hidden)
				continue;
			if (n) {
				buf_addstr(&sel, ", ");
				buf_addstr(&ins, ", ");
				buf_addstr(&vals, ", ");
			}
			buf_add_sqlident(&sel, t->cols[c].name);
			buf_add_sqlident(&ins, t->cols[c].name);
			buf_addstr(&vals, "?");
			n++;
		}
		buf_addch(&ins, ')');
	} else {
		buf_addch(&sel, '*');
	}
	buf_addstr(&sel, " FROM ");
	add_ref(&sel, "main", name);
	rc = store_prepare(from, sel.data, &rs, err);
	if (!rc && !t) {
		n = store_ncols(rs);
		for (int i = 0; i < n; i++)
			buf_addstr(&vals, i ? ", ?" : "?");
	}
	buf_addf(&ins, " VALUES (%s)", vals.data);
	if (!rc)
		rc = store_prepare(to, ins.data, &ws, err);
	while (!rc && (rc = store_step(rs, err)) == 1) {
		for (int i = 0; i < n; i++) {
			struct value v;
			store_column(rs, i, &v);
			store_bind(ws, i + 1, &v);
		}
		rc = store_step(ws, err);
		store_reset(ws);
		if (rc == 0)
			(*copied)++;
	}
	if (rc)
		buf_addf(err, " (copying table %s)", name);
	store_finalize(rs);
	store_finalize(ws);
	buf_release(&sel);
	buf_release(&ins);
	buf_release(&vals);
	return rc;
}

/* In w's open write transaction: DB becomes the built database. */
static int swap_in(struct migration *m, long *copied, long *checked, struct buf *err)
{
	struct store *nb = NULL;
	struct store_object *o = NULL;
	int n = 0, rc = store_open(m->built.data, STORE_RDONLY, &nb, err);
	int64_t uv = 0, aid = 0;

	if (!rc)
		rc = store_objects(nb, &o, &n, err);
	if (!rc)
		rc = drop_all(m->w, err);
	for (int i = 0; !rc && i < n; i++)
		if (!strcmp(o[i].type, "table"))
			rc = store_exec(m->w, o[i].sql, err);
	for (int i = 0; !rc && i < store_schema(nb)->ntables; i++) {
		const struct store_table *t = &store_schema(nb)->tables[i];
		rc = copy_rows(nb, m->w, t->name, t, copied, err);
	}
	for (int i = 0; !rc && i < n; i++)
		if (strcmp(o[i].type, "table"))
			rc = store_exec(m->w, o[i].sql, err);
	if (!rc && store_find_table(nb, "sqlite_sequence")) {
		long c = 0;
		rc = copy_rows(nb, m->w, "sqlite_sequence", NULL, &c, err);
	}
	if (!rc) {
		long events = 0, c = 0;
		struct buf e = BUF_INIT;
		if (!store_query_long(nb, "SELECT count(*) FROM main.archivefs_event", &events, &e) &&
		    events) {
			rc = events_create(m->w, err);
			if (!rc)
				rc = copy_rows(nb, m->w, "archivefs_event", NULL, &c, err);
		}
		buf_release(&e);
	}
	if (!rc)
		rc = store_get_pragma_int(nb, "user_version", &uv, err);
	if (!rc)
		rc = store_get_pragma_int(nb, "application_id", &aid, err);
	if (!rc)
		rc = store_set_pragma_int(m->w, "user_version", uv, err);
	if (!rc)
		rc = store_set_pragma_int(m->w, "application_id", aid, err);
	/* Before the COMMIT, still under the lock: DB now reads exactly as the
	 * database built and verified. */
	for (int i = 0; !rc && i < store_schema(nb)->ntables; i++) {
		long rows, differ;
		rc = compare_stream(m->w, nb, &store_schema(nb)->tables[i], &rows, &differ, err);
		if (!rc && differ) {
			buf_addf(err, "BUG: after the copy, table %s differs from the database"
				 " built in %ld of %ld rows", store_schema(nb)->tables[i].name,
				 differ, rows);
			rc = -EIO;
		}
		*checked += rows;
	}
	store_objects_free(o, n);
	store_close(nb);
	return rc;
}

/* --- the run ------------------------------------------------------------------ */

/* The scratch database with NEW.sql, and the old sequences of the tables
 * it keeps; its schema file text into out. */
static int build_scratch(struct migration *m, struct buf *schema_txt, struct buf *err)
{
	int rc = store_open(m->scratch.data, STORE_RDWR | STORE_CREATE, &m->n, err);

	if (rc)
		return rc;
	rc = store_exec(m->n, m->new_sql.data, err);
	if (rc) {
		buf_addf(err, " (running %s)", m->schema_path);
		return rc;
	}
	rc = store_reload_schema(m->n, err);
	/* user_version and application_id: NEW.sql's when it sets them,
	 * else the database's (an application counts its versions there). */
	for (int i = 0; !rc && i < 2; i++) {
		static const char *const names[2] = { "user_version", "application_id" };
		int64_t nv = 0, ov = 0;
		rc = store_get_pragma_int(m->n, names[i], &nv, err);
		if (!rc)
			rc = store_get_pragma_int(m->w, names[i], &ov, err);
		if (!rc && !nv && ov)
			rc = store_set_pragma_int(m->n, names[i], ov, err);
		if (!rc && nv && nv != ov)
			buf_addf(&m->plan, "  %s %lld -> %lld\n", names[i], (long long)ov,
				 (long long)nv);
	}
	if (!rc && store_find_table(m->n, "sqlite_sequence") &&
	    store_find_table(m->w, "sqlite_sequence")) {
		rc = compare_attach(m->n, m->db, "o", err);
		if (!rc)
			rc = store_exec(m->n, "INSERT INTO main.sqlite_sequence (name, seq)"
					" SELECT name, seq FROM o.sqlite_sequence WHERE name IN"
					" (SELECT name FROM main.sqlite_schema WHERE type = 'table')", err);
		if (!rc)
			rc = compare_detach(m->n, "o", err);
	}
	if (!rc)
		rc = archive_render_schema(m->n, schema_txt, err);
	return rc;
}

static int export_archive(struct migration *m, struct buf *err)
{
	struct store *s = NULL;
	struct layout l;
	struct export_opts eo = { .progress = !m->quiet, .scratch = 1 };
	struct export_stats es;
	int rc = store_open(m->db, STORE_RDONLY, &s, err);

	if (rc)
		return rc;
	rc = layout_bind(&l, store_schema(s), err);
	if (!rc) {
		rc = export_run(s, &l, m->archive.data, &eo, &es, err);
		layout_release(&l);
		if (!rc)
			say(m, "    %ld files, %ld rows, %.1f MB\n", es.files, es.rows,
			    (double)es.bytes / 1e6);
	}
	store_close(s);
	return rc;
}

static int run(struct migration *m, struct buf *err)
{
	struct buf schema_txt = BUF_INIT, path = BUF_INIT, report = BUF_INIT;
	struct import_rename *rn = NULL;
	struct import_opts io = { 0 };
	struct import_stats is;
	char stamp[32];
	long bad = 0, copied = 0, checked = 0;
	int rc;

	say(m, "1/7 lock %s\n", m->db);
	rc = store_open(m->db, STORE_RDWR, &m->w, err);
	if (!rc)
		rc = store_begin(m->w, 1, err);
	if (rc) {
		buf_addstr(err, " (is the application writing? stop it first)");
		goto out;
	}

	say(m, "2/7 plan: %s against the database\n", m->schema_path);
	rc = build_scratch(m, &schema_txt, err);
	if (!rc)
		rc = make_plan(m, err);
	if (rc)
		goto out;
	say(m, "%s", m->plan.len ? m->plan.data : "  no change to tables or columns\n");
	for (int i = 0; i < m->nmaps; i++)
		if (!m->maps[i].used && find_table(store_schema(m->w), m->maps[i].table) &&
		    !find_table(store_schema(m->n), m->maps[i].table))
			refuse(m, "--map %s.%s: NEW.sql has no table %s", m->maps[i].table,
			       m->maps[i].from, m->maps[i].table);
	if (m->refusals) {
		buf_addf(err, "stopped before anything was changed:\n%s", m->refused.data);
		rc = -EINVAL;
		goto out;
	}

	if (m->dry_run) {
		say(m, "3/7 backup: skipped (dry run)\n");
	} else {
		backup_stamp(stamp, sizeof(stamp));
		buf_addf(&m->pre, "%s.pre-migrate-%s", m->user_db, stamp);
		say(m, "3/7 backup to %s\n", m->pre.data);
		rc = backup_make(m->db, m->pre.data, err);
		if (rc)
			goto out;
	}

	say(m, "4/7 export the archive into %s\n", m->archive.data);
	rc = export_archive(m, err);
	if (!rc) {
		buf_addf(&path, "%s/%s", m->archive.data, LAYOUT_SCHEMA);
		rc = write_file(path.data, &schema_txt, err);
	}
	if (rc)
		goto out;

	say(m, "5/7 build the new database from the archive\n");
	rn = calloc((size_t)m->nmaps + 1, sizeof(*rn));
	if (!rn)
		out_of_memory(0);
	for (int i = 0; i < m->nmaps; i++) {
		rn[i].table = m->maps[i].table;
		rn[i].from = m->maps[i].from;
		rn[i].to = m->maps[i].to;
	}
	io.progress = !m->quiet;
	io.allow_missing = 1;   /* new columns: their defaults */
	io.renames = rn;
	io.nrenames = m->nmaps;
	rc = import_run(m->archive.data, m->built.data, &io, &is, err);
	if (rc) {
		buf_addstr(err, " (the archive does not fit the new schema; nothing was changed)");
		goto out;
	}
	say(m, "    %ld rows\n", is.rows);

	say(m, "6/7 verify: every row of the database against the new one\n");
	rc = verify_rows(m, m->db, &bad, &report, err);
	if (!rc && (rc = store_integrity(m->built.data, err)))
		buf_addstr(err, " (the new database)");
	if (rc)
		goto out;
	if (bad) {
		buf_addf(err, "the new database does not hold the old rows exactly (a column"
			 " type that converts values? a key that changed?); nothing was"
			 " changed:\n%s", report.data);
		rc = -EINVAL;
		goto out;
	}
	say(m, "    %ld rows identical\n", m->rows);

	say(m, "7/7 swap%s, and check every row before the commit\n",
	    m->dry_run ? " (in the copy)" : "");
	rc = swap_in(m, &copied, &checked, err);
	if (!rc)
		rc = store_commit(m->w, err);
	if (rc) {
		buf_addstr(err, " (swapping; the transaction was rolled back, nothing changed)");
		goto out;
	}
	m->committed = 1;
	store_close(m->w);
	m->w = NULL;
	say(m, "    %ld rows written, %ld rows checked\n", copied, checked);
out:
	if (m->w) {
		store_rollback(m->w);
		store_close(m->w);
		m->w = NULL;
	}
	free(rn);
	buf_release(&schema_txt);
	buf_release(&path);
	buf_release(&report);
	return rc;
}

static int parse_map(const char *arg, struct mapping *mp)
{
	const char *dot = strchr(arg, '.'), *eq = strchr(arg, '=');

	if (!dot || !eq || eq < dot || dot == arg || eq == dot + 1 || strchr(eq + 1, '.'))
		return -1;
	mp->table = strndup(arg, (size_t)(dot - arg));
	mp->from = strndup(dot + 1, (size_t)(eq - dot - 1));
	mp->to = strdup(eq + 1);
	if (!mp->table || !mp->from || !mp->to)
		out_of_memory(0);
	return 0;
}

static int usage(const char *msg)
{
	fprintf(stderr, "archivefs: migrate: %s\nusage: archivefs migrate DB --schema NEW.sql"
		" [--map TABLE.COL=NEWCOL | --map TABLE.COL=]... [--dry-run] [--keep-work]"
		" [--quiet]\n", msg);
	return EXIT_USAGE;
}

int migrate_command(int argc, char **argv)
{
	struct migration m;
	struct buf err = BUF_INIT;
	int rc, lockfd = -1, status = EXIT_FAIL;

	memset(&m, 0, sizeof(m));
	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--schema") && i + 1 < argc) {
			m.schema_path = argv[++i];
		} else if (!strcmp(argv[i], "--map") && i + 1 < argc) {
			struct mapping *v = realloc(m.maps, (size_t)(m.nmaps + 1) * sizeof(*v));
			if (!v)
				out_of_memory(0);
			m.maps = v;
			memset(&m.maps[m.nmaps], 0, sizeof(*v));
			if (parse_map(argv[++i], &m.maps[m.nmaps++]))
				return usage("--map takes TABLE.COLUMN=NEWCOLUMN, or TABLE.COLUMN="
					     " to drop the column");
		} else if (!strcmp(argv[i], "--dry-run")) {
			m.dry_run = 1;
		} else if (!strcmp(argv[i], "--keep-work")) {
			m.keep_work = 1;
		} else if (!strcmp(argv[i], "--quiet")) {
			m.quiet = 1;
		} else if (argv[i][0] == '-' && argv[i][1]) {
			return usage("unknown option, or an option without its value");
		} else if (!m.user_db) {
			m.user_db = argv[i];
		} else {
			return usage("too many arguments");
		}
	}
	if (!m.user_db || !m.schema_path)
		return usage(!m.user_db ? "needs a database" : "needs --schema NEW.sql");
	buf_init(&m.new_sql);
	buf_init(&m.plan);
	buf_init(&m.refused);
	buf_init(&m.work);
	buf_init(&m.archive);
	buf_init(&m.scratch);
	buf_init(&m.built);
	buf_init(&m.dry);
	buf_init(&m.pre);
	m.db = m.user_db;
	if (access(m.user_db, F_OK) < 0) {
		fprintf(stderr, "archivefs: migrate: %s: %s\n", m.user_db, strerror(errno));
		goto done;
	}
	if (read_file(m.schema_path, &m.new_sql, &err))
		goto fail;
	/* No mount, no sync --watch, no other migrate while this runs. */
	rc = journal_lock(m.user_db, &lockfd, &err);
	if (rc) {
		if (rc == -EBUSY) {
			buf_reset(&err);
			buf_addstr(&err, "a mount, archivefs sync --watch or another migrate"
				   " follows it: unmount or stop it first");
		}
		goto fail;
	}
	buf_addf(&m.work, "%s.migrate-work", m.user_db);
	if (remove_tree(m.work.data) < 0 || mkdir(m.work.data, 0700) < 0) {
		buf_addf(&err, "cannot make the work folder %s: %s", m.work.data, strerror(errno));
		goto fail;
	}
	buf_addf(&m.archive, "%s/archive", m.work.data);
	buf_addf(&m.scratch, "%s/schema.db", m.work.data);
	buf_addf(&m.built, "%s/new.db", m.work.data);
	if (m.dry_run) {
		buf_addf(&m.dry, "%s/copy.db", m.work.data);
		say(&m, "dry run: a copy of %s in %s\n", m.user_db, m.dry.data);
		if (store_backup(m.user_db, m.dry.data, 1, &err))
			goto fail;
		m.db = m.dry.data;
	}
	rc = run(&m, &err);
	if (rc)
		goto fail;
	if (m.dry_run)
		printf("dry run: the migration would succeed; %s was not changed\n", m.user_db);
	else
		printf("migrated %s to %s; the database before is %s (archivefs rollback %s"
		       " puts it back)\n", m.user_db, m.schema_path, m.pre.data, m.user_db);
	status = 0;
	goto done;
fail:
	while (err.len && err.data[err.len - 1] == '\n')
		buf_truncate(&err, err.len - 1);
	fprintf(stderr, "archivefs: migrate: %s\n", err.data);
	if (m.committed) {
		fprintf(stderr, "archivefs: migrate: the new schema is in place; archivefs"
			" rollback %s puts the database before back\n", m.user_db);
	} else if (m.pre.len) {
		/* Nothing changed: the copy made for a rollback is not needed. */
		struct buf sum = BUF_INIT;
		buf_addf(&sum, "%s.sha256", m.pre.data);
		unlink(m.pre.data);
		unlink(sum.data);
		buf_release(&sum);
	}
done:
	if (m.n)
		store_close(m.n);
	if (m.work.len && !m.keep_work)
		remove_tree(m.work.data);
	if (lockfd >= 0)
		close(lockfd);   /* after every connection: see journal_lock() */
	for (int i = 0; i < m.nmaps; i++) {
		free(m.maps[i].table);
		free(m.maps[i].from);
		free(m.maps[i].to);
	}
	free(m.maps);
	buf_release(&m.new_sql);
	buf_release(&m.plan);
	buf_release(&m.refused);
	buf_release(&m.work);
	buf_release(&m.archive);
	buf_release(&m.scratch);
	buf_release(&m.built);
	buf_release(&m.dry);
	buf_release(&m.pre);
	buf_release(&err);
	return status;
}

/* --- rollback ------------------------------------------------------------------ */

/* The newest DB.pre-migrate-* beside db (names sort by time). */
static int newest_pre_migrate(const char *db, struct buf *out, struct buf *err)
{
	const char *slash = strrchr(db, '/');
	struct buf dir = BUF_INIT, prefix = BUF_INIT, best = BUF_INIT;
	struct dirent *e;
	DIR *d;

	if (slash)
		buf_add(&dir, db, (size_t)(slash - db) + (slash == db));
	else
		buf_addstr(&dir, ".");
	buf_addf(&prefix, "%s.pre-migrate-", slash ? slash + 1 : db);
	d = opendir(dir.data);
	if (!d) {
		buf_addf(err, "cannot list %s: %s", dir.data, strerror(errno));
		buf_release(&dir);
		buf_release(&prefix);
		return -errno;
	}
	while ((e = readdir(d))) {
		size_t n = strlen(e->d_name);
		if (strncmp(e->d_name, prefix.data, prefix.len) ||
		    (n > 7 && !strcmp(e->d_name + n - 7, ".sha256")) || strchr(e->d_name + prefix.len, '.'))
			continue;
		if (!best.len || strcmp(e->d_name, best.data) > 0) {
			buf_reset(&best);
			buf_addstr(&best, e->d_name);
		}
	}
	closedir(d);
	if (best.len) {
		if (slash)
			buf_addf(out, "%s/", dir.data);
		buf_addstr(out, best.data);
	}
	buf_release(&dir);
	buf_release(&prefix);
	buf_release(&best);
	if (!out->len) {
		buf_addf(err, "no %s.pre-migrate-* beside it: nothing to roll back to", db);
		return -ENOENT;
	}
	return 0;
}

int rollback_command(int argc, char **argv)
{
	struct buf pre = BUF_INIT, keep = BUF_INIT, err = BUF_INIT;
	char stamp[32];
	int lockfd = -1, rc;

	if (argc != 1 || argv[0][0] == '-') {
		fprintf(stderr, "archivefs: rollback: usage: archivefs rollback DB (puts the"
			" newest DB.pre-migrate-* back)\n");
		return EXIT_USAGE;
	}
	rc = access(argv[0], F_OK) < 0 ? -errno : 0;
	if (rc)
		buf_addf(&err, "%s: %s", argv[0], strerror(-rc));
	if (!rc)
		rc = newest_pre_migrate(argv[0], &pre, &err);
	if (!rc && (rc = backup_verify(pre.data, &err)))
		buf_addf(&err, " (%s)", pre.data);
	if (!rc && (rc = journal_lock(argv[0], &lockfd, &err)) == -EBUSY) {
		buf_reset(&err);
		buf_addstr(&err, "a mount, archivefs sync --watch or a migrate follows it:"
			   " unmount or stop it first");
	}
	if (!rc) {
		backup_stamp(stamp, sizeof(stamp));
		buf_addf(&keep, "%s.pre-rollback-%s", argv[0], stamp);
		rc = backup_make(argv[0], keep.data, &err);
	}
	if (!rc)
		rc = store_backup(pre.data, argv[0], 0, &err);
	if (lockfd >= 0)
		close(lockfd);
	if (rc) {
		fprintf(stderr, "archivefs: rollback: %s; %s was not changed\n", err.data, argv[0]);
	} else {
		printf("rolled %s back to %s (the database before is kept at %s)\n", argv[0],
		       pre.data, keep.data);
	}
	buf_release(&pre);
	buf_release(&keep);
	buf_release(&err);
	return rc ? EXIT_FAIL : 0;
}
