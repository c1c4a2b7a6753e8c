/*
 * diskfile.c - atomic replacement of files in a real folder.
 *
 * The sequence, and why it is in this order:
 *   1. open a new temporary file next to the target (same folder, so the
 *      rename cannot cross filesystems), O_EXCL so we never write through
 *      someone else's file or symlink;
 *   2. write all bytes, looping on short writes;
 *   3. fsync it when asked (or the caller syncs the filesystem once later);
 *   4. rename over the target: atomic for readers;
 *   5. on any failure, unlink the temporary file: the old target stays.
 * The caller fsyncs the folder (diskfile_fsync_dir) to make the rename
 * itself durable.
 */
#include "diskfile.h"

#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int sys_fail(struct buf *err, const char *what, const char *path)
{
	int e = errno ? errno : EIO;

	if (err)
		buf_addf(err, "%s %s: %s", what, path, strerror(e));
	return -e;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/*
 * The process umask, read once from /proc/self/status (umask() itself
 * cannot be read without setting it, which would race with other threads
 * creating files). -1 when unknown: then every new file gets an fchmod.
 */
static int read_umask(void)
{
	static int cached = -2;
	char line[256];
	FILE *f;
	int m = -1;

	if (cached != -2)
		return cached;
	f = fopen("/proc/self/status", "re");
	if (f) {
		while (fgets(line, sizeof(line), f))
			if (strncmp(line, "Umask:", 6) == 0) {
				m = (int)strtol(line + 6, NULL, 8);
				break;
			}
		fclose(f);
	}
	cached = m;
	return m;
}

static void to_timespec(int64_t ns, struct timespec ts[2])
{
	ts[0].tv_sec = (time_t)(ns / 1000000000);
	ts[0].tv_nsec = (long)(ns % 1000000000);
	ts[1] = ts[0];
}

int diskfile_set_mtime(int root, const char *path, int64_t mtime_ns, struct buf *err)
{
	struct timespec ts[2];

	to_timespec(mtime_ns, ts);
	if (utimensat(root, path, ts, AT_SYMLINK_NOFOLLOW) < 0)
		return sys_fail(err, "cannot set the time of", path);
	return 0;
}

int diskfile_left_by_dead(const char *name, const char *prefix)
{
	const size_t plen = strlen(prefix);
	char *end;
	long pid;

	if (strncmp(name, prefix, plen) != 0)
		return 0;
	errno = 0;
	pid = strtol(name + plen, &end, 10);
	if (errno || end == name + plen || pid <= 0 || (*end && *end != '-') ||
	    pid == (long)getpid())
		return 0;
	return kill((pid_t)pid, 0) < 0 && errno == ESRCH;
}

int diskfile_replace(int root, const char *path, const char *data, size_t len,
		     unsigned mode, int64_t mtime_ns, int flags, struct buf *err)
{
	static unsigned long counter;
	static pid_t pid;   /* a benign race: every thread finds the same */
	struct buf tmp = BUF_INIT;
	const char *slash = strrchr(path, '/');
	int fd = -1, rc = 0, tries, um = read_umask();

	for (tries = 0; tries < 100; tries++) {
		buf_reset(&tmp);
		if (slash)
			buf_add(&tmp, path, (size_t)(slash - path) + 1);
		if (!pid)
			pid = getpid();
		buf_addf(&tmp, DISKFILE_TMP_PREFIX "%ld-%lu", (long)pid,
			 __atomic_add_fetch(&counter, 1, __ATOMIC_RELAXED));
		fd = openat(root, tmp.data, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC |
			    O_NOFOLLOW, mode & 07777);
		if (fd >= 0 || errno != EEXIST)
			break;
	}
	if (fd < 0) {
		rc = sys_fail(err, "cannot create a temporary file for", path);
		goto out;
	}
	/* The umask may have narrowed the mode: set it exactly. */
	if ((um < 0 || (mode & 07777 & (unsigned)um)) && fchmod(fd, mode & 07777) < 0) {
		rc = sys_fail(err, "cannot set the mode of", path);
		goto unlink;
	}
	if (write_all(fd, data, len) < 0) {
		rc = sys_fail(err, "cannot write", path);
		goto unlink;
	}
	if (mtime_ns > 0) {
		struct timespec ts[2];
		to_timespec(mtime_ns, ts);
		if (futimens(fd, ts) < 0) {
			rc = sys_fail(err, "cannot set the time of", path);
			goto unlink;
		}
	}
	if ((flags & DISKFILE_FSYNC) && fsync(fd) < 0) {
		rc = sys_fail(err, "cannot fsync", path);
		goto unlink;
	}
	if (close(fd) < 0) {
		fd = -1;
		rc = sys_fail(err, "cannot write", path);
		goto unlink;
	}
	fd = -1;
	if (renameat(root, tmp.data, root, path) < 0) {
		rc = sys_fail(err, "cannot rename into place", path);
		goto unlink;
	}
	goto out;
unlink:
	if (fd >= 0)
		close(fd);
	unlinkat(root, tmp.data, 0);
out:
	buf_release(&tmp);
	return rc;
}

int diskfile_mkdir(int root, const char *path, unsigned mode, struct buf *err)
{
	struct stat st;

	if (mkdirat(root, path, mode & 07777) == 0) {
		/* the umask may have narrowed it */
		if (fchmodat(root, path, mode & 07777, 0) < 0)
			return sys_fail(err, "cannot set the mode of folder", path);
		return 1;
	}
	if (errno != EEXIST)
		return sys_fail(err, "cannot create folder", path);
	if (fstatat(root, path, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return sys_fail(err, "cannot stat folder", path);
	if (!S_ISDIR(st.st_mode)) {
		errno = ENOTDIR;
		return sys_fail(err, "cannot create folder", path);
	}
	if ((st.st_mode & 07777) != (mode & 07777) &&
	    fchmodat(root, path, mode & 07777, 0) < 0)
		return sys_fail(err, "cannot set the mode of folder", path);
	return 0;
}

int diskfile_mkdirs(int root, const char *path, unsigned mode, struct buf *err)
{
	struct buf dir = BUF_INIT;
	const char *p = path;
	int rc = 0;

	while ((p = strchr(p, '/'))) {
		buf_reset(&dir);
		buf_add(&dir, path, (size_t)(p - path));
		p++;
		if (mkdirat(root, dir.data, mode & 07777) == 0) {
			/* umask may have narrowed it */
			if (fchmodat(root, dir.data, mode & 07777, 0) < 0) {
				rc = sys_fail(err, "cannot set the mode of folder", dir.data);
				break;
			}
			continue;
		}
		if (errno != EEXIST) {
			rc = sys_fail(err, "cannot create folder", dir.data);
			break;
		}
	}
	buf_release(&dir);
	return rc;
}

int diskfile_same(int root, const char *path, const char *data, size_t len,
		  unsigned mode, int64_t mtime_ns, struct buf *err)
{
	struct stat st;
	char chunk[65536];
	size_t off = 0;
	int fd, rc = 1;

	/* O_NONBLOCK: a FIFO at the path must not block the open (it is
	 * not a regular file, so it differs). */
	fd = openat(root, path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0) {
		if (errno == ENOENT || errno == ELOOP)
			return 0;
		return sys_fail(err, "cannot open", path);
	}
	if (fstat(fd, &st) < 0) {
		rc = sys_fail(err, "cannot stat", path);
		goto out;
	}
	if (!S_ISREG(st.st_mode) || (size_t)st.st_size != len ||
	    (st.st_mode & 07777) != (mode & 07777)) {
		rc = 0;
		goto out;
	}
	while (off < len) {
		ssize_t n = read(fd, chunk, sizeof(chunk));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			rc = sys_fail(err, "cannot read", path);
			goto out;
		}
		if (n == 0 || (size_t)n > len - off ||
		    memcmp(chunk, data + off, (size_t)n) != 0) {
			rc = 0;
			goto out;
		}
		off += (size_t)n;
	}
	if (mtime_ns > 0 && (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec != mtime_ns)
		rc = DISKFILE_SAME_BUT_TIME;
out:
	close(fd);
	return rc;
}

int diskfile_read(int root, const char *path, struct buf *out, struct buf *err)
{
	struct stat st;
	int fd, rc = 0;

	buf_reset(out);
	fd = openat(root, path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0)
		return sys_fail(err, "cannot open", path);
	if (fstat(fd, &st) < 0) {
		rc = sys_fail(err, "cannot stat", path);
		goto out;
	}
	/* A FIFO or device would block or never end: only files are read. */
	if (!S_ISREG(st.st_mode)) {
		if (err)
			buf_addf(err, "cannot read %s: not a regular file", path);
		rc = -EINVAL;
		goto out;
	}
	if ((unsigned long long)st.st_size >= BUF_MAX) {
		errno = EFBIG;
		rc = sys_fail(err, "cannot read", path);
		goto out;
	}
	buf_grow(out, (size_t)st.st_size);
	for (;;) {
		ssize_t n;
		buf_grow(out, 65536);
		n = read(fd, out->data + out->len, out->cap - out->len - 1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			rc = sys_fail(err, "cannot read", path);
			goto out;
		}
		if (n == 0)
			break;
		out->len += (size_t)n;
		out->data[out->len] = '\0';
		if (out->len >= BUF_MAX - 65536) {
			errno = EFBIG;
			rc = sys_fail(err, "cannot read", path);
			goto out;
		}
	}
out:
	close(fd);
	return rc;
}

int diskfile_fsync_dir(int root, const char *path, struct buf *err)
{
	int fd, rc = 0;

	fd = openat(root, path && *path ? path : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return sys_fail(err, "cannot open folder", path && *path ? path : ".");
	if (fsync(fd) < 0)
		rc = sys_fail(err, "cannot fsync folder", path && *path ? path : ".");
	close(fd);
	return rc;
}

int diskfile_fsync_nearest_dir(int root, struct buf *path, struct buf *err)
{
	int rc;

	/* Only ENOENT moves up, and it writes no message: the message that
	 * reaches err is the one from the fsync that failed (a second fsync
	 * would succeed, the kernel having reported the error once). */
	while ((rc = diskfile_fsync_dir(root, path->data ? path->data : "",
					NULL)) == -ENOENT && path->len) {
		const char *up = strrchr(path->data, '/');

		buf_truncate(path, up ? (size_t)(up - path->data) : 0);
	}
	if (rc && err)
		buf_addf(err, "cannot fsync folder %s: %s",
			 path->len ? path->data : ".", strerror(-rc));
	return rc;
}
