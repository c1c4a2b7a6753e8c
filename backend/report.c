/*
 * report.c - `archivefs report`: the readiness report (report.h).
 *
 * Everything printed is measured on this run: row counts and the journal
 * from DB, files and modes from DIR, and a rebuild of DIR into a temporary
 * database (the same import an operator would run) compared row by row
 * with DB. The score is only the sum of those measurements.
 */
#include "report.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "archive.h"
#include "buf.h"
#include "compare.h"
#include "import.h"
#include "journal.h"
#include "layout.h"
#include "progress.h"
#include "store.h"
#include "strset.h"
#include "verify.h"

#define EXIT_FAIL 1
#define EXIT_USAGE 2
#define IN_FLIGHT_S 1.0   /* a change this young, with a follower, is in flight */

enum { C_INTEGRITY, C_CONSISTENCY, C_REBUILD, C_STATE, C_UNSYNCED, C_SYNC,
       C_SECRETS, C_PRIVATE_DB, NCHECKS };

struct check {
	const char *id;
	int max;
	int applicable;   /* 0: left out of the score */
	int points;
	struct buf detail;
};

static const struct { const char *id; int max; } check_defs[NCHECKS] = {
	[C_INTEGRITY] = { "integrity", 5 },
	[C_CONSISTENCY] = { "consistency", 25 },
	[C_REBUILD] = { "rebuild", 25 },
	[C_STATE] = { "state", 10 },
	[C_UNSYNCED] = { "unsynced", 10 },
	[C_SYNC] = { "sync", 5 },
	[C_SECRETS] = { "secrets", 15 },
	[C_PRIVATE_DB] = { "private_db", 5 },
};

/* What a rebuild must keep alive: each query gives the rows that matter,
 * with the columns that make them work ("@." is the schema); run on DB
 * ("main") and on the
 * rebuild ("r"), the rows found identically on both sides survive. */
static const struct { const char *what, *needs, *sql; } states[] = {
	{ "sessions that stay logged in", "session",
	  "SELECT id, username, expires_at, is_fully_authenticated, auth_request_id"
	  " FROM @.session WHERE julianday(expires_at) > julianday('now')" },
	{ "admins", "user_roles",
	  "SELECT ur.user_id, ur.role_id, ur.expires_at FROM @.user_roles ur"
	  " JOIN @.role ro ON ro.id = ur.role_id WHERE ro.name = 'admin'"
	  " AND (ur.expires_at IS NULL OR julianday(ur.expires_at) > julianday('now'))" },
	{ "valid invite tokens", "invitetoken",
	  "SELECT token, usage_count, max_uses, expires_at, token_type FROM @.invitetoken"
	  " WHERE julianday(expires_at) > julianday('now')"
	  " AND (max_uses IS NULL OR usage_count < max_uses)" },
	{ "pending login requests", "authenticationrequest",
	  "SELECT id, user_id, verification_code, expires_at, status"
	  " FROM @.authenticationrequest WHERE status = 'pending'"
	  " AND julianday(expires_at) > julianday('now')" },
};
#define NSTATES ((int)(sizeof(states) / sizeof(states[0])))

/* Column names that hold personal data (matched as substrings). */
static const char *const personal[] = { "email", "ip_address", "device", "phone",
					"contact", "password", "verification_code", NULL };

struct table_info {
	const struct home *h;
	long rows;
	long identical, lost, added;   /* rebuild: -1 when not measured */
	char *note;                    /* rebuild problem, or NULL */
};

struct report {
	const char *db, *dir;
	struct store *s;
	struct layout l;
	struct table_info *t;
	int nt;
	long total_rows, columns, generated, withheld, generic;
	int followed;
	struct journal_status js;
	double pending_age;            /* s since the oldest waiting change */
	long events;
	struct verify_report vr;
	int have_vr;
	int rebuilt;                   /* the rebuild worked */
	struct buf rebuild_err;
	double rebuild_s;
	long state_db[NSTATES], state_kept[NSTATES];
	int state_applies[NSTATES];
	long secret_files, secret_files_ok, secret_dirs, secret_dirs_ok;
	struct buf secret_bad;         /* "path mode\n" lines, the first few */
	long secret_bad_n;
	unsigned db_mode;
	struct check c[NCHECKS];
	int score, earned, applicable;
};

