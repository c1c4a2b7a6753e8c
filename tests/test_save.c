/*
 * test_save.c - unit tests for save.c: a record file saved with new text.
 *
 * A small ThyWill database (the embedded schema, users, two prayers, a
 * mark) plus a table without a primary key. Each test renders a file,
 * edits its text the way a person would (replace a line, add or remove a
 * row's lines), saves it, and checks the rows in SQLite, not the text: a
 * save changes exactly the rows the edit names, and a refused save changes
 * nothing (the whole database's .dump-like content is compared).
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "archive.h"
#include "buf.h"
#include "layout.h"
#include "names.h"
#include "save.h"
#include "store.h"
#include "unit.h"

extern const char thywill_schema_sql[];

static char dbpath[4300];

#define PRAYER(id, date, flagged) \
	"INSERT INTO prayer(id, author_username, text, created_at, flagged," \
	" safety_score, safety_flags, categorization_method, specificity_type," \
	" specificity_confidence, subject_category) VALUES ('" id "', 'ann'," \
	" 'Pray for " id "', '" date "', " flagged ", 1.0, '[]', 'manual'," \
	" 'general', 0.5, 'other');"

static const char fixture_sql[] =
	"INSERT INTO user(display_name, created_at, welcome_message_dismissed,"
	" is_supporter) VALUES ('ann', '2024-01-10 09:00:00', 0, 0),"
	" ('bob', '2024-01-20 09:00:00', 0, 0);"
	PRAYER("p1", "2024-03-05 10:00:00", "0")
	PRAYER("p2", "2024-03-06 10:00:00", "0")
	"INSERT INTO prayermark(id, username, prayer_id, created_at)"
	" VALUES ('m1', 'bob', 'p1', '2024-03-07 10:00:00');"
	"CREATE TABLE note(body TEXT);"
	"INSERT INTO note(body) VALUES ('one'), ('two');";

#define P1 "prayers/2024/03/2024_03_05_prayer_p1.txt"

struct fx {
	struct store *s;
	struct layout l;
	struct buf err, text;
};

static void setup(void)
{
	struct store *s;
	struct buf err = BUF_INIT;

	unit_setup();
	snprintf(dbpath, sizeof(dbpath), "%s/db.sqlite", unit_tmpdir);
	ck_assert_int_eq(store_open(dbpath, STORE_RDWR | STORE_CREATE, &s, &err), 0);
	ck_assert_msg(store_exec(s, thywill_schema_sql, &err) == 0, "%s", err.data);
	ck_assert_msg(store_exec(s, fixture_sql, &err) == 0, "%s", err.data);
	store_close(s);
	buf_release(&err);
}

static void fx_open(struct fx *f)
{
	buf_init(&f->err);
	buf_init(&f->text);
	ck_assert_int_eq(store_open(dbpath, STORE_RDWR, &f->s, &f->err), 0);
	ck_assert_msg(layout_bind(&f->l, store_schema(f->s), &f->err) == 0, "%s",
		      f->err.data);
}

static void fx_close(struct fx *f)
{
	layout_release(&f->l);
	store_close(f->s);
	buf_release(&f->err);
	buf_release(&f->text);
}

/* f->text = the rendering of path. */
static void render(struct fx *f, const char *path)
{
	unsigned mode;
	ck_assert_msg(archive_render_file(f->s, &f->l, path, &f->text, &mode, &f->err) == 0,
		      "render %s: %s", path, f->err.data);
}

/* Replace the first `from` in f->text by `to`; it must be there. */
static void edit(struct fx *f, const char *from, const char *to)
{
	char *p = strstr(f->text.data, from);
	struct buf out = BUF_INIT;

	ck_assert_msg(p != NULL, "'%s' is not in the text:\n%s", from, f->text.data);
	buf_add(&out, f->text.data, (size_t)(p - f->text.data));
	buf_addstr(&out, to);
	buf_addstr(&out, p + strlen(from));
	buf_release(&f->text);
	f->text = out;
}

