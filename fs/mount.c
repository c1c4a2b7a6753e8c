/*
 * mount.c - `archivefs mount DB MOUNTPOINT [-f] [-d] [-o opt[,opt...]]`.
 *
 * Order matters:
 *   1. check everything that can be checked before mounting (the database
 *      opens read-only and its layout binds; the mountpoint is a folder),
 *      so a bad argument is an error message and exit 1, not a dead mount;
 *      then install the change journal (a read-write connection, closed
 *      again before the fork); a database that cannot be written is
 *      served without live updates, with a notice;
 *   2. create the session and mount (read-only, private unless -o
 *      allow_other, which always comes with default_permissions);
 *   3. daemonize unless -f (like sshfs: the parent exits once mounted);
 *   4. only then open the store connections: SQLite connections must not
 *      cross a fork(); then start the watcher (watch.c) on its own
 *      read-write connection;
 *   5. serve with the multi-threaded loop until unmounted or signalled,
 *      then stop the watcher (before unmounting: it talks to the kernel
 *      through the session), unmount and exit 0.
 */
#include <errno.h>
#include <limits.h>
#include <malloc.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "fs.h"
#include "archive.h"
#include "journal.h"

#define EXIT_FAIL 1
#define EXIT_USAGE 2
#define NCONNS 4

const char fs_mount_help[] =
	"  mount DB MOUNTPOINT [-f] [-d] [-o opt[,opt...]] [--sync-dir DIR]\n"
	"                               serve the text tree of DB at MOUNTPOINT, read-only,\n"
	"                               rendered from DB on demand and following the\n"
	"                               application's commits (when DB is writable,\n"
	"                               archivefs installs its change journal in it);\n"
	"                               -f stays in the foreground, -d prints FUSE debug\n"
	"                               output, -o passes mount options (allow_other,\n"
	"                               default_permissions...); -o rw: editing: a record\n"
	"                               file saved by any editor or tool (in place, or\n"
	"                               through a temporary renamed over it) is saved to\n"
	"                               the database at close, fsync or rename, which fail\n"
	"                               with EINVAL (bad text), ESTALE (changed since this\n"
	"                               process read it) or EACCES (not a record file);\n"
	"                               refusals are in MOUNTPOINT/.archivefs/status, their\n"
	"                               text in .archivefs/rejected/; other names are\n"
	"                               scratch files kept in memory; slower on whole-tree\n"
	"                               tools (README: Editing through the mount);\n"
	"                               --sync-dir DIR keeps the real folder DIR identical\n"
	"                               to the tree (files written atomically with the\n"
	"                               mount's mtimes; a save is on disk before it\n"
	"                               returns; healed by a whole pass at start and after\n"
	"                               failures, which are in MOUNTPOINT/.archivefs/status\n"
	"                               and `archivefs status DB`); unmount with\n"
	"                               fusermount3 -u MOUNTPOINT\n";

static int usage(const char *what, const char *arg)
{
	fprintf(stderr, "archivefs: mount: %s%s%s\nTry 'archivefs mount --help'.\n",
		what, arg ? " " : "", arg ? arg : "");
	return EXIT_USAGE;
}

__attribute__((format(printf, 1, 2)))
static int failed(const char *fmt, ...)
{
	va_list ap;

	fputs("archivefs: mount: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return EXIT_FAIL;
}

static void strip_newlines(struct buf *b)
{
	while (b->len && b->data[b->len - 1] == '\n')
		buf_truncate(b, b->len - 1);
}

/* Mount options from -o, comma-joined (empty when none). */
static int add_opts(struct buf *opts, const char *o)
{
	if (!*o)
		return -1;
	if (opts->len)
		buf_addch(opts, ',');
	buf_addstr(opts, o);
	return 0;
}

/* 1 if option a comes after every option b in the comma-separated list
 * opts, 0 if not or when a is absent ("ro"/"rw": the last wins, as with
 * mount(8)). */
static int last_of(const char *opts, const char *a, const char *b)
{
	int which = 0;
	size_t na = strlen(a), nb = strlen(b);

	for (const char *p = opts; *p;) {
		size_t n = strcspn(p, ",");
		if (n == na && !strncmp(p, a, n))
			which = 1;
		else if (n == nb && !strncmp(p, b, n))
			which = 0;
		p += n;
		if (*p)
			p++;
	}
	return which;
}

/* 1 if the comma-separated list opts holds option o. */
static int has_opt(const char *opts, const char *o)
{
	size_t no = strlen(o);

	for (const char *p = opts ? opts : ""; *p;) {
		size_t n = strcspn(p, ",");
		if (n == no && !strncmp(p, o, n))
			return 1;
		p += n;
		if (*p)
			p++;
	}
	return 0;
}

static int check_mountpoint(const char *mnt, char *abs)
{
	struct stat st;

	if (stat(mnt, &st) < 0) {
		if (errno == ENOTCONN)
			return failed("%s: %s (a dead mount? try 'fusermount3 -u %s')",
				      mnt, strerror(errno), mnt);
		return failed("mountpoint %s: %s", mnt, strerror(errno));
	}
	if (!S_ISDIR(st.st_mode))
		return failed("mountpoint %s: %s", mnt, "not a folder");
	if (!realpath(mnt, abs))
		return failed("mountpoint %s: %s", mnt, strerror(errno));
	return 0;
}

/* 0 if db and its folder (for SQLite's journal files) are writable,
 * else -errno with what is not in err. */
static int check_writable(const char *db, struct buf *err)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(db, '/');
	size_t n = slash && slash != db ? (size_t)(slash - db) : 1;

	int e;

	if (access(db, W_OK) < 0) {
		e = errno;
		buf_addf(err, "%s: %s", db, strerror(e));
		return -e;
	}
	if (n >= sizeof(dir))
		return 0;
	memcpy(dir, db, n);
	dir[n] = '\0';
	if (access(dir, W_OK) < 0) {
		e = errno;
		buf_addf(err, "folder %s: %s", dir, strerror(e));
		return -e;
	}
	return 0;
}

