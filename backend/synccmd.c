/*
 * synccmd.c - `archivefs sync DB DIR [--watch] [--quiet]`: the sync folder
 * without a mount (sync.h).
 *
 * One pass: bring the change journal's records up to date (record the tree
 * the first time, apply what the application committed since), then make
 * DIR exactly the tree, durably. With --watch, go on: every 100 ms, when
 * the application committed, apply the journal and write the files it
 * reports; a failure is healed by a whole pass, retried every second.
 * SIGINT or SIGTERM stops it cleanly.
 *
 * Only one process may apply a database's journal (journal_lock): when a
 * mount follows the database, a one-shot sync still reconciles DIR from
 * the records that mount keeps, and --watch is refused (use the mount's
 * --sync-dir).
 */
#include <errno.h>
#include <stdlib.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "archive.h"
#include "events.h"
#include "journal.h"
#include "progress.h"
#include "store.h"
#include "sync.h"
#include "verify.h"

#define EXIT_FAIL 1
#define EXIT_USAGE 2
#define TICK_NS 100000000L
#define RETRY_S 1.0

static volatile sig_atomic_t stopping;

static void on_signal(int sig)
{
	(void)sig;
	stopping = 1;
}

static int failed(const char *what, const struct buf *err)
{
	fprintf(stderr, "archivefs: sync: %s%s%s\n", what, err->len ? ": " : "",
		err->data);
	return EXIT_FAIL;
}

struct follow {
	struct store *s;
	struct layout l;
	struct sync *y;
	char **paths;
	size_t n, cap;
	int nomem;
};

static void collect(void *ctx, const char *path, int64_t mtime_ns, int exists)
{
	struct follow *f = ctx;
	char *p;

	(void)mtime_ns;
	(void)exists;
	if (f->n == f->cap) {
		size_t cap = f->cap ? f->cap * 2 : 64;
		char **v = realloc(f->paths, cap * sizeof(*v));
		if (!v) {
			f->nomem = 1;
			return;
		}
		f->paths = v;
		f->cap = cap;
	}
	if (!(p = strdup(path))) {
		f->nomem = 1;
		return;
	}
	f->paths[f->n++] = p;
}

static void paths_clear(struct follow *f)
{
	for (size_t i = 0; i < f->n; i++)
		free(f->paths[i]);
	f->n = 0;
	f->nomem = 0;
}

/* A whole pass, reported. */
static int whole(struct follow *f, int quiet, struct buf *err)
{
	struct export_stats st;
	double t0 = progress_now();
	int rc = sync_all(f->y, f->s, &f->l, &st, err);

	if (!rc && !quiet)
		printf("%s: %ld written, %ld retimed, %ld removed, %ld unchanged: %ld files"
		       " in %.2f s\n", sync_dir(f->y), st.written, st.retimed, st.pruned,
		       st.unchanged, st.files, progress_now() - t0);
	return rc;
}

/* Apply the journal and write what it reports; a failure: -errno. */
static int step(struct follow *f, struct buf *err)
{
	long applied = 0;
	int rc = journal_apply(f->s, &f->l, collect, f, &applied, err);

	if (!rc && f->nomem)
		rc = -ENOMEM;   /* a change not collected: the caller does a whole pass */
	for (size_t i = 0; !rc && i < f->n; i++)
		rc = sync_file(f->y, f->s, &f->l, f->paths[i], err);
	if (!rc)
		rc = sync_flush(f->y, err);
	paths_clear(f);
	return rc;
}

