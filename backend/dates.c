/*
 * dates.c - the date part of stored timestamps (see dates.h).
 */
#include "dates.h"

#include <stdio.h>

static int digits(const char *s, int n)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

int date_parse(const char *s, size_t n, int *y, int *m, int *d)
{
	int yy, mm, dd;

	if (n < 10 || s[4] != '-' || s[7] != '-')
		return 0;
	yy = digits(s, 4);
	mm = digits(s + 5, 2);
	dd = digits(s + 8, 2);
	if (yy < 0 || mm < 1 || mm > 12 || dd < 1 || dd > 31)
		return 0;
	*y = yy;
	*m = mm;
	*d = dd;
	return 1;
}

int date_month(const char *s, size_t n, char out[8])
{
	int y, m, d;

	if (!date_parse(s, n, &y, &m, &d))
		return 0;
	snprintf(out, 8, "%04d_%02d", y, m);
	return 1;
}
