/*
 * withhold.h - configured secret columns: never rendered.
 *
 * `archivefs withhold DB TABLE.COLUMN...` names columns whose values the
 * text archive must never hold (a password hash, an API key, a personal
 * field): the mount, export, sync, verify and the history leave them out,
 * a save or an import that sets one is refused, and a save keeps the
 * database's value. The list lives in DB itself (main.archivefs_withheld,
 * see store.h), so every command and mount on DB obeys it, and in the
 * archive's system/schema.txt, so a database rebuilt from the archive
 * withholds the same columns. A rebuild gives those columns their
 * defaults: a column that is the key, that places rows in the tree (date,
 * order, parent), or that is NOT NULL without a default cannot be
 * withheld, since the archive could then not rebuild its rows.
 *
 * The list is rewritten whole (dropped and created) in one transaction,
 * so the schema version changes and a running mount follows at once:
 * every file of the table is rendered again without the column.
 */
#ifndef ARCHIVEFS_WITHHOLD_H
#define ARCHIVEFS_WITHHOLD_H

/* archivefs withhold DB [TABLE.COLUMN...] [--remove]: exit status. */
int withhold_command(int argc, char **argv);

#endif