static int fraction_points(int max, double num, double den)
{
	if (den <= 0 || num >= den)
		return max;
	return (int)floor(max * (num / den));
}

static void home_text(const struct home *h, struct buf *out)
{
	switch (h->kind) {
	case HOME_ROW:
		buf_addf(out, "%s/YYYY/MM/ (a file per row)", h->folder);
		break;
	case HOME_MONTH:
		buf_addf(out, "%s/%s_YYYY_MM.txt (per month)", h->folder, h->d->stem);
		break;
	case HOME_SINGLE:
		buf_addf(out, "%s/%s.txt", h->folder, h->d->stem);
		break;
	case HOME_CHILD:
		buf_addf(out, "inside the %s files", h->parent->t->name);
		break;
	case HOME_GENERIC:
		buf_addf(out, "%s/ (generic home)", h->folder);
		break;
	}
}

/* --- measuring ------------------------------------------------------------ */

static int measure_tables(struct report *r, struct buf *err)
{
	r->nt = r->l.nhomes;
	r->t = calloc((size_t)(r->nt ? r->nt : 1), sizeof(*r->t));
	if (!r->t)
		return -ENOMEM;
	for (int i = 0; i < r->nt; i++) {
		const struct home *h = &r->l.homes[i];
		struct table_info *ti = &r->t[i];
		int rc;
		ti->h = h;
		ti->identical = ti->lost = ti->added = -1;
		rc = store_count_rows(r->s, "main", h->t->name, &ti->rows, err);
		if (rc)
			return rc;
		r->total_rows += ti->rows;
		for (int c = 0; c < h->t->ncols; c++) {
			if (h->t->cols[c].hidden)
				r->generated++;
			else if (h->t->cols[c].withheld)
				r->withheld++;
			else
				r->columns++;
		}
		if (h->kind == HOME_GENERIC)
			r->generic++;
	}
	return 0;
}

static int measure_journal(struct report *r, struct buf *err)
{
	int rc = journal_status(r->s, &r->js, err);

	r->events = 0;
	if (!rc && r->js.installed) {
		struct buf e = BUF_INIT;
		/* No history table when history was never on: no events. */
		if (store_query_long(r->s, "SELECT count(*) FROM main.archivefs_event", &r->events, &e))
			r->events = 0;
		buf_release(&e);
	}
	return rc;
}

struct secret_walk {
	struct report *r;
	struct strset dirs;
	int root;
};

static void note_bad(struct report *r, const char *path, unsigned mode)
{
	if (r->secret_bad_n++ < 5)
		buf_addf(&r->secret_bad, "%s %04o\n", path, mode);
}

static int secret_file(void *ctx, const struct archive_file *f, struct buf *err)
{
	struct secret_walk *w = ctx;
	struct report *r = w->r;
	struct buf p = BUF_INIT;
	struct stat st;

	(void)err;
	if (f->mode & 077)
		return 0;   /* not a secret file */
	r->secret_files++;
	buf_addf(&p, "%s/%s", r->dir, f->path);
	if (lstat(p.data, &st) == 0 && S_ISREG(st.st_mode) && !(st.st_mode & 077))
		r->secret_files_ok++;
	else if (lstat(p.data, &st) == 0)
		note_bad(r, f->path, st.st_mode & 07777);
	else
		note_bad(r, f->path, 0);   /* missing: counted by consistency */
	/* Every folder the layout makes private, up to the root. */
	for (const char *s = strchr(f->path, '/'); s; s = strchr(s + 1, '/')) {
		size_t len = (size_t)(s - f->path);
		buf_reset(&p);
		buf_add(&p, f->path, len);
		if (strset_has(&w->dirs, p.data))
			continue;
		strset_add(&w->dirs, p.data);
		if (layout_folder_mode(&r->l, f->path, len) & 077)
			continue;
		r->secret_dirs++;
		buf_reset(&p);
		buf_addf(&p, "%s/", r->dir);
		buf_add(&p, f->path, len);
		if (lstat(p.data, &st) == 0 && S_ISDIR(st.st_mode) && !(st.st_mode & 077)) {
			r->secret_dirs_ok++;
		} else {
			buf_reset(&p);
			buf_add(&p, f->path, len);
			buf_addch(&p, '/');
			note_bad(r, p.data, lstat(p.data, &st) == 0 ? st.st_mode & 07777 : 0);
		}
	}
	buf_release(&p);
	return 0;
}

