/*
 * progress.c - progress lines on stderr (see progress.h).
 */
#include "progress.h"

#include <stdio.h>
#include <time.h>
#include <unistd.h>

double progress_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void progress_start(struct progress *p, int enabled, const char *what, long total)
{
	p->enabled = enabled;
	p->tty = isatty(2);
	p->start = p->last = progress_now();
	p->what = what;
	p->total = total;
}

void progress_update(struct progress *p, long done, const char *unit)
{
	double now;

	if (!p->enabled)
		return;
	now = progress_now();
	if (now - p->last < (p->tty ? 0.2 : 5.0))
		return;
	p->last = now;
	if (p->total > 0)
		fprintf(stderr, "%s%s: %ld/%ld %s (%d%%)%s", p->tty ? "\r" : "",
			p->what, done, p->total, unit, (int)(100.0 * done / p->total),
			p->tty ? "\033[K" : "\n");
	else
		fprintf(stderr, "%s%s: %ld %s%s", p->tty ? "\r" : "", p->what, done,
			unit, p->tty ? "\033[K" : "\n");
}

void progress_done(struct progress *p)
{
	if (p->enabled && p->tty && p->last > p->start)
		fprintf(stderr, "\r\033[K");
}
