/*
 * tree.h - the folders of the text tree, listed straight from the database.
 *
 * The mount cannot afford to render the whole tree to learn its shape, so
 * folders are listed with small queries: the distinct months of a date
 * column, the keys of one month, the tables that hold orphans. A folder
 * exists exactly when archive_walk() would put a file in it, so a listing
 * here always matches the exported tree (tests/tree_list.sh checks it).
 *
 * Files are confirmed by rendering them (archive_render_file): the mount
 * needs their exact size anyway.
 */
#ifndef ARCHIVEFS_TREE_H
#define ARCHIVEFS_TREE_H

#include "buf.h"
#include "layout.h"
#include "store.h"

enum { TREE_FILE = 1, TREE_DIR = 2 };

/* Return 0 to go on, 1 to stop early (not an error), or a negative errno. */
typedef int (*tree_entry_fn)(void *ctx, const char *name, int type);

/*
 * Call fn for every entry of folder `dir` ("" is the root; no leading or
 * trailing '/'), once each, in byte order of names, all read in one short
 * read transaction. Returns 0, -ENOENT when there is no such folder, or a
 * negative errno (reason in err).
 */
int tree_list(struct store *s, const struct layout *l, const char *dir,
	      tree_entry_fn fn, void *ctx, struct buf *err);

/* A folder's entries held in memory: pass tree_collect as tree_list's fn
 * and a zeroed struct tree_entries as its ctx; free with tree_entries_free
 * (which leaves it zeroed, ready again). */
struct tree_entry {
	char *name;
	int type;
};

struct tree_entries {
	struct tree_entry *v;
	size_t n, cap;
};

int tree_collect(void *ctx, const char *name, int type);
void tree_entries_free(struct tree_entries *e);

/* 1 if `dir` is a folder of the tree, 0 if not, or a negative errno. */
int tree_is_dir(struct store *s, const struct layout *l, const char *dir,
		struct buf *err);

#endif
