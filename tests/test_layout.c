/*
 * test_layout.c - unit tests for layout.c: where every row lives.
 *
 * Binds the descriptor table against the real ThyWill schema (the copy
 * the build embeds from backend/thywill-schema.sql) in a temporary
 * database and checks every home: kind, folder, parent and children in
 * descriptor order, body columns, secret modes. Then the soft fallbacks to
 * the generic home (unknown table, missing or generated descriptor column,
 * generic or missing parent, no single-column key). Then the exact path of
 * rows of every kind of home, including hostile keys and dates; that
 * layout_classify() is the inverse of layout_row_path() and
 * layout_orphans_path() and refuses near misses; and, on thousands of
 * random keys, that no path can escape its folder, hide, or exceed the
 * 255-byte component limit.
 *
 * Every test gets its own temporary directory (mkdtemp), removed after the
 * test, and after the run even when the test failed.
 */
#include <check.h>

#include "unit.h"
#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "buf.h"
#include "format.h"
#include "layout.h"
#include "names.h"
#include "store.h"
#include "value.h"

extern const char thywill_schema_sql[];

#define T(str) ((struct value){ .type = V_TEXT, .s = (str), .n = sizeof(str) - 1 })
#define I(x) ((struct value){ .type = V_INT, .i = (x) })
#define R(x) ((struct value){ .type = V_REAL, .r = (x) })
#define B(str) ((struct value){ .type = V_BLOB, .s = (str), .n = sizeof(str) - 1 })
#define NUL_V ((struct value){ .type = V_NULL })

#define MAXCOLS 64

/*
 * ck_assert_msg() reports every passing check to the parent process (a
 * pipe write under CK_FORK), far too slow for the fuzz: CHECK() only calls
 * into Check when the condition fails.
 */
#define CHECK(expr, ...) do { \
	if (!(expr)) \
		ck_abort_msg(__VA_ARGS__); \
} while (0)

/* --- helpers for readable failure messages ------------------------------- */

static const char *kind_name(enum home_kind k)
{
	switch (k) {
	case HOME_ROW: return "HOME_ROW";
	case HOME_MONTH: return "HOME_MONTH";
	case HOME_SINGLE: return "HOME_SINGLE";
	case HOME_CHILD: return "HOME_CHILD";
	case HOME_GENERIC: return "HOME_GENERIC";
	}
	return "?";
}

static const char *path_kind_name(enum path_kind k)
{
	switch (k) {
	case PATH_NONE: return "PATH_NONE";
	case PATH_CANONICAL: return "PATH_CANONICAL";
	case PATH_ORPHANS: return "PATH_ORPHANS";
	case PATH_SCHEMA: return "PATH_SCHEMA";
	case PATH_DERIVED: return "PATH_DERIVED";
	case PATH_EVENTS: return "PATH_EVENTS";
	}
	return "?";
}

static const char *home_name(const struct home *h)
{
	return h ? h->t->name : "(none)";
}

/* --- a database and its layout ---------------------------------------------- */

struct fix {
	struct store *s;
	struct layout l;
	int bound;
};

/* Open a new database in unit_tmpdir, run `sql` (may be NULL) then `extra`
 * (may be NULL), bind the layout. */
static void fix_open(struct fix *f, const char *sql, const char *extra)
{
	struct buf err = BUF_INIT, path = BUF_INIT;
	int rc;

	memset(f, 0, sizeof(*f));
	buf_addf(&path, "%s/db.sqlite", unit_tmpdir);
	rc = store_open(path.data, STORE_RDWR | STORE_CREATE, &f->s, &err);
	ck_assert_msg(rc == 0, "store_open: %d: %s", rc, err.data);
	if (sql) {
		rc = store_exec(f->s, sql, &err);
		ck_assert_msg(rc == 0, "schema: %d: %s", rc, err.data);
	}
	if (extra) {
		rc = store_exec(f->s, extra, &err);
		ck_assert_msg(rc == 0, "extra SQL \"%s\": %d: %s", shows(extra), rc,
			      err.data);
	}
	rc = store_reload_schema(f->s, &err);
	ck_assert_msg(rc == 0, "reload: %d: %s", rc, err.data);
	rc = layout_bind(&f->l, store_schema(f->s), &err);
	ck_assert_msg(rc == 0, "layout_bind: %d: %s", rc, err.data);
	f->bound = 1;
	buf_release(&err);
	buf_release(&path);
}

static void fix_close(struct fix *f)
{
	if (f->bound)
		layout_release(&f->l);
	store_close(f->s);
	memset(f, 0, sizeof(*f));
}

static struct home *home_of(const struct fix *f, const char *table)
{
	struct home *h = layout_home(&f->l, table);

	ck_assert_msg(h != NULL, "no home for table \"%s\"", shows(table));
	ck_assert_msg(strcmp(h->t->name, table) == 0, "layout_home(%s) is %s",
		      table, h->t->name);
	return h;
}

static int col_of(const struct home *h, const char *col)
{
	for (int i = 0; i < h->t->ncols; i++)
		if (strcmp(h->t->cols[i].name, col) == 0)
			return i;
	ck_abort_msg("table %s has no column %s", h->t->name, col);
	return -1;
}

static const char *col_name(const struct home *h, int c)
{
	return c < 0 ? "(none)" : h->t->cols[c].name;
}

/* A row of h with every column NULL. */
static void row_clear(const struct home *h, struct value *vals)
{
	CHECK(h->t->ncols <= MAXCOLS, "%s: %d columns", h->t->name, h->t->ncols);
	for (int i = 0; i < MAXCOLS; i++)
		vals[i] = NUL_V;
}

static void row_set(const struct home *h, struct value *vals, const char *col,
		    struct value v)
{
	vals[col_of(h, col)] = v;
}

/* --- path checks --------------------------------------------------------------- */

/* Every path archivefs writes: relative, normalised, no hidden or
 * over-long component, only the bytes names.c and the layout use. */
static void check_path_safe(const char *p, size_t len, const char *what)
{
	size_t i, start = 0;

	CHECK(len > 0, "%s: empty path", what);
	CHECK(strlen(p) == len, "%s: NUL byte in \"%s\"", what, show(p, len));
	CHECK(p[0] != '/' && p[len - 1] != '/',
		      "%s: \"%s\" starts or ends with '/'", what, show(p, len));
	CHECK(!strstr(p, "//") && !strstr(p, "/./") && !strstr(p, "/../"),
		      "%s: \"%s\" has //, /./ or /../", what, show(p, len));
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)p[i];

		CHECK((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
			      (c >= '0' && c <= '9') || strchr("_.%,-~/", c),
			      "%s: byte 0x%02x at %zu in \"%s\"", what, c, i,
			      show(p, len));
	}
	for (i = 0; i <= len; i++) {
		if (i < len && p[i] != '/')
			continue;
		CHECK(i > start, "%s: empty component in \"%s\"", what,
			      show(p, len));
		CHECK(p[start] != '.',
			      "%s: component starting with '.' in \"%s\"", what,
			      show(p, len));
		CHECK(i - start <= 255,
			      "%s: component of %zu bytes in \"%s\"", what, i - start,
			      show(p, len));
		start = i + 1;
	}
}

