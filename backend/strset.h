/*
 * strset.h - a set of byte strings (paths), for prune and verify.
 * The set owns copies of what is added; strset_release() frees them.
 */
#ifndef ARCHIVEFS_STRSET_H
#define ARCHIVEFS_STRSET_H

#include <stddef.h>

struct strset {
	char **slots;
	size_t cap, count;
};

void strset_init(struct strset *s);
void strset_release(struct strset *s);
/* 1 if added, 0 if it was already there. */
int strset_add(struct strset *s, const char *str);
int strset_has(const struct strset *s, const char *str);

#endif
