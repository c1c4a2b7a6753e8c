/*
 * layout.c - the descriptor table and the path of every row.
 *
 * The ThyWill tree (see README.md, "The tree") is described by the one
 * table below; everything else in the engine (render, parse, import,
 * verify, the mount) walks it. To give a new table a home, add a line
 * here: no other code changes.
 *
 * Binding a descriptor to the live schema can fail softly: if the table
 * lacks a column the descriptor names, or has no single-column primary key
 * where one is needed, the table falls back to the generic home
 * tables/<table>/<key>.txt rather than being left out.
 */
#include "layout.h"

#include <stdlib.h>
#include <string.h>

#include "dates.h"
#include "events.h"
#include "format.h"
#include "names.h"

static const struct descriptor descriptors[] = {
	{ "prayer", HOME_ROW, "prayers", "prayer", "created_at", NULL, NULL, NULL,
	  { "text", "generated_prayer", NULL }, 0,
	  "one file per prayer, with its attributes, marks, skips and activity log" },
	{ "prayer_attributes", HOME_CHILD, NULL, NULL, NULL, "created_at", "prayer", "prayer_id",
	  { NULL }, 0, NULL },
	{ "prayermark", HOME_CHILD, NULL, NULL, NULL, "created_at", "prayer", "prayer_id",
	  { NULL }, 0, NULL },
	{ "prayerskip", HOME_CHILD, NULL, NULL, NULL, "created_at", "prayer", "prayer_id",
	  { NULL }, 0, NULL },
	{ "prayer_activity_log", HOME_CHILD, NULL, NULL, NULL, "created_at", "prayer", "prayer_id",
	  { NULL }, 0, NULL },
	{ "user", HOME_MONTH, "users", "users", "created_at", NULL, NULL, NULL,
	  { NULL }, 0, "users, one file per month of registration" },
	{ "role", HOME_SINGLE, "roles", "role_definitions", NULL, "created_at", NULL, NULL,
	  { NULL }, 0, "role definitions" },
	{ "user_roles", HOME_MONTH, "roles", "role_assignments", "granted_at", NULL, NULL, NULL,
	  { NULL }, 0, "role assignments, per month granted" },
	{ "invitetoken", HOME_SINGLE, "invites", "invite_tokens", NULL, "expires_at", NULL, NULL,
	  { NULL }, 1, "invite tokens (bearer secrets)" },
	{ "invite_token_usage", HOME_MONTH, "invites", "invite_usage", "claimed_at", NULL, NULL, NULL,
	  { NULL }, 1, "invite token claims, per month" },
	{ "authenticationrequest", HOME_MONTH, "auth", "auth_requests", "created_at", NULL, NULL, NULL,
	  { NULL }, 1, "login requests with their approvals, per month (verification codes: secret)" },
	{ "authapproval", HOME_CHILD, NULL, NULL, NULL, "created_at", "authenticationrequest", "auth_request_id",
	  { NULL }, 1, NULL },
	{ "authauditlog", HOME_MONTH, "auth", "auth_audit", "created_at", NULL, NULL, NULL,
	  { "details", NULL }, 0, "authentication audit log, per month" },
	{ "securitylog", HOME_MONTH, "auth", "security_events", "created_at", NULL, NULL, NULL,
	  { "details", NULL }, 0, "security events, per month" },
	{ "notification_state", HOME_MONTH, "auth/notifications", "notifications", "created_at", NULL, NULL, NULL,
	  { NULL }, 0, "notifications, per month" },
	{ "session", HOME_MONTH, "sessions", "sessions", "created_at", NULL, NULL, NULL,
	  { NULL }, 1, "login sessions, per month (session ids: bearer secrets)" },
	{ "membership_application", HOME_MONTH, "membership", "applications", "created_at", NULL, NULL, NULL,
	  { "essay", NULL }, 0, "membership applications, per month" },
	{ "changelogentry", HOME_SINGLE, "system", "changelog_entries", NULL, "commit_date", NULL, NULL,
	  { "original_message", "friendly_description", NULL }, 0, "changelog entries" },
	{ "schema_migrations", HOME_SINGLE, "system", "schema_migrations", NULL, "applied_at", NULL, NULL,
	  { NULL }, 0, "applied schema migrations" },
};

#define NDESC ((int)(sizeof(descriptors) / sizeof(descriptors[0])))