static void expect_classify(const struct layout *l, const char *path,
			    enum path_kind want, const struct home *want_home,
			    const char *what)
{
	struct home *h = (struct home *)l;   /* must be overwritten */
	enum path_kind k = layout_classify(l, path, &h);

	CHECK(k == want && h == want_home,
		      "%s: layout_classify(\"%s\") = %s, home %s; want %s, home %s",
		      what, shows(path), path_kind_name(k),
		      h == (struct home *)l ? "(not set)" : home_name(h),
		      path_kind_name(want), home_name(want_home));
}

/* The path of a row of h, checked safe and classified back to h. */
static void row_path(const struct layout *l, const struct home *h,
		     const struct value *vals, int64_t rowid, struct buf *out)
{
	buf_reset(out);
	layout_row_path(h, vals, rowid, out);
	check_path_safe(out->data, out->len, h->t->name);
	expect_classify(l, out->data, PATH_CANONICAL, h, "inverse of layout_row_path");
}

#define EXPECT_PATH(l, h, vals, rowid, want) \
	expect_path((l), (h), (vals), (rowid), (want), __LINE__)

static void expect_path(const struct layout *l, const struct home *h,
			const struct value *vals, int64_t rowid, const char *want,
			int line)
{
	struct buf p = BUF_INIT;

	row_path(l, h, vals, rowid, &p);
	ck_assert_msg(strcmp(p.data, want) == 0,
		      "line %d: %s row path \"%s\", want \"%s\"", line, h->t->name,
		      show(p.data, p.len), shows(want));
	buf_release(&p);
}

/* --- binding the ThyWill schema --------------------------------------------- */

struct want_home {
	const char *table;
	enum home_kind kind;
	const char *folder;
	const char *date_col, *order_col, *fk_col, *parent;
	const char *bodies[3];
	int secret;
	const char *children[5];
};

static const struct want_home thywill[] = {
	{ "user", HOME_MONTH, "users", "created_at", NULL, NULL, NULL,
	  { NULL }, 0, { NULL } },
	{ "prayer", HOME_ROW, "prayers", "created_at", NULL, NULL, NULL,
	  { "text", "generated_prayer", NULL }, 0,
	  { "prayer_attributes", "prayermark", "prayerskip", "prayer_activity_log", NULL } },
	{ "prayerskip", HOME_CHILD, "prayers", NULL, "created_at", "prayer_id", "prayer",
	  { NULL }, 0, { NULL } },
	{ "authenticationrequest", HOME_MONTH, "auth", "created_at", NULL, NULL, NULL,
	  { NULL }, 1, { "authapproval", NULL } },
	{ "authapproval", HOME_CHILD, "auth", NULL, "created_at", "auth_request_id",
	  "authenticationrequest", { NULL }, 1, { NULL } },
	{ "authauditlog", HOME_MONTH, "auth", "created_at", NULL, NULL, NULL,
	  { "details", NULL }, 0, { NULL } },
	{ "securitylog", HOME_MONTH, "auth", "created_at", NULL, NULL, NULL,
	  { "details", NULL }, 0, { NULL } },
	{ "session", HOME_MONTH, "sessions", "created_at", NULL, NULL, NULL,
	  { NULL }, 1, { NULL } },
	{ "invitetoken", HOME_SINGLE, "invites", NULL, "expires_at", NULL, NULL,
	  { NULL }, 1, { NULL } },
	{ "changelogentry", HOME_SINGLE, "system", NULL, "commit_date", NULL, NULL,
	  { "original_message", "friendly_description", NULL }, 0, { NULL } },
	{ "role", HOME_SINGLE, "roles", NULL, "created_at", NULL, NULL,
	  { NULL }, 0, { NULL } },
	{ "prayer_attributes", HOME_CHILD, "prayers", NULL, "created_at", "prayer_id",
	  "prayer", { NULL }, 0, { NULL } },
	{ "prayermark", HOME_CHILD, "prayers", NULL, "created_at", "prayer_id", "prayer",
	  { NULL }, 0, { NULL } },
	{ "notification_state", HOME_MONTH, "auth/notifications", "created_at", NULL,
	  NULL, NULL, { NULL }, 0, { NULL } },
	{ "prayer_activity_log", HOME_CHILD, "prayers", NULL, "created_at", "prayer_id",
	  "prayer", { NULL }, 0, { NULL } },
	{ "invite_token_usage", HOME_MONTH, "invites", "claimed_at", NULL, NULL, NULL,
	  { NULL }, 1, { NULL } },
	{ "user_roles", HOME_MONTH, "roles", "granted_at", NULL, NULL, NULL,
	  { NULL }, 0, { NULL } },
	{ "schema_migrations", HOME_SINGLE, "system", NULL, "applied_at", NULL, NULL,
	  { NULL }, 0, { NULL } },
	{ "membership_application", HOME_MONTH, "membership", "created_at", NULL, NULL,
	  NULL, { "essay", NULL }, 0, { NULL } },
};
#define NTHYWILL ((int)(sizeof(thywill) / sizeof(thywill[0])))

static const struct want_home *want_of(const char *table)
{
	for (int i = 0; i < NTHYWILL; i++)
		if (strcmp(thywill[i].table, table) == 0)
			return &thywill[i];
	return NULL;
}

static void check_col(const struct home *h, const char *what, int got,
		      const char *want)
{
	if (!want)
		ck_assert_msg(got == -1, "%s: %s column %d (%s), want none",
			      h->t->name, what, got, col_name(h, got));
	else
		ck_assert_msg(got >= 0 && strcmp(h->t->cols[got].name, want) == 0,
			      "%s: %s column %d (%s), want %s", h->t->name, what,
			      got, got >= 0 ? col_name(h, got) : "(none)", want);
}

static int in_list(const char *const *list, const char *s)
{
	for (; *list; list++)
		if (strcmp(*list, s) == 0)
			return 1;
	return 0;
}

