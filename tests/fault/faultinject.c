/*
 * faultinject.c - an LD_PRELOAD shim that makes one call site fail.
 *
 * The tests (tests/faults.sh) run archivefs with this library preloaded.
 * It wraps one class of calls at a time:
 *
 *   write   write, pwrite, pwrite64, writev      (regular files only)
 *   fsync   fsync, fdatasync, syncfs
 *   rename  rename, renameat, renameat2
 *   read    read, pread, pread64                  (regular files only)
 *   lock    fcntl F_SETLK/F_SETLKW/F_OFD_SETLK(W) and flock, not unlocks
 *   malloc  malloc, calloc, realloc
 *
 * A call's *site* is the return address of the innermost frame that lies
 * in the main program: for a write SQLite makes inside sqlite3_step(), the
 * site is the archivefs line that called sqlite3_step(); for a malloc
 * inside strdup(), the line that called strdup(). So the sites are
 * archivefs's own call sites, whatever library does the call in the end,
 * and SQLite's errors (SQLITE_FULL from ENOSPC, SQLITE_IOERR from EIO,
 * SQLITE_BUSY from a refused lock, SQLITE_NOMEM) reach the code that must
 * handle them the way they would on a real disk.
 *
 * Sites are numbered in the order a run first meets them. Environment:
 *
 *   FAULT_CLASS   one of the classes above (nothing is wrapped without it)
 *   FAULT_SITE    N: fail calls from the N-th site; 0x...: from the site at
 *                 that OFFSET (as reported below: the same site in every
 *                 run, however threads interleave); 0 or unset: only count
 *   FAULT_HIT     fail from that site's H-th call on (default 1)
 *   FAULT_TIMES   fail that many calls in a row (default 1; 0 = all after)
 *   FAULT_ERRNO   errno to fail with: ENOSPC, EIO, EROFS, EAGAIN, ENOMEM,
 *                 EDQUOT or a number (default: EIO; EAGAIN for lock;
 *                 ENOMEM for malloc)
 *   FAULT_ARM     "signal": count nothing until SIGUSR2 arrives, and stop
 *                 at the next one (for the daemon: armed just for the
 *                 operation under test)
 *   FAULT_SKIP    "OFFSET+SIZE,...": functions of the program that only wrap
 *                 a call (buf_grow, store_step, ...); a frame inside one
 *                 is passed over, so the site is the wrapper's caller
 *   FAULT_REPORT  file: gets "fired SITE OFFSET HIT" when a fault fires,
 *                 and at exit one line "site N CLASS OFFSET CALLS" per site
 *                 (OFFSET: the return address in the program's file, for
 *                 addr2line -e PROGRAM)
 *
 * This is test tooling, not part of archivefs.
 */
/* pwrite and pwrite64 are two symbols here, both wrapped. */
#undef _FILE_OFFSET_BITS
#include <dlfcn.h>
#include <errno.h>
#include <execinfo.h>
#include <fcntl.h>
#include <link.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include <sqlite3.h>

enum fclass { FC_NONE, FC_WRITE, FC_FSYNC, FC_RENAME, FC_READ, FC_LOCK, FC_MALLOC };
static const char *const class_names[] = {
	"none", "write", "fsync", "rename", "read", "lock", "malloc",
};

#define MAX_SITES 8192
#define MAX_FRAMES 32

static enum fclass cls;
static long want_site, want_hit = 1, want_times = 1;
static uintptr_t want_pc;   /* FAULT_SITE=0xOFFSET */
static int fault_errno = EIO;
static volatile sig_atomic_t armed = 1;
static const char *report;
static uintptr_t exe_lo, exe_hi, exe_base;

#define MAX_SKIP 64
static struct { uintptr_t lo, hi; } skip[MAX_SKIP];
static int nskip;

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct { uintptr_t pc; long calls; } sites[MAX_SITES];
static long nsites;

/* Set while this thread is inside the shim: its own calls pass through. */
static __thread int inside __attribute__((tls_model("initial-exec")));
/* Set while this thread is inside a call into SQLite: the site of every
 * call SQLite makes meanwhile (found once per SQLite call, not unwound
 * again for each of the thousands of mallocs a query can make). */
static __thread uintptr_t sqlite_site __attribute__((tls_model("initial-exec")));

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);

