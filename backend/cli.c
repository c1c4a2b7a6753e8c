/*
 * cli.c - the archivefs command line: parse arguments, call the engine,
 * print results, choose the exit status. cli_main() returns the status and
 * the executable's main() (fs/main.c) exits with it; commands built above
 * the backend (mount) are passed in by that main().
 *
 * Exit status: 0 success; 1 the command failed (or verify found the
 * folder inconsistent); 2 usage error.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "archive.h"
#include "buf.h"
#include "cli.h"
#include "backup.h"
#include "demo.h"
#include "export.h"
#include "import.h"
#include "layout.h"
#include "migrate.h"
#include "withhold.h"
#include "progress.h"
#include "report.h"
#include "store.h"
#include "sync.h"
#include "tree.h"
#include "verify.h"

extern const char thywill_schema_sql[];

#define EXIT_FAIL 1
#define EXIT_USAGE 2

/* The usage, in two halves: extra commands are listed between them. */
static const char usage_text[] =
	"usage: archivefs <command> [options] [args]\n"
	"\n"
	"Keep a SQLite database as plain text files, exactly, in both directions.\n"
	"\n"
	"commands:\n"
	"  init DB                      create DB with the ThyWill schema\n"
	"  demo DB [--users N] [--prayers N] [--seed S]\n"
	"                               create DB with the ThyWill schema and fill it\n"
	"                               with deterministic demo data (hard cases included)\n"
	"  export DB DIR [--prune] [--quiet]\n"
	"                               write the text tree of DB into DIR: only changed\n"
	"                               files, each atomically, all durable at exit;\n"
	"                               --prune removes files no row renders to\n"
	"  import DIR DB [--quiet]      rebuild DB from the tree in DIR (a new DB is\n"
	"                               created from DIR's schema; an existing one is\n"
	"                               merged by primary key); all or nothing\n"
	"  verify DB DIR [--json]       report missing, extra, differing and unparsable\n"
	"                               files; exit 0 only if DIR is exactly what DB renders\n"
	"  cat DB PATH...               print files of the tree (paths relative to its\n"
	"                               root), rendered from DB alone, as a mount would\n"
	"  ls DB [DIR...]               list folders of the tree (\"\" is its root),\n"
	"                               from DB alone, as a mount would\n"
	"  sync DB DIR [--watch] [--quiet]\n"
	"                               make DIR exactly the tree, with the mount's mtimes\n"
	"                               (records the tree in DB's change journal the first\n"
	"                               time); --watch: keep it so as the application\n"
	"                               commits, until Ctrl-C (a mount does this with\n"
	"                               --sync-dir)\n"
	"  status DB [--json]           the change journal's state: tree recorded, a\n"
	"                               mount or sync following it, changes waiting, a\n"
	"                               sync folder failing (exit 1 then)\n"
	"  history DB [--keep-months N] the history (system/event_log: every insert,\n"
	"                               update and delete with old and new values):\n"
	"                               events kept, and for how many months (default 12;\n"
	"                               0 turns it off)\n"
	"  backup DB DEST               SQLite online backup of DB (also while the\n"
	"                               application writes), integrity-checked, with\n"
	"                               DEST.sha256; DEST a new file or a folder\n"
	"  restore BACKUP DB            check BACKUP's checksum and integrity, keep DB as\n"
	"                               DB.pre-restore-<time>, then put BACKUP in place\n"
	"  report DB [DIR] [--json] [--min SCORE]\n"
	"                               readiness before an upgrade: rows, homes, journal,\n"
	"                               DIR rebuilt and compared row by row, secrets and\n"
	"                               their modes, and a 0-100 score of measured checks\n"
	"                               (exit 1 when below --min)\n"
	"  migrate DB --schema NEW.sql [--map TABLE.COL=NEWCOL|TABLE.COL=]... [--dry-run]\n"
	"                               rebuild DB under NEW.sql from its archive: plan\n"
	"                               (stops if a column holding data has nowhere to go),\n"
	"                               backup, export, import, verify every row, one atomic\n"
	"                               swap; --dry-run does it all on a copy\n"
	"  rollback DB                  put the newest DB.pre-migrate-* back\n"
	"  withhold DB [TABLE.COLUMN...] [--remove]\n"
	"                               list, add or remove the columns the archive must\n"
	"                               never hold (secrets): left out of every file, kept\n"
	"                               in DB by saves, their defaults in a rebuild\n";

