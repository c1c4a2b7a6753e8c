/*
 * test_journal.c - unit tests for journal.c, the change journal.
 *
 * A small ThyWill database (the embedded schema, a few users, prayers and
 * marks) plus two generic tables (no primary key; composite WITHOUT ROWID
 * key). The journal is installed through one connection; the "application"
 * writes through a second one; journal_apply() on the first must report
 * exactly the files whose bytes changed, with the journal's times as
 * mtimes, and prune what it applied. Installing must not change the
 * exported tree by one byte.
 *
 * Every test gets its own temporary directory (mkdtemp), removed after the
 * test, and after the run even when the test failed.
 */
#include <check.h>
#include <errno.h>

#include "unit.h"
#include <stdint.h>
#include <stdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "archive.h"
#include "buf.h"
#include "events.h"
#include "format.h"
#include "journal.h"
#include "layout.h"
#include "names.h"
#include "store.h"
#include "tree.h"

extern const char thywill_schema_sql[];

/* --- the per-test temporary directory ------------------------------------ */

static char dbpath[4300];

static void setup(void)
{
	unit_setup();
	snprintf(dbpath, sizeof(dbpath), "%s/db.sqlite", unit_tmpdir);
}

/* --- fixture ----------------------------------------------------------------- */

#define PRAYER(id, date, flagged) \
	"INSERT INTO prayer(id, author_username, text, created_at, flagged," \
	" safety_score, safety_flags, categorization_method, specificity_type," \
	" specificity_confidence, subject_category) VALUES ('" id "', 'ann'," \
	" 'Pray for " id "', '" date "', " flagged ", 1.0, '[]', 'manual'," \
	" 'general', 0.5, 'other');"

#define USER(name, date) \
	"INSERT INTO user(display_name, created_at, welcome_message_dismissed," \
	" is_supporter) VALUES ('" name "', '" date "', 0, 0);"

static const char fixture_sql[] =
	USER("ann", "2024-01-10 09:00:00")
	USER("bob", "2024-01-20 09:00:00")
	USER("cyd", "2024-02-05 09:00:00")
	PRAYER("p1", "2024-03-05 10:00:00", "0")
	PRAYER("p2", "2024-03-06 10:00:00", "0")
	"INSERT INTO prayermark(id, username, prayer_id, created_at)"
	" VALUES ('m1', 'bob', 'p1', '2024-03-07 10:00:00');"
	"CREATE TABLE note(body TEXT);"
	"INSERT INTO note(body) VALUES ('one'), ('two');"
	"CREATE TABLE pref(usr TEXT, k TEXT, v, PRIMARY KEY (usr, k)) WITHOUT ROWID;"
	"INSERT INTO pref VALUES ('ann', 'theme', 'dark'), ('ann', 'lang', 'en'),"
	" ('bob', 'lang', 'fr');";

#define P1 "prayers/2024/03/2024_03_05_prayer_p1.txt"
#define P2 "prayers/2024/03/2024_03_06_prayer_p2.txt"
#define ORPHANS_MARK "prayers/orphans/prayermark_orphans.txt"
#define USERS_JAN "users/2024_01_users.txt"
#define USERS_FEB "users/2024_02_users.txt"
#define USERS_MAR "users/2024_03_users.txt"

struct fx {
	struct store *s;     /* archivefs' connection */
	struct store *app;   /* the application's */
	struct layout l;
	struct buf err;
};

static void fx_open(struct fx *f, int install)
{
	struct store *s;

	buf_init(&f->err);
	ck_assert_int_eq(store_open(dbpath, STORE_RDWR | STORE_CREATE, &s, &f->err), 0);
	ck_assert_msg(store_exec(s, thywill_schema_sql, &f->err) == 0, "%s", f->err.data);
	ck_assert_msg(store_exec(s, fixture_sql, &f->err) == 0, "%s", f->err.data);
	store_close(s);
	ck_assert_int_eq(store_open(dbpath, STORE_RDWR, &f->s, &f->err), 0);
	ck_assert_int_eq(store_open(dbpath, STORE_RDWR, &f->app, &f->err), 0);
	ck_assert_msg(layout_bind(&f->l, store_schema(f->s), &f->err) == 0, "%s", f->err.data);
	if (install) {
		ck_assert_msg(journal_install(f->s, &f->l, &f->err) == 0, "%s", f->err.data);
		ck_assert_msg(journal_seed(f->s, &f->l, NULL, &f->err) == 0, "%s", f->err.data);
	}
}

static void fx_close(struct fx *f)
{
	layout_release(&f->l);
	store_close(f->app);
	store_close(f->s);
	buf_release(&f->err);
}

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* --- collecting reports ------------------------------------------------------ */

struct report {
	char path[256];
	int64_t mtime;
	int exists;
};

struct reports {
	struct report r[64];
	int n;
	struct report ev[16];   /* history files (test_events checks them) */
	int nev;
};

static void on_changed(void *ctx, const char *path, int64_t mtime, int exists)
{
	struct reports *rs = ctx;

	if (strncmp(path, EVENTS_DIR "/", strlen(EVENTS_DIR) + 1) == 0) {
		ck_assert_int_lt(rs->nev, 16);
		snprintf(rs->ev[rs->nev].path, sizeof(rs->ev[rs->nev].path), "%s", path);
		rs->ev[rs->nev].mtime = mtime;
		rs->ev[rs->nev].exists = exists;
		rs->nev++;
		return;
	}

	ck_assert_int_lt(rs->n, 64);
	snprintf(rs->r[rs->n].path, sizeof(rs->r[rs->n].path), "%s", path);
	rs->r[rs->n].mtime = mtime;
	rs->r[rs->n].exists = exists;
	rs->n++;
}

