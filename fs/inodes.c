/*
 * inodes.c - inode numbers and the kernel's lookup counts.
 *
 * An inode number is the 64-bit FNV-1a hash of the node's path (top bit
 * cleared: numbers with it set are scratch files', fs/scratch.c), so it is
 * the same on every mount and no table has to be persisted. The table
 * below only remembers, for inodes the kernel holds (it was told about
 * them by lookup or readdirplus and has not forgotten them), which path
 * they stand for and how many references the kernel holds. Two live paths
 * with one number would make the kernel serve one file for the other:
 * that is refused with EIO and logged, never served.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "fs.h"
#include "names.h"

struct inode {
	fuse_ino_t ino;
	uint64_t nlookup;
	struct inode *next;   /* bucket chain */
	char path[];
};

struct inodes {
	pthread_mutex_t mu;
	struct inode **b;
	size_t nb;            /* a power of two */
	size_t n;
};

fuse_ino_t inodes_hash(const char *path)
{
	uint64_t h;

	if (!*path)
		return FUSE_ROOT_ID;
	/* The top bit is left to scratch files (fs/scratch.c). */
	h = names_hash(path, strlen(path)) & ~SCRATCH_INO_BIT;
	if (h <= FUSE_ROOT_ID)   /* 0 is "no inode", 1 the root */
		h += 2;
	return h;
}

struct inodes *inodes_new(void)
{
	struct inodes *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->nb = 1024;
	t->b = calloc(t->nb, sizeof(*t->b));
	if (!t->b) {
		free(t);
		return NULL;
	}
	pthread_mutex_init(&t->mu, NULL);
	return t;
}

void inodes_free(struct inodes *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->nb; i++)
		for (struct inode *e = t->b[i], *next; e; e = next) {
			next = e->next;
			free(e);
		}
	free(t->b);
	pthread_mutex_destroy(&t->mu);
	free(t);
}

static size_t slot(const struct inodes *t, fuse_ino_t ino)
{
	/* The number is already a hash; fold its high half in anyway. */
	return (size_t)(ino ^ (ino >> 32)) & (t->nb - 1);
}

static struct inode **find(struct inodes *t, fuse_ino_t ino)
{
	struct inode **pe = &t->b[slot(t, ino)];

	while (*pe && (*pe)->ino != ino)
		pe = &(*pe)->next;
	return pe;
}

/* Double the buckets when the table is full; on no memory keep chaining. */
static void grow(struct inodes *t)
{
	size_t nb = t->nb * 2, old = t->nb;
	struct inode **b = calloc(nb, sizeof(*b)), **ob = t->b;

	if (!b)
		return;
	t->b = b;
	t->nb = nb;
	for (size_t i = 0; i < old; i++)
		for (struct inode *e = ob[i], *next; e; e = next) {
			size_t k = slot(t, e->ino);
			next = e->next;
			e->next = b[k];
			b[k] = e;
		}
	free(ob);
}

int inodes_ref(struct inodes *t, const char *path, fuse_ino_t *ino)
{
	fuse_ino_t h = inodes_hash(path);
	struct inode **pe, *e;
	size_t len;
	int rc = 0;

	*ino = h;
	if (h == FUSE_ROOT_ID)
		return 0;   /* the root is never forgotten */
	pthread_mutex_lock(&t->mu);
	pe = find(t, h);
	if (*pe) {
		if (strcmp((*pe)->path, path) != 0) {
			fuse_log(FUSE_LOG_ERR,
				 "archivefs: inode number collision: '%s' and '%s' both hash to"
				 " %llu; refusing '%s' (EIO)\n", (*pe)->path, path,
				 (unsigned long long)h, path);
			rc = -EIO;
		} else {
			(*pe)->nlookup++;
		}
		goto out;
	}
	len = strlen(path);
	e = malloc(sizeof(*e) + len + 1);
	if (!e) {
		rc = -ENOMEM;
		goto out;
	}
	e->ino = h;
	e->nlookup = 1;
	memcpy(e->path, path, len + 1);
	e->next = NULL;
	*pe = e;
	if (++t->n > t->nb)
		grow(t);
out:
	pthread_mutex_unlock(&t->mu);
	return rc;
}

void inodes_forget(struct inodes *t, fuse_ino_t ino, uint64_t n)
{
	struct inode **pe, *e;

	if (ino == FUSE_ROOT_ID)
		return;
	pthread_mutex_lock(&t->mu);
	pe = find(t, ino);
	e = *pe;
	if (e) {
		if (e->nlookup > n) {
			e->nlookup -= n;
		} else {
			*pe = e->next;
			free(e);
			t->n--;
		}
	}
	pthread_mutex_unlock(&t->mu);
}

int inodes_path(struct inodes *t, fuse_ino_t ino, struct buf *out)
{
	struct inode *e;
	int rc = 0;

	buf_reset(out);
	if (ino == FUSE_ROOT_ID)
		return 0;
	pthread_mutex_lock(&t->mu);
	e = *find(t, ino);
	if (e)
		buf_addstr(out, e->path);
	else
		rc = -ESTALE;
	pthread_mutex_unlock(&t->mu);
	return rc;
}

size_t inodes_count(struct inodes *t)
{
	size_t n;

	pthread_mutex_lock(&t->mu);
	n = t->n;
	pthread_mutex_unlock(&t->mu);
	return n + 1;
}

int inodes_known(struct inodes *t, fuse_ino_t ino)
{
	int known;

	if (ino == FUSE_ROOT_ID)
		return 1;
	pthread_mutex_lock(&t->mu);
	known = *find(t, ino) != NULL;
	pthread_mutex_unlock(&t->mu);
	return known;
}