const struct descriptor *layout_descriptors(int *n)
{
	*n = NDESC;
	return descriptors;
}

static int col_index(const struct store_table *t, const char *name)
{
	if (!name)
		return -1;
	for (int i = 0; i < t->ncols; i++)
		if (!t->cols[i].hidden && strcmp(t->cols[i].name, name) == 0)
			return i;
	return -2;   /* named but missing */
}

static const struct descriptor *find_descriptor(const char *table)
{
	for (int i = 0; i < NDESC; i++)
		if (strcmp(descriptors[i].table, table) == 0)
			return &descriptors[i];
	return NULL;
}

static void make_generic(struct home *h)
{
	struct buf b = BUF_INIT;

	h->d = NULL;
	h->kind = HOME_GENERIC;
	h->date_col = h->order_col = h->fk_col = -1;
	h->parent = NULL;
	h->secret = 0;
	memset(h->body, 0, (size_t)h->t->ncols);
	buf_addstr(&b, "tables/");
	names_add_table(&b, h->t->name, strlen(h->t->name));
	free(h->folder);
	h->folder = buf_detach(&b, NULL);
}

/* Apply descriptor d to h if the live table fits it; 0 if it does not. */
static int try_descriptor(struct layout *l, struct home *h,
			  const struct descriptor *d)
{
	const struct store_table *t = h->t;
	int i;

	h->date_col = col_index(t, d->date_col);
	h->order_col = col_index(t, d->order_col);
	h->fk_col = col_index(t, d->fk_col);
	if (h->date_col == -2 || h->order_col == -2 || h->fk_col == -2)
		return 0;
	/* Per-row files and embedding need a one-column key. */
	if ((d->kind == HOME_ROW || d->kind == HOME_CHILD) && t->npk != 1)
		return 0;
	if (d->kind == HOME_CHILD) {
		struct home *p = layout_home(l, d->parent);
		if (!p || p->kind == HOME_GENERIC || p->kind == HOME_CHILD ||
		    p->t->npk != 1)
			return 0;
		h->parent = p;
	}
	for (i = 0; d->bodies[i]; i++) {
		int c = col_index(t, d->bodies[i]);
		if (c >= 0)
			h->body[c] = FMT_BODY;
	}
	h->d = d;
	h->kind = d->kind;
	h->secret = d->secret;
	free(h->folder);
	h->folder = xstrdup(d->kind == HOME_CHILD ? h->parent->folder : d->folder);
	return 1;
}

int layout_bind(struct layout *l, const struct store_schema *schema,
		struct buf *err)
{
	int i, pass;

	(void)err;
	memset(l, 0, sizeof(*l));
	l->schema = schema;
	l->nhomes = schema->ntables;
	l->homes = calloc((size_t)(l->nhomes ? l->nhomes : 1), sizeof(*l->homes));
	if (!l->homes)
		out_of_memory(0);
	for (i = 0; i < l->nhomes; i++) {
		struct home *h = &l->homes[i];
		h->t = &schema->tables[i];
		h->body = calloc((size_t)(h->t->ncols ? h->t->ncols : 1), 1);
		if (!h->body)
			out_of_memory(0);
		make_generic(h);
	}
	/* Parents first, so a child can check its parent's home. */
	for (pass = 0; pass < 2; pass++) {
		for (i = 0; i < l->nhomes; i++) {
			struct home *h = &l->homes[i];
			const struct descriptor *d = find_descriptor(h->t->name);
			if (!d || (pass == 0) != (d->kind != HOME_CHILD))
				continue;
			if (!try_descriptor(l, h, d))
				make_generic(h);
		}
	}
	/* Children, in descriptor order (the order they appear in a file). */
	for (int k = 0; k < NDESC; k++) {
		struct home *c = layout_home(l, descriptors[k].table);
		struct home *p;
		if (!c || c->kind != HOME_CHILD)
			continue;
		p = c->parent;
		p->children = realloc(p->children,
				      (size_t)(p->nchildren + 1) * sizeof(*p->children));
		if (!p->children)
			out_of_memory(0);
		p->children[p->nchildren++] = c;
	}
	return 0;
}

void layout_release(struct layout *l)
{
	for (int i = 0; i < l->nhomes; i++) {
		free(l->homes[i].children);
		free(l->homes[i].body);
		free(l->homes[i].folder);
	}
	free(l->homes);
	memset(l, 0, sizeof(*l));
}

