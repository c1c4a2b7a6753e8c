/*
 * import.c - read a text tree back into SQLite (see import.h).
 *
 * The run, in order:
 *   1. read system/schema.txt (the CREATE statements and two pragmas);
 *   2. open the target: a new temporary file (replaying the tables) or the
 *      existing database (one IMMEDIATE transaction, its triggers set
 *      aside);
 *   3. walk the tree in sorted order; each canonical file is parsed whole
 *      and its records applied: field names map to live columns, values
 *      are bound with their exact storage class;
 *   4. new database: replay indexes, views and triggers, commit, fsync,
 *      rename into place. Existing database: recreate its triggers, commit.
 * Any error stops the run before anything is committed.
 */
#include "import.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "archive.h"
#include "diskfile.h"
#include "dirwalk.h"
#include "events.h"
#include "format.h"
#include "layout.h"
#include "names.h"
#include "progress.h"
#include "store.h"

/* A row of system/schema.txt to replay. */
struct object {
	char *type, *name, *sql;
};

/* The columns system/schema.txt says the archive withholds (withhold.h). */
struct withheld_list {
	struct store_withheld *v;
	int n;
};

struct tstate {
	struct home *h;
	struct store_stmt *ins, *sel, *upd;
	char *ins_sig, *upd_sig;     /* which columns those statements set */
	long rows;
};

struct import_ctx {
	int root;
	struct store *s;
	struct layout l;
	int merge;                   /* existing database */
	const struct import_opts *o;
	struct import_stats *st;
	struct tstate *ts;           /* one per home */
	struct store_stmt *seen;     /* merge: INSERT into the seen-keys table */
	struct buf data, msg, sig, sql, key;
	struct fmt_doc doc;
	struct progress prog;
	const char *file;            /* being imported */
};

/* "file:line:col: " prefix for an error. */
static int where(struct import_ctx *x, struct buf *err, int line, int col)
{
	buf_addf(err, "%s:%d:%d: ", x->file, line, col);
	return -EINVAL;
}

/* --- the schema file ---------------------------------------------------- */

/* Append a SQL string literal: 'text' with ' doubled. */
static void add_sql_string(struct buf *q, const char *s, size_t n)
{
	buf_addch(q, '\'');
	for (size_t k = 0; k < n; k++) {
		if (s[k] == '\'')
			buf_addch(q, '\'');
		buf_addch(q, s[k]);
	}
	buf_addch(q, '\'');
}

static const struct value *field(const struct fmt_doc *d, const struct fmt_record *r,
				 const char *name)
{
	for (size_t i = 0; i < r->nfields; i++) {
		const struct fmt_field *f = &d->fields[r->first + i];
		if (!f->pseudo && strcmp(f->name, name) == 0)
			return &f->val;
	}
	return NULL;
}

static int read_schema(int root, struct object **objs, int *nobjs,
		       struct withheld_list *wh, int64_t pragmas[2], int *found,
		       struct buf *err)
{
	struct buf data = BUF_INIT;
	struct fmt_doc doc;
	struct fmt_error fe;
	int rc, n = 0;

