/*
 * verify.c - consistency of a folder with the database (see verify.h).
 */
#include "verify.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "archive.h"
#include "diskfile.h"
#include "dirwalk.h"
#include "format.h"
#include "strset.h"

#define MAX_LINES 1000   /* problems listed one by one; the counts are exact */

struct verify_ctx {
	int root;
	struct verify_report *r;
	struct strset paths;
	struct buf data;
	long listed;
};

static void problem(struct verify_ctx *x, const char *kind, const char *path,
		    const char *detail)
{
	if (x->listed++ >= MAX_LINES)
		return;
	buf_addf(&x->r->lines, "%s\t%s", kind, path);
	if (detail)
		buf_addf(&x->r->lines, "\t%s", detail);
	buf_addch(&x->r->lines, '\n');
}

static int check_file(void *ctx, const struct archive_file *f, struct buf *err)
{
	struct verify_ctx *x = ctx;
	struct fmt_doc doc;
	struct fmt_error fe;
	int rc;

	(void)err;
	x->r->rendered++;
	strset_add(&x->paths, f->path);
	rc = diskfile_same(x->root, f->path, f->data, f->len, f->mode, 0, NULL);
	if (rc == 1) {
		x->r->matching++;
		return 0;
	}
	if (diskfile_read(x->root, f->path, &x->data, NULL) < 0) {
		x->r->missing++;
		problem(x, "missing", f->path, NULL);
		return 0;
	}
	x->r->differing++;
	fmt_doc_init(&doc);
	if (strcmp(f->path, LAYOUT_README) != 0 &&
	    fmt_parse(x->data.data, x->data.len, &doc, &fe)) {
		char where[300];
		snprintf(where, sizeof(where), "line %d:%d: %s", fe.line, fe.col, fe.msg);
		x->r->unparsable++;
		problem(x, "unparsable", f->path, where);
	} else if (x->data.len == f->len && memcmp(x->data.data, f->data, f->len) == 0) {
		problem(x, "differs", f->path, "file mode");
	} else {
		problem(x, "differs", f->path, NULL);
	}
	fmt_doc_release(&doc);
	return 0;
}

static int check_extra(void *ctx, const char *path, const struct stat *st,
		       struct buf *err)
{
	struct verify_ctx *x = ctx;

	(void)st;
	(void)err;
	if (!strset_has(&x->paths, path)) {
		x->r->extra++;
		problem(x, "extra", path, NULL);
	}
	return 0;
}

int verify_run(struct store *s, const struct layout *l, const char *dir,
	       struct verify_report *r, struct buf *err)
{
	struct verify_ctx x;
	long total;
	int rc;

	memset(r, 0, sizeof(*r));
	buf_init(&r->lines);
	memset(&x, 0, sizeof(x));
	x.r = r;
	strset_init(&x.paths);
	buf_init(&x.data);
	x.root = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (x.root < 0) {
		buf_addf(err, "cannot open %s: %s", dir, strerror(errno));
		return -errno;
	}
	rc = archive_walk(s, l, check_file, &x, err);
	if (!rc)
		rc = dirwalk(x.root, check_extra, &x, err);
	total = r->rendered + r->extra;
	r->score = total ? (double)r->matching / (double)total : 1.0;
	close(x.root);
	strset_release(&x.paths);
	buf_release(&x.data);
	return rc;
}

void verify_report_release(struct verify_report *r)
{
	buf_release(&r->lines);
}

void json_string(FILE *out, const char *s, size_t n)
{
	fputc('"', out);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '"' || c == '\\')
			fprintf(out, "\\%c", c);
		else if (c < 0x20)
			fprintf(out, "\\u%04x", c);
		else
			fputc(c, out);
	}
	fputc('"', out);
}

void verify_print(FILE *out, const struct verify_report *r, int json)
{
	const char *p = r->lines.data, *nl;

	if (!json) {
		fputs(r->lines.data, out);
		fprintf(out, "%ld files rendered: %ld matching, %ld missing, %ld differing"
			" (%ld unparsable), %ld extra; consistency %.4f\n",
			r->rendered, r->matching, r->missing, r->differing,
			r->unparsable, r->extra, r->score);
		return;
	}
	fprintf(out, "{\"rendered\": %ld, \"matching\": %ld, \"missing\": %ld,"
		" \"differing\": %ld, \"unparsable\": %ld, \"extra\": %ld,"
		" \"score\": %.6f, \"consistent\": %s, \"problems\": [",
		r->rendered, r->matching, r->missing, r->differing, r->unparsable,
		r->extra, r->score,
		r->matching == r->rendered && !r->extra ? "true" : "false");
	for (int first = 1; (nl = strchr(p, '\n')); p = nl + 1, first = 0) {
		const char *t1 = memchr(p, '\t', (size_t)(nl - p));
		const char *t2 = t1 ? memchr(t1 + 1, '\t', (size_t)(nl - t1 - 1)) : NULL;
		fprintf(out, "%s{\"kind\": ", first ? "" : ", ");
		json_string(out, p, (size_t)(t1 - p));
		fprintf(out, ", \"path\": ");
		json_string(out, t1 + 1, (size_t)((t2 ? t2 : nl) - t1 - 1));
		if (t2) {
			fprintf(out, ", \"detail\": ");
			json_string(out, t2 + 1, (size_t)(nl - t2 - 1));
		}
		fputc('}', out);
	}
	fprintf(out, "]}\n");
}
