/*
 * strset.c - open-addressing hash set of NUL-terminated strings.
 */
#include "strset.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "names.h"

static uint64_t hash(const char *s)
{
	return names_hash(s, strlen(s));
}

void strset_init(struct strset *s)
{
	s->slots = NULL;
	s->cap = s->count = 0;
}

void strset_release(struct strset *s)
{
	for (size_t i = 0; i < s->cap; i++)
		free(s->slots[i]);
	free(s->slots);
	strset_init(s);
}

static size_t find(char **slots, size_t cap, const char *str)
{
	size_t i = (size_t)hash(str) & (cap - 1);

	while (slots[i] && strcmp(slots[i], str) != 0)
		i = (i + 1) & (cap - 1);
	return i;
}

static void grow(struct strset *s)
{
	size_t cap = s->cap ? s->cap * 2 : 1024;
	char **slots = calloc(cap, sizeof(*slots));

	if (!slots)
		out_of_memory(0);
	for (size_t i = 0; i < s->cap; i++)
		if (s->slots[i])
			slots[find(slots, cap, s->slots[i])] = s->slots[i];
	free(s->slots);
	s->slots = slots;
	s->cap = cap;
}

int strset_add(struct strset *s, const char *str)
{
	size_t i;

	if ((s->count + 1) * 4 > s->cap * 3)
		grow(s);
	i = find(s->slots, s->cap, str);
	if (s->slots[i])
		return 0;
	s->slots[i] = strdup(str);
	if (!s->slots[i])
		out_of_memory(0);
	s->count++;
	return 1;
}

int strset_has(const struct strset *s, const char *str)
{
	return s->cap && s->slots[find(s->slots, s->cap, str)] != NULL;
}
