/*
 * unit.c - the temporary directories and main loop of the unit tests
 * (see unit.h).
 */
#include "unit.h"

#include <ftw.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char unit_tmpdir[4200];
static char basedir[4096];

static int rm_one(const char *path, const struct stat *st, int flag,
		  struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

static void rm_tree(const char *path)
{
	nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

void unit_setup(void)
{
	snprintf(unit_tmpdir, sizeof(unit_tmpdir), "%s/test-XXXXXX", basedir);
	if (!mkdtemp(unit_tmpdir)) {
		perror("mkdtemp");
		abort();
	}
}

void unit_teardown(void)
{
	rm_tree(unit_tmpdir);
	unit_tmpdir[0] = '\0';
}

int unit_run(Suite *s, const char *name)
{
	const char *base = getenv("TMPDIR");
	SRunner *sr;
	int failed;

	snprintf(basedir, sizeof(basedir), "%s/archivefs-test-%s-XXXXXX",
		 base && *base ? base : "/tmp", name);
	if (!mkdtemp(basedir)) {
		perror("mkdtemp");
		return EXIT_FAILURE;
	}
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	rm_tree(basedir);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

const char *show(const char *s, size_t n)
{
	static char bufs[6][800];
	static int next;
	char *b = bufs[next++ % 6];
	size_t i, o = 0, lim = n > 160 ? 160 : n;

	if (!s)
		return "(null pointer)";
	for (i = 0; i < lim; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\')
			b[o++] = (char)c;
		else
			o += (size_t)snprintf(b + o, 8, "\\x%02x", c);
	}
	if (n > lim)
		o += (size_t)snprintf(b + o, 40, "...(%zu bytes)", n);
	b[o] = '\0';
	return b;
}

const char *shows(const char *s)
{
	return s ? show(s, strlen(s)) : "(null)";
}

const char *show_value(const struct value *v)
{
	static char bufs[4][900];
	static int next;
	char *b = bufs[next++ % 4];

	switch (v->type) {
	case V_NULL:
		snprintf(b, 900, "NULL");
		break;
	case V_INT:
		snprintf(b, 900, "integer %" PRId64, v->i);
		break;
	case V_REAL:
		snprintf(b, 900, "real %.17g (%a)", v->r, v->r);
		break;
	case V_TEXT:
		snprintf(b, 900, "text[%zu] \"%s\"", v->n, show(v->s, v->n));
		break;
	case V_BLOB:
		snprintf(b, 900, "blob[%zu] \"%s\"", v->n, show(v->s, v->n));
		break;
	default:
		snprintf(b, 900, "bad type %d", (int)v->type);
	}
	return b;
}
