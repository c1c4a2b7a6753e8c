/*
 * save.h - a record file saved with new text: the difference, applied.
 *
 * A record file is a set of rows (DESIGN.md section 5). Saving it parses
 * the new text and, in one write transaction:
 *   - works out the rows the file holds now (by rendering it) and, by
 *     table and key, which rows the text adds, changes and removes;
 *   - inserts, updates and deletes exactly those;
 *   - renders the file again and checks that every row the text adds or
 *     changes reads back with the values the text gives, and every row it
 *     removes is gone. A row whose new date or parent would put it in
 *     another file, or a value the column's type would turn into another
 *     (text "5" into an INTEGER column), fails that check;
 *   - commits only then. Any refusal leaves the database as it was.
 *
 * The application's own triggers fire, as for any other writer (fields a
 * trigger sets, like an updated_at, are not held against the save), and
 * archivefs' change journal records the rows like the application's. When
 * the journal is installed, the file's own record (journal_record_file)
 * is updated in the same transaction, so stat is right the moment the
 * save returns.
 *
 * Errors: -EACCES for a file that is not a set of rows (README.txt,
 * system/schema.txt, orphans files); -EINVAL for text that does not parse
 * or does not fit the schema (unknown table or column, a missing key, a
 * duplicated key, a row of a table this file does not hold, a constraint:
 * NOT NULL, UNIQUE, CHECK, a type), with "line L, column C" in err;
 * -ESTALE when `base` is given and the file's rows changed since that
 * rendering; other negative errnos for database trouble (-EBUSY, -ENOSPC,
 * -EIO, store_errno()).
 */
#ifndef ARCHIVEFS_SAVE_H
#define ARCHIVEFS_SAVE_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "layout.h"
#include "store.h"

struct save_stats {
	long inserted, updated, deleted, unchanged;
	uint64_t after;          /* names_hash() of the file's rendering after */
	int exists;              /* rows render to it after the save */
};

/*
 * Save `len` bytes of `text` as the record file at `path` (a tree path).
 * base: the names_hash() of the rendering the writer started from, or
 * NULL to save against whatever the file holds now. s must be read-write.
 *
 * hint (may be NULL): a rendering of the file the caller has at hand (a
 * render cache). It is used instead of rendering the file again only when
 * the change journal's record proves it current (journal_current(): same
 * hash and size, nothing waiting to be applied); else it is ignored.
 */
int save_file(struct store *s, const struct layout *l, const char *path,
	      const char *text, size_t len, const uint64_t *base,
	      const struct buf *hint, struct save_stats *st, struct buf *err);

#endif
