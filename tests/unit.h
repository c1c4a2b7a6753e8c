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
#include <stddef.h>

#include "value.h"

extern char unit_tmpdir[4200];

/* Checked fixture: make / remove unit_tmpdir. */
void unit_setup(void);
void unit_teardown(void);

/*
 * Readable failure messages: a C-escaped copy of s[0..n) (at most 160
 * bytes shown; "(null pointer)" for NULL), of a C string, of a value with
 * its type. Each returns one of a few rotating static buffers, so one
 * message can show several.
 */
const char *show(const char *s, size_t n);
const char *shows(const char *s);
const char *show_value(const struct value *v);

/* Run suite s inside a fresh base directory named after `name`;
 * returns the process exit status. */
int unit_run(Suite *s, const char *name);

#endif