static ssize_t (*real_write)(int, const void *, size_t);
static ssize_t (*real_pwrite)(int, const void *, size_t, off_t);
static ssize_t (*real_pwrite64)(int, const void *, size_t, off_t);
static ssize_t (*real_writev)(int, const struct iovec *, int);
static ssize_t (*real_read)(int, void *, size_t);
static ssize_t (*real_pread)(int, void *, size_t, off_t);
static ssize_t (*real_pread64)(int, void *, size_t, off_t);
static int (*real_fsync)(int);
static int (*real_fdatasync)(int);
static int (*real_syncfs)(int);
static int (*real_rename)(const char *, const char *);
static int (*real_renameat)(int, const char *, int, const char *);
static int (*real_renameat2)(int, const char *, int, const char *, unsigned);
static int (*real_fcntl)(int, int, ...);
static int (*real_fcntl64)(int, int, ...);
static int (*real_flock)(int, int);

static void say(const char *line)
{
	int fd;

	if (!report)
		return;
	fd = (int)syscall(SYS_openat, AT_FDCWD, report,
			  O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (fd < 0)
		return;
	syscall(SYS_write, fd, line, strlen(line));
	syscall(SYS_close, fd);
}

static int find_exe(struct dl_phdr_info *info, size_t size, void *data)
{
	(void)size;
	(void)data;
	/* The first object is the main program. */
	exe_base = info->dlpi_addr;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uintptr_t lo = info->dlpi_addr + ph->p_vaddr;

		if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X))
			continue;
		if (!exe_lo || lo < exe_lo)
			exe_lo = lo;
		if (lo + ph->p_memsz > exe_hi)
			exe_hi = lo + ph->p_memsz;
	}
	return 1;
}

/* The innermost return address inside the main program, or 0. */
static uintptr_t call_site(void)
{
	void *pcs[MAX_FRAMES];
	int n = backtrace(pcs, MAX_FRAMES);

	for (int i = 1; i < n; i++) {
		uintptr_t pc = (uintptr_t)pcs[i];

		int k;

		if (pc < exe_lo || pc >= exe_hi)
			continue;
		for (k = 0; k < nskip && !(pc >= skip[k].lo && pc < skip[k].hi); k++)
			;
		if (k == nskip)
			return pc;
	}
	return 0;
}

/* Should this call of class c fail? Counts the call at its site. */
static int should_fail(enum fclass c)
{
	uintptr_t pc;
	long k, hit;
	int fail = 0;
	char line[128];

	if (c != cls || inside || !armed)
		return 0;
	inside = 1;
	pc = sqlite_site ? sqlite_site : call_site();
	if (pc) {
		pthread_mutex_lock(&mu);
		for (k = 0; k < nsites && sites[k].pc != pc; k++)
			;
		if (k == nsites && nsites < MAX_SITES)
			sites[nsites++].pc = pc;
		if (k < nsites) {
			hit = ++sites[k].calls;
			fail = (want_pc ? pc == want_pc : want_site == k + 1) &&
			       hit >= want_hit &&
			       (want_times == 0 || hit < want_hit + want_times);
		}
		pthread_mutex_unlock(&mu);
		if (fail) {
			snprintf(line, sizeof(line), "fired %ld 0x%lx %ld\n", k + 1,
				 (unsigned long)(pc - exe_base - 1), hit);
			say(line);
		}
	}
	inside = 0;
	return fail;
}

static int regular(int fd)
{
	struct stat st;

	return fd > 2 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
}

static int file_fault(enum fclass c, int fd)
{
	if (c != cls || inside || !armed)
		return 0;
	return regular(fd) && should_fail(c);
}

#define FAIL(ret) do { errno = fault_errno; return ret; } while (0)

ssize_t write(int fd, const void *b, size_t n)
{
	if (file_fault(FC_WRITE, fd))
		FAIL(-1);
	return real_write(fd, b, n);
}

ssize_t pwrite(int fd, const void *b, size_t n, off_t off)
{
	if (file_fault(FC_WRITE, fd))
		FAIL(-1);
	return real_pwrite(fd, b, n, off);
}

ssize_t pwrite64(int fd, const void *b, size_t n, off_t off)
{
	if (file_fault(FC_WRITE, fd))
		FAIL(-1);
	return real_pwrite64(fd, b, n, off);
}

ssize_t writev(int fd, const struct iovec *iov, int n)
{
	if (file_fault(FC_WRITE, fd))
		FAIL(-1);
	return real_writev(fd, iov, n);
}