	*objs = NULL;
	*nobjs = 0;
	*found = 0;
	pragmas[0] = pragmas[1] = 0;
	fmt_doc_init(&doc);
	rc = diskfile_read(root, LAYOUT_SCHEMA, &data, NULL);
	if (rc == -ENOENT) {
		rc = 0;
		goto out;
	}
	if (rc) {
		buf_addf(err, "cannot read %s: %s", LAYOUT_SCHEMA, strerror(-rc));
		goto out;
	}
	*found = 1;
	if (fmt_parse(data.data, data.len, &doc, &fe)) {
		buf_addf(err, "%s:%d:%d: %s", LAYOUT_SCHEMA, fe.line, fe.col, fe.msg);
		rc = -EINVAL;
		goto out;
	}
	*objs = calloc(doc.nrecs + 1, sizeof(**objs));
	wh->v = calloc(doc.nrecs + 1, sizeof(*wh->v));
	if (!*objs || !wh->v)
		out_of_memory(0);
	for (size_t i = 0; i < doc.nrecs; i++) {
		const struct fmt_record *r = &doc.recs[i];
		if (strcmp(r->table, "database") == 0) {
			const struct value *uv = field(&doc, r, "user_version");
			const struct value *ai = field(&doc, r, "application_id");
			if (!uv || !ai || uv->type != V_INT || ai->type != V_INT) {
				buf_addf(err, "%s:%d:1: [database] needs integer user_version"
					 " and application_id", LAYOUT_SCHEMA, r->line);
				rc = -EINVAL;
				goto out;
			}
			pragmas[0] = uv->i;
			pragmas[1] = ai->i;
		} else if (strcmp(r->table, "sqlite_schema") == 0) {
			const struct value *t = field(&doc, r, "type");
			const struct value *nm = field(&doc, r, "name");
			const struct value *sq = field(&doc, r, "sql");
			if (!t || !nm || !sq || t->type != V_TEXT || nm->type != V_TEXT ||
			    sq->type != V_TEXT) {
				buf_addf(err, "%s:%d:1: [sqlite_schema] needs text type, name"
					 " and sql", LAYOUT_SCHEMA, r->line);
				rc = -EINVAL;
				goto out;
			}
			(*objs)[n].type = xstrdup(t->s);
			(*objs)[n].name = xstrdup(nm->s);
			(*objs)[n].sql = xstrdup(sq->s);
			n++;
		} else if (strcmp(r->table, "sqlite_sequence") == 0) {
			const struct value *nm = field(&doc, r, "name");
			const struct value *sq = field(&doc, r, "seq");
			struct buf q = BUF_INIT;
			if (!nm || !sq || nm->type != V_TEXT || sq->type != V_INT) {
				buf_addf(err, "%s:%d:1: [sqlite_sequence] needs text name"
					 " and integer seq", LAYOUT_SCHEMA, r->line);
				rc = -EINVAL;
				goto out;
			}
			/* Replayed after the rows, as SQL like the rest. */
			buf_addstr(&q, "DELETE FROM main.sqlite_sequence WHERE name = ");
			add_sql_string(&q, nm->s, nm->n);
			buf_addstr(&q, "; INSERT INTO main.sqlite_sequence (name, seq) VALUES (");
			add_sql_string(&q, nm->s, nm->n);
			buf_addf(&q, ", %lld)", (long long)sq->i);
			(*objs)[n].type = xstrdup("sequence");
			(*objs)[n].name = xstrdup(nm->s);
			(*objs)[n].sql = buf_detach(&q, NULL);
			n++;
		} else if (strcmp(r->table, STORE_WITHHELD_TABLE) == 0) {
			const struct value *tb = field(&doc, r, "tbl");
			const struct value *co = field(&doc, r, "col");
			if (!tb || !co || tb->type != V_TEXT || co->type != V_TEXT) {
				buf_addf(err, "%s:%d:1: [%s] needs text tbl and col", LAYOUT_SCHEMA,
					 r->line, STORE_WITHHELD_TABLE);
				rc = -EINVAL;
				goto out;
			}
			wh->v[wh->n].tbl = xstrdup(tb->s);
			wh->v[wh->n++].col = xstrdup(co->s);
		} else {
			buf_addf(err, "%s:%d:1: unexpected [%s] in the schema file",
				 LAYOUT_SCHEMA, r->line, r->table);
			rc = -EINVAL;
			goto out;
		}
	}
out:
	*nobjs = n;
	fmt_doc_release(&doc);
	buf_release(&data);
	return rc;
}

/* A new database withholds what the archive's schema file says. */
static int install_withheld(struct store *s, const struct withheld_list *wh,
			    struct buf *err)
{
	struct buf q = BUF_INIT;
	int rc;

	for (int i = 0; i < wh->n; i++) {
		if (!q.len)
			buf_addstr(&q, STORE_WITHHELD_DDL ";\n");
		buf_addstr(&q, "INSERT INTO main." STORE_WITHHELD_TABLE " (tbl, col) VALUES (");
		buf_add_sqlstr(&q, wh->v[i].tbl);
		buf_addstr(&q, ", ");
		buf_add_sqlstr(&q, wh->v[i].col);
		buf_addstr(&q, ");\n");
	}
	rc = q.len ? store_exec(s, q.data, err) : 0;
	buf_release(&q);
	return rc;
}

/*
 * A merge writes the archive's rows into a database that withholds its
 * own columns: both must withhold the same ones, or the archive's rows
 * lack values the database expects, or hold values it refuses.
 */
static int check_withheld(struct store *s, const struct withheld_list *wh,
			  const char *db, struct buf *err)
{
	const struct store_schema *sc = store_schema(s);

	for (int i = 0; i < wh->n; i++) {
		const struct store_withheld *w = &wh->v[i];
		const struct store_table *t = store_find_table(s, w->tbl);
		int c = -1;
		for (int k = 0; t && k < t->ncols; k++)
			if (strcmp(t->cols[k].name, w->col) == 0)
				c = k;
		if (c < 0 || !t->cols[c].withheld) {
			buf_addf(err, "the archive withholds %s.%s (its files leave it out)"
				 " but %s does not: run `archivefs withhold %s %s.%s` first,"
				 " or import into a new database", w->tbl, w->col, db, db,
				 w->tbl, w->col);
			return -EINVAL;
		}
	}
	for (int i = 0; i < sc->ntables; i++) {
		const struct store_table *t = &sc->tables[i];
		for (int c = 0; c < t->ncols; c++) {
			int k;
			if (!t->cols[c].withheld)
				continue;
			for (k = 0; k < wh->n; k++)
				if (!strcmp(wh->v[k].tbl, t->name) &&
				    !strcmp(wh->v[k].col, t->cols[c].name))
					break;
			if (k == wh->n) {
				buf_addf(err, "%s withholds %s.%s but the archive holds its values"
					 " (it was written before): run `archivefs withhold %s"
					 " --remove %s.%s` to import them", db, t->name,
					 t->cols[c].name, db, t->name, t->cols[c].name);
				return -EINVAL;
			}
		}
	}
	return 0;
}

