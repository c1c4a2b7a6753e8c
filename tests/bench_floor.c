/*
 * bench_floor.c - the floor under any exporter of a given tree.
 *
 *   bench_floor MANIFEST DIR
 *
 * MANIFEST lists "size<TAB>relative/path" lines (as find -printf '%s\t%P\n'
 * writes them). bench_floor creates the same files, with the same sizes,
 * under DIR the cheapest way that is still atomic: a temporary file in the
 * target folder, one write, rename; then one syncfs. No database, no
 * rendering: what is left is what the file system charges for the tree's
 * shape, measured side by side with `archivefs export` by bench_engine.sh.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char fill[1 << 16];

static void mkparents(int root, char *path)
{
	for (char *p = path; (p = strchr(p, '/')); p++) {
		*p = '\0';
		if (mkdirat(root, path, 0755) < 0 && errno != EEXIST) {
			perror(path);
			exit(1);
		}
		*p = '/';
	}
}

int main(int argc, char **argv)
{
	char line[8192], tmp[8300], lastdir[8192] = "";
	unsigned long n = 0;
	FILE *m;
	int root;

	if (argc != 3) {
		fprintf(stderr, "usage: bench_floor MANIFEST DIR\n");
		return 2;
	}
	memset(fill, 'x', sizeof(fill));
	m = fopen(argv[1], "r");
	if (!m || (mkdir(argv[2], 0755) < 0 && errno != EEXIST) ||
	    (root = open(argv[2], O_RDONLY | O_DIRECTORY)) < 0) {
		perror(argv[2]);
		return 1;
	}
	while (fgets(line, sizeof(line), m)) {
		char *tab = strchr(line, '\t'), *path, *slash;
		size_t size, len;
		int fd;

		if (!tab)
			continue;
		*tab = '\0';
		size = strtoul(line, NULL, 10);
		path = tab + 1;
		len = strlen(path);
		if (len && path[len - 1] == '\n')
			path[--len] = '\0';
		slash = strrchr(path, '/');
		if (slash) {
			*slash = '\0';
			if (strcmp(path, lastdir) != 0) {
				snprintf(lastdir, sizeof(lastdir), "%s", path);
				*slash = '/';
				mkparents(root, path);
			} else {
				*slash = '/';
			}
		}
		snprintf(tmp, sizeof(tmp), "%.*s.floor-tmp-%lu",
			 slash ? (int)(slash - path + 1) : 0, path, n++);
		fd = openat(root, tmp, O_WRONLY | O_CREAT | O_EXCL, 0644);
		if (fd < 0) {
			perror(tmp);
			return 1;
		}
		while (size) {
			size_t k = size < sizeof(fill) ? size : sizeof(fill);
			ssize_t w = write(fd, fill, k);
			if (w <= 0) {
				perror(path);
				return 1;
			}
			size -= (size_t)w;
		}
		if (close(fd) < 0 || renameat(root, tmp, root, path) < 0) {
			perror(path);
			return 1;
		}
	}
	if (syncfs(root) < 0) {
		perror("syncfs");
		return 1;
	}
	printf("%lu files\n", n);
	return 0;
}