struct home *layout_home(const struct layout *l, const char *table)
{
	for (int i = 0; i < l->nhomes; i++)
		if (strcmp(l->homes[i].t->name, table) == 0)
			return &l->homes[i];
	return NULL;
}

/*
 * Append the key part of a row's file name: its first primary-key column
 * (the whole key when the key has one column; rows that share it share a
 * file), or its rowid for a table without a primary key.
 */
static void add_key(const struct home *h, const struct value *vals,
		    int64_t rowid, struct buf *out)
{
	struct value k;
	size_t start = out->len;

	if (h->t->rowid_key) {
		memset(&k, 0, sizeof(k));
		k.type = V_INT;
		k.i = rowid;
	} else {
		k = vals[h->t->pk[0]];
	}
	names_add_key(out, &k, 1);
	names_fit(out, start);
}

static int row_date(const struct home *h, const struct value *vals,
		    int *y, int *m, int *d)
{
	const struct value *v;

	if (h->date_col < 0)
		return 0;
	v = &vals[h->date_col];
	return v->type == V_TEXT && date_parse(v->s, v->n, y, m, d);
}

void layout_row_path(const struct home *h, const struct value *vals,
		     int64_t rowid, struct buf *out)
{
	int y, m, d;

	buf_addstr(out, h->folder);
	buf_addch(out, '/');
	switch (h->kind) {
	case HOME_ROW:
		if (row_date(h, vals, &y, &m, &d))
			buf_addf(out, "%04d/%02d/%04d_%02d_%02d_%s_", y, m, y, m, d,
				 h->d->stem);
		else
			buf_addf(out, "undated/%s_", h->d->stem);
		add_key(h, vals, rowid, out);
		break;
	case HOME_MONTH:
		if (row_date(h, vals, &y, &m, &d))
			buf_addf(out, "%04d_%02d_%s", y, m, h->d->stem);
		else
			buf_addf(out, "undated_%s", h->d->stem);
		break;
	case HOME_SINGLE:
		buf_addstr(out, h->d->stem);
		break;
	case HOME_GENERIC:
		add_key(h, vals, rowid, out);
		break;
	case HOME_CHILD:
		abort();   /* BUG: children have no home of their own */
	}
	buf_addstr(out, ".txt");
}

void layout_orphans_path(const struct home *h, struct buf *out)
{
	buf_addstr(out, h->parent->folder);
	buf_addstr(out, "/orphans/");
	names_add_table(out, h->t->name, strlen(h->t->name));
	buf_addstr(out, "_orphans.txt");
}

unsigned layout_file_mode(const struct home *h)
{
	return h->secret ? 0600 : 0644;
}

unsigned layout_dir_mode(const struct home *h)
{
	return h->secret ? 0700 : 0755;
}

/* Does `folder` (len bytes) hold `inner`, or is it `inner` itself? */
static int folder_holds(const char *folder, size_t len, const char *inner)
{
	return strncmp(inner, folder, len) == 0 &&
	       (inner[len] == '\0' || inner[len] == '/');
}

unsigned layout_folder_mode(const struct layout *l, const char *folder, size_t len)
{
	struct buf orphans = BUF_INIT;
	unsigned mode = 0755;

	if (len == strlen(EVENTS_DIR) && strncmp(folder, EVENTS_DIR, len) == 0)
		return EVENTS_DIR_MODE;
	for (int i = 0; i < l->nhomes && mode == 0755; i++) {
		const struct home *h = &l->homes[i];
		if (!h->secret)
			continue;
		if (folder_holds(folder, len, h->folder))
			mode = 0700;
		if (h->kind == HOME_CHILD) {
			buf_reset(&orphans);
			buf_addf(&orphans, "%s/orphans", h->parent->folder);
			if (folder_holds(folder, len, orphans.data))
				mode = 0700;
		}
	}
	buf_release(&orphans);
	return mode;
}