static int save(struct fx *f, const char *path, struct save_stats *st)
{
	buf_reset(&f->err);
	return save_file(f->s, &f->l, path, f->text.data, f->text.len, NULL, NULL, st,
			 &f->err);
}

/* One text value (or "NULL"/integer as text) of a query's first row. */
static void query1(struct fx *f, const char *sql, struct buf *out)
{
	struct store_stmt *st;
	struct value v;

	buf_reset(out);
	ck_assert_int_eq(store_prepare(f->s, sql, &st, &f->err), 0);
	ck_assert_int_eq(store_step(st, &f->err), 1);
	store_column(st, 0, &v);
	if (v.type == V_NULL)
		buf_addstr(out, "NULL");
	else if (v.type == V_INT)
		buf_addf(out, "%lld", (long long)v.i);
	else
		buf_add(out, v.s, v.n);
	store_finalize(st);
}

static void check_q(struct fx *f, const char *sql, const char *want)
{
	struct buf got = BUF_INIT;
	query1(f, sql, &got);
	ck_assert_msg(strcmp(got.data, want) == 0, "%s: got '%s', want '%s'", sql,
		      got.data, want);
	buf_release(&got);
}

/* Every column of every row of the tables a save can touch (and user),
 * with its storage class: for "nothing changed". */
static uint64_t content(struct fx *f)
{
	static const char *const tables[] = { "prayer", "prayermark", "note", "user" };
	struct buf all = BUF_INIT, sql = BUF_INIT;
	uint64_t h;

	for (size_t t = 0; t < sizeof(tables) / sizeof(tables[0]); t++) {
		struct store_stmt *st;
		int rc;

		buf_reset(&sql);
		buf_addf(&sql, "SELECT rowid, * FROM %s ORDER BY rowid", tables[t]);
		ck_assert_int_eq(store_prepare(f->s, sql.data, &st, &f->err), 0);
		while ((rc = store_step(st, &f->err)) == 1) {
			for (int c = 0; c < store_ncols(st); c++) {
				struct value v;
				store_column(st, c, &v);
				buf_addf(&all, "%d:", (int)v.type);
				if (v.type == V_INT)
					buf_addf(&all, "%lld", (long long)v.i);
				else if (v.type == V_REAL)
					buf_addf(&all, "%a", v.r);
				else if (v.type == V_TEXT || v.type == V_BLOB)
					buf_add(&all, v.s, v.n);
				buf_addch(&all, '\x1f');
			}
			buf_addch(&all, '\n');
		}
		ck_assert_int_eq(rc, 0);
		store_finalize(st);
	}
	h = names_hash(all.data, all.len);
	buf_release(&all);
	buf_release(&sql);
	return h;
}

/* A refused save: the errno, a message naming what, nothing changed. */
static void refused(struct fx *f, const char *path, int want_rc, const char *want_msg)
{
	struct save_stats st;
	uint64_t before = content(f);
	int rc = save(f, path, &st);

	ck_assert_msg(rc == want_rc, "save returned %d (%s), want %d", rc, f->err.data,
		      want_rc);
	ck_assert_msg(strstr(f->err.data, want_msg) != NULL, "message '%s' lacks '%s'",
		      f->err.data, want_msg);
	ck_assert_uint_eq(content(f), before);
	ck_assert_int_eq(st.inserted + st.updated + st.deleted, 0);
}

START_TEST(test_update_field)
{
	struct fx f;
	struct save_stats st;

	fx_open(&f);
	render(&f, P1);
	edit(&f, "flagged: 0", "flagged: 1");
	ck_assert_msg(save(&f, P1, &st) == 0, "%s", f.err.data);
	ck_assert_int_eq(st.updated, 1);
	ck_assert_int_eq(st.inserted + st.deleted, 0);
	check_q(&f, "SELECT flagged FROM prayer WHERE id = 'p1'", "1");
	check_q(&f, "SELECT flagged FROM prayer WHERE id = 'p2'", "0");
	/* Saving the same text again changes nothing. */
	ck_assert_msg(save(&f, P1, &st) == 0, "%s", f.err.data);
	ck_assert_int_eq(st.updated + st.inserted + st.deleted, 0);
	ck_assert_int_gt(st.unchanged, 0);
	fx_close(&f);
}
END_TEST

