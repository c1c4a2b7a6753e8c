/*
 * migrate.h - archive-only schema migration, and its way back.
 *
 *   archivefs migrate DB --schema NEW.sql [--map TABLE.COL=NEWCOL]...
 *                        [--map TABLE.COL=] [--dry-run] [--keep-work]
 *   archivefs rollback DB
 *
 * A schema change is done by rebuilding the database from its text, not by
 * ALTER statements. The run, in order:
 *
 *   1. lock: the journal lock (no mount, no sync --watch, no other
 *      migrate), then a write transaction on DB that is held to the end,
 *      so the application cannot commit a change the migration would miss
 *      (its writers wait, then get SQLITE_BUSY: stop it first);
 *   2. plan: NEW.sql is run in a scratch database and compared with DB.
 *      Stops before anything is written when a table holding rows is
 *      missing from NEW.sql, a column holding data (any non-NULL value) is
 *      missing and no --map says where it goes (TABLE.COL=NEWCOL) or that
 *      it may go (TABLE.COL=), a new NOT NULL column has no default, or
 *      NEW.sql inserts rows or uses archivefs_* names;
 *      user_version and application_id are NEW.sql's when it sets them,
 *      else DB's;
 *   3. backup: DB.pre-migrate-<UTC time> (+ .sha256), for rollback;
 *   4. export DB into a work folder beside it (DB.migrate-work/), whose
 *      system/schema.txt is then NEW.sql's schema;
 *   5. import that folder into a new database (new columns get their
 *      defaults; --map renames fields);
 *   6. verify: every row of every table of DB is in the new database with
 *      exactly the same values (storage class and bytes), mapped columns
 *      included, and nothing else is; PRAGMA integrity_check;
 *   7. swap, in the write transaction held since step 1: DB's tables are
 *      dropped and the new database's schema and rows written in their
 *      place, with its history, sequences, user_version and
 *      application_id; every table is then read back and compared with
 *      the built database row by row, and only then comes the one COMMIT.
 *      Other connections see the old database or the new one, never a
 *      mix, and a kill -9 at any moment leaves one of them (SQLite rolls
 *      an uncommitted transaction back). The work folder is removed.
 *
 * The change journal is not carried over (it describes the old tree): the
 * next mount or sync records the tree again. --dry-run runs every step on
 * a copy of DB in the work folder, reports, and leaves DB alone.
 *
 * rollback puts the newest DB.pre-migrate-* back (checksum and integrity
 * first), keeping the current database as DB.pre-rollback-<time>, through
 * SQLite's backup API (atomic as well).
 *
 * Exit status: 0 done; 1 refused or failed (nothing changed unless it says
 * so); 2 usage.
 */
#ifndef ARCHIVEFS_MIGRATE_H
#define ARCHIVEFS_MIGRATE_H

int migrate_command(int argc, char **argv);
int rollback_command(int argc, char **argv);

#endif