static const char usage_tail[] =
	"  help                         this text\n"
	"\n"
	"exit status: 0 success, 1 failure (or verify: not consistent), 2 usage error\n"
	"file format and tree: see README.md and backend/format.md\n";

__attribute__((format(printf, 1, 2)))
static int usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "archivefs: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry 'archivefs help'.\n");
	return EXIT_USAGE;
}

/* Print err (without its trailing newlines) and release it. */
static int fail(const char *what, struct buf *err)
{
	while (err->len && err->data[err->len - 1] == '\n')
		buf_truncate(err, err->len - 1);
	fprintf(stderr, "archivefs: %s: %s\n", what, err->len ? err->data : "failed");
	buf_release(err);
	return EXIT_FAIL;
}

static int parse_long(const char *s, long min, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min)
		return -1;
	*out = v;
	return 0;
}

/* Parse "--name value" and "--flag" options after the positional args. */
struct opt {
	const char *name;
	int has_arg;
	const char **val;   /* has_arg */
	int *flag;          /* !has_arg */
};

static int parse_opts(int argc, char **argv, int npos, const char **pos,
		      struct opt *opts)
{
	int k = 0;

	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		struct opt *o;
		if (strncmp(a, "--", 2) != 0 || strcmp(a, "--") == 0) {
			if (k == npos)
				return usage_error("unexpected argument '%s'", a);
			pos[k++] = a;
			continue;
		}
		for (o = opts; o && o->name; o++)
			if (strcmp(a + 2, o->name) == 0)
				break;
		if (!o || !o->name)
			return usage_error("unknown option '%s'", a);
		if (o->has_arg) {
			if (i + 1 >= argc)
				return usage_error("option '%s' needs a value", a);
			*o->val = argv[++i];
		} else {
			*o->flag = 1;
		}
	}
	if (k < npos)
		return usage_error("%s", "missing arguments");
	return 0;
}

static int db_is_new(const char *path)
{
	struct stat st;

	return stat(path, &st) < 0 || st.st_size == 0;
}

static int create_schema(const char *db, struct store **s, struct buf *err)
{
	int rc;

	if (!db_is_new(db)) {
		buf_addf(err, "%s already exists; refusing to add a schema to it", db);
		return -EEXIST;
	}
	rc = store_open(db, STORE_RDWR | STORE_CREATE, s, err);
	if (rc)
		return rc;
	/* It will hold session ids and invite tokens: private, like their
	 * files (SQLite gives its journal files the same mode). */
	if (chmod(db, 0600) < 0) {
		buf_addf(err, "cannot make %s private (chmod 600): %s", db, strerror(errno));
		rc = -errno;
	}
	if (!rc)
		rc = store_exec(*s, thywill_schema_sql, err);
	if (!rc)
		rc = store_reload_schema(*s, err);
	if (rc) {
		store_close(*s);
		*s = NULL;
		remove(db);
	}
	return rc;
}

static int cmd_init(int argc, char **argv)
{
	const char *pos[1];
	struct buf err = BUF_INIT;
	struct store *s;
	int rc = parse_opts(argc, argv, 1, pos, NULL);

	if (rc)
		return rc;
	if (create_schema(pos[0], &s, &err))
		return fail("init", &err);
	store_close(s);
	printf("created %s with the ThyWill schema (%d tables)\n", pos[0], 19);
	return 0;
}

