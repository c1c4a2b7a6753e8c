/*
 * dirwalk.c - sorted recursive listing of a real folder (see dirwalk.h).
 */
#include "dirwalk.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void free_names(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

/* Read the names in folder `path` (relative to root), sorted. */
static int read_names(int root, const char *path, char ***names, size_t *n,
		      struct buf *err)
{
	DIR *d;
	struct dirent *e;
	size_t cap = 0;
	int fd;

	*names = NULL;
	*n = 0;
	fd = openat(root, *path ? path : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 || !(d = fdopendir(fd))) {
		int e2 = errno;
		if (fd >= 0)
			close(fd);
		buf_addf(err, "cannot open folder %s: %s", *path ? path : ".", strerror(e2));
		return -e2;
	}
	for (;;) {
		errno = 0;
		if (!(e = readdir(d)))
			break;
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (*n == cap) {
			cap = cap ? cap * 2 : 64;
			*names = realloc(*names, cap * sizeof(**names));
			if (!*names)
				out_of_memory(0);
		}
		(*names)[(*n)++] = strdup(e->d_name);
		if (!(*names)[*n - 1])
			out_of_memory(0);
	}
	/* A folder that could not be listed to its end is an error, not a
	 * shorter listing (verify would miss extras, prune would miss files). */
	if (errno) {
		int e2 = errno;
		closedir(d);
		buf_addf(err, "cannot list folder %s: %s", *path ? path : ".", strerror(e2));
		free_names(*names, *n);
		*names = NULL;
		*n = 0;
		return -e2;
	}
	closedir(d);
	/* An empty folder has no array: qsort(NULL, 0) is undefined. */
	if (*n > 1)
		qsort(*names, *n, sizeof(**names), cmp_names);
	return 0;
}

static int walk(int root, struct buf *path, dirwalk_fn fn, void *ctx,
		struct buf *err)
{
	char **names;
	size_t n, base = path->len;
	int rc;

	rc = read_names(root, path->data, &names, &n, err);
	for (size_t i = 0; !rc && i < n; i++) {
		struct stat st;
		buf_truncate(path, base);
		if (base)
			buf_addch(path, '/');
		buf_addstr(path, names[i]);
		if (fstatat(root, path->data, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			rc = -errno;
			buf_addf(err, "cannot stat %s: %s", path->data, strerror(errno));
			break;
		}
		if (S_ISDIR(st.st_mode))
			rc = walk(root, path, fn, ctx, err);
		else
			rc = fn(ctx, path->data, &st, err);
	}
	buf_truncate(path, base);
	free_names(names, n);
	return rc;
}

int dirwalk(int root, dirwalk_fn fn, void *ctx, struct buf *err)
{
	struct buf path = BUF_INIT;
	int rc = walk(root, &path, fn, ctx, err);

	buf_release(&path);
	return rc;
}

/* Depth first: returns 1 if the folder ended up empty. */
static int prune_dirs(int root, struct buf *path, struct buf *err, int *rc)
{
	char **names;
	size_t n, base = path->len, kept = 0;

	*rc = read_names(root, path->data, &names, &n, err);
	if (*rc)
		return 0;
	for (size_t i = 0; i < n && !*rc; i++) {
		struct stat st;
		buf_truncate(path, base);
		if (base)
			buf_addch(path, '/');
		buf_addstr(path, names[i]);
		if (fstatat(root, path->data, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    S_ISDIR(st.st_mode) && prune_dirs(root, path, err, rc)) {
			if (unlinkat(root, path->data, AT_REMOVEDIR) == 0)
				continue;
		}
		kept++;
	}
	buf_truncate(path, base);
	free_names(names, n);
	return !*rc && kept == 0;
}

int dirwalk_remove_empty(int root, struct buf *err)
{
	struct buf path = BUF_INIT;
	int rc = 0;

	prune_dirs(root, &path, err, &rc);
	buf_release(&path);
	return rc;
}