/* Check home h against its ThyWill expectations w. */
static void check_home(const struct fix *f, const struct home *h,
		       const struct want_home *w)
{
	int nd, nkids = 0;
	const struct descriptor *d = layout_descriptors(&nd);

	ck_assert_msg(h->kind == w->kind, "%s: kind %s, want %s", w->table,
		      kind_name(h->kind), kind_name(w->kind));
	ck_assert_msg(h->d != NULL && strcmp(h->d->table, w->table) == 0 &&
		      h->d >= d && h->d < d + nd,
		      "%s: descriptor is %s", w->table, h->d ? h->d->table : "NULL");
	ck_assert_msg(strcmp(h->folder, w->folder) == 0, "%s: folder \"%s\", want \"%s\"",
		      w->table, h->folder, w->folder);
	check_col(h, "date", h->date_col, w->date_col);
	check_col(h, "order", h->order_col, w->order_col);
	check_col(h, "fk", h->fk_col, w->fk_col);
	if (w->parent)
		ck_assert_msg(h->parent && h->parent == layout_home(&f->l, w->parent),
			      "%s: parent %s, want %s", w->table,
			      home_name(h->parent), w->parent);
	else
		ck_assert_msg(h->parent == NULL, "%s: parent %s, want none", w->table,
			      home_name(h->parent));
	for (int c = 0; c < h->t->ncols; c++) {
		int want = in_list(w->bodies, h->t->cols[c].name) ? FMT_BODY : 0;

		ck_assert_msg(h->body[c] == want, "%s.%s: body flag %d, want %d",
			      w->table, h->t->cols[c].name, h->body[c], want);
	}
	ck_assert_msg(h->secret == w->secret, "%s: secret %d, want %d", w->table,
		      h->secret, w->secret);
	ck_assert_msg(layout_file_mode(h) == (w->secret ? 0600u : 0644u),
		      "%s: file mode %o", w->table, layout_file_mode(h));
	ck_assert_msg(layout_dir_mode(h) == (w->secret ? 0700u : 0755u),
		      "%s: dir mode %o", w->table, layout_dir_mode(h));
	while (w->children[nkids])
		nkids++;
	ck_assert_msg(h->nchildren == nkids, "%s: %d children, want %d", w->table,
		      h->nchildren, nkids);
	for (int c = 0; c < nkids; c++)
		ck_assert_msg(strcmp(h->children[c]->t->name, w->children[c]) == 0 &&
			      h->children[c]->parent == h,
			      "%s: child %d is %s (parent %s), want %s", w->table, c,
			      h->children[c]->t->name,
			      home_name(h->children[c]->parent), w->children[c]);
}

static void check_generic(const struct fix *f, const char *table,
			  const char *folder)
{
	const struct home *h = home_of(f, table);

	ck_assert_msg(h->kind == HOME_GENERIC, "%s: kind %s, want HOME_GENERIC",
		      shows(table), kind_name(h->kind));
	ck_assert_msg(strcmp(h->folder, folder) == 0, "%s: folder \"%s\", want \"%s\"",
		      shows(table), shows(h->folder), shows(folder));
	ck_assert_msg(h->d == NULL && h->parent == NULL && h->nchildren == 0 &&
		      h->date_col == -1 && h->order_col == -1 && h->fk_col == -1 &&
		      h->secret == 0,
		      "%s: generic home with d %p, parent %s, %d children, cols %d/%d/%d,"
		      " secret %d", shows(table), (const void *)h->d,
		      home_name(h->parent), h->nchildren, h->date_col, h->order_col,
		      h->fk_col, h->secret);
	for (int c = 0; c < h->t->ncols; c++)
		ck_assert_msg(h->body[c] == 0, "%s.%s: body flag on a generic home",
			      shows(table), h->t->cols[c].name);
	ck_assert_int_eq(layout_file_mode(h), 0644);
	ck_assert_int_eq(layout_dir_mode(h), 0755);
}

START_TEST(test_bind_thywill)
{
	struct fix f;
	int nd;
	const struct descriptor *d = layout_descriptors(&nd);

	fix_open(&f, thywill_schema_sql, NULL);
	ck_assert_msg(f.l.schema == store_schema(f.s), "layout does not point at the schema");
	ck_assert_msg(f.l.nhomes == 19, "%d homes, want 19", f.l.nhomes);
	ck_assert_msg(nd == 19, "%d descriptors, want 19", nd);
	for (int i = 0; i < f.l.nhomes; i++) {
		const struct home *h = &f.l.homes[i];
		const struct want_home *w = want_of(h->t->name);

		ck_assert_msg(h->t == &store_schema(f.s)->tables[i],
			      "home %d is not table %d of the schema", i, i);
		ck_assert_msg(w != NULL, "unexpected table %s", h->t->name);
		ck_assert_msg(h->kind != HOME_GENERIC, "%s is generic", h->t->name);
		check_home(&f, h, w);
	}
	for (int i = 0; i < nd; i++)
		ck_assert_msg(layout_home(&f.l, d[i].table) != NULL,
			      "descriptor %s has no table", d[i].table);
	ck_assert(layout_home(&f.l, "nope") == NULL);
	fix_close(&f);
}
END_TEST

START_TEST(test_bind_empty)
{
	struct fix f;

	fix_open(&f, NULL, NULL);
	ck_assert_int_eq(f.l.nhomes, 0);
	ck_assert(layout_home(&f.l, "prayer") == NULL);
	expect_classify(&f.l, "README.txt", PATH_DERIVED, NULL, "empty layout");
	expect_classify(&f.l, "system/schema.txt", PATH_SCHEMA, NULL, "empty layout");
	expect_classify(&f.l, "prayers/undated/prayer_a.txt", PATH_NONE, NULL, "empty layout");
	fix_close(&f);
}
END_TEST

START_TEST(test_bind_unknown)
{
	struct fix f;

	fix_open(&f, thywill_schema_sql,
		 "CREATE TABLE gizmo(id TEXT PRIMARY KEY, created_at, text);"
		 "CREATE TABLE \"my table/../x\"(a);"
		 "CREATE TABLE \".hidden\"(a INTEGER PRIMARY KEY);"
		 "CREATE TABLE \"..\"(a);"
		 "CREATE TABLE \"42\"(a);"
		 "CREATE TABLE \"\"(a);"
		 "CREATE TABLE \"ta\tb\xc3\xa9\"(a);");
	ck_assert_int_eq(f.l.nhomes, 26);
	check_generic(&f, "gizmo", "tables/gizmo");
	check_generic(&f, "my table/../x", "tables/my%20table%2F..%2Fx");
	check_generic(&f, ".hidden", "tables/%2Ehidden");
	check_generic(&f, "..", "tables/%2E.");
	check_generic(&f, "42", "tables/42");
	check_generic(&f, "", "tables/%");
	check_generic(&f, "ta\tb\xc3\xa9", "tables/ta%09b%C3%A9");
	/* the ThyWill homes are untouched */
	for (int i = 0; i < NTHYWILL; i++)
		check_home(&f, home_of(&f, thywill[i].table), &thywill[i]);
	fix_close(&f);
}
END_TEST

/* ThyWill with one ALTER: which homes turn generic, and the rest intact. */
struct fallback_case {
	const char *sql;
	const char *generic[6];   /* tables now generic */
};

