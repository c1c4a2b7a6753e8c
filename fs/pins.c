/*
 * pins.c - one rendering per reader of a big file, from open to close.
 *
 * The kernel reads a file in requests of at most 128 KB, and with opens
 * answered by the kernel itself (no_open, ops.c) the daemon never learns
 * when a reader opened or closed a file. A file of one request is read
 * from one rendering by construction. For a bigger one, the first request
 * pins the rendering it served: until the pin goes, every read of that
 * path is served from those same bytes, whatever the application commits
 * meanwhile, so a reader never joins the head of one version to the tail
 * of another.
 *
 * The pin goes when nobody read the file for PIN_IDLE_NS. When the file
 * changes while pinned, the watcher does not tell the kernel at once
 * (the kernel would drop the reader's size and pages): pins_supersede()
 * marks the pin, and pins_expire(), run by the watcher on every tick,
 * removes it once idle, or at the latest PIN_STALE_NS after the change,
 * and hands the path back to be invalidated then. So the live promise
 * ("visible within 1 s") still holds, and a reader that keeps reading
 * sees one version from its first byte to its last as long as it reads
 * within that time (a 3 MB file takes a few milliseconds).
 *
 * Races with the watcher: a reader renders, then pins; the watcher drops
 * the render cache (bumping its generation), then supersedes pins. A pin
 * is only taken when the generation read before rendering is still
 * current, checked under the pins' lock, so a rendering older than a
 * published change is never pinned unmarked.
 *
 * Memory: pinned bytes are capped (PINS_BYTES); past the cap a reader is
 * served as if unpinned.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fs.h"

#define PIN_IDLE_NS  250000000LL   /* 250 ms without a read */
#define PIN_STALE_NS 500000000LL   /* 500 ms after the file changed */
#define PINS_MAX 32

struct pin {
	char *path;
	struct buf data;
	int64_t last_ns;        /* last read served */
	int64_t changed_ns;     /* 0, or when the file changed under the pin */
	unsigned mode;
	int64_t mtime_ns;
	int exists;             /* after that change */
};

struct pins {
	pthread_mutex_t mu;
	struct pin v[PINS_MAX];
	int n;
	size_t bytes, cap;
};

static int64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

struct pins *pins_new(size_t cap)
{
	struct pins *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	pthread_mutex_init(&p->mu, NULL);
	p->cap = cap;
	return p;
}

static void pin_remove(struct pins *p, int i)
{
	p->bytes -= p->v[i].data.len;
	free(p->v[i].path);
	buf_release(&p->v[i].data);
	p->v[i] = p->v[--p->n];
}

void pins_free(struct pins *p)
{
	if (!p)
		return;
	while (p->n)
		pin_remove(p, 0);
	pthread_mutex_destroy(&p->mu);
	free(p);
}

static int find(struct pins *p, const char *path)
{
	for (int i = 0; i < p->n; i++)
		if (!strcmp(p->v[i].path, path))
			return i;
	return -1;
}

int pins_read(struct pins *p, const char *path, off_t off, size_t size,
	      struct buf *out)
{
	int i, hit = 0;

	pthread_mutex_lock(&p->mu);
	i = find(p, path);
	if (i >= 0) {
		struct pin *pn = &p->v[i];
		if ((size_t)off < pn->data.len) {
			size_t n = pn->data.len - (size_t)off;
			buf_add(out, pn->data.data + off, size < n ? size : n);
		}
		pn->last_ns = mono_ns();
		hit = 1;
	}
	pthread_mutex_unlock(&p->mu);
	return hit;
}

int pins_stat(struct pins *p, const char *path, size_t *len, unsigned *mode,
	      int64_t *mtime_ns)
{
	int i;

	pthread_mutex_lock(&p->mu);
	i = find(p, path);
	if (i >= 0) {
		*len = p->v[i].data.len;
		*mode = p->v[i].mode;
		*mtime_ns = p->v[i].mtime_ns;
	}
	pthread_mutex_unlock(&p->mu);
	return i >= 0;
}

void pins_add(struct pins *p, struct rcache *c, uint64_t gen, const char *path,
	      struct buf *data, unsigned mode, int64_t mtime_ns)
{
	char *copy;

	pthread_mutex_lock(&p->mu);
	if (rcache_gen(c) != gen || find(p, path) >= 0 || p->n == PINS_MAX ||
	    p->bytes + data->len > p->cap)
		goto out;
	copy = strdup(path);
	if (!copy)
		goto out;
	p->v[p->n].path = copy;
	p->v[p->n].data = *data;             /* taken over */
	buf_init(data);
	p->v[p->n].last_ns = mono_ns();
	p->v[p->n].changed_ns = 0;
	p->v[p->n].exists = 1;
	p->v[p->n].mode = mode;
	p->v[p->n].mtime_ns = mtime_ns;
	p->bytes += p->v[p->n].data.len;
	p->n++;
out:
	pthread_mutex_unlock(&p->mu);
}

int pins_supersede(struct pins *p, const char *path, int exists)
{
	int i;

	pthread_mutex_lock(&p->mu);
	i = find(p, path);
	if (i >= 0) {
		if (!p->v[i].changed_ns)
			p->v[i].changed_ns = mono_ns();
		p->v[i].exists = exists;
	}
	pthread_mutex_unlock(&p->mu);
	return i >= 0;
}

size_t pins_expire(struct pins *p, struct pins_released *out, size_t max)
{
	int64_t now = mono_ns();
	size_t n = 0;

	pthread_mutex_lock(&p->mu);
	for (int i = 0; i < p->n;) {
		struct pin *pn = &p->v[i];
		int idle = now - pn->last_ns >= PIN_IDLE_NS;
		int stale = pn->changed_ns && now - pn->changed_ns >= PIN_STALE_NS;

		if (!idle && !stale) {
			i++;
			continue;
		}
		if (pn->changed_ns) {
			if (n == max) {   /* the caller's room is full: next tick */
				i++;
				continue;
			}
			out[n].path = pn->path;   /* handed over */
			out[n].exists = pn->exists;
			pn->path = NULL;
			n++;
		}
		pin_remove(p, i);
	}
	pthread_mutex_unlock(&p->mu);
	return n;
}