/* The app runs sql; apply; the reports must be exactly want[] (sorted by
 * path, as journal_apply reports them), "path" or "-path" for gone. Every
 * mtime lies between the clock just before and just after the write
 * (the journal keeps milliseconds: the lower bound is cut to them). */
/* The record of a file (what the mount's stat answers from) matches the
 * file as rendered now: size, mode, and the expected mtime. */
static void check_info(struct fx *f, const char *path, int64_t want_mtime)
{
	struct buf out = BUF_INIT;
	struct journal_file jf;
	unsigned rmode;

	ck_assert_int_eq(journal_lookup(f->s, path, &jf, &f->err), 1);
	ck_assert_msg(archive_render_file(f->s, &f->l, path, &out, &rmode, &f->err) == 0,
		      "render %s: %s", path, f->err.data);
	ck_assert_msg(jf.size == (int64_t)out.len, "%s: recorded size %lld, rendered %zu",
		      path, (long long)jf.size, out.len);
	ck_assert_uint_eq(jf.mode, rmode);
	ck_assert_int_eq(jf.mtime_ns, want_mtime);
	buf_release(&out);
}

static void app_change(struct fx *f, const char *sql, const char *const *want,
		       int nwant, struct reports *rs)
{
	int64_t before, after;
	long applied = -1;

	memset(rs, 0, sizeof(*rs));
	before = now_ns() / 1000000 * 1000000;
	ck_assert_msg(store_exec(f->app, sql, &f->err) == 0, "%s", f->err.data);
	after = now_ns();
	ck_assert_msg(journal_apply(f->s, &f->l, on_changed, rs, &applied, &f->err) == 0,
		      "%s", f->err.data);
	ck_assert_int_gt(applied, 0);
	for (int i = 0; i < rs->n; i++)
		fprintf(stderr, "  reported %s%s\n", rs->r[i].exists ? "" : "-", rs->r[i].path);
	ck_assert_int_eq(rs->n, nwant);
	for (int i = 0; i < nwant; i++) {
		int gone = want[i][0] == '-';
		ck_assert_str_eq(rs->r[i].path, want[i] + gone);
		ck_assert_int_eq(rs->r[i].exists, !gone);
		ck_assert_int_ge(rs->r[i].mtime, before);
		ck_assert_int_le(rs->r[i].mtime, after);
		if (!gone) {
			int64_t m;
			ck_assert_int_eq(journal_file_mtime(f->s, rs->r[i].path, &m, &f->err), 0);
			ck_assert_int_eq(m, rs->r[i].mtime);
			check_info(f, rs->r[i].path, m);
		}
	}
}

static long count_rows(struct store *s, const char *sql)
{
	struct store_stmt *st;
	struct value v;
	struct buf err = BUF_INIT;
	long n = -1;

	ck_assert_msg(store_prepare(s, sql, &st, &err) == 0, "%s", err.data);
	ck_assert_int_eq(store_step(st, &err), 1);
	store_column(st, 0, &v);
	n = (long)v.i;
	store_finalize(st);
	buf_release(&err);
	return n;
}

/* --- tests ------------------------------------------------------------------- */

START_TEST(test_install_idempotent)
{
	struct fx f;
	int64_t at1, at2;
	long ntables;

	fx_open(&f, 0);
	ck_assert_int_eq(journal_installed(f.s), 0);
	ck_assert_msg(journal_install(f.s, &f.l, &f.err) == 0, "%s", f.err.data);
	ck_assert_int_eq(journal_installed(f.s), 1);
	ck_assert_int_eq(journal_installed_at(f.s, &at1, &f.err), 0);
	ck_assert_int_gt(at1, 0);
	ck_assert_msg(journal_install(f.s, &f.l, &f.err) == 0, "%s", f.err.data);
	ck_assert_int_eq(journal_installed_at(f.s, &at2, &f.err), 0);
	ck_assert_int_eq(at1, at2);
	ntables = f.l.nhomes;
	ck_assert_int_eq(count_rows(f.s, "SELECT count(*) FROM sqlite_schema"
				    " WHERE type = 'trigger' AND name GLOB 'archivefs_trg_*'"),
			 3 * ntables);
	ck_assert_int_eq(count_rows(f.s, "SELECT count(DISTINCT name) FROM sqlite_schema"
				    " WHERE type = 'trigger' AND name GLOB 'archivefs_trg_*'"),
			 3 * ntables);
	/* A dropped trigger comes back. */
	ck_assert_int_eq(store_exec(f.app, "DROP TRIGGER archivefs_trg_prayer_upd", &f.err), 0);
	ck_assert_msg(journal_install(f.s, &f.l, &f.err) == 0, "%s", f.err.data);
	ck_assert_int_eq(count_rows(f.s, "SELECT count(*) FROM sqlite_schema"
				    " WHERE name = 'archivefs_trg_prayer_upd'"), 1);
	fx_close(&f);
}
END_TEST

