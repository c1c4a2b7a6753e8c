/*
 * unit.h - what the Check unit tests share: a temporary directory per test
 * and one main().
 *
 * unit_run() makes one base directory, runs the suite (forking per test
 * when CK_FORK says so) and removes the base afterwards; each test's
 * fixture makes its own directory, unit_tmpdir, inside it and removes it in
 * teardown. A failing check ends the child without teardown, so removing
 * the base is what cleans up after a failure.
 */
#ifndef ARCHIVEFS_TEST_UNIT_H
#define ARCHIVEFS_TEST_UNIT_H

#include <check.h>

extern char unit_tmpdir[4200];

/* Checked fixture: make / remove unit_tmpdir. */
void unit_setup(void);
void unit_teardown(void);

/* Run suite s inside a fresh base directory named after `name`;
 * returns the process exit status. */
int unit_run(Suite *s, const char *name);

#endif