static int watch(struct follow *f, int quiet, struct buf *err)
{
	struct sigaction sa;
	int64_t version = 0, v;
	int broken = 0, rc;
	double retry = 0;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	if (!quiet) {
		printf("following %s into %s (Ctrl-C stops)\n", store_path(f->s), sync_dir(f->y));
		fflush(stdout);
	}
	rc = store_data_version(f->s, &version, err);
	while (!rc && !stopping) {
		struct timespec ts = { 0, TICK_NS };
		nanosleep(&ts, NULL);
		buf_reset(err);
		if (broken) {
			if (progress_now() < retry)
				continue;
			rc = journal_apply(f->s, &f->l, NULL, NULL, &(long){ 0 }, err);
			if (!rc)
				rc = whole(f, quiet, err);
		} else {
			rc = store_data_version(f->s, &v, err);
			if (rc || v == version)
				continue;
			version = v;
			rc = step(f, err);
		}
		if (rc) {
			if (!broken) {
				fprintf(stderr, "archivefs: sync: %s: %s (retrying every second;"
					" the folder keeps the old bytes of what it could not"
					" write)\n", strerror(-rc), err->data);
				buf_reset(err);
				journal_set_sync_error(f->s, -rc, err);
			}
			broken = 1;
			retry = progress_now() + RETRY_S;
			rc = 0;
		} else if (broken) {
			fprintf(stderr, "archivefs: sync: caught up\n");
			journal_set_sync_error(f->s, 0, err);
			broken = 0;
		}
	}
	return rc;
}

int sync_command(int argc, char **argv)
{
	const char *pos[2] = { NULL, NULL };
	int npos = 0, watching = 0, quiet = 0, lock_fd = -1, rc, exit_rc = EXIT_FAIL;
	struct follow f;
	struct buf err = BUF_INIT;

	memset(&f, 0, sizeof(f));
	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--watch"))
			watching = 1;
		else if (!strcmp(argv[i], "--quiet"))
			quiet = 1;
		else if (argv[i][0] == '-' && argv[i][1]) {
			fprintf(stderr, "archivefs: sync: unknown option %s\n", argv[i]);
			return EXIT_USAGE;
		} else if (npos < 2) {
			pos[npos++] = argv[i];
		} else {
			fprintf(stderr, "archivefs: sync: unexpected argument %s\n", argv[i]);
			return EXIT_USAGE;
		}
	}
	if (npos < 2) {
		fprintf(stderr, "archivefs: sync: needs a database and a folder"
			" (archivefs sync DB DIR [--watch] [--quiet])\n");
		return EXIT_USAGE;
	}
	rc = store_open(pos[0], STORE_RDWR, &f.s, &err);
	if (rc) {
		failed("needs a database it can write (it keeps the change journal there)",
		       &err);
		goto out;
	}
	rc = layout_bind(&f.l, store_schema(f.s), &err);
	if (!rc)
		rc = journal_install(f.s, &f.l, &err);
	if (rc) {
		failed(pos[0], &err);
		goto out_store;
	}
	rc = journal_lock(pos[0], &lock_fd, &err);
	if (rc == -EBUSY && watching) {
		failed("cannot --watch", &err);
		fprintf(stderr, "archivefs: sync: use the mount's --sync-dir\n");
		goto out_layout;
	}
	if (rc && rc != -EBUSY) {
		failed(pos[0], &err);
		goto out_layout;
	}
	buf_reset(&err);
	if (!rc) {
		/* ours to keep current: record the tree once, apply what the
		 * application committed since */
		rc = journal_seeded(f.s, &err);
		if (rc == 0) {
			if (!quiet)
				fprintf(stderr, "recording the tree (once per database)...\n");
			rc = archive_install_indexes(f.s, &f.l, &err);
			if (!rc)
				rc = journal_seed(f.s, &f.l, NULL, &err);
		}
		if (rc >= 0)
			rc = journal_apply(f.s, &f.l, NULL, NULL, &(long){ 0 }, &err);
		if (rc) {
			failed("cannot bring the change journal up to date", &err);
			goto out_layout;
		}
	}
	rc = sync_open(pos[1], &f.y, &err);
	if (!rc)
		rc = whole(&f, quiet, &err);
	if (lock_fd >= 0) {   /* ours to report: failing, or in order again */
		struct buf e = BUF_INIT;
		journal_set_sync_error(f.s, rc < 0 ? -rc : 0, &e);
		buf_release(&e);
	}
	if (!rc && watching)
		rc = watch(&f, quiet, &err);
	if (rc)
		failed(pos[1], &err);
	else
		exit_rc = 0;
	sync_close(f.y);
	paths_clear(&f);
	free(f.paths);