static const struct fallback_case fallbacks[] = {
	/* a missing date column */
	{ "ALTER TABLE user DROP COLUMN created_at", { "user", NULL } },
	{ "ALTER TABLE user_roles DROP COLUMN granted_at", { "user_roles", NULL } },
	/* a missing order column */
	{ "ALTER TABLE role DROP COLUMN created_at", { "role", NULL } },
	/* a parent turning generic takes its children along */
	{ "ALTER TABLE prayer DROP COLUMN created_at",
	  { "prayer", "prayer_attributes", "prayermark", "prayerskip",
	    "prayer_activity_log", NULL } },
	{ "ALTER TABLE authenticationrequest DROP COLUMN created_at",
	  { "authenticationrequest", "authapproval", NULL } },
	/* a child missing its foreign key or its order column */
	{ "ALTER TABLE prayermark DROP COLUMN prayer_id", { "prayermark", NULL } },
	{ "ALTER TABLE prayerskip DROP COLUMN created_at", { "prayerskip", NULL } },
	/* a descriptor column that is generated does not count */
	{ "ALTER TABLE session DROP COLUMN created_at;"
	  " ALTER TABLE session ADD COLUMN created_at AS (expires_at)", { "session", NULL } },
	/* no parent table at all */
	{ "DROP TABLE authenticationrequest", { "authapproval", NULL } },
	/* per-row files and embedding need a one-column key */
	{ "DROP TABLE prayer; CREATE TABLE prayer(id TEXT, n INT, text, generated_prayer,"
	  " created_at, PRIMARY KEY (id, n))",
	  { "prayer", "prayer_attributes", "prayermark", "prayerskip",
	    "prayer_activity_log", NULL } },
	{ "DROP TABLE prayer; CREATE TABLE prayer(id TEXT, text, created_at)",
	  { "prayer", "prayer_attributes", "prayermark", "prayerskip",
	    "prayer_activity_log", NULL } },
	{ "DROP TABLE prayermark; CREATE TABLE prayermark(id, prayer_id, created_at)",
	  { "prayermark", NULL } },
};

START_TEST(test_bind_fallback)
{
	const struct fallback_case *c = &fallbacks[_i];
	struct buf folder = BUF_INIT;
	struct fix f;

	fix_open(&f, thywill_schema_sql, c->sql);
	for (int i = 0; i < f.l.nhomes; i++) {
		const struct home *h = &f.l.homes[i];
		const struct want_home *w = want_of(h->t->name);

		ck_assert(w != NULL);
		if (in_list(c->generic, h->t->name)) {
			buf_reset(&folder);
			buf_addf(&folder, "tables/%s", h->t->name);
			check_generic(&f, h->t->name, folder.data);
			continue;
		}
		/* intact, minus children that turned generic */
		ck_assert_msg(h->kind == w->kind, "after \"%s\": %s is %s, want %s",
			      c->sql, h->t->name, kind_name(h->kind), kind_name(w->kind));
		ck_assert_msg(strcmp(h->folder, w->folder) == 0, "after \"%s\": %s in %s",
			      c->sql, h->t->name, h->folder);
		int j = 0;
		for (int k = 0; w->children[k]; k++) {
			if (in_list(c->generic, w->children[k]))
				continue;
			ck_assert_msg(j < h->nchildren &&
				      strcmp(h->children[j]->t->name, w->children[k]) == 0,
				      "after \"%s\": %s child %d is %s, want %s", c->sql,
				      h->t->name, j,
				      j < h->nchildren ? h->children[j]->t->name : "(none)",
				      w->children[k]);
			j++;
		}
		ck_assert_msg(h->nchildren == j, "after \"%s\": %s has %d children,"
			      " want %d", c->sql, h->t->name, h->nchildren, j);
	}
	for (int k = 0; c->generic[k]; k++)
		if (!layout_home(&f.l, c->generic[k]))
			ck_abort_msg("after \"%s\": no table %s", c->sql, c->generic[k]);
	fix_close(&f);
	buf_release(&folder);
}
END_TEST

/* --- row paths -------------------------------------------------------------------- */

/* FNV-1a, written out here so the expected names do not come from names.c */
static uint64_t fnv1a(const char *s, size_t n)
{
	uint64_t h = UINT64_C(0xcbf29ce484222325);

	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)s[i];
		h *= UINT64_C(0x100000001b3);
	}
	return h;
}

START_TEST(test_paths_prayer)
{
	struct fix f;
	struct home *h;
	struct value v[MAXCOLS];
	struct buf want = BUF_INIT, esc = BUF_INIT, p = BUF_INIT;
	int id, at;
	char longid[301];

	fix_open(&f, thywill_schema_sql, NULL);
	h = home_of(&f, "prayer");
	id = col_of(h, "id");
	at = col_of(h, "created_at");
	row_clear(h, v);

	v[id] = T("3f2a9c8e1b2d4f6a8c0e2b4d6f8a0c2e");
	v[at] = T("2024-03-14 09:26:53.120034");
	EXPECT_PATH(&f.l, h, v, 0,
		    "prayers/2024/03/2024_03_14_prayer_3f2a9c8e1b2d4f6a8c0e2b4d6f8a0c2e.txt");
	v[at] = T("1999-12-01");
	EXPECT_PATH(&f.l, h, v, 0,
		    "prayers/1999/12/1999_12_01_prayer_3f2a9c8e1b2d4f6a8c0e2b4d6f8a0c2e.txt");
	v[at] = T("0000-01-31T00:00:00Z");
	EXPECT_PATH(&f.l, h, v, 0,
		    "prayers/0000/01/0000_01_31_prayer_3f2a9c8e1b2d4f6a8c0e2b4d6f8a0c2e.txt");

	/* undated: anything but TEXT starting YYYY-MM-DD */
	{
		const struct value undated[] = {
			NUL_V, I(20240314), R(2024.0314), T("yesterday"), T(""),
			T("2024-13-01"), T("2024-03-32"), T("2024-03-00"), T("2024-00-10"),
			T("2024-3-14"), T("2024/03/14"), T(" 2024-03-14"), T("2024-03-1"),
			B("2024-03-14"), T("+024-03-14"),
		};
		for (size_t i = 0; i < sizeof(undated) / sizeof(undated[0]); i++) {
			v[at] = undated[i];
			buf_reset(&p);
			row_path(&f.l, h, v, 0, &p);
			ck_assert_msg(strcmp(p.data, "prayers/undated/prayer_"
					     "3f2a9c8e1b2d4f6a8c0e2b4d6f8a0c2e.txt") == 0,
				      "created_at %s: path \"%s\", want undated",
				      show_value(&undated[i]), p.data);
		}
	}

	/* hostile ids stay one component of the folder */
	v[at] = T("2024-03-14 09:00:00");
	v[id] = T("a/b");
	EXPECT_PATH(&f.l, h, v, 0, "prayers/2024/03/2024_03_14_prayer_a%2Fb.txt");
	v[id] = T("..");
	EXPECT_PATH(&f.l, h, v, 0, "prayers/2024/03/2024_03_14_prayer_%2E..txt");
	v[id] = T("../../etc/passwd");
	EXPECT_PATH(&f.l, h, v, 0,
		    "prayers/2024/03/2024_03_14_prayer_%2E.%2F..%2Fetc%2Fpasswd.txt");
	v[id] = T("line\nbreak\r");
	EXPECT_PATH(&f.l, h, v, 0, "prayers/2024/03/2024_03_14_prayer_line%0Abreak%0D.txt");
	v[id] = T("nul\0byte");
	EXPECT_PATH(&f.l, h, v, 0, "prayers/2024/03/2024_03_14_prayer_nul%00byte.txt");
	v[id] = T("");
	EXPECT_PATH(&f.l, h, v, 0, "prayers/2024/03/2024_03_14_prayer_%.txt");
	v[id] = T("42");
	EXPECT_PATH(&f.l, h, v, 0, "prayers/2024/03/2024_03_14_prayer_%342.txt");
	v[id] = I(42);
	EXPECT_PATH(&f.l, h, v, 0, "prayers/2024/03/2024_03_14_prayer_42.txt");
	v[id] = NUL_V;
	EXPECT_PATH(&f.l, h, v, 0, "prayers/2024/03/2024_03_14_prayer_%n.txt");
	v[id] = T("d\xc3\xa9j\xc3\xa0 vu");
	EXPECT_PATH(&f.l, h, v, 0, "prayers/2024/03/2024_03_14_prayer_d%C3%A9j%C3%A0%20vu.txt");
	v[at] = NUL_V;
	v[id] = T("a/b");
	EXPECT_PATH(&f.l, h, v, 0, "prayers/undated/prayer_a%2Fb.txt");
	v[id] = T("..");
	EXPECT_PATH(&f.l, h, v, 0, "prayers/undated/prayer_%2E..txt");

	/* 300 bytes: cut to 183 bytes of name + "~" + hash of the whole */
	v[at] = T("2024-03-14 09:00:00");
	memset(longid, 'a', 300);
	longid[300] = '\0';
	v[id] = (struct value){ .type = V_TEXT, .s = longid, .n = 300 };
	buf_addstr(&want, "prayers/2024/03/2024_03_14_prayer_");
	buf_add(&want, longid, 183);
	buf_addf(&want, "~%016" PRIx64 ".txt", fnv1a(longid, 300));
	EXPECT_PATH(&f.l, h, v, 0, want.data);

	memset(longid, '/', 300);
	for (int i = 0; i < 300; i++)
		buf_addstr(&esc, "%2F");
	buf_reset(&want);
	buf_addstr(&want, "prayers/undated/prayer_");
	buf_add(&want, esc.data, 183);
	buf_addf(&want, "~%016" PRIx64 ".txt", fnv1a(esc.data, esc.len));
	v[at] = I(1);
	EXPECT_PATH(&f.l, h, v, 0, want.data);

	/* layout_row_path appends */
	buf_reset(&p);
	buf_addstr(&p, "keep/");
	v[id] = T("x");
	layout_row_path(h, v, 0, &p);
	ck_assert_str_eq(p.data, "keep/prayers/undated/prayer_x.txt");

	fix_close(&f);
	buf_release(&want);
	buf_release(&esc);
	buf_release(&p);
}
END_TEST