static int measure_secrets(struct report *r, struct buf *err)
{
	struct secret_walk w = { r, { 0 }, -1 };
	int rc;

	strset_init(&w.dirs);
	rc = archive_walk(r->s, &r->l, secret_file, &w, err);
	strset_release(&w.dirs);
	return rc;
}

/* sql with every "@." made "<schema>." */
static void with_schema(struct buf *out, const char *sql, const char *schema)
{
	for (const char *p = sql; *p; p++) {
		if (p[0] == '@' && p[1] == '.')
			buf_addstr(out, schema);
		else
			buf_addch(out, *p);
	}
}

static void measure_state(struct report *r)
{
	for (int i = 0; i < NSTATES; i++) {
		struct buf q = BUF_INIT, qm = BUF_INIT, qr = BUF_INIT, e = BUF_INIT;
		int rc;
		r->state_applies[i] = layout_home(&r->l, states[i].needs) != NULL;
		if (!r->state_applies[i])
			continue;
		with_schema(&qm, states[i].sql, "main");
		with_schema(&qr, states[i].sql, "r");
		buf_addf(&q, "SELECT count(*) FROM (%s)", qm.data);
		rc = store_query_long(r->s, q.data, &r->state_db[i], &e);
		if (rc) {
			/* The table is not ThyWill's (other columns): leave it out. */
			r->state_applies[i] = 0;
		} else if (r->rebuilt) {
			buf_reset(&q);
			buf_addf(&q, "SELECT count(*) FROM (%s INTERSECT %s)", qm.data, qr.data);
			if (store_query_long(r->s, q.data, &r->state_kept[i], &e))
				r->state_kept[i] = 0;   /* the rebuild lacks the table */
		}
		buf_release(&q);
		buf_release(&qm);
		buf_release(&qr);
		buf_release(&e);
	}
}

static int compare_table(struct report *r, struct table_info *ti, struct buf *err)
{
	const struct store_table *t = ti->h->t;
	const char **cols = calloc((size_t)t->ncols + 1, sizeof(*cols));
	struct compare_side a = { "main", t->name, cols, NULL };
	struct compare_side b = { "r", t->name, cols, NULL };
	struct compare_result cr;
	struct buf e = BUF_INIT;
	int n = 0, rc;

	if (!cols)
		return -ENOMEM;
	/* Withheld columns are not in the archive: the rebuild has their
	 * defaults (the coverage line says which). */
	for (int c = 0; c < t->ncols; c++)
		if (store_col_archived(&t->cols[c]))
			cols[n++] = t->cols[c].name;
	if (t->rowid_key)
		a.rowid = b.rowid = archive_rowid_name(t);
	rc = compare_rows(r->s, &a, &b, n, &cr, &e);
	free(cols);
	if (rc) {
		/* Not comparable: the rebuild lacks the table or a column. */
		ti->identical = 0;
		ti->lost = ti->rows;
		ti->added = 0;
		ti->note = buf_detach(&e, NULL);
		return 0;
	}
	ti->identical = cr.rows_a - cr.only_a;
	ti->lost = cr.only_a;
	ti->added = cr.only_b;
	buf_release(&e);
	(void)err;
	return 0;
}