ssize_t read(int fd, void *b, size_t n)
{
	if (file_fault(FC_READ, fd))
		FAIL(-1);
	return real_read(fd, b, n);
}

ssize_t pread(int fd, void *b, size_t n, off_t off)
{
	if (file_fault(FC_READ, fd))
		FAIL(-1);
	return real_pread(fd, b, n, off);
}

ssize_t pread64(int fd, void *b, size_t n, off_t off)
{
	if (file_fault(FC_READ, fd))
		FAIL(-1);
	return real_pread64(fd, b, n, off);
}

int fsync(int fd)
{
	if (should_fail(FC_FSYNC))
		FAIL(-1);
	return real_fsync(fd);
}

int fdatasync(int fd)
{
	if (should_fail(FC_FSYNC))
		FAIL(-1);
	return real_fdatasync(fd);
}

int syncfs(int fd)
{
	if (should_fail(FC_FSYNC))
		FAIL(-1);
	return real_syncfs(fd);
}

int rename(const char *a, const char *b)
{
	if (should_fail(FC_RENAME))
		FAIL(-1);
	return real_rename(a, b);
}

int renameat(int da, const char *a, int db, const char *b)
{
	if (should_fail(FC_RENAME))
		FAIL(-1);
	return real_renameat(da, a, db, b);
}

int renameat2(int da, const char *a, int db, const char *b, unsigned flags)
{
	if (should_fail(FC_RENAME))
		FAIL(-1);
	return real_renameat2(da, a, db, b, flags);
}

static int lock_fault(int cmd, void *arg)
{
	const struct flock *fl = arg;

	if (cls != FC_LOCK)
		return 0;
	if (cmd != F_SETLK && cmd != F_SETLKW && cmd != F_OFD_SETLK && cmd != F_OFD_SETLKW)
		return 0;
	return fl && fl->l_type != F_UNLCK && should_fail(FC_LOCK);
}

/* fcntl and fcntl64: two symbols, one behaviour. Every command takes at
 * most one argument, passed on as a pointer-sized value. */
#define FCNTL_WRAPPER(name) \
int name(int fd, int cmd, ...) \
{ \
	va_list ap; \
	void *arg; \
 \
	va_start(ap, cmd); \
	arg = va_arg(ap, void *); \
	va_end(ap); \
	if (lock_fault(cmd, arg)) \
		FAIL(-1); \
	return real_##name(fd, cmd, arg); \
}
FCNTL_WRAPPER(fcntl)
FCNTL_WRAPPER(fcntl64)

int flock(int fd, int op)
{
	if (!(op & LOCK_UN) && should_fail(FC_LOCK))
		FAIL(-1);
	return real_flock(fd, op);
}

void *malloc(size_t n)
{
	if (should_fail(FC_MALLOC))
		FAIL(NULL);
	return __libc_malloc(n);
}

void *calloc(size_t n, size_t size)
{
	if (should_fail(FC_MALLOC))
		FAIL(NULL);
	return __libc_calloc(n, size);
}

void *realloc(void *p, size_t n)
{
	if (n && should_fail(FC_MALLOC))
		FAIL(NULL);
	return __libc_realloc(p, n);
}

