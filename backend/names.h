/*
 * names.h - reversible file-name escaping for keys and table names.
 *
 * A file name is a pure function of a row's key: names_add_key() appends
 * the escaped form of a key (one or more values), names_parse_key() reads
 * it back. Escaped names use only [A-Za-z0-9_.%,-] bytes, never start with
 * '.', and never contain '/', so no key can name a path outside its folder,
 * nor ".", "..", or a hidden file.
 *
 * One key component is escaped as:
 *   INTEGER   decimal: 42, -7
 *   TEXT      bytes in [A-Za-z0-9_.-] kept, every other byte %HH (upper-case
 *             hex); additionally the first byte is escaped when it is '.',
 *             and when the whole text looks like an integer (so "42" is
 *             "%342", never confused with INTEGER 42); "" is "%"
 *   REAL      "%r" + the canonical REAL text of format.c, escaped as TEXT
 *   BLOB      "%x" + lower-case hex
 *   NULL      "%n"
 * Components of a composite key are joined with ','.
 *
 * Names longer than NAMES_MAX bytes are shortened (names_fit): the escaped
 * text is cut at a component boundary or before an escape, and "~" plus 16
 * hex digits of a 64-bit FNV-1a hash of the full escaped name is appended.
 * Such a name is still unique in practice and still a pure function of the
 * key, but not reversible from the name alone: names_parse_key() reports
 * NAMES_HASHED and the caller resolves it against the database.
 */
#ifndef ARCHIVEFS_NAMES_H
#define ARCHIVEFS_NAMES_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "value.h"

#define NAMES_MAX 200   /* bytes of escaped key in one file name */

/* Append the escaped form of `n` key values. */
void names_add_key(struct buf *out, const struct value *key, size_t n);

/* Append the escaped form of a table (or folder) name: like TEXT, but a
 * name that looks like an integer is not escaped. */
void names_add_table(struct buf *out, const char *name, size_t len);

/*
 * If the key text starting at out->data[start] is longer than NAMES_MAX,
 * replace it with its shortened, hashed form (see above).
 */
void names_fit(struct buf *out, size_t start);

enum { NAMES_OK = 0, NAMES_HASHED = 1, NAMES_BAD = -1 };

/*
 * Decode an escaped key of up to `max` components from s[0..n).
 * On NAMES_OK: *count components in key[], whose text/blob bytes live in
 * `storage` (reset by this call; keep it alive while using key[]).
 * On NAMES_HASHED: key[] holds the decoded components of the prefix
 * before '~' (the last one possibly cut short), *hash the hash.
 * NAMES_BAD: not a name this module could have written.
 */
int names_parse_key(const char *s, size_t n, struct value *key, size_t max,
		    size_t *count, struct buf *storage, uint64_t *hash);

/* Decode a table name written by names_add_table(); NAMES_OK or NAMES_BAD. */
int names_parse_table(const char *s, size_t n, struct buf *out);

uint64_t names_hash(const char *s, size_t n);   /* 64-bit FNV-1a */

#endif