void layout_title(const struct home *h, const struct value *vals,
		  int64_t rowid, int orphans, struct buf *out)
{
	struct buf t = BUF_INIT;
	int y, m, d;

	buf_addstr(&t, h->t->name);
	if (orphans) {
		buf_addf(&t, " rows whose %s is missing", h->parent->t->name);
	} else if (h->kind == HOME_ROW || h->kind == HOME_GENERIC) {
		if (h->t->rowid_key) {
			buf_addf(&t, " rowid %lld", (long long)rowid);
		} else if (h->t->npk > 1) {
			buf_addf(&t, " rows whose %s is ", h->t->cols[h->t->pk[0]].name);
			fmt_render_inline(&t, &vals[h->t->pk[0]]);
		} else {
			buf_addch(&t, ' ');
			fmt_render_inline(&t, &vals[h->t->pk[0]]);
		}
	} else if (h->kind == HOME_MONTH) {
		if (row_date(h, vals, &y, &m, &d))
			buf_addf(&t, " rows of %04d-%02d, by %s", y, m,
				 h->t->cols[h->date_col].name);
		else
			buf_addf(&t, " rows whose %s is not a date",
				 h->t->cols[h->date_col].name);
	} else {
		buf_addstr(&t, ": all rows");
	}
	fmt_render_comment(out, t.data, t.len);
	buf_release(&t);
	layout_format_note(out);
}

void layout_format_note(struct buf *out)
{
	static const char note[] =
		"archivefs text format 1: [table] starts a row, \"name: value\" "
		"is a field, \"| \" lines are text as written, \"\\ \" lines have "
		"\\-escapes; see README.txt";

	fmt_render_comment(out, note, sizeof(note) - 1);
}

/* If `path` starts with `prefix`, return what follows it; else NULL. */
static const char *skip(const char *path, const char *prefix)
{
	size_t n = strlen(prefix);

	return strncmp(path, prefix, n) == 0 ? path + n : NULL;
}

static int two_digits(const char *p, int lo, int hi)
{
	int v;

	if (p[0] < '0' || p[0] > '9' || p[1] < '0' || p[1] > '9')
		return 0;
	v = (p[0] - '0') * 10 + (p[1] - '0');
	return v >= lo && v <= hi;
}

static int four_digits(const char *p)
{
	for (int i = 0; i < 4; i++)
		if (p[i] < '0' || p[i] > '9')
			return 0;
	return 1;
}

/* Is p exactly "<key>.txt", a key names.c could have written? */
static int key_file(const char *p)
{
	struct value key[1];
	struct buf storage = BUF_INIT;
	size_t n = strlen(p), count;
	uint64_t hash;
	int rc;

	if (n < 5 || strcmp(p + n - 4, ".txt") != 0 || memchr(p, '/', n))
		return 0;
	/* A file name carries one key value (see add_key). */
	rc = names_parse_key(p, n - 4, key, 1, &count, &storage, &hash);
	buf_release(&storage);
	return (rc == NAMES_OK && count == 1) || rc == NAMES_HASHED;
}

/* Is p exactly "<stem>.txt"? */
static int stem_file(const char *p, const char *stem)
{
	const char *q = skip(p, stem);

	return q && strcmp(q, ".txt") == 0;
}

static int match_home(const struct home *h, const char *rest)
{
	const char *q;

	switch (h->kind) {
	case HOME_ROW:
		if ((q = skip(rest, "undated/")) && (q = skip(q, h->d->stem)) &&
		    *q == '_')
			return key_file(q + 1);
		/* YYYY/MM/YYYY_MM_DD_<stem>_<key>.txt */
		if (strlen(rest) < 19 || !four_digits(rest) || rest[4] != '/' ||
		    !two_digits(rest + 5, 1, 12) || rest[7] != '/' ||
		    strncmp(rest, rest + 8, 4) != 0 || rest[12] != '_' ||
		    strncmp(rest + 5, rest + 13, 2) != 0 || rest[15] != '_' ||
		    !two_digits(rest + 16, 1, 31) || rest[18] != '_')
			return 0;
		q = skip(rest + 19, h->d->stem);
		return q && *q == '_' && key_file(q + 1);
	case HOME_MONTH:
		if ((q = skip(rest, "undated_")))
			return stem_file(q, h->d->stem);
		if (strlen(rest) < 8 || !four_digits(rest) || rest[4] != '_' ||
		    !two_digits(rest + 5, 1, 12) || rest[7] != '_')
			return 0;
		return stem_file(rest + 8, h->d->stem);
	case HOME_SINGLE:
		return stem_file(rest, h->d->stem);
	case HOME_GENERIC:
		return key_file(rest);
	case HOME_CHILD:
		return 0;
	}
	return 0;
}

enum path_kind layout_classify(const struct layout *l, const char *path,
			       struct home **home)
{
	struct buf b = BUF_INIT;
	const char *rest;

