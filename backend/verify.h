/*
 * verify.h - compare a real folder with what the database renders.
 *
 * Every file the database renders is looked up in the folder: missing,
 * differing (bytes or mode) or matching; a differing file that does not
 * even parse is counted as unparsable too. Every file in the folder that
 * the database does not render is extra. The consistency score is
 * matching / (rendered + extra), 1.0 exactly when the folder is what the
 * database renders.
 */
#ifndef ARCHIVEFS_VERIFY_H
#define ARCHIVEFS_VERIFY_H

#include <stdio.h>

#include "buf.h"
#include "layout.h"
#include "store.h"

struct verify_report {
	long rendered, matching, missing, differing, unparsable, extra;
	double score;
	/* One line per problem: "missing PATH", "differs PATH", ... */
	struct buf lines;
};

int verify_run(struct store *s, const struct layout *l, const char *dir,
	       struct verify_report *r, struct buf *err);
void verify_report_release(struct verify_report *r);

/* Print the report as text or JSON. */
void verify_print(FILE *out, const struct verify_report *r, int json);

/* n bytes of s as a JSON string, quoted (also for other --json output). */
void json_string(FILE *out, const char *s, size_t n);

#endif