START_TEST(test_update_row_file)
{
	struct fx f;
	struct reports rs;
	static const char *const want[] = { P1 };
	int64_t at, m;
	long applied = -1;

	fx_open(&f, 1);
	ck_assert_int_eq(journal_installed_at(f.s, &at, &f.err), 0);
	app_change(&f, "UPDATE prayer SET flagged = 1 WHERE id = 'p1'", want, 1, &rs);
	ck_assert_int_eq(count_rows(f.s, "SELECT count(*) FROM archivefs_journal"), 0);
	/* Untouched files keep the install time. */
	ck_assert_int_eq(journal_file_mtime(f.s, P2, &m, &f.err), 0);
	ck_assert_int_eq(m, at);
	check_info(&f, P2, at);
	{
		struct journal_file jf;
		ck_assert_int_eq(journal_lookup(f.s, "no/such/file.txt", &jf, &f.err), 0);
	}
	ck_assert_int_eq(journal_file_mtime(f.s, "no/such/file.txt", &m, &f.err), 0);
	ck_assert_int_eq(m, at);
	/* Nothing new: nothing applied. */
	memset(&rs, 0, sizeof(rs));
	ck_assert_int_eq(journal_apply(f.s, &f.l, on_changed, &rs, &applied, &f.err), 0);
	ck_assert_int_eq(applied, 0);
	ck_assert_int_eq(rs.n, 0);
	fx_close(&f);
}
END_TEST

START_TEST(test_same_value_changes_nothing)
{
	struct fx f;
	struct reports rs;
	int64_t m1, m2, at;
	long applied = -1;

	fx_open(&f, 1);
	ck_assert_int_eq(journal_installed_at(f.s, &at, &f.err), 0);
	/* Never changed since install... */
	ck_assert_int_eq(store_exec(f.app, "UPDATE prayer SET flagged = flagged;"
				    " UPDATE user SET created_at = created_at", &f.err), 0);
	memset(&rs, 0, sizeof(rs));
	ck_assert_int_eq(journal_apply(f.s, &f.l, on_changed, &rs, &applied, &f.err), 0);
	ck_assert_int_eq(applied, 5);
	ck_assert_int_eq(rs.n, 0);
	ck_assert_int_eq(journal_file_mtime(f.s, P1, &m1, &f.err), 0);
	ck_assert_int_eq(m1, at);
	/* ... and after a real change. */
	{
		static const char *const want[] = { P1 };
		app_change(&f, "UPDATE prayer SET flagged = 1 WHERE id = 'p1'", want, 1, &rs);
	}
	ck_assert_int_eq(journal_file_mtime(f.s, P1, &m1, &f.err), 0);
	usleep(5000);
	ck_assert_int_eq(store_exec(f.app, "UPDATE prayer SET flagged = 1 WHERE id = 'p1'",
				    &f.err), 0);
	memset(&rs, 0, sizeof(rs));
	ck_assert_int_eq(journal_apply(f.s, &f.l, on_changed, &rs, &applied, &f.err), 0);
	ck_assert_int_eq(applied, 1);
	ck_assert_int_eq(rs.n, 0);
	ck_assert_int_eq(journal_file_mtime(f.s, P1, &m2, &f.err), 0);
	ck_assert_int_eq(m1, m2);
	fx_close(&f);
}
END_TEST

START_TEST(test_children)
{
	struct fx f;
	struct reports rs;

	fx_open(&f, 1);
	{
		static const char *const want[] = { P2 };
		app_change(&f, "INSERT INTO prayermark(id, username, prayer_id, created_at)"
			   " VALUES ('m2', 'cyd', 'p2', '2024-03-08 10:00:00')", want, 1, &rs);
	}
	{
		/* Moved to a missing prayer: out of p1's file, into the orphans. */
		static const char *const want[] = { P1, ORPHANS_MARK };
		app_change(&f, "UPDATE prayermark SET prayer_id = 'gone' WHERE id = 'm1'",
			   want, 2, &rs);
	}
	{
		/* The missing prayer appears: the orphan moves into its file. */
		static const char *const want[] = {
			"prayers/2024/03/2024_03_09_prayer_gone.txt", "-" ORPHANS_MARK };
		app_change(&f, PRAYER("gone", "2024-03-09 10:00:00", "0"), want, 2, &rs);
	}
	{
		/* Its prayer is deleted: the mark is an orphan again. */
		static const char *const want[] = {
			"-prayers/2024/03/2024_03_09_prayer_gone.txt", ORPHANS_MARK };
		app_change(&f, "DELETE FROM prayer WHERE id = 'gone'", want, 2, &rs);
	}
	{
		static const char *const want[] = { "-" ORPHANS_MARK };
		app_change(&f, "DELETE FROM prayermark WHERE id = 'm1'", want, 1, &rs);
	}
	fx_close(&f);
}
END_TEST

START_TEST(test_month_files)
{
	struct fx f;
	struct reports rs;

	fx_open(&f, 1);
	{
		static const char *const want[] = { USERS_JAN, USERS_MAR };
		app_change(&f, "UPDATE user SET created_at = '2024-03-01 00:00:00'"
			   " WHERE display_name = 'bob'", want, 2, &rs);
	}
	{
		static const char *const want[] = { "-" USERS_FEB };
		app_change(&f, "DELETE FROM user WHERE display_name = 'cyd'", want, 1, &rs);
	}
	{
		/* Several statements, one apply: the latest time wins. */
		static const char *const want[] = { USERS_FEB, USERS_MAR };
		app_change(&f, "INSERT INTO user(display_name, created_at,"
			   " welcome_message_dismissed, is_supporter)"
			   " VALUES ('dee', '2024-02-01 00:00:00', 0, 0);"
			   "UPDATE user SET is_supporter = 1 WHERE display_name = 'bob'",
			   want, 2, &rs);
		ck_assert_int_le(rs.r[0].mtime, rs.r[1].mtime);
	}
	fx_close(&f);
}
END_TEST

