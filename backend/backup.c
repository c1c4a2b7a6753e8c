/*
 * backup.c - backups and restores of the database itself (backup.h).
 */
#include "backup.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "journal.h"
#include "sha256.h"
#include "store.h"

#define EXIT_FAIL 1
#define EXIT_USAGE 2

/* Print the failure and release err: the exit status. */
static int failed(const char *cmd, const char *what, struct buf *err)
{
	fprintf(stderr, "archivefs: %s: %s%s%s\n", cmd, what, err->len ? ": " : "",
		err->len ? err->data : "");
	buf_release(err);
	return EXIT_FAIL;
}

void backup_stamp(char *out, size_t size)
{
	time_t t = time(NULL);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, size, "%Y%m%dT%H%M%SZ", &tm);
}

static int fsync_file(const char *path, int dir)
{
	int fd = open(path, (dir ? O_DIRECTORY : 0) | O_RDONLY | O_CLOEXEC), rc = 0;

	if (fd < 0 || fsync(fd) < 0)
		rc = -errno;
	if (fd >= 0)
		close(fd);
	return rc;
}

/* The folder holding path ("." when none), into out. */
static void folder_of(const char *path, struct buf *out)
{
	const char *slash = strrchr(path, '/');

	buf_reset(out);
	if (!slash)
		buf_addstr(out, ".");
	else if (slash == path)
		buf_addstr(out, "/");
	else
		buf_add(out, path, (size_t)(slash - path));
}

/* Write path.sha256 ("<hex>  <name>\n", as sha256sum writes it), durably. */
static int write_checksum(const char *path, struct buf *err)
{
	struct buf sum = BUF_INIT, tmp = BUF_INIT, line = BUF_INIT;
	const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
	char hex[65];
	int rc = sha256_file(path, hex), fd = -1;

	if (rc) {
		buf_addf(err, "cannot read %s: %s", path, strerror(-rc));
		return rc;
	}
	buf_addf(&sum, "%s.sha256", path);
	buf_addf(&tmp, "%s.tmp", sum.data);
	buf_addf(&line, "%s  %s\n", hex, base);
	errno = 0;
	fd = open(tmp.data, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, line.data, line.len) != (ssize_t)line.len || fsync(fd) < 0)
		rc = errno ? -errno : -EIO;   /* a short write sets no errno */
	if (fd >= 0 && close(fd) < 0 && !rc)
		rc = -errno;
	if (!rc && rename(tmp.data, sum.data) < 0)
		rc = -errno;
	if (rc) {
		buf_addf(err, "cannot write %s: %s", sum.data, strerror(-rc));
		unlink(tmp.data);
	}
	buf_release(&sum);
	buf_release(&tmp);
	buf_release(&line);
	return rc;
}

/* The checksum file of path names path's base and matches its bytes. */
static int check_checksum(const char *path, struct buf *err)
{
	struct buf sum = BUF_INIT;
	const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
	char want[65], got[65], name[4096];
	FILE *f;
	int rc = 0;

	buf_addf(&sum, "%s.sha256", path);
	f = fopen(sum.data, "re");
	if (!f) {
		buf_addf(err, "no checksum file %s (%s): a backup archivefs wrote has one",
			 sum.data, strerror(errno));
		buf_release(&sum);
		return -ENOENT;
	}
	if (fscanf(f, "%64[0-9a-f]  %4095[^\n]", want, name) != 2 || strlen(want) != 64) {
		buf_addf(err, "%s is not a sha256sum line", sum.data);
		rc = -EINVAL;
	} else if (strcmp(name, base)) {
		buf_addf(err, "%s is the checksum of %s, not of %s", sum.data, name, base);
		rc = -EINVAL;
	} else if ((rc = sha256_file(path, got))) {
		buf_addf(err, "cannot read %s: %s", path, strerror(-rc));
	} else if (strcmp(want, got)) {
		buf_addf(err, "%s does not match its checksum (%s has %s, the file %s):"
			 " the backup is damaged", path, sum.data, want, got);
		rc = -EIO;
	}
	fclose(f);
	buf_release(&sum);
	return rc;
}

int backup_make(const char *db, const char *dest, struct buf *err)
{
	struct buf tmp = BUF_INIT, dir = BUF_INIT;
	struct stat st;
	int rc;

	buf_addf(&tmp, "%s.archivefs-tmp-%ld", dest, (long)getpid());
	unlink(tmp.data);
	rc = store_backup(db, tmp.data, 1, err);
	if (rc) {
		buf_addstr(err, " (copying the database)");
		goto out;
	}
	/* As private as the database: it holds the same secrets. */
	if (stat(db, &st) == 0 && chmod(tmp.data, st.st_mode & 0777) < 0) {
		rc = -errno;
		buf_addf(err, "cannot set the mode of %s: %s", tmp.data, strerror(errno));
		goto out;
	}
	rc = store_integrity(tmp.data, err);
	if (rc) {
		buf_addstr(err, " (the copy failed PRAGMA integrity_check: is the database"
			   " itself damaged? `sqlite3 DB 'PRAGMA integrity_check'` tells)");
		goto out;
	}
	rc = fsync_file(tmp.data, 0);
	if (!rc && rename(tmp.data, dest) < 0)
		rc = -errno;
	if (rc) {
		buf_addf(err, "cannot put the backup in place at %s: %s", dest, strerror(-rc));
		goto out;
	}
	buf_reset(&tmp);
	rc = write_checksum(dest, err);
	folder_of(dest, &dir);
	if (!rc && (rc = fsync_file(dir.data, 1)))
		buf_addf(err, "cannot fsync %s: %s", dir.data, strerror(-rc));
out:
	if (tmp.len)
		unlink(tmp.data);
	buf_release(&tmp);
	buf_release(&dir);
	return rc;
}

