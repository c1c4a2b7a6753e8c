/*
 * unit.c - the temporary directories and main loop of the unit tests
 * (see unit.h).
 */
#include "unit.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>

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