START_TEST(test_generic_tables)
{
	struct fx f;
	struct reports rs;

	fx_open(&f, 1);
	{
		static const char *const want[] = { "tables/note/2.txt" };
		app_change(&f, "UPDATE note SET body = 'deux' WHERE rowid = 2", want, 1, &rs);
	}
	{
		static const char *const want[] = { "-tables/note/1.txt", "tables/note/3.txt" };
		app_change(&f, "DELETE FROM note WHERE rowid = 1;"
			   "INSERT INTO note(rowid, body) VALUES (3, 'three')", want, 2, &rs);
	}
	{
		static const char *const want[] = { "tables/pref/ann.txt" };
		app_change(&f, "UPDATE pref SET v = 'light' WHERE usr = 'ann' AND k = 'theme'",
			   want, 1, &rs);
	}
	{
		static const char *const want[] = { "-tables/pref/bob.txt", "tables/pref/cyd.txt" };
		app_change(&f, "UPDATE pref SET usr = 'cyd' WHERE usr = 'bob'", want, 2, &rs);
	}
	fx_close(&f);
}
END_TEST

/* Hash of the whole tree, path and bytes of every file in walk order. */
static int hash_emit(void *ctx, const struct archive_file *af, struct buf *err)
{
	struct buf *all = ctx;
	(void)err;
	buf_addf(all, "%s\n%o\n%zu\n", af->path, af->mode, af->len);
	buf_add(all, af->data, af->len);
	return 0;
}

static uint64_t tree_hash(struct fx *f)
{
	struct buf all = BUF_INIT;
	uint64_t h;

	ck_assert_msg(archive_walk(f->s, &f->l, hash_emit, &all, &f->err) == 0, "%s",
		      f->err.data);
	h = names_hash(all.data, all.len);
	buf_release(&all);
	return h;
}

START_TEST(test_export_unchanged)
{
	struct fx f;
	struct store *s2;
	struct layout l2;
	uint64_t before, after;

	fx_open(&f, 0);
	before = tree_hash(&f);
	ck_assert_msg(journal_install(f.s, &f.l, &f.err) == 0, "%s", f.err.data);
	ck_assert_int_eq(store_exec(f.app, "UPDATE prayer SET flagged = flagged", &f.err), 0);
	after = tree_hash(&f);
	ck_assert_uint_eq(before, after);
	/* A fresh connection reads the schema with the objects installed. */
	ck_assert_int_eq(store_open(dbpath, STORE_RDONLY, &s2, &f.err), 0);
	ck_assert_int_eq(store_find_table(s2, "archivefs_journal") == NULL, 1);
	ck_assert_int_eq(layout_bind(&l2, store_schema(s2), &f.err), 0);
	ck_assert_int_eq(l2.nhomes, f.l.nhomes);
	{
		struct fx g = f;
		g.s = s2;
		g.l = l2;
		ck_assert_uint_eq(tree_hash(&g), before);
	}
	layout_release(&l2);
	store_close(s2);
	fx_close(&f);
}
END_TEST

static void fs_join_path(struct buf *out, const char *dir, const char *name)
{
	buf_reset(out);
	if (*dir)
		buf_addf(out, "%s/", dir);
	buf_addstr(out, name);
}

/* --- listings from the records ------------------------------------------ */

/* A listing as text: "d name\n" / "f name\n" lines, sorted by name. */
struct listing {
	struct buf lines[512];
	int n;
	int take;         /* journal_list: stop after this many (0: no limit) */
	char last[256];
	int last_type;
};

static int listing_add(struct listing *ls, const char *name, int type)
{
	ck_assert_int_lt(ls->n, 512);
	buf_init(&ls->lines[ls->n]);
	buf_addf(&ls->lines[ls->n], "%c %s\n", type == TREE_DIR ? 'd' : 'f', name);
	ls->n++;
	snprintf(ls->last, sizeof(ls->last), "%s", name);
	ls->last_type = type;
	return 0;
}

static int from_tree(void *ctx, const char *name, int type)
{
	return listing_add(ctx, name, type);
}

static int from_records(void *ctx, const char *name, int type,
			const struct journal_file *jf)
{
	struct listing *ls = ctx;

	if (ls->take && ls->n >= ls->take)
		return 1;   /* full: this entry is not taken */
	ck_assert_int_eq(type == TREE_FILE, jf != NULL);
	if (jf)
		ck_assert_int_ge(jf->size, 0);
	return listing_add(ls, name, type);
}

static int cmp_lines(const void *a, const void *b)
{
	return strcmp(((const struct buf *)a)->data, ((const struct buf *)b)->data);
}

static void listing_text(struct listing *ls, struct buf *out)
{
	qsort(ls->lines, (size_t)ls->n, sizeof(ls->lines[0]), cmp_lines);
	for (int i = 0; i < ls->n; i++) {
		buf_add(out, ls->lines[i].data, ls->lines[i].len);
		buf_release(&ls->lines[i]);
	}
	ls->n = 0;
}

/* Every folder under dir: journal_list (all at once, and paged one entry
 * per call) lists what tree_list lists; journal_lookup finds each entry
 * with its type. Returns the number of folders checked. */
