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
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "archive.h"
#include "journal.h"
#include "progress.h"
#include "store.h"
#include "sync.h"

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
			if (!broken)
				fprintf(stderr, "archivefs: sync: %s: %s (retrying every second;"
					" the folder keeps the old bytes of what it could not"
					" write)\n", strerror(-rc), err->data);
			broken = 1;
			retry = progress_now() + RETRY_S;
			rc = 0;
		} else if (broken) {
			fprintf(stderr, "archivefs: sync: caught up\n");
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