START_TEST(test_paths_month_single)
{
	static const struct { const char *table, *date_col, *dated, *undated; } months[] = {
		{ "user", "created_at", "users/2024_03_users.txt", "users/undated_users.txt" },
		{ "user_roles", "granted_at", "roles/2024_03_role_assignments.txt",
		  "roles/undated_role_assignments.txt" },
		{ "invite_token_usage", "claimed_at", "invites/2024_03_invite_usage.txt",
		  "invites/undated_invite_usage.txt" },
		{ "authenticationrequest", "created_at", "auth/2024_03_auth_requests.txt",
		  "auth/undated_auth_requests.txt" },
		{ "authauditlog", "created_at", "auth/2024_03_auth_audit.txt",
		  "auth/undated_auth_audit.txt" },
		{ "securitylog", "created_at", "auth/2024_03_security_events.txt",
		  "auth/undated_security_events.txt" },
		{ "notification_state", "created_at",
		  "auth/notifications/2024_03_notifications.txt",
		  "auth/notifications/undated_notifications.txt" },
		{ "session", "created_at", "sessions/2024_03_sessions.txt",
		  "sessions/undated_sessions.txt" },
		{ "membership_application", "created_at", "membership/2024_03_applications.txt",
		  "membership/undated_applications.txt" },
	};
	static const struct { const char *table, *path; } singles[] = {
		{ "role", "roles/role_definitions.txt" },
		{ "invitetoken", "invites/invite_tokens.txt" },
		{ "changelogentry", "system/changelog_entries.txt" },
		{ "schema_migrations", "system/schema_migrations.txt" },
	};
	struct fix f;
	struct value v[MAXCOLS];

	fix_open(&f, thywill_schema_sql, NULL);
	for (size_t i = 0; i < sizeof(months) / sizeof(months[0]); i++) {
		struct home *h = home_of(&f, months[i].table);
		int pk = h->t->pk[0];

		row_clear(h, v);
		v[pk] = T("some/key");
		row_set(h, v, months[i].date_col, T("2024-03-31 23:59:59.999999"));
		EXPECT_PATH(&f.l, h, v, 0, months[i].dated);
		v[pk] = I(-1);      /* the key plays no part */
		row_set(h, v, months[i].date_col, T("2024-03-01"));
		EXPECT_PATH(&f.l, h, v, 7, months[i].dated);
		row_set(h, v, months[i].date_col, NUL_V);
		EXPECT_PATH(&f.l, h, v, 0, months[i].undated);
		row_set(h, v, months[i].date_col, T("yesterday"));
		EXPECT_PATH(&f.l, h, v, 0, months[i].undated);
		row_set(h, v, months[i].date_col, I(1710400000));
		EXPECT_PATH(&f.l, h, v, 0, months[i].undated);
	}
	for (size_t i = 0; i < sizeof(singles) / sizeof(singles[0]); i++) {
		struct home *h = home_of(&f, singles[i].table);

		row_clear(h, v);
		EXPECT_PATH(&f.l, h, v, 0, singles[i].path);
		v[h->t->pk[0]] = T("../x");
		EXPECT_PATH(&f.l, h, v, 3, singles[i].path);
	}
	fix_close(&f);
}
END_TEST

static const char generic_sql[] =
	"CREATE TABLE pairs(a INT, b TEXT, c, PRIMARY KEY (b, a));"
	"CREATE TABLE pairs_wr(a INT, b TEXT, PRIMARY KEY (b, a)) WITHOUT ROWID;"
	"CREATE TABLE nokey(v);"
	"CREATE TABLE \"odd name\"(\"the key\" TEXT PRIMARY KEY, v);"
	"CREATE TABLE ipk(id INTEGER PRIMARY KEY, v);"
	"CREATE TABLE wide(c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11, c12, c13,"
	" c14, c15, c16, c17, c18, v, PRIMARY KEY (c1, c2, c3, c4, c5, c6, c7, c8,"
	" c9, c10, c11, c12, c13, c14, c15, c16, c17, c18));";