out_layout:
	layout_release(&f.l);
out_store:
	store_close(f.s);
out:
	if (lock_fd >= 0)
		close(lock_fd);   /* after the connection: see journal_lock() */
	buf_release(&err);
	return exit_rc;
}

/* "2026-11-21T10:11:12Z" (UTC) of a time in ns since the epoch. */
static void iso(int64_t ns, char *out, size_t size)
{
	time_t t = (time_t)(ns / 1000000000);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* Changes waiting longer than this, while a process follows the
 * database, mean it is behind: status exits 1. */
#define BEHIND_S 10.0

int status_command(int argc, char **argv)
{
	const char *db = NULL;
	int json = 0, followed, problem = 0, rc;
	struct journal_status st;
	struct store *s = NULL;
	struct buf err = BUF_INIT;
	char installed[32] = "", since[32] = "";
	double wait_s = 0;
	struct timespec now;

	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--json"))
			json = 1;
		else if (argv[i][0] == '-' && argv[i][1]) {
			fprintf(stderr, "archivefs: status: unknown option %s\n", argv[i]);
			return EXIT_USAGE;
		} else if (!db) {
			db = argv[i];
		} else {
			fprintf(stderr, "archivefs: status: unexpected argument %s\n", argv[i]);
			return EXIT_USAGE;
		}
	}
	if (!db) {
		fprintf(stderr, "archivefs: status: needs a database (archivefs status DB"
			" [--json])\n");
		return EXIT_USAGE;
	}
	/* before any connection of ours is open: see journal_lock() */
	followed = journal_followed(db, &err);
	if (followed < 0)
		return failed(db, &err);
	rc = store_open(db, STORE_RDONLY, &s, &err);
	if (!rc)
		rc = journal_status(s, &st, &err);
	if (s)
		store_close(s);
	if (rc)
		return failed(db, &err);
	clock_gettime(CLOCK_REALTIME, &now);
	if (st.pending && st.oldest_pending > 0)
		wait_s = (double)now.tv_sec + now.tv_nsec / 1e9 - st.oldest_pending;
	if (st.installed_at_ns)
		iso(st.installed_at_ns, installed, sizeof(installed));
	if (st.sync_error_since_ns)
		iso(st.sync_error_since_ns, since, sizeof(since));
	problem = st.sync_error_since_ns || (followed && wait_s > BEHIND_S);
	if (json) {
		const char *e = st.sync_error_since_ns ? strerror(st.sync_errno) : "";
		printf("{\"database\": ");
		json_string(stdout, db, strlen(db));
		printf(", \"journal_installed\": %s, \"installed_at\": \"%s\","
		       " \"tree_recorded\": %s, \"files\": %ld, \"followed\": %s,"
		       " \"pending_changes\": %ld, \"oldest_pending_s\": %.3f,"
		       " \"sync_failing_since\": %s%s%s, \"sync_error\": ",
		       st.installed ? "true" : "false", installed,
		       st.seeded ? "true" : "false", st.files, followed ? "true" : "false",
		       st.pending, wait_s, since[0] ? "\"" : "null", since, since[0] ? "\"" : "");
		json_string(stdout, e, strlen(e));
		printf(", \"ok\": %s}\n", problem ? "false" : "true");
	} else {
		printf("database  %s\n", db);
		if (!st.installed) {
			printf("journal   not installed (never mounted or synced): nothing to"
			       " report\n");
		} else {
			printf("journal   installed %s; tree recorded: %s (%ld files)\n", installed,
			       st.seeded ? "yes" : "not yet", st.files);
			printf("followed  %s\n", followed ? "yes (a mount or archivefs sync --watch"
			       " applies its changes)" : "no (changes wait for the next mount or"
			       " sync)");
			printf("pending   %ld changes waiting to be applied", st.pending);
			if (st.pending)
				printf(" (the oldest %.1f s ago)", wait_s);
			printf("\n");
			if (st.sync_error_since_ns)
				printf("sync      FAILING since %s: %s (retried every second)\n",
				       since, strerror(st.sync_errno));
			else
				printf("sync      no failure recorded\n");
		}
		if (problem)
			printf("status    PROBLEM\n");
	}
	buf_release(&err);
	return problem ? EXIT_FAIL : 0;
}

