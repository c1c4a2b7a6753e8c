/*
 * export.h - write the whole text tree of a database into a real folder.
 *
 * Only files whose bytes (or mode) differ are rewritten, each atomically
 * (diskfile_replace); the run ends with one syncfs() of the target's
 * filesystem and an fsync of every folder it changed, so when export
 * returns 0 everything it wrote is durable. When the change journal is
 * installed (backend/journal.h), files get the mtime recorded for their
 * bytes, as the mount shows them (a file whose bytes the records do not
 * describe yet keeps the time of writing); a file with the right bytes
 * and another mtime only has its time set. With `prune`, files that no
 * row renders to (and stale temporary files) are removed.
 */
#ifndef ARCHIVEFS_EXPORT_H
#define ARCHIVEFS_EXPORT_H

#include "buf.h"
#include "layout.h"
#include "store.h"

struct export_opts {
	int prune;
	int progress;      /* report progress on stderr */
	int scratch;       /* a throw-away folder (migrate's work folder):
			      skip the syncfs and folder fsyncs */
};

struct export_stats {
	long files;        /* files the database renders to */
	long written;      /* of which rewritten */
	long unchanged;
	long retimed;      /* same bytes, mtime set to the recorded one */
	long failed;       /* could not be written (errors in err) */
	long pruned;
	long stale;        /* temporary files of killed runs removed */
	long rows;
	unsigned long long bytes;   /* bytes rendered */
};

/* 0 when every file is on disk and durable; otherwise a negative errno
 * (the first failure) with every failure described in err. */
int export_run(struct store *s, const struct layout *l, const char *dir,
	       const struct export_opts *o, struct export_stats *stats,
	       struct buf *err);

#endif
