/*
 * progress.h - progress lines on stderr for long runs.
 *
 * On a terminal the line is redrawn in place; otherwise a plain line is
 * printed at most every few seconds, so logs stay readable.
 */
#ifndef ARCHIVEFS_PROGRESS_H
#define ARCHIVEFS_PROGRESS_H

struct progress {
	int enabled;
	int tty;
	double start, last;
	const char *what;
	long total;
};

void progress_start(struct progress *p, int enabled, const char *what, long total);
void progress_update(struct progress *p, long done, const char *unit);
void progress_done(struct progress *p);
double progress_now(void);   /* monotonic seconds */

#endif