static void demo_progress(long done, long total, void *ctx)
{
	progress_update(ctx, done, "rows");
	(void)total;
}

static int cmd_demo(int argc, char **argv)
{
	const char *pos[1], *users = NULL, *prayers = NULL, *seed = NULL;
	int quiet = 0;
	struct opt opts[] = {
		{ "users", 1, &users, NULL },
		{ "prayers", 1, &prayers, NULL },
		{ "seed", 1, &seed, NULL },
		{ "quiet", 0, NULL, &quiet },
		{ NULL, 0, NULL, NULL },
	};
	struct demo_opts o = { 0, 1000, 1 };
	struct buf err = BUF_INIT;
	struct store *s;
	struct progress p;
	long v;
	int rc = parse_opts(argc, argv, 1, pos, opts);

	if (rc)
		return rc;
	if (users && parse_long(users, 1, &o.users))
		return usage_error("--users needs a positive number, not '%s'", users);
	if (prayers && parse_long(prayers, 0, &o.prayers))
		return usage_error("--prayers needs a number, not '%s'", prayers);
	if (seed) {
		if (parse_long(seed, 0, &v))
			return usage_error("--seed needs a number, not '%s'", seed);
		o.seed = (uint64_t)v;
	}
	if (create_schema(pos[0], &s, &err))
		return fail("demo", &err);
	progress_start(&p, !quiet, "demo", 0);
	rc = demo_fill(s, &o, demo_progress, &p, &err);
	progress_done(&p);
	store_close(s);
	if (rc) {
		remove(pos[0]);
		return fail("demo", &err);
	}
	if (!quiet)
		printf("created %s: ThyWill demo data, %ld prayers, seed %llu (%.1f s)\n",
		       pos[0], o.prayers, (unsigned long long)o.seed,
		       progress_now() - p.start);
	return 0;
}

static int open_bound(const char *db, int flags, struct store **s,
		      struct layout *l, struct buf *err)
{
	struct buf e = BUF_INIT;
	struct stat st;
	int rc;

	if (stat(db, &st) < 0) {
		buf_addf(err, "%s: %s", db, strerror(errno));
		return -errno;
	}
	rc = store_open(db, flags, s, &e);
	if (!rc) {
		rc = layout_bind(l, store_schema(*s), &e);
		if (rc) {
			store_close(*s);
			*s = NULL;
		}
	}
	/* Name the file: "file is not a database" alone does not say which. */
	if (rc && strncmp(e.data, db, strlen(db)) != 0)
		buf_addf(err, "%s: ", db);
	buf_add(err, e.data, e.len);
	buf_release(&e);
	return rc;
}

static int cmd_export(int argc, char **argv)
{
	const char *pos[2];
	int prune = 0, quiet = 0;
	struct opt opts[] = {
		{ "prune", 0, NULL, &prune },
		{ "quiet", 0, NULL, &quiet },
		{ NULL, 0, NULL, NULL },
	};
	struct export_opts o = { 0 };
	struct export_stats st;
	struct buf err = BUF_INIT;
	struct store *s;
	struct layout l;
	double t0 = progress_now();
	int rc = parse_opts(argc, argv, 2, pos, opts);

	if (rc)
		return rc;
	if (open_bound(pos[0], STORE_RDONLY, &s, &l, &err))
		return fail("export", &err);
	o.prune = prune;
	o.progress = !quiet;
	rc = export_run(s, &l, pos[1], &o, &st, &err);
	layout_release(&l);
	store_close(s);
	char retimed[48] = "";
	if (st.retimed)
		snprintf(retimed, sizeof(retimed), ", %ld retimed", st.retimed);
	char stale[80] = "";
	if (st.stale)
		snprintf(stale, sizeof(stale), ", %ld leftover temporary file%s removed",
			 st.stale, st.stale == 1 ? "" : "s");
	if (!quiet || rc)
		fprintf(rc ? stderr : stdout,
			"%ld written, %ld unchanged%s, %ld pruned%s, %ld failed: %ld files,"
			" %ld rows, %.1f MB in %.2f s\n",
			st.written, st.unchanged, retimed, st.pruned, stale, st.failed, st.files,
			st.rows, (double)st.bytes / 1e6, progress_now() - t0);
	if (rc)
		return fail("export", &err);
	buf_release(&err);   /* a successful run may still have left notes */
	return 0;
}

