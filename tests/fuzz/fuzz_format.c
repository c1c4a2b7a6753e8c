/*
 * fuzz_format.c - libFuzzer target for the archive file parser.
 *
 * Any bytes: fmt_parse() must not crash, leak or read out of bounds, and
 * either refuse with a position inside the text or return a document.
 * A document is then rendered canonically and parsed again; the second
 * parse must succeed and give the same records, fields and values (the
 * format's canonical round trip, format.md), and rendering that gives the
 * same bytes again.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "format.h"

static void render(const struct fmt_doc *d, int body, struct buf *out)
{
	for (size_t r = 0; r < d->nrecs; r++) {
		const struct fmt_record *rec = &d->recs[r];
		fmt_render_record(out, rec->table, rec->table_len);
		for (size_t i = 0; i < rec->nfields; i++) {
			const struct fmt_field *f = &d->fields[rec->first + i];
			fmt_render_field(out, f->name, f->name_len, &f->val,
					 (f->pseudo ? FMT_PSEUDO : 0) | (body ? FMT_BODY : 0));
		}
	}
}

static void same(const struct fmt_doc *a, const struct fmt_doc *b)
{
	if (a->nrecs != b->nrecs || a->nfields != b->nfields)
		abort();
	for (size_t r = 0; r < a->nrecs; r++)
		if (a->recs[r].table_len != b->recs[r].table_len ||
		    memcmp(a->recs[r].table, b->recs[r].table, a->recs[r].table_len) ||
		    a->recs[r].nfields != b->recs[r].nfields)
			abort();
	for (size_t i = 0; i < a->nfields; i++) {
		const struct fmt_field *x = &a->fields[i], *y = &b->fields[i];
		if (x->name_len != y->name_len || memcmp(x->name, y->name, x->name_len) ||
		    x->pseudo != y->pseudo || !value_equal(&x->val, &y->val))
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fmt_doc d1, d2;
	struct fmt_error e;

	fmt_doc_init(&d1);
	if (fmt_parse((const char *)data, size, &d1, &e) != 0) {
		if (e.line < 0 || e.col < 0 || !memchr(e.msg, 0, sizeof(e.msg)))
			abort();
		fmt_doc_release(&d1);
		return 0;
	}
	for (int body = 0; body < 2; body++) {
		struct buf t1 = BUF_INIT, t2 = BUF_INIT;
		render(&d1, body, &t1);
		fmt_doc_init(&d2);
		if (fmt_parse(t1.data, t1.len, &d2, &e) != 0)
			abort();   /* the renderer wrote text its parser refuses */
		same(&d1, &d2);
		render(&d2, body, &t2);
		if (!buf_eq(&t1, &t2))
			abort();   /* not canonical */
		fmt_doc_release(&d2);
		buf_release(&t1);
		buf_release(&t2);
	}
	fmt_doc_release(&d1);
	return 0;
}