START_TEST(test_paths_generic)
{
	struct fix f;
	struct home *h;
	struct value v[MAXCOLS];
	struct buf want = BUF_INIT;

	fix_open(&f, thywill_schema_sql, generic_sql);

	h = home_of(&f, "pairs");
	check_generic(&f, "pairs", "tables/pairs");
	row_clear(h, v);
	row_set(h, v, "a", I(7));
	row_set(h, v, "b", T("x/y"));
	row_set(h, v, "c", T("not in the key"));
	EXPECT_PATH(&f.l, h, v, 99, "tables/pairs/x%2Fy.txt");
	row_set(h, v, "a", NUL_V);
	row_set(h, v, "b", T(""));
	EXPECT_PATH(&f.l, h, v, 99, "tables/pairs/%.txt");
	row_set(h, v, "a", R(1.5));
	row_set(h, v, "b", B("\x00\xff"));
	EXPECT_PATH(&f.l, h, v, 99, "tables/pairs/%x00ff.txt");
	row_set(h, v, "a", T("7"));
	row_set(h, v, "b", T(",a"));
	EXPECT_PATH(&f.l, h, v, 99, "tables/pairs/%2Ca.txt");

	h = home_of(&f, "pairs_wr");
	row_clear(h, v);
	row_set(h, v, "a", I(INT64_MIN));
	row_set(h, v, "b", T("-"));
	EXPECT_PATH(&f.l, h, v, 0, "tables/pairs_wr/-.txt");

	/* rowid keys */
	h = home_of(&f, "nokey");
	ck_assert_int_eq(h->t->rowid_key, 1);
	row_clear(h, v);
	row_set(h, v, "v", T("ignored"));
	EXPECT_PATH(&f.l, h, v, 17, "tables/nokey/17.txt");
	EXPECT_PATH(&f.l, h, v, -5, "tables/nokey/-5.txt");
	EXPECT_PATH(&f.l, h, v, INT64_MAX, "tables/nokey/9223372036854775807.txt");

	h = home_of(&f, "odd name");
	row_clear(h, v);
	row_set(h, v, "the key", T(".profile"));
	EXPECT_PATH(&f.l, h, v, 1, "tables/odd%20name/%2Eprofile.txt");

	h = home_of(&f, "ipk");
	row_clear(h, v);
	row_set(h, v, "id", I(12));
	EXPECT_PATH(&f.l, h, v, 12, "tables/ipk/12.txt");

	/* a composite key: the file is named by the first key column only,
	 * so the rows sharing it share the file */
	h = home_of(&f, "wide");
	ck_assert_int_eq(h->t->npk, 18);
	row_clear(h, v);
	for (int i = 0; i < 18; i++)
		v[i] = I(i + 1);
	v[17] = T("x,y");
	EXPECT_PATH(&f.l, h, v, 0, "tables/wide/1.txt");
	/* a first key value too long for a name: hashed */
	{
		struct buf full = BUF_INIT;

		for (int i = 0; i < 30; i++)
			buf_addstr(&full, "0123456789abcdef");
		v[0] = (struct value){ .type = V_TEXT, .s = full.data, .n = full.len };
		buf_addstr(&want, "tables/wide/");
		buf_add(&want, full.data, 183);
		buf_addf(&want, "~%016" PRIx64 ".txt", fnv1a(full.data, full.len));
		EXPECT_PATH(&f.l, h, v, 0, want.data);
		buf_release(&full);
	}

	fix_close(&f);
	buf_release(&want);
}
END_TEST

START_TEST(test_paths_orphans)
{
	static const struct { const char *child, *path; const char *parent; } cases[] = {
		{ "prayer_attributes", "prayers/orphans/prayer_attributes_orphans.txt", "prayer" },
		{ "prayermark", "prayers/orphans/prayermark_orphans.txt", "prayer" },
		{ "prayerskip", "prayers/orphans/prayerskip_orphans.txt", "prayer" },
		{ "prayer_activity_log", "prayers/orphans/prayer_activity_log_orphans.txt", "prayer" },
		{ "authapproval", "auth/orphans/authapproval_orphans.txt", "authenticationrequest" },
	};
	struct fix f;
	struct buf p = BUF_INIT;

	fix_open(&f, thywill_schema_sql, NULL);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct home *c = home_of(&f, cases[i].child);

		buf_reset(&p);
		layout_orphans_path(c, &p);
		ck_assert_msg(strcmp(p.data, cases[i].path) == 0,
			      "orphans of %s: \"%s\", want \"%s\"", cases[i].child,
			      p.data, cases[i].path);
		check_path_safe(p.data, p.len, cases[i].child);
		expect_classify(&f.l, p.data, PATH_ORPHANS, c, "inverse of layout_orphans_path");
		/* a child is exactly as secret as its parent */
		ck_assert_int_eq(layout_file_mode(c), layout_file_mode(home_of(&f, cases[i].parent)));
	}
	fix_close(&f);
	buf_release(&p);
}
END_TEST

/* --- classification ------------------------------------------------------------- */

START_TEST(test_classify)
{
	struct fix f;

	fix_open(&f, thywill_schema_sql, generic_sql);
	expect_classify(&f.l, "README.txt", PATH_DERIVED, NULL, "readme");
	expect_classify(&f.l, LAYOUT_README, PATH_DERIVED, NULL, "readme");
	expect_classify(&f.l, "system/schema.txt", PATH_SCHEMA, NULL, "schema");
	expect_classify(&f.l, LAYOUT_SCHEMA, PATH_SCHEMA, NULL, "schema");
	/* hand-written names of each kind */
#define CANON(path, table) \
	expect_classify(&f.l, path, PATH_CANONICAL, home_of(&f, table), "canonical")
	CANON("prayers/2024/03/2024_03_14_prayer_abc.txt", "prayer");
	CANON("prayers/2024/02/2024_02_31_prayer_abc.txt", "prayer");
	CANON("prayers/undated/prayer_abc.txt", "prayer");
	CANON("prayers/undated/prayer_%.txt", "prayer");
	CANON("prayers/undated/prayer_%n.txt", "prayer");
	CANON("prayers/undated/prayer_%342.txt", "prayer");
	/* '.' is a key byte: this is the row keyed "abc.txt" */
	CANON("prayers/undated/prayer_abc.txt.txt", "prayer");
	CANON("users/2024_03_users.txt", "user");
	CANON("users/undated_users.txt", "user");
	CANON("auth/2024_03_auth_requests.txt", "authenticationrequest");
	CANON("auth/notifications/1970_01_notifications.txt", "notification_state");
	CANON("auth/notifications/undated_notifications.txt", "notification_state");
	CANON("roles/role_definitions.txt", "role");
	CANON("roles/2024_12_role_assignments.txt", "user_roles");
	CANON("system/changelog_entries.txt", "changelogentry");
	CANON("system/schema_migrations.txt", "schema_migrations");
	CANON("tables/pairs/x%2Fy.txt", "pairs");
	CANON("tables/nokey/-5.txt", "nokey");
	CANON("tables/odd%20name/%2Eprofile.txt", "odd name");
	/* tables/<t>/2024_03_users.txt is the row keyed "2024_03_users" */
	CANON("tables/ipk/2024_03_users.txt", "ipk");
#undef CANON
	fix_close(&f);
}
END_TEST