static void free_objects(struct object *o, int n)
{
	for (int i = 0; i < n; i++) {
		free(o[i].type);
		free(o[i].name);
		free(o[i].sql);
	}
	free(o);
}

/* Run the objects whose type is (or, with `not`, is not) `type`. */
static int replay(struct store *s, struct object *o, int n, const char *type,
		  int not, struct buf *err)
{
	for (int i = 0; i < n; i++) {
		int rc;
		if ((strcmp(o[i].type, type) == 0) == not)
			continue;
		rc = store_exec(s, o[i].sql, err);
		if (rc) {
			buf_addf(err, " (replaying %s %s from %s)", o[i].type, o[i].name,
				 LAYOUT_SCHEMA);
			return rc;
		}
	}
	return 0;
}

/* --- applying records ---------------------------------------------------- */

/*
 * Map the fields of record r onto the columns of table t: map[c] is the
 * field index for column c or -1; *rowid_field the @rowid field or -1.
 */
static int map_fields(struct import_ctx *x, const struct fmt_record *r,
		      const struct store_table *t, int *map, int *rowid_field,
		      struct buf *err)
{
	*rowid_field = -1;
	for (int c = 0; c < t->ncols; c++)
		map[c] = -1;
	for (size_t i = 0; i < r->nfields; i++) {
		const struct fmt_field *f = &x->doc.fields[r->first + i];
		const char *name = f->name;
		size_t name_len = f->name_len;
		int c, dropped = 0;
		if (f->pseudo) {
			if (strcmp(f->name, "rowid") != 0 || !t->rowid_key) {
				where(x, err, f->line, f->col);
				buf_addf(err, "table %s has no pseudo-column @%s", t->name, f->name);
				return -EINVAL;
			}
			if (f->val.type != V_INT) {
				where(x, err, f->vline, f->vcol);
				buf_addstr(err, "@rowid must be an integer");
				return -EINVAL;
			}
			*rowid_field = (int)i;
			continue;
		}
		for (int k = 0; k < x->o->nrenames; k++) {
			const struct import_rename *rn = &x->o->renames[k];
			if (strcmp(rn->table, t->name) == 0 && strlen(rn->from) == f->name_len &&
			    memcmp(rn->from, f->name, f->name_len) == 0) {
				name = rn->to;
				name_len = strlen(rn->to);
				dropped = !name_len;
				break;
			}
		}
		if (dropped)
			continue;
		for (c = 0; c < t->ncols; c++)
			if (strlen(t->cols[c].name) == name_len &&
			    memcmp(t->cols[c].name, name, name_len) == 0)
				break;
		if (c == t->ncols) {
			where(x, err, f->line, f->col);
			buf_addf(err, "table %s has no column \"%s\"", t->name, f->name);
			return -EINVAL;
		}
		if (t->cols[c].hidden) {
			where(x, err, f->line, f->col);
			buf_addf(err, "column %s.%s is generated; it cannot be written",
				 t->name, f->name);
			return -EINVAL;
		}
		if (t->cols[c].withheld) {
			where(x, err, f->line, f->col);
			buf_addf(err, "column %s.%s is withheld from the archive (archivefs"
				 " withhold); it cannot be written through it", t->name, f->name);
			return -EINVAL;
		}
		map[c] = (int)i;
	}
	/* Every row lists every column, as archivefs writes it: a row without
	 * some is a file cut short. Only a migration (new columns take their
	 * defaults) reads rows without them. */
	for (int c = 0; !x->o->allow_missing && c < t->ncols; c++) {
		if (map[c] >= 0 || !store_col_archived(&t->cols[c]))
			continue;
		where(x, err, r->line, 1);
		buf_addf(err, "this %s row has no field for column %s (a row lists every"
			 " column; write \"%s: NULL\" for NULL): is the file cut short?",
			 t->name, t->cols[c].name, t->cols[c].name);
		return -EINVAL;
	}
	if (t->rowid_key && *rowid_field < 0) {
		where(x, err, r->line, 1);
		buf_addf(err, "a %s row needs its @rowid (the table has no primary key)",
			 t->name);
		return -EINVAL;
	}
	for (int k = 0; k < t->npk; k++) {
		if (map[t->pk[k]] < 0) {
			where(x, err, r->line, 1);
			buf_addf(err, "a %s row needs its key column %s", t->name,
				 t->cols[t->pk[k]].name);
			return -EINVAL;
		}
	}
	return 0;
}

static const struct value *fval(struct import_ctx *x, const struct fmt_record *r,
				int i)
{
	return &x->doc.fields[r->first + (size_t)i].val;
}

/* Statement signature: one char per column (+ rowid) saying "set". */
static void make_sig(struct buf *sig, const struct store_table *t,
		     const int *map, int rowid_field)
{
	buf_reset(sig);
	buf_addch(sig, rowid_field >= 0 ? 'r' : '-');
	for (int c = 0; c < t->ncols; c++)
		buf_addch(sig, map[c] >= 0 ? 'x' : '-');
}