static int cmd_import(int argc, char **argv)
{
	const char *pos[2];
	int quiet = 0;
	struct opt opts[] = {
		{ "quiet", 0, NULL, &quiet },
		{ NULL, 0, NULL, NULL },
	};
	struct import_opts o = { 0 };
	struct import_stats st;
	struct buf err = BUF_INIT;
	double t0 = progress_now();
	int rc = parse_opts(argc, argv, 2, pos, opts);

	if (rc)
		return rc;
	o.progress = !quiet;
	rc = import_run(pos[0], pos[1], &o, &st, &err);
	if (rc) {
		fprintf(stderr, "archivefs: import: %s\n", err.data);
		fprintf(stderr, "archivefs: import failed; %s was not changed\n", pos[1]);
		buf_release(&err);
		return EXIT_FAIL;
	}
	if (!quiet)
		printf("%s %s: %ld files, %ld rows: %ld inserted, %ld updated,"
		       " %ld unchanged (%.2f s)\n",
		       st.created ? "created" : "merged into", pos[1], st.files, st.rows,
		       st.inserted, st.updated, st.unchanged, progress_now() - t0);
	return 0;
}

static int print_entry(void *ctx, const char *name, int type)
{
	(void)ctx;
	printf("%s%s\n", name, type == TREE_DIR ? "/" : "");
	return 0;
}

/* ls DB [DIR...]: list folders of the tree as the mount shows them. */
static int cmd_ls(int argc, char **argv)
{
	struct buf err = BUF_INIT;
	struct store *s;
	struct layout l;
	int rc = 0;

	if (argc < 1)
		return usage_error("%s", "ls needs a database");
	for (int i = 0; i < argc; i++)
		if (strncmp(argv[i], "--", 2) == 0)
			return usage_error("unknown option '%s'", argv[i]);
	if (open_bound(argv[0], STORE_RDONLY, &s, &l, &err))
		return fail("ls", &err);
	for (int i = 1; i < argc || (i == 1 && argc == 1); i++) {
		struct buf dir = BUF_INIT;
		const char *d = i < argc ? argv[i] : "";
		int r;
		while (*d == '/')
			d++;
		buf_addstr(&dir, d);
		while (dir.len && dir.data[dir.len - 1] == '/')
			buf_truncate(&dir, dir.len - 1);
		r = tree_list(s, &l, dir.data, print_entry, NULL, &err);
		if (r) {
			fprintf(stderr, "archivefs: ls: %s: %s%s%s\n", d,
				r == -ENOENT ? "no such folder in the tree" : strerror(-r),
				err.len ? ": " : "", err.data);
			buf_reset(&err);
			rc = EXIT_FAIL;
		}
		buf_release(&dir);
	}
	layout_release(&l);
	store_close(s);
	buf_release(&err);
	return rc;
}