static int check_listings(struct fx *f, const char *dir)
{
	static struct listing tl, jl, pl;
	struct buf want = BUF_INIT, got = BUF_INIT, paged = BUF_INIT, sub = BUF_INIT;
	struct buf names = BUF_INIT;
	int folders = 1;

	ck_assert_msg(tree_list(f->s, &f->l, dir, from_tree, &tl, &f->err) == 0,
		      "tree_list %s: %s", dir, f->err.data);
	/* the names of subfolders, before tl is sorted away */
	for (int i = 0; i < tl.n; i++)
		buf_add(&names, tl.lines[i].data, tl.lines[i].len);
	listing_text(&tl, &want);
	jl.take = 0;
	ck_assert_msg(journal_list(f->s, dir, NULL, 0, from_records, &jl, &f->err) == 0,
		      "journal_list %s: %s", dir, f->err.data);
	listing_text(&jl, &got);
	ck_assert_msg(strcmp(want.data, got.data) == 0, "folder '%s': tree lists\n%s"
		      "records list\n%s", dir, want.data, got.data);
	/* one entry per call, resuming after the last one taken */
	for (int calls = 0;; calls++) {
		int before = pl.n;
		ck_assert_int_lt(calls, 1000);
		pl.take = pl.n + 1;
		ck_assert_int_eq(journal_list(f->s, dir, before ? pl.last : NULL,
					      pl.last_type, from_records, &pl, &f->err), 0);
		if (pl.n == before)
			break;
	}
	listing_text(&pl, &paged);
	ck_assert_msg(strcmp(want.data, paged.data) == 0, "folder '%s' paged:\n%s",
		      dir, paged.data);
	/* recurse into subfolders; look every entry up */
	for (char *line = names.data; line && *line;) {
		char *nl = strchr(line, '\n');
		struct journal_file jf;
		*nl = '\0';
		fs_join_path(&sub, dir, line + 2);
		ck_assert_int_eq(journal_lookup(f->s, sub.data, &jf, &f->err),
				 line[0] == 'd' ? 2 : 1);
		if (line[0] == 'd')
			folders += check_listings(f, sub.data);
		line = nl + 1;
	}
	buf_release(&want);
	buf_release(&got);
	buf_release(&paged);
	buf_release(&sub);
	buf_release(&names);
	return folders;
}

START_TEST(test_list_matches_tree)
{
	struct fx f;
	struct reports rs;
	struct journal_file jf;

	fx_open(&f, 1);
	ck_assert_int_gt(check_listings(&f, ""), 5);
	ck_assert_int_eq(journal_list(f.s, "no/such", NULL, 0, from_records,
				      &(struct listing){ 0 }, &f.err), -ENOENT);
	ck_assert_int_eq(journal_lookup(f.s, "prayers/20", &jf, &f.err), 0);
	ck_assert_int_eq(journal_lookup(f.s, "tables/note/1.tx", &jf, &f.err), 0);
	/* After changes that add and remove files and folders. */
	{
		static const char *const want[] = { "-tables/note/1.txt", "tables/note/3.txt" };
		app_change(&f, "DELETE FROM note WHERE rowid = 1;"
			   "INSERT INTO note(rowid, body) VALUES (3, 'three')", want, 2, &rs);
	}
	ck_assert_int_gt(check_listings(&f, ""), 5);
	fx_close(&f);
}
END_TEST

/* A change committed after install but before the tree is recorded is
 * reported by the first apply, with its own time, though the records
 * (taken from a snapshot that already shows it) hold its bytes. */
START_TEST(test_seed_after_changes)
{
	struct fx f;
	struct reports rs = { 0 };
	struct journal_file jf;
	int64_t at, before, after;
	long applied = -1;

	fx_open(&f, 0);
	ck_assert_msg(journal_install(f.s, &f.l, &f.err) == 0, "%s", f.err.data);
	ck_assert_int_eq(journal_seeded(f.s, &f.err), 0);
	ck_assert_int_eq(journal_installed_at(f.s, &at, &f.err), 0);
	ck_assert_int_eq(count_rows(f.s, "SELECT count(*) FROM archivefs_file"), 0);
	before = now_ns() / 1000000 * 1000000;
	ck_assert_int_eq(store_exec(f.app, "UPDATE prayer SET flagged = 1 WHERE id = 'p1'",
				    &f.err), 0);
	after = now_ns();
	ck_assert_msg(journal_seed(f.s, &f.l, NULL, &f.err) == 0, "%s", f.err.data);
	ck_assert_int_eq(journal_seeded(f.s, &f.err), 1);
	ck_assert_int_gt(count_rows(f.s, "SELECT count(*) FROM archivefs_file"), 5);
	check_info(&f, P1, at);     /* recorded with the change, install time */
	ck_assert_msg(journal_apply(f.s, &f.l, on_changed, &rs, &applied, &f.err) == 0,
		      "%s", f.err.data);
	ck_assert_int_eq(rs.n, 1);
	ck_assert_str_eq(rs.r[0].path, P1);
	ck_assert_int_ge(rs.r[0].mtime, before);
	ck_assert_int_le(rs.r[0].mtime, after);
	check_info(&f, P1, rs.r[0].mtime);
	ck_assert_int_eq(journal_lookup(f.s, P2, &jf, &f.err), 1);
	ck_assert_int_eq(jf.mtime_ns, at);
	/* Seeding again changes nothing; a later no-op change reports nothing. */
	ck_assert_msg(journal_seed(f.s, &f.l, NULL, &f.err) == 0, "%s", f.err.data);
	memset(&rs, 0, sizeof(rs));
	ck_assert_int_eq(store_exec(f.app, "UPDATE prayer SET flagged = 1 WHERE id = 'p1'",
				    &f.err), 0);
	ck_assert_msg(journal_apply(f.s, &f.l, on_changed, &rs, &applied, &f.err) == 0,
		      "%s", f.err.data);
	ck_assert_int_gt(applied, 0);
	ck_assert_int_eq(rs.n, 0);
	fx_close(&f);
}
END_TEST

/* Seeding stopped (an unmount) is -ECANCELED and leaves the tree not
 * recorded; the next run completes it, with the same records as one run. */