static int prepare_insert(struct import_ctx *x, struct tstate *ts, const int *map,
			  int rowid_field, struct buf *err)
{
	const struct store_table *t = ts->h->t;
	int first = 1, nparams = 0;

	make_sig(&x->sig, t, map, rowid_field);
	if (ts->ins && strcmp(ts->ins_sig, x->sig.data) == 0)
		return 0;
	store_finalize(ts->ins);
	ts->ins = NULL;
	free(ts->ins_sig);
	ts->ins_sig = xstrdup(x->sig.data);
	buf_reset(&x->sql);
	buf_addstr(&x->sql, "INSERT INTO main.");
	buf_add_sqlident(&x->sql, t->name);
	buf_addstr(&x->sql, " (");
	if (rowid_field >= 0) {
		buf_addstr(&x->sql, archive_rowid_name(t));
		first = 0;
		nparams++;
	}
	for (int c = 0; c < t->ncols; c++) {
		if (map[c] < 0)
			continue;
		if (!first)
			buf_addstr(&x->sql, ", ");
		buf_add_sqlident(&x->sql, t->cols[c].name);
		first = 0;
		nparams++;
	}
	if (!nparams) {
		buf_truncate(&x->sql, x->sql.len - 2);
		buf_addstr(&x->sql, " DEFAULT VALUES");
	} else {
		buf_addstr(&x->sql, ") VALUES (");
		for (int i = 0; i < nparams; i++)
			buf_addstr(&x->sql, i ? ", ?" : "?");
		buf_addch(&x->sql, ')');
	}
	return store_prepare(x->s, x->sql.data, &ts->ins, err);
}

static void add_key_where(struct buf *q, const struct store_table *t, int first_param)
{
	buf_addstr(q, " WHERE ");
	if (t->rowid_key) {
		buf_addf(q, "%s = ?%d", archive_rowid_name(t), first_param);
		return;
	}
	for (int k = 0; k < t->npk; k++) {
		if (k)
			buf_addstr(q, " AND ");
		buf_add_sqlident(q, t->cols[t->pk[k]].name);
		buf_addf(q, " IS ?%d", first_param + k);
	}
}

static int bind_key(struct import_ctx *x, struct store_stmt *st, int first_param,
		    const struct store_table *t, const struct fmt_record *r,
		    const int *map, int rowid_field)
{
	int rc = 0;

	if (t->rowid_key)
		return store_bind(st, first_param, fval(x, r, rowid_field));
	for (int k = 0; !rc && k < t->npk; k++)
		rc = store_bind(st, first_param + k, fval(x, r, map[t->pk[k]]));
	return rc;
}

/* Merge: 1 if the row exists and equals the record on every field given,
 * 0 if it exists and differs, -ENOENT if it does not exist. */
static int compare_existing(struct import_ctx *x, struct tstate *ts,
			    const struct fmt_record *r, const int *map,
			    int rowid_field, struct buf *err)
{
	const struct store_table *t = ts->h->t;
	int rc, same = 1;

	if (!ts->sel) {
		buf_reset(&x->sql);
		buf_addstr(&x->sql, "SELECT ");
		for (int c = 0; c < t->ncols; c++) {
			if (c)
				buf_addstr(&x->sql, ", ");
			buf_add_sqlident(&x->sql, t->cols[c].name);
		}
		if (!t->ncols)
			buf_addstr(&x->sql, "1");
		buf_addstr(&x->sql, " FROM main.");
		buf_add_sqlident(&x->sql, t->name);
		add_key_where(&x->sql, t, 1);
		rc = store_prepare(x->s, x->sql.data, &ts->sel, err);
		if (rc)
			return rc;
	}
	store_reset(ts->sel);
	rc = bind_key(x, ts->sel, 1, t, r, map, rowid_field);
	if (!rc)
		rc = store_step(ts->sel, err);
	if (rc < 0)
		return rc;
	if (rc == 0)
		return -ENOENT;
	for (int c = 0; c < t->ncols && same; c++) {
		struct value v;
		if (map[c] < 0)
			continue;
		store_column(ts->sel, c, &v);
		same = value_equal(&v, fval(x, r, map[c]));
	}
	store_reset(ts->sel);
	return same;
}

static int run_update(struct import_ctx *x, struct tstate *ts,
		      const struct fmt_record *r, const int *map, int rowid_field,
		      struct buf *err)
{
	const struct store_table *t = ts->h->t;
	int p = 1, rc = 0;

	make_sig(&x->sig, t, map, rowid_field);
	if (!ts->upd || strcmp(ts->upd_sig, x->sig.data) != 0) {
		int first = 1;
		store_finalize(ts->upd);
		ts->upd = NULL;
		free(ts->upd_sig);
		ts->upd_sig = xstrdup(x->sig.data);
		buf_reset(&x->sql);
		buf_addstr(&x->sql, "UPDATE main.");
		buf_add_sqlident(&x->sql, t->name);
		buf_addstr(&x->sql, " SET ");
		for (int c = 0; c < t->ncols; c++) {
			if (map[c] < 0)
				continue;
			if (!first)
				buf_addstr(&x->sql, ", ");
			buf_add_sqlident(&x->sql, t->cols[c].name);
			buf_addf(&x->sql, " = ?%d", p++);
			first = 0;
		}
		add_key_where(&x->sql, t, p);
		rc = store_prepare(x->s, x->sql.data, &ts->upd, err);
		if (rc)
			return rc;
	}
	store_reset(ts->upd);
	p = 1;
	for (int c = 0; !rc && c < t->ncols; c++)
		if (map[c] >= 0)
			rc = store_bind(ts->upd, p++, fval(x, r, map[c]));
	if (!rc)
		rc = bind_key(x, ts->upd, p, t, r, map, rowid_field);
	if (!rc)
		rc = store_step(ts->upd, err);
	return rc < 0 ? rc : 0;
}