/* The calls into SQLite that do the work (and the allocating). */
#define ENTER(name) \
	static __typeof__(name) *real; \
	uintptr_t outer = sqlite_site; \
	if (!real) \
		real = (__typeof__(name) *)dlsym(RTLD_NEXT, #name); \
	if (!outer && cls != FC_NONE && armed && !inside) { \
		inside = 1; \
		sqlite_site = call_site(); \
		inside = 0; \
	}
#define LEAVE() sqlite_site = outer

int sqlite3_step(sqlite3_stmt *st)
{
	ENTER(sqlite3_step);
	int rc = real(st);
	LEAVE();
	return rc;
}

int sqlite3_exec(sqlite3 *db, const char *sql, int (*cb)(void *, int, char **, char **),
		 void *arg, char **errmsg)
{
	ENTER(sqlite3_exec);
	int rc = real(db, sql, cb, arg, errmsg);
	LEAVE();
	return rc;
}

int sqlite3_prepare_v2(sqlite3 *db, const char *sql, int n, sqlite3_stmt **st,
		       const char **tail)
{
	ENTER(sqlite3_prepare_v2);
	int rc = real(db, sql, n, st, tail);
	LEAVE();
	return rc;
}

int sqlite3_prepare_v3(sqlite3 *db, const char *sql, int n, unsigned flags,
		       sqlite3_stmt **st, const char **tail)
{
	ENTER(sqlite3_prepare_v3);
	int rc = real(db, sql, n, flags, st, tail);
	LEAVE();
	return rc;
}

int sqlite3_open_v2(const char *path, sqlite3 **db, int flags, const char *vfs)
{
	ENTER(sqlite3_open_v2);
	int rc = real(path, db, flags, vfs);
	LEAVE();
	return rc;
}

const unsigned char *sqlite3_column_text(sqlite3_stmt *st, int i)
{
	ENTER(sqlite3_column_text);
	const unsigned char *r = real(st, i);
	LEAVE();
	return r;
}

int sqlite3_backup_step(sqlite3_backup *b, int pages)
{
	ENTER(sqlite3_backup_step);
	int rc = real(b, pages);
	LEAVE();
	return rc;
}

static void on_arm(int sig)
{
	(void)sig;
	armed = !armed;
}

static int parse_errno(const char *s)
{
	static const struct { const char *name; int no; } names[] = {
		{ "ENOSPC", ENOSPC }, { "EIO", EIO }, { "EROFS", EROFS },
		{ "EAGAIN", EAGAIN }, { "ENOMEM", ENOMEM }, { "EDQUOT", EDQUOT },
		{ "EACCES", EACCES }, { "EPERM", EPERM },
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(s, names[i].name) == 0)
			return names[i].no;
	return atoi(s) > 0 ? atoi(s) : EIO;
}

#define REAL(name) (real_##name = dlsym(RTLD_NEXT, #name))

__attribute__((constructor)) static void fault_init(void)
{
	const char *s;
	void *warm[2];

	inside = 1;
	REAL(write); REAL(pwrite); REAL(pwrite64); REAL(writev);
	REAL(read); REAL(pread); REAL(pread64);
	REAL(fsync); REAL(fdatasync); REAL(syncfs);
	REAL(rename); REAL(renameat); REAL(renameat2);
	REAL(fcntl); REAL(fcntl64); REAL(flock);
	if (!real_fcntl64)
		real_fcntl64 = real_fcntl;
	dl_iterate_phdr(find_exe, NULL);
	backtrace(warm, 2);   /* loads the unwinder now, not inside a fault */

	s = getenv("FAULT_CLASS");
	for (size_t i = 1; s && i < sizeof(class_names) / sizeof(class_names[0]); i++)
		if (strcmp(s, class_names[i]) == 0)
			cls = (enum fclass)i;
	if (cls == FC_LOCK)
		fault_errno = EAGAIN;
	else if (cls == FC_MALLOC)
		fault_errno = ENOMEM;
	if ((s = getenv("FAULT_ERRNO")) && *s)
		fault_errno = parse_errno(s);
	if ((s = getenv("FAULT_SITE")) && strncmp(s, "0x", 2) == 0)
		want_pc = exe_base + strtoul(s, NULL, 16) + 1;
	else if (s)
		want_site = atol(s);
	if ((s = getenv("FAULT_HIT")) && atol(s) > 0)
		want_hit = atol(s);
	if ((s = getenv("FAULT_TIMES")))
		want_times = atol(s);
	report = getenv("FAULT_REPORT");
	for (s = getenv("FAULT_SKIP"); s && *s && nskip < MAX_SKIP;) {
		char *end;
		unsigned long off = strtoul(s, &end, 0), size = 0;

		if (*end == '+')
			size = strtoul(end + 1, &end, 0);
		skip[nskip].lo = exe_base + off;
		skip[nskip++].hi = exe_base + off + size;
		s = *end == ',' ? end + 1 : end;
		if (end == s && *s != ',')
			break;
	}
	if ((s = getenv("FAULT_ARM")) && strcmp(s, "signal") == 0) {
		struct sigaction sa;

		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = on_arm;
		sa.sa_flags = SA_RESTART;
		sigaction(SIGUSR2, &sa, NULL);
		armed = 0;
	}
	inside = 0;
}

__attribute__((destructor)) static void fault_fini(void)
{
	char line[160];

	inside = 1;
	pthread_mutex_lock(&mu);
	for (long k = 0; k < nsites; k++) {
		snprintf(line, sizeof(line), "site %ld %s 0x%lx %ld\n", k + 1,
			 class_names[cls], (unsigned long)(sites[k].pc - exe_base - 1),
			 sites[k].calls);
		say(line);
	}
	pthread_mutex_unlock(&mu);
}