START_TEST(test_seed_stopped_then_resumed)
{
	struct fx f;
	int stop = 1;
	long n;

	fx_open(&f, 0);
	ck_assert_msg(journal_install(f.s, &f.l, &f.err) == 0, "%s", f.err.data);
	ck_assert_int_eq(journal_seed(f.s, &f.l, &stop, &f.err), -ECANCELED);
	ck_assert_int_eq(journal_seeded(f.s, &f.err), 0);
	buf_reset(&f.err);
	ck_assert_msg(journal_seed(f.s, &f.l, NULL, &f.err) == 0, "%s", f.err.data);
	ck_assert_int_eq(journal_seeded(f.s, &f.err), 1);
	n = count_rows(f.s, "SELECT count(*) FROM archivefs_file");
	ck_assert_int_gt(n, 5);
	{
		int64_t at;
		ck_assert_int_eq(journal_installed_at(f.s, &at, &f.err), 0);
		check_info(&f, P1, at);
	}
	check_listings(&f, "");
	fx_close(&f);
}
END_TEST

/* --- history (events.c) ------------------------------------------------------ */

/* The one event file path of tbl reported by the last apply. */
static const char *event_report(const struct reports *rs, const char *tbl)
{
	size_t n = strlen(EVENTS_DIR) + 1 + strlen(tbl);

	for (int i = 0; i < rs->nev; i++)
		if (!strncmp(rs->ev[i].path, EVENTS_DIR "/", strlen(EVENTS_DIR) + 1) &&
		    !strncmp(rs->ev[i].path + strlen(EVENTS_DIR) + 1, tbl, strlen(tbl)) &&
		    !strncmp(rs->ev[i].path + n, "_events_", 8))
			return rs->ev[i].path;
	return NULL;
}

/* The fields of record `rec` (0-based) of a parsed event file, by name. */
static const struct fmt_field *field_of(const struct fmt_doc *d, size_t rec, const char *name)
{
	const struct fmt_record *r = &d->recs[rec];

	for (size_t i = r->first; i < r->first + r->nfields; i++)
		if (!strcmp(d->fields[i].name, name))
			return &d->fields[i];
	return NULL;
}

/* Every value a column can hold comes back from the history bit for bit:
 * rendered from the trigger's literals, parsed with the archive parser. */
START_TEST(test_events_exact_values)
{
	static const char *const vals[] = {
		"NULL", "0", "-9223372036854775808", "9223372036854775807", "0.1 + 0.2",
		"1e300", "-1.5e-7", "5e-324", "9e999", "''", "'it''s'", "x''",
		"x'00ff7f'", "CAST(x'61006200' AS TEXT)", "'two' || char(10) || 'lines'",
		"'  padded '", "'NULL'", "'12'", "char(13)", "'Miriam מרים'",
	};
	struct fx f;
	struct reports rs;
	struct buf sql = BUF_INIT, text = BUF_INIT, again = BUF_INIT, err = BUF_INIT;
	const char *path;
	unsigned mode;
	struct fmt_doc doc;
	struct fmt_error fe;
	char rpath[256];

	fx_open(&f, 1);
	ck_assert_int_eq(store_exec(f.app, "CREATE TABLE kv(k INTEGER PRIMARY KEY, v)", &f.err), 0);
	ck_assert_msg(journal_install(f.s, &f.l, &f.err) == 0, "%s", f.err.data);
	layout_release(&f.l);
	ck_assert_int_eq(store_reload_schema(f.s, &f.err), 0);
	ck_assert_int_eq(layout_bind(&f.l, store_schema(f.s), &f.err), 0);
	ck_assert_msg(journal_install(f.s, &f.l, &f.err) == 0, "%s", f.err.data);
	for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
		buf_reset(&sql);
		buf_addf(&sql, "INSERT INTO kv VALUES (%zu, %s);", i, vals[i]);
		ck_assert_msg(store_exec(f.app, sql.data, &f.err) == 0, "%s: %s", vals[i], f.err.data);
	}
	memset(&rs, 0, sizeof(rs));
	ck_assert_msg(journal_apply(f.s, &f.l, on_changed, &rs, &(long){ 0 }, &f.err) == 0,
		      "%s", f.err.data);
	path = event_report(&rs, "kv");
	ck_assert_msg(path != NULL, "no event file reported for kv");
	snprintf(rpath, sizeof(rpath), "%s", path);
	ck_assert_int_eq(rs.ev[0].exists, 1);
	ck_assert_msg(archive_render_file(f.s, &f.l, rpath, &text, &mode, &f.err) == 0,
		      "%s", f.err.data);
	ck_assert_uint_eq(mode, 0444);
	fmt_doc_init(&doc);
	ck_assert_msg(fmt_parse(text.data, text.len, &doc, &fe) == 0, "%d:%d: %s\n%s",
		      fe.line, fe.col, fe.msg, text.data);
	/* an [event] and a [new] per insert, in order, each [new] the row */
	ck_assert_int_eq(doc.nrecs, 2 * (sizeof(vals) / sizeof(vals[0])));
	for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
		const struct fmt_field *v = field_of(&doc, 2 * i + 1, "v");
		struct store_stmt *st;
		struct value want;

		ck_assert_str_eq(doc.recs[2 * i].table, "event");
		ck_assert_str_eq(doc.recs[2 * i + 1].table, "new");
		ck_assert_str_eq(field_of(&doc, 2 * i, "op")->val.s, "insert");
		ck_assert_int_eq(field_of(&doc, 2 * i, "k")->val.i, (int64_t)i);
		ck_assert_ptr_nonnull(v);
		buf_reset(&sql);
		buf_addf(&sql, "SELECT v FROM kv WHERE k = %zu", i);
		ck_assert_int_eq(store_prepare(f.s, sql.data, &st, &f.err), 0);
		ck_assert_int_eq(store_step(st, &f.err), 1);
		store_column(st, 0, &want);
		/* Valgrind computes SQLite's long double arithmetic in 64 bits
		 * (its manual: no 80-bit x87 support), so SQLite's own parse of
		 * the literal 1e300 is a few ulps off there (1.0000000000000005e300);
		 * everywhere else the comparison is exact. */
		if (!value_equal(&v->val, &want) && getenv("ARCHIVEFS_VALGRIND") &&
		    v->val.type == V_REAL && want.type == V_REAL &&
		    fabs(v->val.r - want.r) <= 1e-14 * fabs(want.r))
			fprintf(stderr, "note: value %zu (%s) is %.17g, SQLite stored %.17g under"
				" valgrind\n", i, vals[i], v->val.r, want.r);
		else
			ck_assert_msg(value_equal(&v->val, &want), "value %zu (%s) differs in the history"
				      " (%d %.17g, stored %d %.17g)", i, vals[i], v->val.type, v->val.r,
				      want.type, want.r);
		store_finalize(st);
	}
	fmt_doc_release(&doc);

	/* read back into a fresh database: the same bytes */
	{
		struct store *s2;
		char p2[4400];
		long n = 0;
		snprintf(p2, sizeof(p2), "%s/again.sqlite", unit_tmpdir);
		ck_assert_int_eq(store_open(p2, STORE_RDWR | STORE_CREATE, &s2, &err), 0);
		ck_assert_int_eq(store_begin(s2, 1, &err), 0);
		ck_assert_msg(events_import(s2, rpath, text.data, text.len, &n, &err) == 0,
			      "%s", err.data);
		ck_assert_int_eq(store_commit(s2, &err), 0);
		ck_assert_int_eq(n, (long)(sizeof(vals) / sizeof(vals[0])));
		ck_assert_msg(events_render(s2, &f.l, rpath, &again, &mode, &err) == 0, "%s", err.data);
		ck_assert_msg(again.len == text.len && !memcmp(again.data, text.data, text.len),
			      "imported history renders differently:\n%s\n---\n%s", text.data,
			      again.data);
		store_close(s2);
	}
	buf_release(&sql);
	buf_release(&text);
	buf_release(&again);
	buf_release(&err);
	fx_close(&f);
}
END_TEST