/* Merge: refuse a key seen twice in this import (two files, one row). */
static int check_seen(struct import_ctx *x, struct tstate *ts,
		      const struct fmt_record *r, const int *map, int rowid_field,
		      struct buf *err)
{
	const struct store_table *t = ts->h->t;
	struct value key[17], k;
	int n = 0, rc;

	key[n].type = V_INT;
	key[n++].i = ts - x->ts;
	if (t->rowid_key)
		key[n++] = *fval(x, r, rowid_field);
	else
		for (int i = 0; i < t->npk && n < 17; i++)
			key[n++] = *fval(x, r, map[t->pk[i]]);
	buf_reset(&x->key);
	names_add_key(&x->key, key, (size_t)n);
	k.type = V_BLOB;
	k.s = x->key.data;
	k.n = x->key.len;
	store_reset(x->seen);
	rc = store_bind(x->seen, 1, &k);
	buf_reset(&x->msg);
	if (!rc)
		rc = store_step(x->seen, &x->msg);
	if (rc < 0 && rc != -EINVAL) {   /* not the UNIQUE constraint */
		buf_addf(err, "%s", x->msg.data);
		return rc;
	}
	if (rc < 0) {
		where(x, err, r->line, 1);
		buf_addf(err, "a %s row with this key was already imported from another"
			 " file (or twice from this one)", t->name);
		return -EINVAL;
	}
	return 0;
}

static int apply_record(struct import_ctx *x, struct tstate *ts,
			const struct fmt_record *r, struct buf *err)
{
	const struct store_table *t = ts->h->t;
	int map_small[64], *map = t->ncols <= 64 ? map_small : malloc(sizeof(int) * (size_t)t->ncols);
	int rowid_field, rc, p = 1;

	if (!map)
		out_of_memory(0);
	rc = map_fields(x, r, t, map, &rowid_field, err);
	if (rc)
		goto out;
	if (x->merge) {
		rc = check_seen(x, ts, r, map, rowid_field, err);
		if (rc)
			goto out;
		rc = compare_existing(x, ts, r, map, rowid_field, err);
		if (rc == 1) {
			x->st->unchanged++;
			rc = 0;
			goto out;
		}
		if (rc == 0) {
			rc = run_update(x, ts, r, map, rowid_field, err);
			if (!rc)
				x->st->updated++;
			goto sqlerr;
		}
		if (rc != -ENOENT)
			goto sqlerr;
	}
	rc = prepare_insert(x, ts, map, rowid_field, err);
	if (rc)
		goto sqlerr;
	store_reset(ts->ins);
	if (rowid_field >= 0)
		rc = store_bind(ts->ins, p++, fval(x, r, rowid_field));
	for (int c = 0; !rc && c < t->ncols; c++)
		if (map[c] >= 0)
			rc = store_bind(ts->ins, p++, fval(x, r, map[c]));
	if (!rc)
		rc = store_step(ts->ins, err);
	if (rc >= 0) {
		rc = 0;
		x->st->inserted++;
	}
sqlerr:
	if (rc) {
		/* The store appended SQLite's reason; put the place first. */
		struct buf reason = BUF_INIT;
		buf_addstr(&reason, err->data);
		buf_reset(err);
		where(x, err, r->line, 1);
		buf_addf(err, "cannot write this %s row: %s", t->name, reason.data);
		buf_release(&reason);
	}
out:
	if (map != map_small)
		free(map);
	return rc;
}

/* Which tables may a file of home h (or an orphans file of child h) hold? */
static struct tstate *table_for(struct import_ctx *x, struct home *h, int orphans,
				const char *table)
{
	struct home *th = layout_home(&x->l, table);

	if (!th)
		return NULL;
	if (orphans)
		return th == h ? &x->ts[th - x->l.homes] : NULL;
	if (th == h)
		return &x->ts[th - x->l.homes];
	for (int c = 0; c < h->nchildren; c++)
		if (h->children[c] == th)
			return &x->ts[th - x->l.homes];
	return NULL;
}

/* The field of record r named like column c of t, or NULL. */
static const struct value *col_value(struct import_ctx *x, const struct fmt_record *r,
				     const struct store_table *t, int c)
{
	size_t n = strlen(t->cols[c].name);

	for (size_t i = 0; i < r->nfields; i++) {
		const struct fmt_field *f = &x->doc.fields[r->first + i];
		if (!f->pseudo && f->name_len == n && !memcmp(f->name, t->cols[c].name, n))
			return &f->val;
	}
	return NULL;
}

