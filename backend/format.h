/*
 * format.h - render rows as archivefs text, and parse that text back.
 *
 * The grammar is documented in format.md next to this file. This module
 * knows nothing of SQLite, tables or files: it turns (table name, field
 * name, value) triples into text and back. The layout decides which rows go
 * in which file, in which order, and which columns are long bodies.
 *
 * Ownership: render functions append to a caller-owned struct buf. A parsed
 * document (struct fmt_doc) owns every string its records and values point
 * to; they stay valid until fmt_doc_release().
 */
#ifndef ARCHIVEFS_FORMAT_H
#define ARCHIVEFS_FORMAT_H

#include <stddef.h>

#include "buf.h"
#include "value.h"

/* --- rendering --------------------------------------------------------- */

/* Flags for fmt_render_field(). */
#define FMT_BODY   1   /* long-text column: non-empty TEXT goes in a body */
#define FMT_PSEUDO 2   /* name is a pseudo-column, written "@name" */

/* Append "# <text>\n". Control characters and invalid UTF-8 in `text` are
 * shown escaped (\xHH), so a comment is always exactly one line. */
void fmt_render_comment(struct buf *out, const char *text, size_t len);

/* Append "\n[<table>]\n": the blank line and header that start a record. */
void fmt_render_record(struct buf *out, const char *table, size_t len);

/* Append one field line (and its body lines) in canonical form. */
void fmt_render_field(struct buf *out, const char *name, size_t len,
		      const struct value *v, int flags);

/* Append the canonical inline form of a value ("NULL", "12", "1.5",
 * "x'00'", "\"quoted\"" or the bare text), never a body. */
void fmt_render_inline(struct buf *out, const struct value *v);

/* Append the canonical text of a REAL ("0.30000000000000004", "1.0",
 * "Inf"). */
void fmt_render_real(struct buf *out, double r);

/* What a bare inline word reads as: V_NULL, V_INT, V_REAL, V_BLOB, or
 * V_TEXT when it is none of the literals. Used by render to decide when
 * text must be quoted, and by names.c for the same reason. */
enum vtype fmt_classify_bare(const char *s, size_t n);

/* The value of hex digit c (either case), or -1. */
int fmt_hexval(int c);

/* --- parsing ----------------------------------------------------------- */

struct fmt_field {
	const char *name;     /* NUL-terminated; may contain NULs (name_len) */
	size_t name_len;
	int pseudo;           /* written as @name */
	struct value val;     /* text/blob bytes are NUL-terminated too */
	int line, col;        /* where the field's name starts (1-based) */
	int vline, vcol;      /* where its value starts (for error messages) */
};

struct fmt_record {
	const char *table;    /* NUL-terminated */
	size_t table_len;
	int line;             /* line of the "[table]" header */
	size_t first;         /* index of its first field in doc->fields */
	size_t nfields;
};

struct fmt_doc {
	struct fmt_record *recs;
	size_t nrecs;
	struct fmt_field *fields;
	size_t nfields;
	char *arena;          /* backing store of every string above */
	size_t arena_len, arena_cap;
	size_t recs_cap, fields_cap;
};

struct fmt_error {
	int line, col;        /* 1-based; 0 if not about a position */
	char msg[256];
};

void fmt_doc_init(struct fmt_doc *doc);
void fmt_doc_release(struct fmt_doc *doc);

/*
 * Parse `len` bytes of `text` into `doc` (which must be freshly initialised
 * or released). Returns 0, or -1 with `err` filled (the first problem in
 * file order, with its 1-based line and byte column) and `doc` holding no
 * records or fields (it must still be released). Never reads past
 * text[len-1], and the text need not be NUL-terminated. A NUL byte anywhere
 * in the text is an error (values write NUL as \x00), as is a CR that is
 * not right before a LF.
 */
int fmt_parse(const char *text, size_t len, struct fmt_doc *doc,
	      struct fmt_error *err);

#endif