START_TEST(test_add_and_remove_a_mark)
{
	struct fx f;
	struct save_stats st;
	const char *added = "\n[prayermark]\nid: m2\nusername: ann\nprayer_id: p1\n"
			    "created_at: 2024-03-08 10:00:00\ntext_file_path: NULL\n";

	fx_open(&f);
	render(&f, P1);
	buf_addstr(&f.text, added);
	ck_assert_msg(save(&f, P1, &st) == 0, "%s", f.err.data);
	ck_assert_int_eq(st.inserted, 1);
	check_q(&f, "SELECT username || ' ' || created_at FROM prayermark WHERE id = 'm2'",
		"ann 2024-03-08 10:00:00");
	/* Remove the first mark's lines: that row is deleted, m2 stays. */
	render(&f, P1);
	edit(&f, "[prayermark]\nid: m1\n", "[prayermark]\nid: m2\n");
	{
		/* The text now has m2 twice: refused, at the second one. */
		refused(&f, P1, -EINVAL, "a second prayermark row with the same key");
	}
	render(&f, P1);
	{
		char *m1 = strstr(f.text.data, "[prayermark]\nid: m1\n");
		char *next = m1 ? strstr(m1 + 1, "[prayermark]") : NULL;
		struct buf out = BUF_INIT;
		ck_assert_ptr_nonnull(m1);
		buf_add(&out, f.text.data, (size_t)(m1 - f.text.data));
		if (next)
			buf_addstr(&out, next);
		buf_release(&f.text);
		f.text = out;
	}
	ck_assert_msg(save(&f, P1, &st) == 0, "%s", f.err.data);
	ck_assert_int_eq(st.deleted, 1);
	check_q(&f, "SELECT count(*) FROM prayermark WHERE id = 'm1'", "0");
	check_q(&f, "SELECT count(*) FROM prayermark WHERE id = 'm2'", "1");
	fx_close(&f);
}
END_TEST

START_TEST(test_refusals_change_nothing)
{
	struct fx f;

	fx_open(&f);
	render(&f, P1);
	edit(&f, "flagged: 0", "flagged 0");
	refused(&f, P1, -EINVAL, "line ");
	render(&f, P1);
	edit(&f, "flagged: 0", "flagged: 1\nno_such_column: 3");
	refused(&f, P1, -EINVAL, "has no column no_such_column");
	render(&f, P1);
	edit(&f, "flagged: 0", "flagged: \"1\"");   /* would read back as 1 */
	refused(&f, P1, -EINVAL, "prayer.flagged would read back as another value");
	render(&f, P1);
	edit(&f, "flagged: 0", "flagged: maybe");   /* BOOLEAN */
	refused(&f, P1, -EINVAL, "prayer.flagged is declared BOOLEAN: it takes 0 or 1");
	render(&f, P1);
	edit(&f, "flagged: 0", "flagged: 2");
	refused(&f, P1, -EINVAL, "it takes 0 or 1");
	render(&f, P1);
	edit(&f, "safety_score: 1.0", "safety_score: high");   /* REAL */
	refused(&f, P1, -EINVAL, "it takes a number");
	render(&f, P1);
	edit(&f, "text:\n| Pray for p1\n", "text: NULL\n");  /* NOT NULL */
	refused(&f, P1, -EINVAL, "NOT NULL");
	render(&f, P1);
	edit(&f, "created_at: 2024-03-05 10:00:00", "created_at: 2024-04-05 10:00:00");
	refused(&f, P1, -EINVAL, "would not be in this file");
	render(&f, P1);
	edit(&f, "[prayermark]", "[user]");
	refused(&f, P1, -EINVAL, "user rows do not belong in this file");
	render(&f, "README.txt");
	refused(&f, "README.txt", -EACCES, "cannot be written");
	fx_close(&f);
}
END_TEST