/*
 * One canonical home per row: a row of home h read from `path` must be one
 * that h renders at that path (its key and date say where), and a child
 * row in its parent's file must name a parent row of that file. A row
 * elsewhere (a file copied under another name, a date edited by hand)
 * would be imported, then exported somewhere else.
 */
static int check_place(struct import_ctx *x, struct home *h, enum path_kind kind,
		       const char *path, struct buf *err)
{
	const struct store_table *t = h->t;
	struct value *vals;
	const struct value **parents;
	struct buf want = BUF_INIT;
	size_t nparents = 0;
	int rc = 0;

	if (kind != PATH_CANONICAL)
		return 0;
	vals = calloc((size_t)t->ncols + 1, sizeof(*vals));
	parents = calloc(x->doc.nrecs + 1, sizeof(*parents));
	if (!vals || !parents)
		out_of_memory(0);
	/* The file's own rows: each where its key and date put it; their
	 * keys, for the children below (a file has one or a few). */
	for (size_t i = 0; !rc && i < x->doc.nrecs; i++) {
		const struct fmt_record *r = &x->doc.recs[i];
		int64_t rowid = 0;
		if (layout_home(&x->l, r->table) != h)
			continue;
		if (t->npk == 1 && (parents[nparents] = col_value(x, r, t, t->pk[0])))
			nparents++;
		if (h->kind == HOME_CHILD)
			continue;
		for (int c = 0; c < t->ncols; c++) {
			const struct value *v = col_value(x, r, t, c);
			vals[c] = v ? *v : (struct value){ .type = V_NULL };
		}
		for (size_t k = 0; k < r->nfields; k++) {
			const struct fmt_field *f = &x->doc.fields[r->first + k];
			if (f->pseudo && !strcmp(f->name, "rowid") && f->val.type == V_INT)
				rowid = f->val.i;
		}
		buf_reset(&want);
		layout_row_path(h, vals, rowid, &want);
		if (strcmp(want.data, path)) {
			where(x, err, r->line, 1);
			buf_addf(err, "this %s row belongs in %s, not in this file (its key"
				 " or date says so): move it there, or fix the value",
				 t->name, want.data);
			rc = -EINVAL;
		}
	}
	/* Child rows: each names one of those rows. */
	for (size_t i = 0; !rc && t->npk == 1 && i < x->doc.nrecs; i++) {
		const struct fmt_record *r = &x->doc.recs[i];
		struct home *rh = layout_home(&x->l, r->table);
		const struct value *fk;
		size_t j;
		if (!rh || rh == h || rh->parent != h || rh->fk_col < 0)
			continue;
		fk = col_value(x, r, rh->t, rh->fk_col);
		for (j = 0; fk && j < nparents && !value_equal(parents[j], fk); j++)
			;
		if (fk && j == nparents) {
			where(x, err, r->line, 1);
			buf_addf(err, "this %s row's %s names a %s row that is not in this"
				 " file: it belongs in that row's file", rh->t->name,
				 rh->t->cols[rh->fk_col].name, t->name);
			rc = -EINVAL;
		}
	}
	free(vals);
	free(parents);
	buf_release(&want);
	return rc;
}

static int import_file(void *ctx, const char *path, const struct stat *st,
		       struct buf *err)
{
	struct import_ctx *x = ctx;
	struct fmt_error fe;
	struct home *h;
	enum path_kind kind;
	int rc;

	x->file = path;
	if (strncmp(strrchr(path, '/') ? strrchr(path, '/') + 1 : path,
		    DISKFILE_TMP_PREFIX, strlen(DISKFILE_TMP_PREFIX)) == 0)
		return 0;   /* a crashed export's leftover: never data */
	kind = layout_classify(&x->l, path, &h);
	if (kind == PATH_SCHEMA || kind == PATH_DERIVED)
		return 0;
	if (kind == PATH_EVENTS && x->merge)
		return 0;   /* a live database keeps its own history (events.h) */
	if (kind == PATH_EVENTS) {
		long n = 0;
		if (!S_ISREG(st->st_mode)) {
			buf_addf(err, "%s: not a regular file", path);
			return -EINVAL;
		}
		rc = diskfile_read(x->root, path, &x->data, err);
		if (!rc)
			rc = events_import(x->s, path, x->data.data, x->data.len, &n, err);
		if (!rc)
			x->st->files++;
		return rc;
	}
	if (kind == PATH_NONE) {
		buf_addf(err, "%s: not a file archivefs writes (no table lives at this"
			 " path); move it out of the archive or fix its name", path);
		return -EINVAL;
	}
	if (!S_ISREG(st->st_mode)) {
		buf_addf(err, "%s: not a regular file", path);
		return -EINVAL;
	}
	rc = diskfile_read(x->root, path, &x->data, err);
	if (rc)
		return rc;
	fmt_doc_release(&x->doc);
	if (fmt_parse(x->data.data, x->data.len, &x->doc, &fe)) {
		buf_addf(err, "%s:%d:%d: %s", path, fe.line, fe.col, fe.msg);
		return -EINVAL;
	}
	x->st->files++;
	/* A migration reads rows under renamed columns and a new layout: its
	 * own verification compares every row instead. */
	if (!x->o->allow_missing) {
		rc = check_place(x, h, kind, path, err);
		if (rc)
			return rc;
	}
	for (size_t i = 0; i < x->doc.nrecs; i++) {
		const struct fmt_record *r = &x->doc.recs[i];
		struct tstate *ts = table_for(x, h, kind == PATH_ORPHANS, r->table);
		if (!ts) {
			where(x, err, r->line, 2);
			buf_addf(err, "a [%s] row does not belong in this file (it holds %s rows%s)",
				 r->table, h->t->name,
				 h->nchildren ? " and their children" : "");
			return -EINVAL;
		}
		rc = apply_record(x, ts, r, err);
		if (rc)
			return rc;
		ts->rows++;
		x->st->rows++;
	}
	progress_update(&x->prog, x->st->rows, "rows");
	return 0;
}