	*home = NULL;
	if (strcmp(path, LAYOUT_README) == 0)
		return PATH_DERIVED;
	if (strcmp(path, LAYOUT_SCHEMA) == 0)
		return PATH_SCHEMA;
	if (strncmp(path, EVENTS_DIR "/", strlen(EVENTS_DIR) + 1) == 0) {
		int64_t lo, hi;
		int yes = events_parse_path(path, &b, &lo, &hi);
		buf_release(&b);
		return yes ? PATH_EVENTS : PATH_NONE;
	}
	for (int i = 0; i < l->nhomes; i++) {
		struct home *h = &l->homes[i];
		if (h->kind == HOME_CHILD)
			continue;
		rest = skip(path, h->folder);
		if (!rest || *rest != '/')
			continue;
		rest++;
		if (match_home(h, rest)) {
			buf_release(&b);
			*home = h;
			return PATH_CANONICAL;
		}
		for (int c = 0; c < h->nchildren; c++) {
			buf_reset(&b);
			layout_orphans_path(h->children[c], &b);
			if (strcmp(b.data, path) == 0) {
				buf_release(&b);
				*home = h->children[c];
				return PATH_ORPHANS;
			}
		}
	}
	buf_release(&b);
	return PATH_NONE;
}

void layout_readme(const struct layout *l, struct buf *out)
{
	buf_addstr(out,
		"text_archives: the rows of a SQLite database as text files\n"
		"============================================================\n"
		"\n"
		"Written by archivefs. Every row of every table has exactly one home\n"
		"below; `archivefs import` rebuilds the database from these files\n"
		"alone (system/schema.txt holds the exact CREATE statements).\n"
		"This README is generated and never imported.\n"
		"\n"
		"File format: \"[table]\" starts a row; \"name: value\" is a field;\n"
		"NULL is SQL NULL, \"\" the empty string; 12 is an INTEGER, 1.5 a REAL,\n"
		"\"12\" and \"NULL\" are TEXT; x'00ff' is a BLOB; lines starting \"| \"\n"
		"are text exactly as written, lines starting \"\\ \" use \\-escapes\n"
		"(\\r, \\t, \\xHH, \\\\). A text that ends in a newline ends with a lone \"|\".\n"
		"\n"
		"Homes in this archive:\n");
	for (int i = 0; i < l->nhomes; i++) {
		const struct home *h = &l->homes[i];
		const char *what;
		switch (h->kind) {
		case HOME_ROW:
			buf_addf(out, "  %s/YYYY/MM/YYYY_MM_DD_%s_<key>.txt\n", h->folder,
				 h->d->stem);
			break;
		case HOME_MONTH:
			buf_addf(out, "  %s/YYYY_MM_%s.txt\n", h->folder, h->d->stem);
			break;
		case HOME_SINGLE:
			buf_addf(out, "  %s/%s.txt\n", h->folder, h->d->stem);
			break;
		case HOME_GENERIC:
			buf_addf(out, "  %s/<%s>.txt\n", h->folder,
				 h->t->rowid_key ? "rowid" : h->t->npk > 1 ?
				 "first key column" : "key");
			break;
		case HOME_CHILD:
			continue;
		}
		what = h->d ? h->d->about : h->t->rowid_key ?
			"a table no layout describes, without a primary key: one file per rowid" :
			h->t->npk > 1 ?
			"a table no layout describes: one file per value of its first key column" :
			"a table no layout describes: one file per row";
		buf_addf(out, "      %s: %s%s\n", h->t->name, what,
			 h->secret ? " [mode 0600]" : "");
		for (int c = 0; c < h->nchildren; c++)
			buf_addf(out, "      + %s rows inside their %s's file\n",
				 h->children[c]->t->name, h->t->name);
	}
	buf_addstr(out,
		"\n"
		"Rows whose date is missing or not YYYY-MM-DD... live in undated/ or\n"
		"undated_*.txt; rows whose parent is missing in <folder>/orphans/.\n"
		"Keys in file names are escaped: %XX is a byte (a text key that looks\n"
		"like an integer has its first byte escaped: \"42\" is %342, 42 is 42);\n"
		"%rNUMBER is a REAL, %xHEX a BLOB, %n NULL, a lone % the empty text;\n"
		"~<hash> ends a name that was too long.\n");
}