/* Rebuild DIR into a temporary database, the way an operator would, and
 * compare it with DB table by table. */
static int measure_rebuild(struct report *r, int progress, struct buf *err)
{
	const char *tmp = getenv("TMPDIR");
	struct buf dir = BUF_INIT, db = BUF_INIT;
	struct import_opts o = { .progress = progress };
	struct import_stats st;
	double t0 = progress_now();
	int rc = 0;

	buf_addf(&dir, "%s/archivefs-report-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(dir.data)) {
		buf_addf(err, "cannot make a temporary folder %s: %s", dir.data, strerror(errno));
		buf_release(&dir);
		return -errno;
	}
	buf_addf(&db, "%s/rebuild.db", dir.data);
	if (import_run(r->dir, db.data, &o, &st, &r->rebuild_err) == 0) {
		r->rebuild_s = progress_now() - t0;
		rc = compare_attach(r->s, db.data, "r", err);
		if (!rc) {
			r->rebuilt = 1;
			for (int i = 0; !rc && i < r->nt; i++)
				rc = compare_table(r, &r->t[i], err);
			if (!rc)
				measure_state(r);
			if (compare_detach(r->s, "r", err) && !rc)
				rc = -EIO;
			if (rc)
				r->rebuilt = 0;
		}
	} else {
		measure_state(r);   /* what DB holds; nothing survives */
	}
	unlink(db.data);
	rmdir(dir.data);
	buf_release(&dir);
	buf_release(&db);
	return rc;
}

/* --- scoring --------------------------------------------------------------- */

