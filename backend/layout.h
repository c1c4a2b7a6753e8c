/*
 * layout.h - where every row lives in the text tree.
 *
 * Layout is data: one table of descriptors (layout.c) says, per SQL table,
 * its home (one file per row, rows grouped per month by a date column, one
 * file for the table, or embedded in its parent's file), the columns that
 * choose the folder and the order, and which text columns are long bodies.
 * layout_bind() matches the descriptors against the live schema: a table
 * with no descriptor, or whose descriptor names a column the live table
 * does not have, gets the generic home tables/<table>/<key>.txt, so no
 * table is ever left out. Columns always come from the live schema.
 *
 * Paths are relative to the archive root, without a leading '/'.
 * Ownership: a struct layout borrows the schema it was bound to (which
 * belongs to the store); layout_release() frees what bind allocated.
 */
#ifndef ARCHIVEFS_LAYOUT_H
#define ARCHIVEFS_LAYOUT_H

#include "buf.h"
#include "store.h"
#include "value.h"

enum home_kind {
	HOME_ROW,       /* one file per row: <folder>/YYYY/MM/YYYY_MM_DD_<stem>_<key>.txt */
	HOME_MONTH,     /* rows per month:   <folder>/YYYY_MM_<stem>.txt */
	HOME_SINGLE,    /* one file:         <folder>/<stem>.txt */
	HOME_CHILD,     /* inside the parent row's file */
	HOME_GENERIC,   /* tables/<table>/<key>.txt: one file per value of the
			   first key column (per row for a one-column key),
			   or per rowid for a table without a primary key */
};

struct descriptor {
	const char *table;
	enum home_kind kind;
	const char *folder;      /* HOME_ROW/MONTH/SINGLE */
	const char *stem;        /* file name part, see home_kind */
	const char *date_col;    /* HOME_ROW: folder; HOME_MONTH: grouping */
	const char *order_col;   /* order inside a file (then the key); may be NULL */
	const char *parent;      /* HOME_CHILD: the parent table */
	const char *fk_col;      /* HOME_CHILD: column holding the parent's key */
	const char *bodies[4];   /* long-text columns, NULL-terminated */
	int secret;              /* bearer secrets: files 0600, folder 0700 */
	const char *about;       /* one line for README.txt */
};

struct home {
	const struct store_table *t;
	const struct descriptor *d;   /* NULL for HOME_GENERIC */
	enum home_kind kind;
	int date_col, order_col, fk_col;   /* column indexes, -1 if none */
	struct home *parent;              /* HOME_CHILD */
	struct home **children;           /* tables embedded in this home */
	int nchildren;
	unsigned char *body;              /* per column: FMT_BODY or 0 */
	int secret;
	char *folder;                     /* relative folder, no trailing '/' */
};

struct layout {
	const struct store_schema *schema;
	int nhomes;
	struct home *homes;               /* one per table, schema order */
};

/* Where the archive's own files live. */
#define LAYOUT_README "README.txt"
#define LAYOUT_SCHEMA "system/schema.txt"

int layout_bind(struct layout *l, const struct store_schema *schema,
		struct buf *err);
void layout_release(struct layout *l);

struct home *layout_home(const struct layout *l, const char *table);

/* The descriptor table, for docs and tests. */
const struct descriptor *layout_descriptors(int *n);

/*
 * Append the path of the file that holds row `vals` of `h` (which must not
 * be HOME_CHILD: children live where their parent lives, or, when the
 * parent is missing, in layout_orphans_path()). `rowid` is used for
 * rowid-keyed generic tables. vals[] has one value per column of h->t.
 */
void layout_row_path(const struct home *h, const struct value *vals,
		     int64_t rowid, struct buf *out);

/* Append the path of the file holding the orphans of child home `h`. */
void layout_orphans_path(const struct home *h, struct buf *out);

/* Mode bits for a file of home `h` (0644 or 0600) and for its own folder
 * (0755 or 0700). */
unsigned layout_file_mode(const struct home *h);
unsigned layout_dir_mode(const struct home *h);

/*
 * Mode bits for the folder folder[0..len) of the tree: 0700 when it, or a
 * folder inside it, holds bearer secrets (the files of a secret home, or
 * the orphans of a secret child), else 0755. Folders shared by secret and
 * plain homes (auth/) are therefore private.
 */
unsigned layout_folder_mode(const struct layout *l, const char *folder, size_t len);

/* Append the "# archivefs text format 1: ..." line every file has. */
void layout_format_note(struct buf *out);

/* The title comment of a file of home `h` whose first row is `vals`. */
void layout_title(const struct home *h, const struct value *vals,
		  int64_t rowid, int orphans, struct buf *out);

/*
 * What a path is: the home whose rows a file at this path holds
 * (canonical), the schema file, a derived (read-only, never imported) file,
 * a history file (events.h: read-only, imported into archivefs_event), or
 * nothing archivefs writes. For canonical files *home is set.
 */
enum path_kind { PATH_NONE, PATH_CANONICAL, PATH_ORPHANS, PATH_SCHEMA, PATH_DERIVED,
		 PATH_EVENTS };
enum path_kind layout_classify(const struct layout *l, const char *path,
			       struct home **home);

/* Render README.txt for this layout. */
void layout_readme(const struct layout *l, struct buf *out);

#endif