/* cat DB PATH...: print files of the tree as the mount serves them. */
static int cmd_cat(int argc, char **argv)
{
	struct buf err = BUF_INIT, out = BUF_INIT;
	struct store *s;
	struct layout l;
	int rc = 0;

	if (argc < 2)
		return usage_error("%s", "cat needs a database and at least one path");
	for (int i = 0; i < argc; i++)
		if (strncmp(argv[i], "--", 2) == 0)
			return usage_error("unknown option '%s'", argv[i]);
	if (open_bound(argv[0], STORE_RDONLY, &s, &l, &err))
		return fail("cat", &err);
	for (int i = 1; i < argc; i++) {
		const char *path = argv[i];
		int r;
		while (path[0] == '/')
			path++;
		r = archive_render_file(s, &l, path, &out, NULL, &err);
		if (r) {
			fprintf(stderr, "archivefs: cat: %s: %s%s%s\n", argv[i],
				r == -ENOENT ? "no such file in the tree" : strerror(-r),
				err.len ? ": " : "", err.data);
			buf_reset(&err);
			rc = EXIT_FAIL;
			continue;
		}
		if (fwrite(out.data, 1, out.len, stdout) != out.len) {
			fprintf(stderr, "archivefs: cat: cannot write to stdout: %s\n",
				strerror(errno));
			rc = EXIT_FAIL;
			break;
		}
	}
	if (fflush(stdout) != 0 && !rc) {
		fprintf(stderr, "archivefs: cat: cannot write to stdout: %s\n", strerror(errno));
		rc = EXIT_FAIL;
	}
	layout_release(&l);
	store_close(s);
	buf_release(&out);
	buf_release(&err);
	return rc;
}

static int cmd_verify(int argc, char **argv)
{
	const char *pos[2];
	int json = 0;
	struct opt opts[] = {
		{ "json", 0, NULL, &json },
		{ NULL, 0, NULL, NULL },
	};
	struct verify_report r;
	struct buf err = BUF_INIT;
	struct store *s;
	struct layout l;
	int rc = parse_opts(argc, argv, 2, pos, opts);

	if (rc)
		return rc;
	if (open_bound(pos[0], STORE_RDONLY, &s, &l, &err))
		return fail("verify", &err);
	rc = verify_run(s, &l, pos[1], &r, &err);
	layout_release(&l);
	store_close(s);
	if (rc) {
		verify_report_release(&r);
		return fail("verify", &err);
	}
	verify_print(stdout, &r, json);
	rc = r.matching == r.rendered && r.extra == 0 ? 0 : EXIT_FAIL;
	verify_report_release(&r);
	buf_release(&err);
	return rc;
}

static void print_usage(const struct cli_command *extra, size_t nextra)
{
	fputs(usage_text, stdout);
	for (size_t i = 0; i < nextra; i++)
		fputs(extra[i].help, stdout);
	fputs(usage_tail, stdout);
}

int cli_main(int argc, char **argv, const struct cli_command *extra, size_t nextra)
{
	static const struct {
		const char *name;
		int (*fn)(int, char **);
	} cmds[] = {
		{ "init", cmd_init },
		{ "demo", cmd_demo },
		{ "export", cmd_export },
		{ "import", cmd_import },
		{ "verify", cmd_verify },
		{ "cat", cmd_cat },
		{ "ls", cmd_ls },
		{ "sync", sync_command },
		{ "status", status_command },
		{ "history", history_command },
		{ "backup", backup_command },
		{ "restore", restore_command },
		{ "report", report_command },
		{ "migrate", migrate_command },
		{ "rollback", rollback_command },
		{ "withhold", withhold_command },
	};

	if (argc < 2)
		return usage_error("%s", "no command given");
	if (!strcmp(argv[1], "help") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		print_usage(extra, nextra);
		return 0;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("archivefs %s\n", ARCHIVEFS_VERSION);
		return 0;
	}
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		if (strcmp(argv[1], cmds[i].name) == 0) {
			for (int j = 2; j < argc; j++)
				if (!strcmp(argv[j], "--help") || !strcmp(argv[j], "-h")) {
					print_usage(extra, nextra);
					return 0;
				}
			return cmds[i].fn(argc - 2, argv + 2);
		}
	}
	for (size_t i = 0; i < nextra; i++)
		if (strcmp(argv[1], extra[i].name) == 0)
			return extra[i].fn(argc - 2, argv + 2);
	return usage_error("unknown command '%s'", argv[1]);
}