START_TEST(test_stale_base)
{
	struct fx f;
	struct save_stats st;
	uint64_t base;

	fx_open(&f);
	render(&f, P1);
	base = names_hash(f.text.data, f.text.len);
	/* Someone else changes the prayer after this rendering was read. */
	ck_assert_int_eq(store_exec(f.s, "UPDATE prayer SET flagged = 1 WHERE id = 'p1'",
				    &f.err), 0);
	edit(&f, "| Pray for p1\n", "| Pray for p1 and all\n");
	{
		uint64_t before = content(&f);
		int rc = save_file(f.s, &f.l, P1, f.text.data, f.text.len, &base, NULL, &st, &f.err);
		ck_assert_int_eq(rc, -ESTALE);
		ck_assert_uint_eq(content(&f), before);
	}
	/* Against the current rendering, it saves. */
	render(&f, P1);
	base = names_hash(f.text.data, f.text.len);
	edit(&f, "| Pray for p1\n", "| Pray for p1 and all\n");
	buf_reset(&f.err);
	ck_assert_msg(save_file(f.s, &f.l, P1, f.text.data, f.text.len, &base, NULL, &st,
				&f.err) == 0, "%s", f.err.data);
	check_q(&f, "SELECT text FROM prayer WHERE id = 'p1'", "Pray for p1 and all");
	fx_close(&f);
}
END_TEST

START_TEST(test_table_without_key)
{
	struct fx f;
	struct save_stats st;

	fx_open(&f);
	render(&f, "tables/note/2.txt");
	edit(&f, "body: two", "body: deux");
	ck_assert_msg(save(&f, "tables/note/2.txt", &st) == 0, "%s", f.err.data);
	check_q(&f, "SELECT body FROM note WHERE rowid = 2", "deux");
	check_q(&f, "SELECT body FROM note WHERE rowid = 1", "one");
	/* A new file: a new row. */
	buf_reset(&f.text);
	buf_addstr(&f.text, "[note]\n@rowid: 3\nbody: three\n");
	ck_assert_msg(save(&f, "tables/note/3.txt", &st) == 0, "%s", f.err.data);
	ck_assert_int_eq(st.inserted, 1);
	check_q(&f, "SELECT body FROM note WHERE rowid = 3", "three");
	/* Emptied: its row is deleted. */
	buf_reset(&f.text);
	ck_assert_msg(save(&f, "tables/note/3.txt", &st) == 0, "%s", f.err.data);
	ck_assert_int_eq(st.deleted, 1);
	check_q(&f, "SELECT count(*) FROM note", "2");
	fx_close(&f);
}
END_TEST


/* Delete the lines of the record starting "[prayermark]\nid: <id>\n". */
static void cut_mark(struct fx *f, const char *id, struct buf *cut)
{
	struct buf head = BUF_INIT, out = BUF_INIT;
	char *m, *next;

	buf_addf(&head, "[prayermark]\nid: %s\n", id);
	m = strstr(f->text.data, head.data);
	ck_assert_msg(m != NULL, "no mark %s in:\n%s", id, f->text.data);
	next = strstr(m + 1, "\n[");
	next = next ? next + 1 : f->text.data + f->text.len;
	if (cut) {
		buf_reset(cut);
		buf_add(cut, m, (size_t)(next - m));
	}
	buf_add(&out, f->text.data, (size_t)(m - f->text.data));
	buf_addstr(&out, next);
	buf_release(&f->text);
	f->text = out;
	buf_release(&head);
}

/*
 * A prayer with 20 marks: only the records an edit touches are compared
 * (save.c's changed region), so edits at the start, in the middle, at the
 * end, in two places at once, a record moved, and a key made to collide
 * with an untouched record must each change exactly the rows they name.
 */