static void set_check(struct report *r, int id, int applicable, int points,
		      const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void set_check(struct report *r, int id, int applicable, int points,
		      const char *fmt, ...)
{
	struct check *c = &r->c[id];
	va_list ap;

	c->applicable = applicable;
	c->points = applicable ? points : 0;
	va_start(ap, fmt);
	buf_vaddf(&c->detail, fmt, ap);
	va_end(ap);
}

static void score(struct report *r, int integrity_rc, const struct buf *integrity_err)
{
	double now;
	struct timespec ts;
	int j = r->js.installed && r->js.seeded;

	clock_gettime(CLOCK_REALTIME, &ts);
	now = (double)ts.tv_sec + ts.tv_nsec / 1e9;
	for (int i = 0; i < NCHECKS; i++) {
		r->c[i].id = check_defs[i].id;
		r->c[i].max = check_defs[i].max;
	}
	if (!integrity_rc)
		set_check(r, C_INTEGRITY, 1, 5, "PRAGMA integrity_check: ok");
	else
		set_check(r, C_INTEGRITY, 1, 0, "PRAGMA integrity_check: %s",
			  integrity_err->data);

	if (!r->dir) {
		set_check(r, C_CONSISTENCY, 1, 0, "not measured: give DIR (the sync folder or"
			  " an export) to compare");
		set_check(r, C_REBUILD, 1, 0, "not measured: give DIR to rebuild from");
		set_check(r, C_SECRETS, 1, 0, "not measured: give DIR to check its file modes");
	} else {
		const struct verify_report *v = &r->vr;
		set_check(r, C_CONSISTENCY, 1,
			  fraction_points(25, (double)v->matching, (double)(v->rendered + v->extra)),
			  "%ld of %ld files match; %ld missing, %ld differ, %ld extra",
			  v->matching, v->rendered, v->missing, v->differing, v->extra);
		if (!r->rebuilt) {
			set_check(r, C_REBUILD, 1, 0, "DIR cannot be rebuilt: %s",
				  r->rebuild_err.data);
		} else {
			long same = 0, lost = 0, added = 0, tables_ok = 0;
			for (int i = 0; i < r->nt; i++) {
				same += r->t[i].identical;
				lost += r->t[i].lost;
				added += r->t[i].added;
				tables_ok += !r->t[i].lost && !r->t[i].added;
			}
			set_check(r, C_REBUILD, 1,
				  fraction_points(25, (double)same, (double)(r->total_rows + added)),
				  "%ld of %ld rows rebuilt identical (%ld of %d tables); %ld lost"
				  " or changed, %ld not in DB", same, r->total_rows, tables_ok,
				  r->nt, lost, added);
		}
		set_check(r, C_SECRETS, 1,
			  fraction_points(15, (double)(r->secret_files_ok + r->secret_dirs_ok),
					  (double)(r->secret_files + r->secret_dirs)),
			  "%ld of %ld secret files and %ld of %ld private folders have no"
			  " group/other access", r->secret_files_ok, r->secret_files,
			  r->secret_dirs_ok, r->secret_dirs);
	}

	{
		long all = 0, kept = 0;
		int applies = 0;
		for (int i = 0; i < NSTATES; i++) {
			if (!r->state_applies[i])
				continue;
			applies = 1;
			all += r->state_db[i];
			kept += r->rebuilt ? r->state_kept[i] : 0;
		}
		if (!applies)
			set_check(r, C_STATE, 0, 0, "no ThyWill sessions, roles, invites or"
				  " login requests in this database");
		else if (!r->dir)
			set_check(r, C_STATE, 1, 0, "not measured: give DIR to rebuild from");
		else
			set_check(r, C_STATE, 1, fraction_points(10, (double)kept, (double)all),
				  "%ld of %ld live sessions, admins, invites and pending logins"
				  " survive the rebuild", kept, all);
	}

	if (!j) {
		set_check(r, C_UNSYNCED, 0, 0, "archivefs has not recorded this database"
			  " (never mounted or synced): no journal to measure");
		set_check(r, C_SYNC, 0, 0, "no sync folder has followed this database");
	} else {
		double age = r->js.pending && r->js.oldest_pending > 0 ?
			now - r->js.oldest_pending : 0;
		r->pending_age = age;
		int ok = r->js.pending == 0 || (r->followed && age < IN_FLIGHT_S);
		if (r->js.pending == 0)
			set_check(r, C_UNSYNCED, 1, 10, "no committed change waiting");
		else
			set_check(r, C_UNSYNCED, 1, ok ? 10 : 0, "%ld committed changes waiting,"
				  " the oldest %.1f s; %s", r->js.pending, age, r->followed ?
				  "a mount or sync follows" : "nothing follows the database: mount"
				  " it or run archivefs sync");
		if (r->js.sync_error_since_ns)
			set_check(r, C_SYNC, 1, 0, "a sync folder is failing: %s",
				  strerror(r->js.sync_errno));
		else
			set_check(r, C_SYNC, 1, 5, "no sync folder failure recorded");
	}

	set_check(r, C_PRIVATE_DB, 1, (r->db_mode & 077) ? 0 : 5,
		  "%s is mode %04o%s", r->db, r->db_mode,
		  (r->db_mode & 077) ? ": other users can open it (chmod 600)" : "");

	r->earned = r->applicable = 0;
	for (int i = 0; i < NCHECKS; i++) {
		if (!r->c[i].applicable)
			continue;
		r->earned += r->c[i].points;
		r->applicable += r->c[i].max;
	}
	r->score = r->applicable ? (int)lround(100.0 * r->earned / r->applicable) : 0;
}

/* --- printing --------------------------------------------------------------- */

static int is_personal(const char *col)
{
	for (int i = 0; personal[i]; i++)
		if (strcasestr(col, personal[i]))
			return 1;
	return 0;
}

static void print_text(struct report *r)
{
	struct buf b = BUF_INIT;

	printf("archivefs report: %s%s%s\n\n", r->db, r->dir ? " against " : "",
	       r->dir ? r->dir : "");
	printf("tables: %d, %ld rows\n", r->nt, r->total_rows);
	for (int i = 0; i < r->nt; i++) {
		const struct table_info *ti = &r->t[i];
		buf_reset(&b);
		home_text(ti->h, &b);
		printf("  %-26s %9ld  %s%s\n", ti->h->t->name, ti->rows, b.data,
		       ti->h->secret ? " [secret]" : "");
	}
	printf("\ncoverage: %ld columns archived in %d tables", r->columns, r->nt);
	if (r->generated)
		printf(" (%ld generated columns are recomputed, not archived)", r->generated);
	printf("\n");
	if (r->withheld) {
		printf("  %ld columns withheld (archivefs withhold): never in the archive;"
		       " a rebuild gives them their defaults:", r->withheld);
		for (int i = 0; i < r->nt; i++)
			for (int c = 0; c < r->t[i].h->t->ncols; c++)
				if (r->t[i].h->t->cols[c].withheld)
					printf(" %s.%s", r->t[i].h->t->name,
					       r->t[i].h->t->cols[c].name);
		printf("\n");
	}
	if (r->generic)
		printf("  %ld tables in generic homes tables/<table>/ (lossless; no layout"
		       " descriptor names them):", r->generic);
	for (int i = 0; i < r->nt; i++)
		if (r->t[i].h->kind == HOME_GENERIC)
			printf(" %s", r->t[i].h->t->name);
	if (r->generic)
		printf("\n");

	printf("\njournal: ");
	if (!r->js.installed) {
		printf("not installed (never mounted or synced)\n");
	} else {
		printf("tree %s (%ld files); %s; %ld changes waiting", r->js.seeded ?
		       "recorded" : "not recorded yet", r->js.files, r->followed ?
		       "followed by a mount or sync" : "nothing follows it now", r->js.pending);
		if (r->js.pending)
			printf(" (the oldest %.1f s ago: the sync lag)", r->pending_age);
		printf("; history %ld events\n", r->events);
	}

	if (r->dir) {
		printf("\nrebuild from %s: ", r->dir);
		if (!r->rebuilt) {
			printf("FAILED: %s\n", r->rebuild_err.data);
		} else {
			printf("%.2f s\n", r->rebuild_s);
			for (int i = 0; i < r->nt; i++) {
				const struct table_info *ti = &r->t[i];
				if (!ti->lost && !ti->added)
					continue;
				printf("  %-26s %ld of %ld rows identical, %ld lost or changed,"
				       " %ld not in DB%s%s\n", ti->h->t->name, ti->identical,
				       ti->rows, ti->lost, ti->added, ti->note ? ": " : "",
				       ti->note ? ti->note : "");
			}
		}
	}
	for (int i = 0; i < NSTATES; i++) {
		if (!r->state_applies[i])
			continue;
		if (r->dir && r->rebuilt)
			printf("  %-26s %ld of %ld survive\n", states[i].what, r->state_kept[i],
			       r->state_db[i]);
		else
			printf("  %-26s %ld in DB\n", states[i].what, r->state_db[i]);
	}

	printf("\nsecrets and personal data:\n");
	for (int i = 0; i < r->nt; i++) {
		const struct home *h = r->t[i].h;
		const struct home *fh = h->kind == HOME_CHILD ? h->parent : h;
		int np = 0;
		buf_reset(&b);
		for (int c = 0; c < h->t->ncols; c++)
			if (is_personal(h->t->cols[c].name)) {
				buf_addf(&b, "%s%s", np ? ", " : "", h->t->cols[c].name);
				np++;
			}
		if (!h->secret && !np)
			continue;
		printf("  %-26s %s/ folder %04o, files %04o%s%s%s\n", h->t->name, fh->folder,
		       layout_dir_mode(fh), layout_file_mode(fh),
		       h->secret ? "; bearer secrets" : "", np ? "; personal: " : "",
		       b.data);
	}
	if (r->secret_bad_n) {
		printf("  wrong modes in %s (%ld; the first ones):\n", r->dir, r->secret_bad_n);
		for (const char *p = r->secret_bad.data; *p;) {
			const char *nl = strchr(p, '\n');
			printf("    %.*s\n", (int)(nl - p), p);
			p = nl + 1;
		}
	}

	printf("\nreadiness: %d/100", r->score);
	if (r->applicable != 100)
		printf(" (%d of the %d points that apply to this database)", r->earned,
		       r->applicable);
	printf("\n");
	for (int i = 0; i < NCHECKS; i++) {
		const struct check *c = &r->c[i];
		if (c->applicable)
			printf("  [%2d/%2d] %-12s %s\n", c->points, c->max, c->id, c->detail.data);
		else
			printf("  [  n/a] %-12s %s\n", c->id, c->detail.data);
	}
	buf_release(&b);
}

static void jstr(const char *s)
{
	json_string(stdout, s, strlen(s));
}

static void print_json(struct report *r)
{
	struct buf b = BUF_INIT;

	printf("{\"database\": ");
	jstr(r->db);
	printf(", \"dir\": ");
	if (r->dir)
		jstr(r->dir);
	else
		printf("null");
	printf(", \"score\": %d, \"earned\": %d, \"applicable\": %d, \"checks\": [",
	       r->score, r->earned, r->applicable);
	for (int i = 0; i < NCHECKS; i++) {
		const struct check *c = &r->c[i];
		printf("%s{\"id\": \"%s\", \"points\": %d, \"max\": %d, \"applicable\": %s,"
		       " \"detail\": ", i ? ", " : "", c->id, c->points, c->max,
		       c->applicable ? "true" : "false");
		jstr(c->detail.data);
		printf("}");
	}
	printf("], \"tables\": [");
	for (int i = 0; i < r->nt; i++) {
		const struct table_info *ti = &r->t[i];
		buf_reset(&b);
		home_text(ti->h, &b);
		printf("%s{\"name\": ", i ? ", " : "");
		jstr(ti->h->t->name);
		printf(", \"rows\": %ld, \"home\": ", ti->rows);
		jstr(b.data);
		printf(", \"generic\": %s, \"secret\": %s, \"withheld\": [",
		       ti->h->kind == HOME_GENERIC ? "true" : "false",
		       ti->h->secret ? "true" : "false");
		for (int c = 0, n = 0; c < ti->h->t->ncols; c++) {
			if (!ti->h->t->cols[c].withheld)
				continue;
			printf("%s", n++ ? ", " : "");
			jstr(ti->h->t->cols[c].name);
		}
		printf("]");
		if (r->rebuilt)
			printf(", \"rebuilt_identical\": %ld, \"rebuilt_lost\": %ld,"
			       " \"rebuilt_added\": %ld", ti->identical, ti->lost, ti->added);
		printf("}");
	}
	printf("], \"journal\": {\"installed\": %s, \"tree_recorded\": %s, \"files\": %ld,"
	       " \"followed\": %s, \"pending_changes\": %ld, \"oldest_pending_s\": %.3f,"
	       " \"events\": %ld},",
	       r->js.installed ? "true" : "false", r->js.seeded ? "true" : "false",
	       r->js.files, r->followed ? "true" : "false", r->js.pending, r->pending_age,
	       r->events);
	printf(" \"state\": [");
	for (int i = 0, first = 1; i < NSTATES; i++) {
		if (!r->state_applies[i])
			continue;
		printf("%s{\"what\": \"%s\", \"in_db\": %ld, \"survive\": ", first ? "" : ", ",
		       states[i].what, r->state_db[i]);
		if (r->rebuilt)
			printf("%ld}", r->state_kept[i]);
		else
			printf("null}");
		first = 0;
	}
	printf("], \"secrets\": {\"files\": %ld, \"files_ok\": %ld, \"folders\": %ld,"
	       " \"folders_ok\": %ld, \"database_mode\": \"%04o\"}}\n", r->secret_files,
	       r->secret_files_ok, r->secret_dirs, r->secret_dirs_ok, r->db_mode);
	buf_release(&b);
}

/* --- the command ------------------------------------------------------------- */

static void release(struct report *r)
{
	for (int i = 0; r->t && i < r->nt; i++)
		free(r->t[i].note);
	free(r->t);
	for (int i = 0; i < NCHECKS; i++)
		buf_release(&r->c[i].detail);
	if (r->have_vr)
		verify_report_release(&r->vr);
	buf_release(&r->rebuild_err);
	buf_release(&r->secret_bad);
	if (r->s) {
		layout_release(&r->l);
		store_close(r->s);
	}
}

static int usage(const char *msg)
{
	fprintf(stderr, "archivefs: report: %s\nusage: archivefs report DB [DIR] [--json]"
		" [--min SCORE]\n", msg);
	return EXIT_USAGE;
}

int report_command(int argc, char **argv)
{
	struct report r;
	struct buf err = BUF_INIT, ierr = BUF_INIT;
	struct stat st;
	int json = 0, rc, irc;
	long min = -1;

	memset(&r, 0, sizeof(r));
	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--json")) {
			json = 1;
		} else if (!strcmp(argv[i], "--min") && i + 1 < argc) {
			char *end;
			min = strtol(argv[++i], &end, 10);
			if (*end || end == argv[i] || min < 0 || min > 100)
				return usage("--min takes a score from 0 to 100");
		} else if (argv[i][0] == '-' && argv[i][1]) {
			fprintf(stderr, "archivefs: report: unknown option %s\n", argv[i]);
			return EXIT_USAGE;
		} else if (!r.db) {
			r.db = argv[i];
		} else if (!r.dir) {
			r.dir = argv[i];
		} else {
			return usage("too many arguments");
		}
	}
	if (!r.db)
		return usage("needs a database");
	for (int i = 0; i < NCHECKS; i++)
		buf_init(&r.c[i].detail);
	buf_init(&r.rebuild_err);
	buf_init(&r.secret_bad);
	if (stat(r.db, &st) < 0) {
		fprintf(stderr, "archivefs: report: %s: %s\n", r.db, strerror(errno));
		return EXIT_FAIL;
	}
	r.db_mode = st.st_mode & 07777;
	if (r.dir && (stat(r.dir, &st) < 0 || !S_ISDIR(st.st_mode))) {
		fprintf(stderr, "archivefs: report: %s: %s\n", r.dir,
			errno ? strerror(errno) : "not a folder");
		return EXIT_FAIL;
	}
	/* before any connection of ours is open: see journal_lock() */
	rc = journal_followed(r.db, &err);
	r.followed = rc > 0;
	if (rc >= 0)
		rc = store_open(r.db, STORE_RDONLY, &r.s, &err);
	if (!rc && (rc = layout_bind(&r.l, store_schema(r.s), &err))) {
		store_close(r.s);
		r.s = NULL;
	}
	if (!rc)
		rc = measure_tables(&r, &err);
	if (!rc)
		rc = measure_journal(&r, &err);
	if (!rc && r.dir) {
		rc = verify_run(r.s, &r.l, r.dir, &r.vr, &err);
		r.have_vr = 1;
		if (!rc)
			rc = measure_secrets(&r, &err);
		if (!rc)
			rc = measure_rebuild(&r, !json && isatty(2), &err);
	} else if (!rc) {
		measure_state(&r);
	}
	if (rc) {
		fprintf(stderr, "archivefs: report: %s: %s\n", r.db,
			err.len ? err.data : strerror(-rc));
		release(&r);
		buf_release(&err);
		return EXIT_FAIL;
	}
	irc = store_integrity(r.db, &ierr);
	score(&r, irc, &ierr);
	if (json)
		print_json(&r);
	else
		print_text(&r);
	rc = 0;
	if (min >= 0 && r.score < min) {
		fprintf(stderr, "archivefs: report: readiness %d is below --min %ld\n", r.score,
			min);
		rc = EXIT_FAIL;
	}
	release(&r);
	buf_release(&err);
	buf_release(&ierr);
	return rc;
}
