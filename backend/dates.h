/*
 * dates.h - reading the date part of a stored timestamp, for file names.
 *
 * Timestamps are kept byte-exact as stored; these helpers only look at the
 * leading "YYYY-MM-DD" of a TEXT value to choose a folder or month file.
 * Anything that does not start that way (NULL, an integer, "yesterday")
 * is undated, and goes to the layout's undated home.
 */
#ifndef ARCHIVEFS_DATES_H
#define ARCHIVEFS_DATES_H

#include <stddef.h>

/* If s[0..n) starts with YYYY-MM-DD (digits, month 01-12, day 01-31),
 * store the numbers and return 1; else return 0. */
int date_parse(const char *s, size_t n, int *y, int *m, int *d);

/* "YYYY_MM" (7 chars + NUL) into out, return 1; or 0 when undated. */
int date_month(const char *s, size_t n, char out[8]);

#endif