START_TEST(test_edits_among_many_rows)
{
	struct fx f;
	struct save_stats st;
	struct buf sql = BUF_INIT, moved = BUF_INIT;

	fx_open(&f);
	for (int i = 1; i <= 20; i++) {
		buf_reset(&sql);
		buf_addf(&sql, "INSERT INTO prayermark(id, username, prayer_id, created_at)"
			 " VALUES ('k%02d', 'bob', 'p2', '2024-03-07 10:%02d:00')", i, i);
		ck_assert_int_eq(store_exec(f.s, sql.data, &f.err), 0);
	}
#define P2 "prayers/2024/03/2024_03_06_prayer_p2.txt"
	/* the middle */
	render(&f, P2);
	edit(&f, "id: k10\nusername: bob", "id: k10\nusername: ann");
	ck_assert_msg(save(&f, P2, &st) == 0, "%s", f.err.data);
	ck_assert_int_eq(st.updated, 1);
	ck_assert_int_eq(st.inserted + st.deleted, 0);
	ck_assert_int_eq(st.unchanged, 20);
	check_q(&f, "SELECT group_concat(id) FROM prayermark WHERE username = 'ann'", "k10");
	/* the title comment only: no row */
	render(&f, P2);
	edit(&f, "# ", "# edited: ");
	ck_assert_msg(save(&f, P2, &st) == 0, "%s", f.err.data);
	ck_assert_int_eq(st.updated + st.inserted + st.deleted, 0);
	/* the first and the last mark at once */
	render(&f, P2);
	edit(&f, "id: k01\nusername: bob", "id: k01\nusername: ann");
	edit(&f, "id: k20\nusername: bob", "id: k20\nusername: ann");
	ck_assert_msg(save(&f, P2, &st) == 0, "%s", f.err.data);
	ck_assert_int_eq(st.updated, 2);
	check_q(&f, "SELECT group_concat(id) FROM (SELECT id FROM prayermark"
		" WHERE username = 'ann' ORDER BY id)", "k01,k10,k20");
	/* removing the first and the last */
	render(&f, P2);
	cut_mark(&f, "k01", NULL);
	cut_mark(&f, "k20", NULL);
	ck_assert_msg(save(&f, P2, &st) == 0, "%s", f.err.data);
	ck_assert_int_eq(st.deleted, 2);
	ck_assert_int_eq(st.updated + st.inserted, 0);
	check_q(&f, "SELECT count(*) || min(id) || max(id) FROM prayermark"
		" WHERE prayer_id = 'p2'", "18k02k19");
	/* a record moved to the end: the same rows */
	render(&f, P2);
	{
		uint64_t before = content(&f);
		cut_mark(&f, "k05", &moved);
		buf_add(&f.text, moved.data, moved.len);
		ck_assert_msg(save(&f, P2, &st) == 0, "%s", f.err.data);
		ck_assert_int_eq(st.updated + st.inserted + st.deleted, 0);
		ck_assert_uint_eq(content(&f), before);
	}
	/* a key made equal to an untouched record's: refused */
	render(&f, P2);
	edit(&f, "id: k10\n", "id: k15\n");
	refused(&f, P2, -EINVAL, "a second prayermark row with the same key");
	/* a new mark between two */
	render(&f, P2);
	edit(&f, "[prayermark]\nid: k12\n", "[prayermark]\nid: k11b\nusername: ann\n"
	     "prayer_id: p2\ncreated_at: 2024-03-07 10:11:30\ntext_file_path: NULL\n\n"
	     "[prayermark]\nid: k12\n");
	ck_assert_msg(save(&f, P2, &st) == 0, "%s", f.err.data);
	ck_assert_int_eq(st.inserted, 1);
	ck_assert_int_eq(st.updated + st.deleted, 0);
	check_q(&f, "SELECT created_at FROM prayermark WHERE id = 'k11b'", "2024-03-07 10:11:30");
	buf_release(&sql);
	buf_release(&moved);
	fx_close(&f);
}
END_TEST

static Suite *save_suite(void)
{
	Suite *s = suite_create("save");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, unit_teardown);
	tcase_add_test(tc, test_update_field);
	tcase_add_test(tc, test_add_and_remove_a_mark);
	tcase_add_test(tc, test_refusals_change_nothing);
	tcase_add_test(tc, test_stale_base);
	tcase_add_test(tc, test_table_without_key);
	tcase_add_test(tc, test_edits_among_many_rows);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return unit_run(save_suite(), "test_save");
}