/*
 * Install (or refresh) the change journal in db. *live = 1 when done;
 * *live = 0 with a notice on stderr when db cannot be written (the mount
 * then serves without live updates). Another failure is the exit status.
 */
static int install_journal(const char *db, int *live)
{
	struct buf err = BUF_INIT;
	struct store *s = NULL;
	struct layout l;
	int rc = check_writable(db, &err);

	*live = 0;
	if (!rc)
		rc = store_open(db, STORE_RDWR, &s, &err);
	if (!rc) {
		rc = layout_bind(&l, store_schema(s), &err);
		if (!rc) {
			/* The objects only (one short transaction): indexes and
			 * the records of the tree come from the watcher. */
			rc = journal_install(s, &l, &err);
			layout_release(&l);
		}
		store_close(s);
	}
	strip_newlines(&err);
	if (rc == -EROFS || rc == -EACCES || rc == -EPERM) {
		fprintf(stderr, "archivefs: mount: notice: the database cannot be written"
			" (%s): serving it without live updates, files carry %s\n",
			err.data, "the database file's mtime unless a read-write mount"
			" recorded theirs");
		rc = 0;
	} else if (rc) {
		rc = failed("database %s: cannot install the change journal: %s", db,
			    err.data);
	} else {
		*live = 1;
	}
	buf_release(&err);
	return rc;
}

/*
 * --sync-dir DIR: created when missing (its parent must exist), resolved to
 * an absolute path (the daemon changes to "/"), and refused inside the
 * mountpoint (the mount would write into itself) or without live updates
 * (the folder follows the change journal).
 */
static int check_sync_dir(const char *dir, const char *mnt, int live, char *abs)
{
	size_t n = strlen(mnt);

	if (!live)
		return failed("--sync-dir %s: needs a database archivefs can write"
			      " (the folder follows its change journal)", dir);
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return failed("--sync-dir %s: %s", dir, strerror(errno));
	if (!realpath(dir, abs))
		return failed("--sync-dir %s: %s", dir, strerror(errno));
	if (!strncmp(abs, mnt, n) && (abs[n] == '/' || abs[n] == '\0'))
		return failed("--sync-dir %s: inside the mountpoint %s", dir, mnt);
	return 0;
}

/* fuse_log() after daemonizing: FUSE's levels are syslog's. */
static void log_to_syslog(enum fuse_log_level level, const char *fmt, va_list ap)
{
	vsyslog((int)level, fmt, ap);
}

