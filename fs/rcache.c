/*
 * rcache.c - rendered files by path, least recently used evicted first.
 *
 * getattr needs a file's exact size, which only rendering gives; read
 * needs its bytes. Both come from here, so a file is rendered once while
 * it stays cached. The cap counts file bytes; entries are copies owned by
 * the cache, and callers get copies of the parts they ask for, so nothing
 * handed out can be freed under them. Each entry also keeps the file's
 * mtime, read with the rendering.
 *
 * Staleness: the watcher (watch.c) drops the entries of changed files
 * with rcache_drop(), which also bumps a generation. A request that
 * rendered a file from a snapshot taken before the change may only reach
 * rcache_put() after the drop; it passes the generation it read before
 * rendering, and the put is refused if any drop happened since, so a
 * stale rendering is never cached (it is still served once, to that
 * request, which raced with the change anyway).
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "fs.h"
#include "names.h"

struct rentry {
	struct rentry *next;              /* bucket chain */
	struct rentry *newer, *older;     /* LRU list */
	uint64_t hash;
	char *data;
	size_t len;
	unsigned mode;
	int64_t mtime_ns;
	char path[];
};

struct rcache {
	pthread_mutex_t mu;
	struct rentry **b;
	size_t nb;                         /* a power of two */
	size_t n;
	size_t bytes, cap;
	uint64_t gen;                      /* bumped by every rcache_drop() */
	struct rentry *newest, *oldest;
};

static uint64_t hash_path(const char *p)
{
	return names_hash(p, strlen(p));
}

struct rcache *rcache_new(size_t cap)
{
	struct rcache *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->nb = 1024;
	c->b = calloc(c->nb, sizeof(*c->b));
	if (!c->b) {
		free(c);
		return NULL;
	}
	c->cap = cap;
	pthread_mutex_init(&c->mu, NULL);
	return c;
}

void rcache_free(struct rcache *c)
{
	if (!c)
		return;
	for (struct rentry *e = c->newest, *next; e; e = next) {
		next = e->older;
		free(e->data);
		free(e);
	}
	free(c->b);
	pthread_mutex_destroy(&c->mu);
	free(c);
}

static struct rentry **find(struct rcache *c, const char *path, uint64_t h)
{
	struct rentry **pe = &c->b[h & (c->nb - 1)];

	while (*pe && ((*pe)->hash != h || strcmp((*pe)->path, path) != 0))
		pe = &(*pe)->next;
	return pe;
}

static void lru_unlink(struct rcache *c, struct rentry *e)
{
	if (e->newer)
		e->newer->older = e->older;
	else
		c->newest = e->older;
	if (e->older)
		e->older->newer = e->newer;
	else
		c->oldest = e->newer;
	e->newer = e->older = NULL;
}

static void lru_push(struct rcache *c, struct rentry *e)
{
	e->newer = NULL;
	e->older = c->newest;
	if (c->newest)
		c->newest->newer = e;
	c->newest = e;
	if (!c->oldest)
		c->oldest = e;
}

static void drop(struct rcache *c, struct rentry *e)
{
	struct rentry **pe = find(c, e->path, e->hash);

	*pe = e->next;
	lru_unlink(c, e);
	c->bytes -= e->len;
	c->n--;
	free(e->data);
	free(e);
}

static void grow(struct rcache *c)
{
	size_t nb = c->nb * 2, old = c->nb;
	struct rentry **b = calloc(nb, sizeof(*b)), **ob = c->b;

	if (!b)
		return;
	for (size_t i = 0; i < old; i++)
		for (struct rentry *e = ob[i], *next; e; e = next) {
			next = e->next;
			e->next = b[e->hash & (nb - 1)];
			b[e->hash & (nb - 1)] = e;
		}
	c->b = b;
	c->nb = nb;
	free(ob);
}

int rcache_get(struct rcache *c, const char *path, off_t off, size_t size,
	       struct buf *out, size_t *len, unsigned *mode, int64_t *mtime_ns)
{
	uint64_t h = hash_path(path);
	struct rentry *e;

	pthread_mutex_lock(&c->mu);
	e = *find(c, path, h);
	if (e) {
		*len = e->len;
		*mode = e->mode;
		*mtime_ns = e->mtime_ns;
		if (out && off >= 0 && (size_t)off < e->len)
			buf_add(out, e->data + off,
				size < e->len - (size_t)off ? size : e->len - (size_t)off);
		lru_unlink(c, e);
		lru_push(c, e);
	}
	pthread_mutex_unlock(&c->mu);
	return e != NULL;
}

uint64_t rcache_gen(struct rcache *c)
{
	uint64_t g;

	pthread_mutex_lock(&c->mu);
	g = c->gen;
	pthread_mutex_unlock(&c->mu);
	return g;
}

void rcache_drop(struct rcache *c, const char *path)
{
	uint64_t h = hash_path(path);
	struct rentry *e;

	pthread_mutex_lock(&c->mu);
	c->gen++;
	e = *find(c, path, h);
	if (e)
		drop(c, e);
	pthread_mutex_unlock(&c->mu);
}

void rcache_drop_all(struct rcache *c)
{
	pthread_mutex_lock(&c->mu);
	c->gen++;
	while (c->oldest)
		drop(c, c->oldest);
	pthread_mutex_unlock(&c->mu);
}

void rcache_put(struct rcache *c, uint64_t gen, const char *path,
		const char *data, size_t len, unsigned mode, int64_t mtime_ns)
{
	uint64_t h = hash_path(path);
	size_t plen = strlen(path);
	struct rentry **pe, *e;

	if (len > c->cap)
		return;
	e = malloc(sizeof(*e) + plen + 1);
	if (!e)
		return;
	e->data = malloc(len ? len : 1);
	if (!e->data) {
		free(e);
		return;
	}
	memcpy(e->data, data, len);
	memcpy(e->path, path, plen + 1);
	e->len = len;
	e->mode = mode;
	e->mtime_ns = mtime_ns;
	e->hash = h;
	e->newer = e->older = NULL;

	pthread_mutex_lock(&c->mu);
	if (gen != c->gen) {   /* a file changed since the rendering began */
		pthread_mutex_unlock(&c->mu);
		free(e->data);
		free(e);
		return;
	}
	pe = find(c, path, h);
	if (*pe)   /* two threads rendered the same file: keep the newer */
		drop(c, *pe);
	while (c->oldest && c->bytes + len > c->cap)
		drop(c, c->oldest);
	pe = find(c, path, h);
	e->next = *pe;
	*pe = e;
	lru_push(c, e);
	c->bytes += len;
	if (++c->n > c->nb)
		grow(c);
	pthread_mutex_unlock(&c->mu);
}