int backup_verify(const char *path, struct buf *err)
{
	int rc = check_checksum(path, err);

	if (!rc && (rc = store_integrity(path, err)))
		buf_addstr(err, " (the backup failed PRAGMA integrity_check)");
	return rc;
}

static int is_database(const char *path, struct buf *err)
{
	struct store *s = NULL;
	int rc = store_open(path, STORE_RDONLY, &s, err);

	store_close(s);
	return rc;
}

int backup_command(int argc, char **argv)
{
	struct buf dest = BUF_INIT, err = BUF_INIT;
	const char *db, *base;
	struct stat st;
	char stamp[32];
	int rc;

	if (argc != 2 || argv[0][0] == '-' || argv[1][0] == '-') {
		fprintf(stderr, "archivefs: backup: usage: archivefs backup DB DEST"
			" (DEST a file, or a folder to put DB-<time>.db in)\n");
		return EXIT_USAGE;
	}
	db = argv[0];
	if (is_database(db, &err))
		return failed("backup", db, &err);
	base = strrchr(db, '/') ? strrchr(db, '/') + 1 : db;
	if (stat(argv[1], &st) == 0 && S_ISDIR(st.st_mode)) {
		const char *dot = strrchr(base, '.');
		backup_stamp(stamp, sizeof(stamp));
		buf_addf(&dest, "%s/", argv[1]);
		buf_add(&dest, base, dot && dot != base ? (size_t)(dot - base) : strlen(base));
		buf_addf(&dest, "-%s.db", stamp);
	} else {
		buf_addstr(&dest, argv[1]);
	}
	if (stat(dest.data, &st) == 0) {
		fprintf(stderr, "archivefs: backup: %s exists: choose a new name (a backup"
			" never overwrites one)\n", dest.data);
		buf_release(&dest);
		return EXIT_FAIL;
	}
	rc = backup_make(db, dest.data, &err);
	if (rc) {
		failed("backup", dest.data, &err);
		buf_release(&dest);
		buf_release(&err);
		return EXIT_FAIL;
	}
	printf("backed up %s to %s (integrity ok; checksum in %s.sha256)\n", db, dest.data,
	       dest.data);
	buf_release(&dest);
	buf_release(&err);
	return 0;
}

int restore_command(int argc, char **argv)
{
	struct buf keep = BUF_INIT, err = BUF_INIT;
	const char *backup, *db;
	char stamp[32];
	int rc, followed;

	if (argc != 2 || argv[0][0] == '-' || argv[1][0] == '-') {
		fprintf(stderr, "archivefs: restore: usage: archivefs restore BACKUP DB\n");
		return EXIT_USAGE;
	}
	backup = argv[0];
	db = argv[1];
	rc = backup_verify(backup, &err);
	if (rc)
		return failed("restore", "nothing changed", &err);
	followed = access(db, F_OK) == 0 ? journal_followed(db, &err) : 0;
	if (followed) {
		if (followed > 0)
			buf_addstr(&err, "a mount or archivefs sync --watch follows it: unmount or"
				   " stop it first");
		return failed("restore", db, &err);
	}
	if (access(db, F_OK) == 0) {
		backup_stamp(stamp, sizeof(stamp));
		buf_addf(&keep, "%s.pre-restore-%s", db, stamp);
		rc = backup_make(db, keep.data, &err);
		if (rc) {
			buf_addstr(&err, " (keeping the current database; nothing changed)");
			failed("restore", keep.data, &err);
			buf_release(&keep);
			buf_release(&err);
			return EXIT_FAIL;
		}
	}
	rc = store_backup(backup, db, 1, &err);
	if (rc) {
		fprintf(stderr, "archivefs: restore: %s: %s%s%s\n", db, err.data,
			keep.len ? "; the database before is kept at " : "",
			keep.len ? keep.data : "");
		buf_release(&keep);
		buf_release(&err);
		return EXIT_FAIL;
	}
	printf("restored %s from %s", db, backup);
	if (keep.len)
		printf(" (the database before is kept at %s)", keep.data);
	printf("\n");
	buf_release(&keep);
	buf_release(&err);
	return 0;
}