int fs_mount_cmd(int argc, char **argv)
{
	const char *pos[2] = { NULL, NULL }, *sync_arg = NULL;
	char sync_abs[PATH_MAX];
	int lock_fd = -1;   /* journal_lock(): closed after every connection */
	int npos = 0, foreground = 0, debug = 0, rc = EXIT_FAIL, loop, live = 0, rw;
	char db[PATH_MAX], mnt[PATH_MAX];
	struct buf opts = BUF_INIT, fsopts = BUF_INIT, err = BUF_INIT;
	struct fuse_args args = FUSE_ARGS_INIT(0, NULL);
	struct fuse_session *se = NULL;
	struct fuse_loop_config *cfg = NULL;
	struct fs fs;
	struct watch *watch = NULL;
	struct stat st;

	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			printf("usage: archivefs mount DB MOUNTPOINT [-f] [-d] [-o opt[,opt...]]"
			       " [--sync-dir DIR]\n\n%s",
			       fs_mount_help);
			printf("\nFUSE options for -o:\n");
			fflush(stdout);
			fuse_lowlevel_help();
			return 0;
		} else if (!strcmp(a, "-f")) {
			foreground = 1;
		} else if (!strcmp(a, "-d")) {
			debug = foreground = 1;
		} else if (!strcmp(a, "--sync-dir") || !strncmp(a, "--sync-dir=", 11)) {
			if (a[10] == '=')
				sync_arg = a + 11;
			else if (i + 1 < argc)
				sync_arg = argv[++i];
			if (!sync_arg || !*sync_arg)
				return buf_release(&opts), usage("--sync-dir needs a folder", NULL);
		} else if (!strcmp(a, "-o")) {
			if (i + 1 >= argc || add_opts(&opts, argv[++i]))
				return buf_release(&opts), usage("-o needs options", NULL);
		} else if (!strncmp(a, "-o", 2)) {
			if (add_opts(&opts, a + 2))
				return buf_release(&opts), usage("-o needs options", NULL);
		} else if (a[0] == '-' && a[1]) {
			buf_release(&opts);
			return usage("unknown option", a);
		} else if (npos < 2) {
			pos[npos++] = a;
		} else {
			buf_release(&opts);
			return usage("unexpected argument", a);
		}
	}
	if (npos < 2) {
		buf_release(&opts);
		return usage("needs a database and a mountpoint", NULL);
	}

	rw = last_of(opts.len ? opts.data : "", "rw", "ro");
	/* Shared with other users only when asked, and then the kernel checks
	 * every access against the file modes (0600 for bearer secrets):
	 * without default_permissions it would check none. */
	if ((has_opt(opts.data, "allow_other") || has_opt(opts.data, "allow_root")) &&
	    !has_opt(opts.data, "default_permissions"))
		add_opts(&opts, "default_permissions");

	/* 1. Checks, before anything is mounted. */
	if (stat(pos[0], &st) < 0 || !realpath(pos[0], db)) {
		rc = failed("database %s: %s", pos[0], strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = failed("database %s: %s", pos[0], "not a regular file");
		goto out;
	}
	if (fs_check_db(db, &err)) {
		strip_newlines(&err);
		rc = failed("database %s: %s", pos[0], err.len ? err.data : "cannot open");
		goto out;
	}
	if (check_mountpoint(pos[1], mnt))
		goto out;
	if (install_journal(db, &live))
		goto out;
	if (live && journal_lock(db, &lock_fd, &err)) {
		strip_newlines(&err);
		if (rw || sync_arg) {
			rc = failed("database %s: %s: %s needs to follow it", db, err.data,
				    sync_arg ? "--sync-dir" : "-o rw");
			goto out;
		}
		fprintf(stderr, "archivefs: mount: notice: %s: serving it without live"
			" updates\n", err.data);
		buf_reset(&err);
		live = 0;
	}
	if (rw && !live) {
		rc = failed("database %s: -o rw needs a database archivefs can write", db);
		goto out;
	}
	if (sync_arg && check_sync_dir(sync_arg, mnt, live, sync_abs))
		goto out;

	/* 2. The session. Read-only and private by default; fsname names the
	 * database in /proc/mounts and df. */
	buf_addstr(&fsopts, rw ? "rw,subtype=archivefs,fsname=" : "ro,subtype=archivefs,fsname=");
	for (const char *c = db; *c; c++) {
		if (*c == ',' || *c == '\\')   /* fuse_opt's escapes */
			buf_addch(&fsopts, '\\');
		buf_addch(&fsopts, *c);
	}
	if (fuse_opt_add_arg(&args, "archivefs") || fuse_opt_add_arg(&args, "-o") ||
	    fuse_opt_add_arg(&args, fsopts.data))
		goto nomem;
	if (opts.len && (fuse_opt_add_arg(&args, "-o") || fuse_opt_add_arg(&args, opts.data)))
		goto nomem;
	if (debug && fuse_opt_add_arg(&args, "-d"))
		goto nomem;

	memset(&fs, 0, sizeof(fs));
	se = fuse_session_new(&args, &fs_ops, sizeof(fs_ops), &fs);
	if (!se) {
		rc = EXIT_USAGE;
		failed("%s", "invalid options (see 'archivefs mount --help')");
		goto out;
	}
	if (fuse_set_signal_handlers(se)) {
		rc = failed("%s", "cannot set signal handlers");
		goto out_session;
	}
	if (fuse_session_mount(se, mnt)) {
		rc = failed("cannot mount on %s (see the reason above)", mnt);
		goto out_signals;
	}

	/* 3. Daemonize; from here stderr may be /dev/null. */
	/* Up to 16 loop threads would each get a malloc arena that keeps
	 * what it freed: two arenas keep the daemon's memory near what it
	 * uses (measured: 172 MB -> 112 MB peak during grep -r of 112k files). */
	mallopt(M_ARENA_MAX, 2);
	/* A rendering of a big file (megabytes) is a buffer of its own,
	 * handed back to the system when freed; glibc would otherwise raise
	 * this threshold after the first such free and keep them in the heap. */
	mallopt(M_MMAP_THRESHOLD, 256 * 1024);
	if (fuse_daemonize(foreground)) {
		fuse_log(FUSE_LOG_ERR, "archivefs: mount: cannot daemonize\n");
		goto out_unmount;
	}
	/* A daemon's stderr is /dev/null: from here on, messages go to the
	 * system log (journalctl -t archivefs, or /var/log/syslog). */
	if (!foreground) {
		openlog("archivefs", LOG_PID, LOG_DAEMON);
		fuse_set_log_func(log_to_syslog);
	}

	/* 4. The connections, after the fork. The DB's mtime is every node's
	 * time when the journal is not installed (see struct fs). */
	if (stat(db, &st) < 0) {
		fuse_log(FUSE_LOG_ERR, "archivefs: mount: %s: %s\n", db, strerror(errno));
		goto out_unmount;
	}
	if (fs_open(&fs, db, NCONNS, &st.st_mtim, &err)) {
		strip_newlines(&err);
		fuse_log(FUSE_LOG_ERR, "archivefs: mount: %s: %s\n", db, err.data);
		goto out_unmount;
	}
	fs.se = se;
	fs.rw = rw;
	if (rw && (!live || fs_open_writer(&fs, db, &err))) {
		strip_newlines(&err);
		fuse_log(FUSE_LOG_ERR, "archivefs: mount: %s: -o rw needs a database"
			 " archivefs can write%s%s\n", db, err.len ? ": " : "", err.data);
		goto out_fs;
	}
	if (!rw && fs_open_status(&fs))
		fuse_log(FUSE_LOG_WARNING, "archivefs: mount: out of memory for"
			 " .archivefs/status: problems go to the log only\n");
	if (sync_arg && sync_open(sync_abs, &fs.sync, &err)) {
		strip_newlines(&err);
		fuse_log(FUSE_LOG_ERR, "archivefs: mount: --sync-dir: %s\n", err.data);
		goto out_fs;
	}
	/* A watcher that cannot start leaves a working (static) mount: a dead
	 * daemon would be a dead mount for everyone. */
	if (live && watch_start(&fs, se, db, &watch, &err)) {
		strip_newlines(&err);
		fuse_log(FUSE_LOG_WARNING, "archivefs: mount: %s: no live updates: %s\n",
			 db, err.data);
		buf_reset(&err);
	}

	/* 5. Serve. */
	cfg = fuse_loop_cfg_create();
	if (!cfg) {
		fuse_log(FUSE_LOG_ERR, "archivefs: mount: out of memory\n");
		goto out_fs;
	}
	fuse_loop_cfg_set_max_threads(cfg, 16);
	fuse_log(FUSE_LOG_NOTICE, "archivefs: serving %s at %s (%s)\n", db, mnt,
		 !live ? "no live updates" : fs_live(&fs) ? "live updates on" :
		 "live updates once the tree is recorded");
	loop = fuse_session_loop_mt(se, cfg);
	/* > 0: ended by that signal (SIGTERM, SIGINT, SIGHUP): a clean stop. */
	if (loop < 0)
		fuse_log(FUSE_LOG_ERR, "archivefs: mount: session loop failed: %s\n",
			 strerror(-loop));
	else
		rc = 0;
	fuse_loop_cfg_destroy(cfg);
	fuse_log(FUSE_LOG_NOTICE, "archivefs: %s: unmounted, exiting\n", mnt);
out_fs:
	watch_stop(watch);
	if (fs.sync) {
		if (sync_flush(fs.sync, &err))
			fuse_log(FUSE_LOG_ERR, "archivefs: %s: %s\n", sync_dir(fs.sync), err.data);
		sync_close(fs.sync);
		fs.sync = NULL;
	}
	fs_release(&fs);
out_unmount:
	fuse_session_unmount(se);
out_signals:
	fuse_remove_signal_handlers(se);
out_session:
	fuse_session_destroy(se);
out:
	if (lock_fd >= 0)
		close(lock_fd);
	fuse_opt_free_args(&args);
	buf_release(&fsopts);
	buf_release(&opts);
	buf_release(&err);
	return rc;
nomem:
	rc = failed("%s", "out of memory");
	goto out;
}