/* --- the run ------------------------------------------------------------- */

static int drop_triggers(struct store *s, struct object **trig, int *ntrig,
			 struct buf *err)
{
	struct store_object *o;
	int n, rc, k = 0;

	*trig = NULL;
	*ntrig = 0;
	rc = store_objects(s, &o, &n, err);
	if (rc)
		return rc;
	*trig = calloc((size_t)n + 1, sizeof(**trig));
	if (!*trig)
		out_of_memory(0);
	for (int i = 0; !rc && i < n; i++) {
		struct buf q = BUF_INIT;
		if (strcmp(o[i].type, "trigger") != 0)
			continue;
		(*trig)[k].type = xstrdup(o[i].type);
		(*trig)[k].name = xstrdup(o[i].name);
		(*trig)[k].sql = xstrdup(o[i].sql);
		k++;
		buf_addstr(&q, "DROP TRIGGER main.");
		buf_add_sqlident(&q, o[i].name);
		rc = store_exec(s, q.data, err);
		buf_release(&q);
	}
	*ntrig = k;
	store_objects_free(o, n);
	return rc;
}

static int setup_tables(struct import_ctx *x, struct buf *err)
{
	int rc = layout_bind(&x->l, store_schema(x->s), err);

	if (rc)
		return rc;
	x->ts = calloc((size_t)(x->l.nhomes ? x->l.nhomes : 1), sizeof(*x->ts));
	if (!x->ts)
		out_of_memory(0);
	for (int i = 0; i < x->l.nhomes; i++)
		x->ts[i].h = &x->l.homes[i];
	return 0;
}

static void free_tables(struct import_ctx *x)
{
	for (int i = 0; x->ts && i < x->l.nhomes; i++) {
		store_finalize(x->ts[i].ins);
		store_finalize(x->ts[i].sel);
		store_finalize(x->ts[i].upd);
		free(x->ts[i].ins_sig);
		free(x->ts[i].upd_sig);
	}
	free(x->ts);
	x->ts = NULL;
	store_finalize(x->seen);
	x->seen = NULL;
	layout_release(&x->l);
}

/*
 * Remove the temporary databases that imports into `db` left when they
 * were killed (or ran out of memory): DB.archivefs-import-PID whose PID
 * is no longer running. Another import still running keeps its file.
 */
static void remove_stale_temps(const char *db)
{
	const char *slash = strrchr(db, '/');
	struct buf dir = BUF_INIT, prefix = BUF_INIT, path = BUF_INIT;
	struct dirent *e;
	DIR *d;

	if (slash)
		buf_add(&dir, db, (size_t)(slash - db) + 1);
	else
		buf_addstr(&dir, "./");
	buf_addf(&prefix, "%s.archivefs-import-", slash ? slash + 1 : db);
	d = opendir(dir.data);
	while (d && (e = readdir(d))) {
		if (!diskfile_left_by_dead(e->d_name, prefix.data))
			continue;
		buf_reset(&path);
		buf_addf(&path, "%s%s", dir.data, e->d_name);
		if (unlink(path.data) == 0)
			fprintf(stderr, "archivefs: removed %s, left by an import"
				" that did not finish\n", path.data);
	}
	if (d)
		closedir(d);
	buf_release(&dir);
	buf_release(&prefix);
	buf_release(&path);
}

static int fsync_path(const char *path, int dir, struct buf *err)
{
	int fd = open(path, (dir ? O_DIRECTORY : 0) | O_RDONLY | O_CLOEXEC), rc = 0;

	if (fd < 0 || fsync(fd) < 0) {
		rc = -errno;
		buf_addf(err, "cannot fsync %s: %s", path, strerror(-rc));
	}
	if (fd >= 0)
		close(fd);
	return rc;
}

int import_run(const char *dir, const char *db, const struct import_opts *o,
	       struct import_stats *stats, struct buf *err)
{
	struct import_ctx x;
	struct object *objs = NULL, *trig = NULL;
	struct withheld_list wh = { NULL, 0 };
	int nobjs = 0, ntrig = 0, found, rc;
	int64_t pragmas[2];
	struct stat st;
	struct buf tmpdb = BUF_INIT, dirname = BUF_INIT;