/* --- archivefs history ------------------------------------------------------ */

static int count_file(void *ctx, const char *name)
{
	(void)name;
	(*(long *)ctx)++;
	return 0;
}

int history_command(int argc, char **argv)
{
	const char *db = NULL;
	long long keep = -1;
	int64_t months = 0, n = 0, oldest = 0, newest = 0;
	long files = 0;
	struct store *s = NULL;
	struct layout l;
	struct buf err = BUF_INIT;
	int rc, bound = 0;

	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--keep-months") && i + 1 < argc) {
			char *end;
			errno = 0;
			keep = strtoll(argv[++i], &end, 10);
			if (errno || *end || keep < 0 || keep > 100000) {
				fprintf(stderr, "archivefs: history: --keep-months takes a number"
					" of months (0 turns history off), not '%s'\n", argv[i]);
				return EXIT_USAGE;
			}
		} else if (argv[i][0] == '-' && argv[i][1]) {
			fprintf(stderr, "archivefs: history: unknown option %s\n", argv[i]);
			return EXIT_USAGE;
		} else if (!db) {
			db = argv[i];
		} else {
			fprintf(stderr, "archivefs: history: unexpected argument %s\n", argv[i]);
			return EXIT_USAGE;
		}
	}
	if (!db) {
		fprintf(stderr, "archivefs: history: needs a database (archivefs history DB"
			" [--keep-months N])\n");
		return EXIT_USAGE;
	}
	rc = store_open(db, keep >= 0 ? STORE_RDWR : STORE_RDONLY, &s, &err);
	if (!rc) {
		rc = layout_bind(&l, store_schema(s), &err);
		bound = !rc;
	}
	if (!rc && keep >= 0)
		rc = journal_set_event_months(s, &l, keep, &err);
	if (!rc)
		rc = journal_event_months(s, &months, &err);
	if (!rc)
		rc = events_any(s, &err);
	if (rc == 1) {
		struct store_stmt *st;
		rc = store_prepare(s, "SELECT count(*), min(ts), max(ts) FROM main.archivefs_event",
				   &st, &err);
		if (!rc) {
			rc = store_step(st, &err);
			if (rc == 1) {
				struct value v[3];
				for (int i = 0; i < 3; i++)
					store_column(st, i, &v[i]);
				n = v[0].i;
				oldest = v[1].i;
				newest = v[2].i;
				rc = 0;
			}
			store_finalize(st);
		}
		if (!rc)
			rc = events_list(s, count_file, &files, &err);
	}
	if (bound)
		layout_release(&l);
	store_close(s);
	if (rc) {
		fprintf(stderr, "archivefs: history: %s: %s\n", db, err.data);
		buf_release(&err);
		return EXIT_FAIL;
	}
	printf("history   %s\n", months ? "on: every insert, update and delete, with old and"
	       " new values, in " EVENTS_DIR "/<table>_events_YYYY_MM.txt" : "off");
	if (months)
		printf("keeps     %lld months (the current one and %lld before it; older"
		       " events go at the next change applied)\n", (long long)months,
		       (long long)months - 1);
	printf("events    %lld in %ld files", (long long)n, files);
	if (n) {
		char a[32], b[32];
		iso(oldest * 1000000, a, sizeof(a));
		iso(newest * 1000000, b, sizeof(b));
		printf(", %s to %s", a, b);
	}
	printf("\n");
	buf_release(&err);
	return 0;
}