/* An update shows only the columns it changed, old and new; an UPDATE
 * that changes nothing leaves no event; a delete shows the old row. */
START_TEST(test_events_update_delete)
{
	struct fx f;
	struct reports rs;
	struct buf text = BUF_INIT;
	struct fmt_doc doc;
	struct fmt_error fe;
	const char *path;
	char rpath[256];

	fx_open(&f, 1);
	ck_assert_int_eq(store_exec(f.app, "UPDATE prayer SET flagged = flagged", &f.err), 0);
	memset(&rs, 0, sizeof(rs));
	ck_assert_int_eq(journal_apply(f.s, &f.l, on_changed, &rs, &(long){ 0 }, &f.err), 0);
	ck_assert_int_eq(rs.nev, 0);
	ck_assert_int_eq(events_any(f.s, &f.err), 0);

	ck_assert_int_eq(store_exec(f.app, "UPDATE prayer SET flagged = 1, text = 'x''y'"
				    " WHERE id = 'p1'; DELETE FROM note WHERE body = 'one';"
				    " UPDATE pref SET v = 'light' WHERE usr = 'ann' AND k = 'theme'",
				    &f.err), 0);
	memset(&rs, 0, sizeof(rs));
	ck_assert_int_eq(journal_apply(f.s, &f.l, on_changed, &rs, &(long){ 0 }, &f.err), 0);
	ck_assert_int_eq(rs.nev, 3);   /* note, pref, prayer: one file each */
	path = event_report(&rs, "prayer");
	ck_assert_ptr_nonnull(path);
	snprintf(rpath, sizeof(rpath), "%s", path);
	ck_assert_int_eq(archive_render_file(f.s, &f.l, rpath, &text, NULL, &f.err), 0);
	fmt_doc_init(&doc);
	ck_assert_int_eq(fmt_parse(text.data, text.len, &doc, &fe), 0);
	ck_assert_int_eq(doc.nrecs, 3);
	ck_assert_str_eq(field_of(&doc, 0, "op")->val.s, "update");
	ck_assert_str_eq(field_of(&doc, 0, "id")->val.s, "p1");
	ck_assert_int_eq(doc.recs[1].nfields, 2);     /* [old]: text, flagged */
	ck_assert_int_eq(field_of(&doc, 1, "flagged")->val.i, 0);
	ck_assert_str_eq(field_of(&doc, 1, "text")->val.s, "Pray for p1");
	ck_assert_int_eq(doc.recs[2].nfields, 2);     /* [new] */
	ck_assert_int_eq(field_of(&doc, 2, "flagged")->val.i, 1);
	ck_assert_str_eq(field_of(&doc, 2, "text")->val.s, "x'y");
	fmt_doc_release(&doc);

	path = event_report(&rs, "note");
	ck_assert_ptr_nonnull(path);
	snprintf(rpath, sizeof(rpath), "%s", path);
	ck_assert_int_eq(archive_render_file(f.s, &f.l, rpath, &text, NULL, &f.err), 0);
	fmt_doc_init(&doc);
	ck_assert_int_eq(fmt_parse(text.data, text.len, &doc, &fe), 0);
	ck_assert_int_eq(doc.nrecs, 2);
	ck_assert_str_eq(field_of(&doc, 0, "op")->val.s, "delete");
	ck_assert_int_eq(field_of(&doc, 0, "rowid")->val.i, 1);   /* no key: the rowid */
	ck_assert_str_eq(doc.recs[1].table, "old");
	ck_assert_str_eq(field_of(&doc, 1, "body")->val.s, "one");
	fmt_doc_release(&doc);

	path = event_report(&rs, "pref");   /* a two-column key */
	ck_assert_ptr_nonnull(path);
	snprintf(rpath, sizeof(rpath), "%s", path);
	ck_assert_int_eq(archive_render_file(f.s, &f.l, rpath, &text, NULL, &f.err), 0);
	fmt_doc_init(&doc);
	ck_assert_int_eq(fmt_parse(text.data, text.len, &doc, &fe), 0);
	ck_assert_str_eq(field_of(&doc, 0, "usr")->val.s, "ann");
	ck_assert_str_eq(field_of(&doc, 0, "k")->val.s, "theme");
	ck_assert_str_eq(field_of(&doc, 1, "v")->val.s, "dark");
	ck_assert_str_eq(field_of(&doc, 2, "v")->val.s, "light");
	fmt_doc_release(&doc);
	check_listings(&f, EVENTS_DIR);
	buf_release(&text);
	fx_close(&f);
}
END_TEST