START_TEST(test_classify_near_misses)
{
	static const char *const bad[] = {
		/* wrong or missing stem */
		"prayers/2024/03/2024_03_14_prayers_abc.txt",
		"prayers/2024/03/2024_03_14_prayer.txt",
		"prayers/2024/03/2024_03_14_prayer_.txt",
		"prayers/2024/03/2024_03_14_abc.txt",
		"prayers/2024/03/2024_03_14_Prayer_abc.txt",
		"prayers/undated/prayers_abc.txt",
		"prayers/undated/abc.txt",
		"prayers/undated/prayer_.txt",
		"users/2024_03_user.txt",
		"users/2024_03_prayer.txt",
		"users/2024_03_.txt",
		"users/undated_user.txt",
		"users/undated.txt",
		"roles/role_definition.txt",
		"roles/role_assignments.txt",
		"roles/2024_03_role_definitions.txt",
		"system/changelog.txt",
		/* impossible dates */
		"prayers/2024/13/2024_13_14_prayer_abc.txt",
		"prayers/2024/00/2024_00_14_prayer_abc.txt",
		"prayers/2024/03/2024_03_32_prayer_abc.txt",
		"prayers/2024/03/2024_03_00_prayer_abc.txt",
		"prayers/2024/03/2024_03_99_prayer_abc.txt",
		"users/2024_13_users.txt",
		"users/2024_00_users.txt",
		"prayers/202a/03/202a_03_14_prayer_abc.txt",
		"prayers/2024/3/2024_3_14_prayer_abc.txt",
		"prayers/2024/03/2024_03_4_prayer_abc.txt",
		"prayers/24/03/24_03_14_prayer_abc.txt",
		"prayers/2024-03/2024_03_14_prayer_abc.txt",
		"users/2024-03_users.txt",
		/* folder and name disagree */
		"prayers/2024/03/2023_03_14_prayer_abc.txt",
		"prayers/2024/03/2024_04_14_prayer_abc.txt",
		"prayers/2023/03/2024_03_14_prayer_abc.txt",
		/* escaping the tree */
		"../x",
		"../README.txt",
		"prayers/../README.txt",
		"prayers/../prayers/2024/03/2024_03_14_prayer_abc.txt",
		"./README.txt",
		"/README.txt",
		"/prayers/undated/prayer_abc.txt",
		"prayers//undated/prayer_abc.txt",
		"prayers/./undated/prayer_abc.txt",
		"prayers/undated/../undated/prayer_abc.txt",
		"tables/pairs/../nokey/1.txt",
		/* not a row file */
		"prayers/2024/03/x.txt",
		"prayers/2024/03/2024_03_14_prayer_abc",
		"prayers/orphans/user_orphans.txt",
		"prayers/orphans/authapproval_orphans.txt",
		"auth/orphans/prayermark_orphans.txt",
		"users/orphans/prayermark_orphans.txt",
		"prayers/orphans/prayermark.txt",
		"prayers/orphans/prayermark_orphans",
		"tables/nope/1.txt",
		"tables/user/1.txt",
		"tables/prayer/abc.txt",
		"tables/prayermark/abc.txt",
		"tables/Pairs/1.txt",
		"tables/pairs/.txt",
		"tables/pairs",
		"tables/pairs/",
		"tables/odd name/x.txt",
		"prayers",
		"prayers/",
		"",
		"README",
		"readme.txt",
		"schema.txt",
		"system/schema",
		"PRAYERS/undated/prayer_abc.txt",
		/* keys archivefs would have escaped */
		"prayers/2024/03/2024_03_14_prayer_a b.txt",
		"prayers/undated/prayer_a%2fb.txt",
		"prayers/undated/prayer_%41.txt",
		"prayers/undated/prayer_.x.txt",
		"prayers/undated/prayer_..txt",
		"prayers/undated/prayer_007.txt",
		"prayers/undated/prayer_-0.txt",
		"prayers/undated/prayer_a%.txt",
		"prayers/undated/prayer_a%2.txt",
		"prayers/undated/prayer_%zz.txt",
		"prayers/undated/prayer_abc~0123.txt",
		"prayers/undated/prayer_abc~0123456789ABCDEF.txt",
		"prayers/undated/prayer_abc~0123456789abcdef0.txt",
		"prayers/undated/prayer_a\xc3\xa9.txt",
		"prayers/undated/prayer_a\tb.txt",
		"tables/pairs/x y,1.txt",
		"tables/pairs/a,.txt",
		"tables/pairs/,a.txt",
		"tables/pairs/%x0.txt",
		"tables/pairs/%xAB.txt",
		"tables/pairs/%r1.txt",
		"tables/nokey/+5.txt",
		/* trailing junk */
		"users/2024_03_users.txt~",
		"users/2024_03_users.txt.bak",
		"users/2024_03_users.txt ",
		"prayers/2024/03/2024_03_14_prayer_abc.txt.orig",
		"prayers/2024/03/2024_03_14_prayer_abc.txtx",
		"prayers/2024/03/2024_03_14_prayer_abc.TXT",
		"roles/role_definitions.txt/",
		"roles/role_definitions.txt.swp",
		"README.txt~",
		"README.txt/x",
		"system/schema.txt.bak",
		"prayers/orphans/prayermark_orphans.txt.bak",
		"tables/nokey/1.txt~",
		/* an extra or missing component */
		"prayers/2024/03/14/2024_03_14_prayer_abc.txt",
		"prayers/x/2024/03/2024_03_14_prayer_abc.txt",
		"prayers/2024/2024_03_14_prayer_abc.txt",
		"prayers/2024_03_14_prayer_abc.txt",
		"prayers/prayer_abc.txt",
		"prayers/undated/x/prayer_abc.txt",
		"prayers/undated/prayer_a/b.txt",
		"x/prayers/undated/prayer_abc.txt",
		"users/2024/2024_03_users.txt",
		"users/x/2024_03_users.txt",
		"2024_03_users.txt",
		"tables/pairs/sub/x,1.txt",
		"tables/nokey/1/2.txt",
		"prayers/orphans/prayermark_orphans.txt/x",
		"auth/notifications/x/2024_03_notifications.txt",
		"auth/x/2024_03_auth_requests.txt",
		"system/x/schema.txt",
		"x/README.txt",
		"roles/x/role_definitions.txt",
	};
	struct fix f;

	fix_open(&f, thywill_schema_sql, generic_sql);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_classify(&f.l, bad[i], PATH_NONE, NULL, "near miss");
	fix_close(&f);
}
END_TEST

/* --- fuzz ------------------------------------------------------------------------- */

static uint64_t rng_state = UINT64_C(0x9e3779b97f4a7c15);

static uint64_t rnd(void)
{
	/* xorshift64* */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * UINT64_C(0x2545f4914f6cdd1d);
}

