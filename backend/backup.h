/*
 * backup.h - `archivefs backup DB DEST` and `archivefs restore BACKUP DB`.
 *
 * backup: SQLite's online backup of DB (one consistent snapshot, also of a
 * live WAL database; never a plain file copy) into a temporary file beside
 * DEST, `PRAGMA integrity_check` of the copy, fsync, rename to DEST, then
 * DEST.sha256 in sha256sum's format (`sha256sum -c DEST.sha256` checks
 * it). DEST may be a folder: the file is then <folder>/<db name>-<UTC
 * time>.db.
 *
 * restore: BACKUP.sha256 must exist and match and BACKUP must pass the
 * integrity check before anything is touched; the current DB is then kept
 * as DB.pre-restore-<UTC time> (an online backup, with its own checksum
 * file), and BACKUP is copied into DB through SQLite's backup API, under
 * SQLite's locks, so a WAL file beside DB is handled and other
 * connections see the old database or the new one, never a mix. Refused
 * while a mount or `archivefs sync --watch` follows DB.
 */
#ifndef ARCHIVEFS_BACKUP_H
#define ARCHIVEFS_BACKUP_H

#include <stddef.h>

#include "buf.h"

int backup_command(int argc, char **argv);
int restore_command(int argc, char **argv);

/* Online backup of db into dest (which must not exist), through a
 * temporary file beside it, integrity-checked and durable; then
 * dest.sha256. Also used by migrate (the pre-migration copy). */
int backup_make(const char *db, const char *dest, struct buf *err);

/* path.sha256 exists, names path and matches it, and path passes
 * PRAGMA integrity_check: 0, else -errno with the reason in err. */
int backup_verify(const char *path, struct buf *err);

/* The UTC time as 20261121T101500Z, for file names. */
void backup_stamp(char *out, size_t size);

#endif