/* Retention: events of months before the cutoff go, and their files are
 * reported gone; a month inside it stays; months 0 turns history off. */
START_TEST(test_events_retention)
{
	struct fx f;
	struct reports rs;
	struct buf p = BUF_INIT;
	int64_t now_ms = now_ns() / 1000000;
	int64_t old_ms = events_cutoff(now_ms, 3) - 1;   /* the day before the cutoff */
	char sql[512];

	fx_open(&f, 1);
	ck_assert_int_eq(store_exec(f.app, "UPDATE prayer SET flagged = 1 WHERE id = 'p1';"
				    " UPDATE prayer SET flagged = 1 WHERE id = 'p2'", &f.err), 0);
	ck_assert_int_eq(journal_apply(f.s, &f.l, NULL, NULL, &(long){ 0 }, &f.err), 0);
	/* age the first event to just before the cutoff of a 3-month policy */
	snprintf(sql, sizeof(sql), "UPDATE archivefs_event SET ts = %lld WHERE seq = 1;"
		 " INSERT OR REPLACE INTO archivefs_state VALUES ('event_months', 3)",
		 (long long)old_ms);
	ck_assert_int_eq(store_exec(f.s, sql, &f.err), 0);
	ck_assert_int_eq(journal_rescan(f.s, &f.l, NULL, NULL, NULL, &f.err), 0);
	events_path(&p, "prayer", old_ms);
	ck_assert_int_eq(journal_lookup(f.s, p.data, &(struct journal_file){ 0 }, &f.err), 1);

	ck_assert_int_eq(store_exec(f.app, "UPDATE prayer SET flagged = 0 WHERE id = 'p1'",
				    &f.err), 0);
	memset(&rs, 0, sizeof(rs));
	ck_assert_int_eq(journal_apply(f.s, &f.l, on_changed, &rs, &(long){ 0 }, &f.err), 0);
	ck_assert_int_eq(rs.nev, 2);
	{
		int gone = 0, kept = 0;
		for (int i = 0; i < rs.nev; i++) {
			if (!strcmp(rs.ev[i].path, p.data))
				gone = !rs.ev[i].exists;
			else
				kept = rs.ev[i].exists;
		}
		ck_assert_msg(gone, "the aged month was not reported gone");
		ck_assert_msg(kept, "this month's file was not reported");
	}
	ck_assert_int_eq(journal_lookup(f.s, p.data, &(struct journal_file){ 0 }, &f.err), 0);
	ck_assert_int_eq(count_rows(f.s, "SELECT count(*) FROM archivefs_event"), 2);

	/* off: the triggers record no more events */
	ck_assert_int_eq(store_exec(f.s, "INSERT OR REPLACE INTO archivefs_state"
				    " VALUES ('event_months', 0)", &f.err), 0);
	ck_assert_int_eq(journal_install(f.s, &f.l, &f.err), 0);
	ck_assert_int_eq(store_exec(f.app, "UPDATE prayer SET flagged = 1 WHERE id = 'p1'",
				    &f.err), 0);
	ck_assert_int_eq(count_rows(f.s, "SELECT count(*) FROM archivefs_event"), 2);
	buf_release(&p);
	fx_close(&f);
}
END_TEST

static Suite *journal_suite(void)
{
	Suite *s = suite_create("journal");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, unit_teardown);
	tcase_add_test(tc, test_install_idempotent);
	tcase_add_test(tc, test_update_row_file);
	tcase_add_test(tc, test_same_value_changes_nothing);
	tcase_add_test(tc, test_children);
	tcase_add_test(tc, test_month_files);
	tcase_add_test(tc, test_generic_tables);
	tcase_add_test(tc, test_export_unchanged);
	tcase_add_test(tc, test_list_matches_tree);
	tcase_add_test(tc, test_seed_after_changes);
	tcase_add_test(tc, test_seed_stopped_then_resumed);
	tcase_add_test(tc, test_events_exact_values);
	tcase_add_test(tc, test_events_update_delete);
	tcase_add_test(tc, test_events_retention);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return unit_run(journal_suite(), "journal");
}