	memset(stats, 0, sizeof(*stats));
	memset(&x, 0, sizeof(x));
	x.o = o;
	x.st = stats;
	buf_init(&x.data);
	buf_init(&x.msg);
	buf_init(&x.sig);
	buf_init(&x.sql);
	buf_init(&x.key);
	fmt_doc_init(&x.doc);
	x.root = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (x.root < 0) {
		buf_addf(err, "cannot open archive %s: %s", dir, strerror(errno));
		rc = -errno;
		goto out;
	}
	rc = read_schema(x.root, &objs, &nobjs, &wh, pragmas, &found, err);
	if (rc)
		goto out;

	x.merge = stat(db, &st) == 0 && st.st_size > 0;
	if (!x.merge) {
		if (!found) {
			buf_addf(err, "%s has no %s: it cannot create a new database"
				 " (import into an existing one instead)", dir, LAYOUT_SCHEMA);
			rc = -EINVAL;
			goto out;
		}
		remove_stale_temps(db);
		buf_addf(&tmpdb, "%s.archivefs-import-%ld", db, (long)getpid());
		unlink(tmpdb.data);
		rc = store_open(tmpdb.data, STORE_RDWR | STORE_CREATE, &x.s, err);
		if (rc)
			goto out;
		stats->created = 1;
		/* A fresh file that is renamed into place only when complete:
		 * no journal is needed, durability comes from the fsync. */
		rc = store_exec(x.s, "PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF", err);
		if (!rc)
			rc = store_begin(x.s, 1, err);
		if (!rc)
			rc = replay(x.s, objs, nobjs, "table", 0, err);
		if (!rc)
			rc = store_set_pragma_int(x.s, "user_version", pragmas[0], err);
		if (!rc)
			rc = store_set_pragma_int(x.s, "application_id", pragmas[1], err);
		if (!rc)
			rc = install_withheld(x.s, &wh, err);
		if (!rc)
			rc = store_reload_schema(x.s, err);
	} else {
		rc = store_open(db, STORE_RDWR, &x.s, err);
		if (!rc && found)
			rc = check_withheld(x.s, &wh, db, err);
		if (!rc)
			rc = store_begin(x.s, 1, err);
		if (!rc)
			rc = drop_triggers(x.s, &trig, &ntrig, err);
		if (!rc)
			rc = store_exec(x.s, "CREATE TEMP TABLE archivefs_import_seen"
					"(k BLOB PRIMARY KEY) WITHOUT ROWID", err);
		if (!rc)
			rc = store_prepare(x.s, "INSERT INTO temp.archivefs_import_seen"
					   " VALUES (?1)", &x.seen, err);
	}
	if (rc)
		goto out;
	rc = setup_tables(&x, err);
	if (rc)
		goto out;
	progress_start(&x.prog, o->progress, "import", 0);
	rc = dirwalk(x.root, import_file, &x, err);
	progress_done(&x.prog);
	if (rc)
		goto out;
	free_tables(&x);
	if (!x.merge) {
		rc = replay(x.s, objs, nobjs, "table", 1, err);
	} else {
		rc = replay(x.s, objs, nobjs, "sequence", 0, err);
		if (!rc)
			rc = replay(x.s, trig, ntrig, "trigger", 0, err);
	}
	if (!rc && x.merge)
		rc = store_exec(x.s, "DROP TABLE temp.archivefs_import_seen", err);
	if (!rc)
		rc = store_commit(x.s, err);
	if (rc)
		goto out;
	store_close(x.s);
	x.s = NULL;
	if (!x.merge) {
		const char *slash = strrchr(db, '/');
		rc = fsync_path(tmpdb.data, 0, err);
		if (!rc && rename(tmpdb.data, db) < 0) {
			buf_addf(err, "cannot rename %s to %s: %s", tmpdb.data, db,
				 strerror(errno));
			rc = -errno;
		}
		if (!rc) {
			buf_reset(&tmpdb);
			if (slash)
				buf_add(&dirname, db, (size_t)(slash - db) + 1);
			else
				buf_addstr(&dirname, ".");
			rc = fsync_path(dirname.data, 1, err);
			if (rc)
				buf_addf(err, " (%s is whole and in place, but a crash now could still lose its name)", db);
		}
	}
out:
	free_tables(&x);
	if (x.s) {
		store_rollback(x.s);
		store_close(x.s);
	}
	if (tmpdb.len)
		unlink(tmpdb.data);
	if (x.root >= 0)
		close(x.root);
	free_objects(objs, nobjs);
	for (int i = 0; i < wh.n; i++) {
		free(wh.v[i].tbl);
		free(wh.v[i].col);
	}
	free(wh.v);
	free_objects(trig, ntrig);
	fmt_doc_release(&x.doc);
	buf_release(&x.data);
	buf_release(&x.msg);
	buf_release(&x.sig);
	buf_release(&x.sql);
	buf_release(&x.key);
	buf_release(&tmpdb);
	buf_release(&dirname);
	return rc;
}