/* Random bytes, 0..400 of them: fully random, or from a hostile alphabet. */
static size_t random_bytes(char *out)
{
	static const char alpha[] = "./%,~-_09aZ\n\0\xff";
	size_t n = (size_t)(rnd() % 401), i;
	int style = (int)(rnd() % 3);

	for (i = 0; i < n; i++) {
		if (style == 0)
			out[i] = (char)rnd();
		else if (style == 1)
			out[i] = alpha[rnd() % (sizeof(alpha) - 1)];
		else
			out[i] = (char)('0' + rnd() % 10);   /* integer-like */
	}
	if (style == 2 && n && rnd() % 2)
		out[0] = '-';
	return n;
}

/* A random key value; its bytes live in buf (>= 401 bytes). */
static struct value random_value(char *buf)
{
	struct value v = { .type = V_TEXT };
	uint64_t bits;

	switch (rnd() % 8) {
	case 0:
		v.type = V_INT;
		v.i = (int64_t)rnd();
		break;
	case 1:
		v.type = V_REAL;
		do {
			bits = rnd();
			memcpy(&v.r, &bits, sizeof(v.r));
		} while (isnan(v.r));
		break;
	case 2:
		v.type = V_BLOB;
		v.n = random_bytes(buf);
		v.s = buf;
		break;
	case 3:
		v.type = V_NULL;
		break;
	default:
		v.n = random_bytes(buf);
		v.s = buf;
	}
	return v;
}

struct seen {
	char *path;
	char *key;
	size_t keylen;
	int type;
};

static int seen_cmp(const void *a, const void *b)
{
	return strcmp(((const struct seen *)a)->path, ((const struct seen *)b)->path);
}

START_TEST(test_fuzz_paths)
{
	enum { N = 4000 };
	static char b1[401], b2[401];
	struct fix f;
	struct home *prayer, *odd, *pairs, *nokey;
	struct value v[MAXCOLS];
	struct buf p = BUF_INIT;
	struct seen *seen = calloc(N, sizeof(*seen));
	int id, at, hashed = 0;

	ck_assert(seen != NULL);
	fix_open(&f, thywill_schema_sql, generic_sql);
	prayer = home_of(&f, "prayer");
	odd = home_of(&f, "odd name");
	pairs = home_of(&f, "pairs");
	nokey = home_of(&f, "nokey");
	id = col_of(prayer, "id");
	at = col_of(prayer, "created_at");

	for (int it = 0; it < N; it++) {
		struct value k = random_value(b1), k2;
		char date[32];

		/* prayer: dated, then undated */
		row_clear(prayer, v);
		v[id] = k;
		snprintf(date, sizeof(date), "%04d-%02d-%02d 00:00:00",
			 (int)(rnd() % 10000), 1 + (int)(rnd() % 12), 1 + (int)(rnd() % 31));
		v[at] = (struct value){ .type = V_TEXT, .s = date, .n = strlen(date) };
		row_path(&f.l, prayer, v, 0, &p);
		CHECK(strncmp(p.data, "prayers/", 8) == 0 &&
			      strncmp(p.data + 8, date, 4) == 0 && p.data[12] == '/' &&
			      strncmp(p.data + 13, date + 5, 2) == 0,
			      "date %s: path %s", date, show(p.data, p.len));
		v[at] = rnd() % 2 ? NUL_V : k;
		row_path(&f.l, prayer, v, 0, &p);
		if (v[at].type == V_NULL)
			CHECK(strncmp(p.data, "prayers/undated/prayer_", 23) == 0,
				      "undated prayer at %s", show(p.data, p.len));

		/* generic, one TEXT key: also checks injectivity below */
		row_clear(odd, v);
		v[col_of(odd, "the key")] = k;
		row_path(&f.l, odd, v, 0, &p);
		seen[it].path = strdup(p.data);
		seen[it].type = k.type;
		seen[it].keylen = k.type == V_TEXT || k.type == V_BLOB ? k.n :
				  k.type == V_NULL ? 0 : sizeof(k.i);
		seen[it].key = malloc(seen[it].keylen + 1);
		CHECK(seen[it].path && seen[it].key, "out of memory");
		memcpy(seen[it].key, k.type == V_TEXT || k.type == V_BLOB ? k.s :
		       k.type == V_INT ? (const char *)&k.i : (const char *)&k.r,
		       seen[it].keylen);
		hashed += strchr(p.data, '~') != NULL;

		/* generic, composite key */
		k2 = random_value(b2);
		row_clear(pairs, v);
		row_set(pairs, v, "a", k);
		row_set(pairs, v, "b", k2);
		row_path(&f.l, pairs, v, 0, &p);

		/* generic, rowid */
		row_clear(nokey, v);
		row_path(&f.l, nokey, v, (int64_t)rnd(), &p);
	}
	CHECK(hashed > 100 && hashed < N - 100,
		      "%d of %d names hashed: the fuzz does not cover both", hashed, N);

	/* distinct keys, distinct paths */
	qsort(seen, N, sizeof(*seen), seen_cmp);
	for (int i = 1; i < N; i++)
		if (strcmp(seen[i - 1].path, seen[i].path) == 0)
			CHECK(seen[i - 1].type == seen[i].type &&
				      seen[i - 1].keylen == seen[i].keylen &&
				      memcmp(seen[i - 1].key, seen[i].key, seen[i].keylen) == 0,
				      "two keys share the path %s", seen[i].path);
	for (int i = 0; i < N; i++) {
		free(seen[i].path);
		free(seen[i].key);
	}
	free(seen);
	fix_close(&f);
	buf_release(&p);
}
END_TEST

static Suite *layout_suite(void)
{
	Suite *s = suite_create("layout");
	TCase *bind = tcase_create("bind");
	TCase *paths = tcase_create("paths");
	TCase *fuzz = tcase_create("fuzz");

	tcase_add_checked_fixture(bind, unit_setup, unit_teardown);
	tcase_set_timeout(bind, 60);
	tcase_add_test(bind, test_bind_thywill);
	tcase_add_test(bind, test_bind_empty);
	tcase_add_test(bind, test_bind_unknown);
	tcase_add_loop_test(bind, test_bind_fallback, 0,
			    (int)(sizeof(fallbacks) / sizeof(fallbacks[0])));
	suite_add_tcase(s, bind);

	tcase_add_checked_fixture(paths, unit_setup, unit_teardown);
	tcase_set_timeout(paths, 60);
	tcase_add_test(paths, test_paths_prayer);
	tcase_add_test(paths, test_paths_month_single);
	tcase_add_test(paths, test_paths_generic);
	tcase_add_test(paths, test_paths_orphans);
	tcase_add_test(paths, test_classify);
	tcase_add_test(paths, test_classify_near_misses);
	suite_add_tcase(s, paths);

	tcase_add_checked_fixture(fuzz, unit_setup, unit_teardown);
	tcase_set_timeout(fuzz, 300);
	tcase_add_test(fuzz, test_fuzz_paths);
	suite_add_tcase(s, fuzz);
	return s;
}

int main(void)
{
	return unit_run(layout_suite(), "layout");
}
