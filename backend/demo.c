/*
 * demo.c - a deterministic generator of ThyWill demo data.
 *
 * The whole test suite round-trips databases made here, so the data has to
 * be two things at once: believable (volumes, timestamps, ids and texts
 * shaped like a real ThyWill deployment, so layouts and performance are
 * exercised as in production) and hostile (every awkward value SQLite lets
 * a real database hold). Ordinary rows come from word pools and a private
 * PRNG (splitmix64) seeded by the caller: no rand(), no clock, no locale,
 * so one seed gives one database, byte for byte. Every INSERT is prepared
 * once and re-bound per row, inside one transaction.
 *
 * Determinism rule for contributors: draw random numbers into locals
 * before building a row (PUT below). The order in which the initialisers of
 * a compound literal are evaluated is unspecified, so a draw inside PUT's
 * arguments could differ between compilers.
 *
 * Sizes: users and prayers as asked (raised to DEMO_MIN_*); per prayer on
 * average 4 prayermarks, 1 prayer_attributes, 2 prayer_activity_log and
 * 0.5 prayerskip; per user about 2 authentication requests with their
 * approvals, audit rows, notifications and sessions, an invite token and
 * its usage, roles and preferences. About 10.75 rows per prayer in all
 * with the default user count (--prayers 100000: 1.08 million rows).
 * Timestamps are spread over 2023-2025 with microseconds.
 *
 * The hard cases, always present whatever the size. "P<n>" is the n-th
 * prayer written and "U<n>" the n-th user, from 0 (see one_prayer() and
 * hard_users[]); "#<n>" is the n-th row written to a table, from 0, so
 * rowid n+1. Hard-case prayers get ordinary children as well.
 *
 *  text shape
 *   - multi-line text, no final newline ........ prayer P0 .text
 *   - CRLF line ends, ending in "\r\n" ......... prayer P0 .generated_prayer
 *   - text ending in "\n" ...................... prayer P1 .text
 *   - lines that look like format syntax ("[prayer]", "# heading",
 *     "| pipe", "\ backslash", "name: value", "id: fake", "---", "===")
 *                                                prayer P1 .text
 *   - ':' '|' '\' characters ................... prayer P0 .text, P4 .text
 *   - leading/trailing spaces .................. prayer P2 .text,
 *                                                user U1 .display_name
 *   - a TAB .................................... prayer P4 .text
 *   - emoji, Cyrillic, Hebrew, Arabic .......... prayer P3 .text;
 *                                                users U1, U2, U3
 *   - invalid UTF-8 (bytes ff fe) in TEXT ...... prayer P5 .text,
 *                                                authenticationrequest #1
 *                                                .device_info
 *   - a NUL byte inside TEXT ................... prayer P6 .text
 *   - a 1 MiB+ text built of lines ............. prayer P7 .text
 *   - a very long multi-line message ........... changelogentry #0
 *                                                .original_message
 *   - digits-only TEXT with a leading zero ..... authenticationrequest #0
 *                                                .verification_code
 *  NULL and look-alikes
 *   - NULL next to '' .......................... prayer P0 .project_tag NULL,
 *                                                P1 .project_tag '';
 *                                                user U0 .supporter_type '',
 *                                                others NULL; user U2
 *                                                .text_file_path ''
 *   - the strings "NULL", "unknown", "system", "never" as values:
 *     prayer P2 .project_tag 'NULL'; prayer_activity_log #0 .old_value
 *     'NULL' (new_value NULL); prayer P2 .categorization_method and
 *     .specificity_type 'unknown'; authenticationrequest #0 .device_info
 *     'unknown'; authauditlog .actor_type 'system' (every expiry, and #0);
 *     user_roles #1 .expires_at 'never'; user_preference theme 'system'
 *  numbers
 *   - REALs needing 17 significant digits: P0 .specificity_confidence
 *     0.1+0.2; P1 .safety_score 1/3.0, .specificity_confidence 2/3.0;
 *     P2 .safety_score 0.1*7 (0.7000000000000001), .specificity_confidence
 *     1e-300; P3 .specificity_confidence 123456.78901234567
 *   - integer-valued REAL 1.0 .................. prayer P0 .safety_score
 *   - a REAL in a NUMERIC (TIMESTAMP) column ... prayer P3 .featured_at
 *                                                (Julian day 2460388.5)
 *   - a REAL in an INTEGER column .............. schema_migrations
 *                                                '004_prayer_attributes'
 *                                                .execution_time_ms 12.5
 *   - an INTEGER where a REAL is usual ......... user_preference (U1,
 *     'font_scale') = 2, others REAL. (A FLOAT column cannot hold one:
 *     its REAL affinity turns a bound INTEGER into a REAL.)
 *   - Inf, DBL_MAX, the smallest denormal ...... app_note .weight
 *  ids and keys
 *   - all digits "12345" ....................... prayer P1 .id
 *   - "../../etc/passwd" ....................... prayer P2 .id
 *   - ".." ..................................... prayer P3 .id
 *   - '/' and spaces ........................... prayer P4 .id
 *   - a newline ................................ prayer P5 .id
 *   - 300 bytes ................................ prayer P6 .id
 *   - the empty string "" ...................... prayermark on P0 (.id '')
 *   - spaces, emoji, RTL in a user key ......... users U1-U3, also as
 *                                                foreign keys everywhere
 *   - composite key with such text ............. user_preference
 *  timestamps
 *   - 'yesterday' in a NOT NULL DATETIME ....... user U3 .created_at
 *   - INTEGER unix time in NOT NULL DATETIME ... prayer P6 .created_at
 *   - INTEGER unix time in nullable DATETIME ... user U3 .supporter_since
 *   - ISO 8601 with 'T' and 'Z' ................ prayer P5 .created_at
 *   - time only, missing the date .............. securitylog #0 .created_at
 *   - 'never' in a nullable DATETIME ........... user_roles #1 .expires_at
 *   - NULL in nullable DATETIMEs ............... everywhere (featured_at,
 *                                                approved_at, read_at...)
 *  relations
 *   - orphans: prayermark, prayer_attributes, prayer_activity_log and
 *     prayerskip on prayer_id DEAD_PRAYER (written right after P0's
 *     children); authapproval #0 on auth request DEAD_AUTHREQ;
 *     user_roles #2 on role DEAD_ROLE; notification_state #0 on auth
 *     request DEAD_NOTIFY_REQ; authauditlog #0 ('cleanup' by 'system')
 *     on the purged request DEAD_AUTHREQ
 *   - content duplicates: two prayermarks on P0 by U2, identical but id
 *   - a table without primary key holding exact duplicate rows: app_note
 *     rowids 8 and 13 repeat rowid 4, rowid 16 repeats rowid 10, and
 *     rowids 19 and 20 are both all NULL
 *   - blobs: empty (x''), with 00 and 0a bytes, NULL ... app_note .payload,
 *     user_preference 'avatar_thumb'
 */
#include "demo.h"

#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "store.h"
#include "value.h"

#define ID_LEN 32
#define TS_LEN 26                      /* YYYY-MM-DD HH:MM:SS.ffffff */
#define USEC 1000000LL
#define HOUR (3600LL * USEC)
#define DAY (86400LL * USEC)
#define T_START (1672531200LL * USEC)  /* 2023-01-01 00:00:00 */
#define T_END (1767225600LL * USEC)    /* 2026-01-01 00:00:00 */
#define BIG_TEXT_MIN ((size_t)1 << 20) /* the 1 MiB prayer */
#define REPORT_EVERY 10000

#define DEAD_PRAYER "dead0000000000000000000000000001"
#define DEAD_AUTHREQ "dead0000000000000000000000000002"
#define DEAD_ROLE "dead0000000000000000000000000003"
#define DEAD_NOTIFY_REQ "dead0000000000000000000000000004"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

const char demo_extra_schema_sql[] =
	"CREATE TABLE app_note (\n"
	"\tauthor TEXT,\n"
	"\tbody TEXT,\n"
	"\tcreated_at DATETIME,\n"
	"\tweight REAL,\n"
	"\tpayload BLOB\n"
	");\n"
	"CREATE TABLE user_preference (\n"
	"\tusername TEXT NOT NULL,\n"
	"\tpref_key TEXT NOT NULL,\n"
	"\tpref_value,\n"
	"\tPRIMARY KEY (username, pref_key)\n"
	") WITHOUT ROWID;\n";

/* ------------------------------------------------------------------ */
/* Tables and their INSERTs                                            */

enum tbl {
	T_USER, T_INVITETOKEN, T_INVITE_USAGE, T_ROLE, T_USER_ROLES,
	T_AUTHREQ, T_AUTHAPPROVAL, T_AUTHAUDIT, T_NOTIFY, T_SESSION,
	T_SECLOG, T_PRAYER, T_PRAYERMARK, T_PRAYER_ATTR, T_ACTIVITY,
	T_SKIP, T_CHANGELOG, T_MIGRATION, T_MEMBERSHIP, T_APP_NOTE,
	T_USER_PREF, T_COUNT
};

static const struct {
	const char *name;
	const char *cols;   /* comma-separated: the INSERT's column list */
} tables[T_COUNT] = {
	[T_USER] = { "user", "display_name, created_at, invited_by_username,"
		" invite_token_used, welcome_message_dismissed, text_file_path,"
		" is_supporter, supporter_since, supporter_type" },
	[T_INVITETOKEN] = { "invitetoken", "token, created_by_user,"
		" usage_count, max_uses, expires_at, used_by_user_id,"
		" token_type" },
	[T_INVITE_USAGE] = { "invite_token_usage", "id, invite_token_id,"
		" user_id, claimed_at, ip_address" },
	[T_ROLE] = { "role", "id, name, description, permissions,"
		" created_at, created_by, is_system_role" },
	[T_USER_ROLES] = { "user_roles", "id, user_id, role_id, granted_by,"
		" granted_at, expires_at" },
	[T_AUTHREQ] = { "authenticationrequest", "id, user_id, device_info,"
		" ip_address, verification_code, created_at, expires_at,"
		" status, approved_by_user_id, approved_at" },
	[T_AUTHAPPROVAL] = { "authapproval", "id, auth_request_id,"
		" approver_user_id, created_at" },
	[T_AUTHAUDIT] = { "authauditlog", "id, auth_request_id, action,"
		" actor_user_id, actor_type, details, ip_address, user_agent,"
		" created_at" },
	[T_NOTIFY] = { "notification_state", "id, user_id, auth_request_id,"
		" notification_type, is_read, created_at, read_at" },
	[T_SESSION] = { "session", "id, username, created_at, expires_at,"
		" auth_request_id, device_info, ip_address,"
		" is_fully_authenticated" },
	[T_SECLOG] = { "securitylog", "id, event_type, user_id, ip_address,"
		" user_agent, details, created_at" },
	[T_PRAYER] = { "prayer", "id, author_username, text, generated_prayer,"
		" project_tag, created_at, flagged, text_file_path,"
		" safety_score, safety_flags, categorization_method,"
		" specificity_type, specificity_confidence, subject_category,"
		" suggested_archive_date, archive_suggestion_dismissed,"
		" is_featured, featured_at" },
	[T_PRAYERMARK] = { "prayermark", "id, username, prayer_id,"
		" created_at, text_file_path" },
	[T_PRAYER_ATTR] = { "prayer_attributes", "id, prayer_id,"
		" attribute_name, attribute_value, created_at, created_by,"
		" text_file_path" },
	[T_ACTIVITY] = { "prayer_activity_log", "id, prayer_id, user_id,"
		" action, old_value, new_value, created_at, text_file_path" },
	[T_SKIP] = { "prayerskip", "id, user_id, prayer_id, created_at" },
	[T_CHANGELOG] = { "changelogentry", "commit_id, original_message,"
		" friendly_description, change_type, commit_date, created_at" },
	[T_MIGRATION] = { "schema_migrations", "migration_id, applied_at,"
		" checksum, execution_time_ms, status" },
	[T_MEMBERSHIP] = { "membership_application", "id, username, essay,"
		" contact_info, ip_address, status, created_at, processed_at,"
		" processed_by_user_id, invite_token, text_file_path" },
	[T_APP_NOTE] = { "app_note", "author, body, created_at, weight,"
		" payload" },
	[T_USER_PREF] = { "user_preference", "username, pref_key,"
		" pref_value" },
};

/* ------------------------------------------------------------------ */
/* Word pools                                                          */

static const char *const first_names[] = {
	"Grace", "Daniel", "Sarah", "Michael", "Ruth", "David", "Hannah",
	"Joshua", "Esther", "Samuel", "Abigail", "Caleb", "Naomi", "Isaac",
	"Leah", "Elijah", "Miriam", "Nathan", "Lydia", "Aaron", "Priscilla",
	"Jonah", "Rebekah", "Micah", "Deborah", "Levi", "Anna", "Silas",
	"Chloe", "Peter", "Maria", "Jose", "Olga", "Dmitri", "Aisha", "Omar",
	"Mei", "Kwame", "Ngozi", "Tomás", "Joy", "Mark", "Faith", "Luke",
};

static const char *const last_names[] = {
	"Miller", "Johnson", "Nguyen", "Okafor", "Schmidt", "Garcia", "Kim",
	"Petrov", "Cohen", "Haddad", "Smith", "Brown", "Lee", "Martin",
	"Rossi", "Silva", "Kowalski", "Andersen", "Mensah", "Yamamoto",
	"O'Brien", "Dubois", "Walker", "Reyes", "Patel", "Hughes", "Baker",
};

struct person {
	const char *req;    /* as the requester says it */
	const char *gen;    /* as a generated prayer says it */
	const char *poss;
	const char *obj;
};

static const struct person persons[] = {
	{ "my sister", "this sister", "her", "her" },
	{ "my mom", "this mother", "her", "her" },
	{ "my dad", "this father", "his", "him" },
	{ "our son", "this young man", "his", "him" },
	{ "our daughter", "this daughter", "her", "her" },
	{ "my grandmother", "this grandmother", "her", "her" },
	{ "my husband", "this husband", "his", "him" },
	{ "my wife", "this wife", "her", "her" },
	{ "a dear friend", "this friend", "their", "them" },
	{ "my coworker", "this coworker", "their", "them" },
	{ "our pastor", "our pastor", "his", "him" },
	{ "my neighbor", "this neighbor", "their", "them" },
	{ "my best friend", "this friend", "her", "her" },
	{ "my uncle", "this uncle", "his", "him" },
	{ "my brother", "this brother", "his", "him" },
};

static const char *const needs[] = {
	"surgery on Friday", "recovery from a stroke",
	"job interview on Monday", "chemo treatments",
	"first week at a new school", "marriage", "move across the country",
	"biopsy results next week", "sobriety (90 days today)",
	"court hearing next month", "final exams",
	"grief after losing Grandpa", "new business", "pregnancy",
	"search for work", "faith", "healing from pneumonia",
	"deployment overseas", "knee replacement", "mental health",
	"finances this winter", "safe travel home", "heart procedure",
	"new baby", "visa application",
};

static const char *const self_needs[] = {
	"start a new job", "wait on test results", "care for aging parents",
	"look for work", "grieve the loss of a parent",
	"learn to trust again", "prepare for finals",
	"recover from surgery", "walk through a divorce",
	"fight anxiety every morning", "step into ministry",
	"decide whether to move", "parent a toddler on very little sleep",
};

static const char *const req_openers[] = {
	"Please pray for", "I'm asking for prayer for", "Would you pray for",
	"Prayers needed for", "Please keep in your prayers",
	"Asking everyone to pray for", "Could you all lift up",
};

static const char *const followups[] = {
	"The doctors are hopeful, but we are scared.",
	"It has been a long year for our family.",
	"Thank you all for standing with us.",
	"We trust God with the outcome.",
	"Please also pray for peace in our home.",
	"Any prayers are appreciated.",
	"God has been faithful so far.",
	"She would never ask for herself, so I am asking.",
	"Update: things are a little better this week!",
	"We don't know what to expect.",
	"Pray for wisdom for the doctors and nurses.",
	"Praise God for the progress so far!",
	"I feel so tired and need strength.",
	"Thank you, church family.",
	"It's been hard to sleep.",
	"The kids are asking a lot of questions.",
	"We find out more on Thursday.",
};

static const char *const gen_openers[] = {
	"Lord, we lift up", "Heavenly Father, we bring before You",
	"Gracious God, we hold up", "Father, we pray for",
	"Lord Jesus, we come to You on behalf of",
};

/* '@' stands for the person's object pronoun. */
static const char *const gen_middles[] = {
	"Surround @ with Your peace that passes all understanding.",
	"Give @ strength for each new day.",
	"Guide the hands of every doctor and nurse.",
	"Let @ feel Your presence in the waiting.",
	"Provide for every need, seen and unseen.",
	"Grant wisdom for the decisions ahead.",
	"Heal what is broken and restore what was lost.",
	"May Your light shine on @ and on all who love @.",
	"Quiet every fear with Your faithful love.",
	"Open doors that no one can shut.",
};

static const char *const gen_closers[] = {
	"In Jesus' name, Amen.", "Amen.",
	"We ask this in Your holy name. Amen.", "Thy will be done. Amen.",
};

static const char *const categories[] = {
	"health", "family", "work", "guidance", "relationships", "grief",
	"praise", "finances", "general", "healing",
};

static const char *const project_tags[] = {
	"lent_2024", "mission_trip", "advent", "youth_camp", "new_building",
};

static const char *const user_agents[] = {
	"Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X)"
	" AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4"
	" Mobile/15E148 Safari/604.1",
	"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36"
	" (KHTML, like Gecko) Chrome/122.0.0.0 Safari/537.36",
	"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15"
	" (KHTML, like Gecko) Version/17.3 Safari/605.1.15",
	"Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36"
	" (KHTML, like Gecko) Chrome/121.0.0.0 Mobile Safari/537.36",
	"Mozilla/5.0 (X11; Linux x86_64; rv:123.0) Gecko/20100101"
	" Firefox/123.0",
};

static const char *const devices[] = {
	"iPhone Safari", "Chrome on Windows", "Safari on Mac",
	"Android Chrome", "Firefox on Linux", "iPad Safari",
	"Edge on Windows",
};

static const char *const essays[] = {
	"I found ThyWill through my small group and would love to pray"
	" alongside you.",
	"Our church is small and we have been praying for each other by text"
	" message. A place like this would help us keep track.",
	"My grandmother taught me to pray every morning. Since she passed I"
	" have been looking for a community to pray with.",
	"I am a nurse on night shifts; praying for others during quiet hours"
	" keeps me going.",
	"A friend invited me, but her invite link expired.",
	"I want to learn to pray for people I will never meet.",
	"We are starting a prayer team at our school and want to see how"
	" this works first.",
};

static const char *const changelog_subjects[] = {
	"add prayer archive export", "fix session expiry on mobile",
	"show answered prayers on profile", "rate-limit login attempts",
	"improve prayer categorization prompt", "add membership applications",
	"fix double mark on slow networks",
	"make text archives the source of truth",
	"add supporter badge", "paginate the prayer feed",
	"fix timezone in daily digest", "add role-based permissions",
};

static const char *const change_types[] = {
	"new", "enhanced", "fixed", "improved",
};

/* ------------------------------------------------------------------ */
/* The generator                                                       */

struct demo {
	struct store *s;
	struct buf *err;
	struct store_stmt *st[T_COUNT];
	int ncols[T_COUNT];
	uint64_t rng;
	long done, total, next_report;
	void (*progress)(long done, long total, void *ctx);
	void *ctx;

	long nusers, nprayers;
	char **user;            /* display names, nusers of them */
	int64_t *user_at;       /* their created_at (usec), increasing */
	char (*token)[ID_LEN + 1]; /* invite token each user used, or "" */
	long *name_slot;        /* open-addressing set of user indexes + 1 */
	size_t name_mask;
	char role_id[5][ID_LEN + 1];

	long nreq, naudit, nuserrole, nmark, nactivity, nnotify, nseclog;

	struct buf tx[4];       /* scratch text for the row being built */
	struct buf big;         /* the 1 MiB prayer */
};

enum { R_ADMIN, R_MODERATOR, R_USER, R_SUPPORTER, R_PRAYER_TEAM };

static uint64_t rng_next(struct demo *d)
{
	uint64_t z = (d->rng += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* A number in [0, n); 0 when n is 0. */
static uint64_t rng_below(struct demo *d, uint64_t n)
{
	return n ? rng_next(d) % n : 0;
}

static int chance(struct demo *d, unsigned pct)
{
	return rng_below(d, 100) < pct;
}

#define PICK(d, arr) ((arr)[rng_below((d), NELEM(arr))])

/* ---- values ---- */

static struct value vnull(void)
{
	struct value v = { .type = V_NULL };
	return v;
}

static struct value vint(int64_t i)
{
	struct value v = { .type = V_INT, .i = i };
	return v;
}

static struct value vreal(double r)
{
	struct value v = { .type = V_REAL, .r = r };
	return v;
}

static struct value vtextn(const char *s, size_t n)
{
	struct value v = { .type = V_TEXT, .s = s, .n = n };
	return v;
}

static struct value vtext(const char *s)
{
	return vtextn(s, strlen(s));
}

/* A C string, or NULL for SQL NULL. */
static struct value vtext_or_null(const char *s)
{
	return s ? vtext(s) : vnull();
}

static struct value vbuf(const struct buf *b)
{
	return vtextn(b->data, b->len);
}

static struct value vblob(const void *p, size_t n)
{
	struct value v = { .type = V_BLOB, .s = p, .n = n };
	return v;
}

/* ---- formatting ---- */

static const char hexdigits[] = "0123456789abcdef";

/* 32 lowercase hex digits, like a uuid4().hex. */
static void hexid(struct demo *d, char out[ID_LEN + 1])
{
	uint64_t a = rng_next(d), b = rng_next(d);

	for (int i = 0; i < 16; i++) {
		out[i] = hexdigits[(a >> (60 - 4 * i)) & 15];
		out[16 + i] = hexdigits[(b >> (60 - 4 * i)) & 15];
	}
	out[ID_LEN] = '\0';
}

/* n random lowercase hex digits into a buffer of n + 1 bytes. */
static void hexstr(struct demo *d, char *out, int n)
{
	uint64_t x = 0;

	for (int i = 0; i < n; i++) {
		if (i % 16 == 0)
			x = rng_next(d);
		out[i] = hexdigits[x & 15];
		x >>= 4;
	}
	out[n] = '\0';
}

static void put2(char *p, unsigned v)
{
	p[0] = (char)('0' + v / 10 % 10);
	p[1] = (char)('0' + v % 10);
}

/* Days since 1970-01-01 to a civil date (H. Hinnant's algorithm). */
static void civil_from_days(int64_t z, int *y, unsigned *m, unsigned *dd)
{
	int64_t era, yoe, doe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*dd = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
	*m = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
	*y = (int)(yoe + era * 400 + (*m <= 2));
}

/* 'YYYY-MM-DD HH:MM:SS.ffffff' for a time in usec since the epoch
 * (years 1970-9999). Returns out. */
static const char *fmt_ts(char out[TS_LEN + 1], int64_t us)
{
	int64_t secs = us / USEC;
	unsigned frac = (unsigned)(us % USEC), sod = (unsigned)(secs % 86400);
	unsigned m, dd;
	int y;

	civil_from_days(secs / 86400, &y, &m, &dd);
	put2(out, (unsigned)y / 100);
	put2(out + 2, (unsigned)y % 100);
	out[4] = '-';
	put2(out + 5, m);
	out[7] = '-';
	put2(out + 8, dd);
	out[10] = ' ';
	put2(out + 11, sod / 3600);
	out[13] = ':';
	put2(out + 14, sod / 60 % 60);
	out[16] = ':';
	put2(out + 17, sod % 60);
	out[19] = '.';
	put2(out + 20, frac / 10000);
	put2(out + 22, frac / 100 % 100);
	put2(out + 24, frac % 100);
	out[TS_LEN] = '\0';
	return out;
}

/* A time in [at, at + span), but before T_END (and never before at). */
static int64_t later(struct demo *d, int64_t at, int64_t span)
{
	if (at >= T_END - 1)
		return at;
	if (span > T_END - 1 - at)
		span = T_END - 1 - at;
	return at + (int64_t)rng_below(d, (uint64_t)span);
}

static void fmt_ip(struct demo *d, char out[48])
{
	static const unsigned first[] = { 24, 68, 73, 98, 107, 174, 203 };
	unsigned a = first[rng_below(d, NELEM(first))];
	unsigned b = (unsigned)rng_below(d, 256);
	unsigned c = (unsigned)rng_below(d, 256);
	unsigned e = 1 + (unsigned)rng_below(d, 254);
	unsigned kind = (unsigned)rng_below(d, 20);

	if (kind == 0)
		snprintf(out, 48, "127.0.0.1");
	else if (kind < 4)
		snprintf(out, 48, "2001:db8:%x:%x::%x", b * 256 + c, e, a);
	else
		snprintf(out, 48, "%u.%u.%u.%u", a, b, c, e);
}

static void lower_ascii(char *p)
{
	for (; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
}

/* ---- rows ---- */

static void report(struct demo *d)
{
	if (d->progress)
		d->progress(d->done, d->total > d->done ? d->total : d->done,
			    d->ctx);
}

/* Bind n values to table t's INSERT and run it. */
static int put(struct demo *d, enum tbl t, const struct value *v, int n)
{
	int rc, i;

	if (n != d->ncols[t]) {
		buf_addf(d->err, "demo: %s: %d values for %d columns",
			 tables[t].name, n, d->ncols[t]);
		return -EINVAL;
	}
	for (i = 0; i < n; i++) {
		rc = store_bind(d->st[t], i + 1, &v[i]);
		if (rc) {
			buf_addf(d->err, "demo: %s: binding column %d",
				 tables[t].name, i + 1);
			store_reset(d->st[t]);
			return rc;
		}
	}
	rc = store_step(d->st[t], d->err);
	store_reset(d->st[t]);
	if (rc < 0) {
		buf_addf(d->err, " (inserting into %s)", tables[t].name);
		return rc;
	}
	if (++d->done >= d->next_report) {
		d->next_report += REPORT_EVERY;
		report(d);
	}
	return 0;
}

/* PUT(d, table, value, value...): one row. No rng draws in the values. */
#define PUT(d, t, ...) \
	put((d), (t), (const struct value[]){ __VA_ARGS__ }, \
	    (int)(sizeof((const struct value[]){ __VA_ARGS__ }) / \
		  sizeof(struct value)))

/* ---- users ---- */

static const char *const hard_users[DEMO_MIN_USERS] = {
	"admin",
	"  Бо\xcc\x81рис 🙏 ",  /* spaces around, combining accent, emoji */
	"Miriam מרים",
	"Yusuf يوسف",
};

static uint64_t fnv1a(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
	return h;
}

/* Add user k's name to the set: 1 if new, 0 if taken. */
static int name_add(struct demo *d, long k)
{
	size_t i = (size_t)fnv1a(d->user[k]) & d->name_mask;

	for (; d->name_slot[i]; i = (i + 1) & d->name_mask)
		if (strcmp(d->user[d->name_slot[i] - 1], d->user[k]) == 0)
			return 0;
	d->name_slot[i] = k + 1;
	return 1;
}

/* A plausible display name, with a person's first and last name. */
static void make_name(struct demo *d, struct buf *b)
{
	const char *first = PICK(d, first_names);
	const char *last = PICK(d, last_names);
	unsigned style = (unsigned)rng_below(d, 7);
	unsigned num = 1 + (unsigned)rng_below(d, 99);
	size_t at = b->len;

	switch (style) {
	case 0:
	case 1:
		buf_addf(b, "%s %s", first, last);
		break;
	case 2:
		buf_addf(b, "%s_%s", first, last);
		lower_ascii(b->data + at);
		break;
	case 3:
		buf_addf(b, "%s%c", first, last[0]);
		break;
	case 4:
		buf_addf(b, "%s.%s", first, last);
		lower_ascii(b->data + at);
		break;
	case 5:
		buf_addstr(b, first);
		break;
	default:
		buf_addf(b, "%s%u", first, num);
		lower_ascii(b->data + at);
		break;
	}
}

/* Choose names, join times and invite tokens for all users (in memory). */
static void plan_users(struct demo *d)
{
	/* The hard users are the founders, in the first days; the others
	 * join one by one over 90% of the period. */
	int64_t first = T_START + DEMO_MIN_USERS * DAY;
	int64_t slot = (T_END - first) * 9 / 10 / d->nusers + 1;
	size_t cap = 16, base;
	struct buf *b = &d->tx[0];

	while (cap < (size_t)d->nusers * 2)
		cap *= 2;
	d->name_slot = calloc(cap, sizeof(*d->name_slot));
	d->user = calloc((size_t)d->nusers, sizeof(*d->user));
	d->user_at = calloc((size_t)d->nusers, sizeof(*d->user_at));
	d->token = calloc((size_t)d->nusers, sizeof(*d->token));
	if (!d->name_slot || !d->user || !d->user_at || !d->token)
		out_of_memory(0);
	d->name_mask = cap - 1;
	for (long k = 0; k < d->nusers; k++) {
		if (k < DEMO_MIN_USERS)
			d->user_at[k] = T_START + k * DAY +
				(int64_t)rng_below(d, (uint64_t)DAY);
		else
			d->user_at[k] = first + slot * k +
				(int64_t)rng_below(d, (uint64_t)slot);
		if (k < DEMO_MIN_USERS) {
			d->user[k] = xstrdup(hard_users[k]);
			name_add(d, k);
			continue;
		}
		buf_reset(b);
		make_name(d, b);
		d->user[k] = xstrdup(b->data);
		/* Taken: add a number, as people do, until it is free. */
		base = b->len;
		for (unsigned tries = 1; !name_add(d, k); tries++) {
			buf_truncate(b, base);
			buf_addf(b, "%u",
				 2 + (unsigned)rng_below(d, 10 * tries * tries));
			free(d->user[k]);
			d->user[k] = xstrdup(b->data);
		}
	}
}

/* How many users had joined by time `at` (at least the hard ones). */
static long users_by(struct demo *d, int64_t at)
{
	long lo = 0, hi = d->nusers;

	while (lo < hi) {
		long mid = lo + (hi - lo) / 2;
		if (d->user_at[mid] <= at)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < DEMO_MIN_USERS ? DEMO_MIN_USERS : lo;
}

static int gen_users(struct demo *d)
{
	static const char *const supporter_types[] = {
		"monthly", "one_time", "annual",
	};
	char ts[TS_LEN + 1], ts2[TS_LEN + 1], ip[48], uid[ID_LEN + 1];
	char path[64];
	int rc;

	for (long k = 0; k < d->nusers; k++) {
		long inviter = -1;
		int dismissed = chance(d, 80);
		int supporter = chance(d, 8);
		const char *stype = supporter ? PICK(d, supporter_types) : NULL;
		int64_t since = later(d, d->user_at[k], 200 * DAY);
		int has_path = chance(d, 30);
		struct value created, since_v, path_v, stype_v;

		if (k > 0 && k < DEMO_MIN_USERS)
			inviter = 0;
		else if (k > 0 && chance(d, 92))
			inviter = (long)rng_below(d, (uint64_t)k);
		if (inviter >= 0)
			hexid(d, d->token[k]);
		fmt_ts(ts, d->user_at[k]);
		snprintf(path, sizeof(path),
			 "text_archives/users/%.4s_%.2s_users.txt", ts, ts + 5);
		created = vtext(ts);
		since_v = supporter ? vtext(fmt_ts(ts2, since)) : vnull();
		path_v = has_path ? vtext(path) : vnull();
		stype_v = vtext_or_null(stype);
		switch (k) {
		case 0:     /* '' next to the NULLs of everyone else */
			supporter = 0;
			since_v = vnull();
			stype_v = vtext("");
			break;
		case 2:
			path_v = vtext("");
			break;
		case 3:     /* malformed and integer timestamps */
			created = vtext("yesterday");
			supporter = 1;
			since_v = vint(1700000000);
			stype_v = vtext("monthly");
			break;
		}
		rc = PUT(d, T_USER, vtext(d->user[k]), created,
			 inviter >= 0 ? vtext(d->user[inviter]) : vnull(),
			 inviter >= 0 ? vtext(d->token[k]) : vnull(),
			 vint(dismissed), path_v, vint(supporter), since_v,
			 stype_v);
		if (rc)
			return rc;
		if (inviter < 0)
			continue;
		/* The token k's inviter made for k, and its one use. */
		fmt_ts(ts2, later(d, d->user_at[k], 7 * DAY));
		rc = PUT(d, T_INVITETOKEN, vtext(d->token[k]),
			 vtext(d->user[inviter]), vint(1), vint(1), vtext(ts2),
			 vtext(d->user[k]), vtext("new_user"));
		if (rc)
			return rc;
		hexid(d, uid);
		fmt_ip(d, ip);
		rc = PUT(d, T_INVITE_USAGE, vtext(uid), vtext(d->token[k]),
			 vtext(d->user[k]), vtext(ts), vtext(ip));
		if (rc)
			return rc;
	}
	return 0;
}

/* Invite tokens made but never (or not yet) used. */
static int gen_spare_tokens(struct demo *d)
{
	long n = d->nusers / 10 + 2;
	char tok[ID_LEN + 1], ts[TS_LEN + 1];
	int rc;

	for (long i = 0; i < n; i++) {
		long by = (long)rng_below(d, (uint64_t)d->nusers);
		int multi = chance(d, 30);
		int uses = multi ? (int)rng_below(d, 4) : 0;
		int unlimited = multi && chance(d, 30);
		int64_t exp = later(d, d->user_at[by], 30 * DAY);

		if (i == 0)
			by = 0, multi = 1, unlimited = 1;
		hexid(d, tok);
		rc = PUT(d, T_INVITETOKEN, vtext(tok), vtext(d->user[by]),
			 vint(uses), unlimited ? vnull() : vint(multi ? 5 : 1),
			 vtext(fmt_ts(ts, exp)), vnull(),
			 vtext(multi ? "multi_use" : "new_user"));
		if (rc)
			return rc;
	}
	return 0;
}

/* ---- roles ---- */

static int gen_roles(struct demo *d)
{
	static const struct {
		const char *name, *desc, *perms;
		int system;
	} roles[] = {
		[R_ADMIN] = { "admin", "Full access to everything", "[\"*\"]", 1 },
		[R_MODERATOR] = { "moderator", "Reviews flagged prayers and"
			" approves logins", "[\"prayer.moderate\", \"prayer.flag\","
			" \"user.view\", \"auth.approve\"]", 1 },
		[R_USER] = { "user", "A member of the community",
			"[\"prayer.create\", \"prayer.mark\", \"prayer.view\"]", 1 },
		[R_SUPPORTER] = { "supporter", NULL, "[\"prayer.create\","
			" \"prayer.mark\", \"prayer.view\", \"supporter.badge\"]", 0 },
		[R_PRAYER_TEAM] = { "prayer_team", "Wednesday night team:"
			" \"intercessors\" | feature & archive",
			"{\"prayer\": [\"view\", \"mark\", \"feature\"],"
			" \"note\": \"path C:\\\\team\\\\list.txt\"}", 0 },
	};
	char ts[TS_LEN + 1];
	int rc;

	for (size_t i = 0; i < NELEM(roles); i++) {
		int64_t at = T_START + (int64_t)i * 3 * HOUR +
			     (int64_t)rng_below(d, HOUR);
		hexid(d, d->role_id[i]);
		rc = PUT(d, T_ROLE, vtext(d->role_id[i]), vtext(roles[i].name),
			 vtext_or_null(roles[i].desc), vtext(roles[i].perms),
			 vtext(fmt_ts(ts, at)),
			 roles[i].system ? vnull() : vtext(d->user[0]),
			 vint(roles[i].system));
		if (rc)
			return rc;
	}
	return 0;
}

static int put_user_role(struct demo *d, long k, const char *role,
			 int granted_by_admin, struct value expires)
{
	char id[ID_LEN + 1], ts[TS_LEN + 1];
	int64_t at = later(d, d->user_at[k], HOUR);

	hexid(d, id);
	d->nuserrole++;
	return PUT(d, T_USER_ROLES, vtext(id), vtext(d->user[k]), vtext(role),
		   granted_by_admin ? vtext(d->user[0]) : vnull(),
		   vtext(fmt_ts(ts, at)), expires);
}

static int gen_user_roles(struct demo *d)
{
	char ts[TS_LEN + 1];
	int rc;

	rc = put_user_role(d, 0, d->role_id[R_ADMIN], 0, vnull());
	if (!rc)    /* #1: 'never' in a nullable DATETIME */
		rc = put_user_role(d, 1, d->role_id[R_MODERATOR], 1,
				   vtext("never"));
	if (!rc)    /* #2: a role that no longer exists */
		rc = put_user_role(d, 2, DEAD_ROLE, 1, vnull());
	for (long k = 0; k < d->nusers && !rc; k++) {
		int mod = k >= DEMO_MIN_USERS && chance(d, 2);
		int team = chance(d, 3);
		int64_t until = later(d, d->user_at[k], 365 * DAY);

		rc = put_user_role(d, k, d->role_id[R_USER], 0, vnull());
		if (!rc && mod)
			rc = put_user_role(d, k, d->role_id[R_MODERATOR], 1,
					   vnull());
		if (!rc && team)
			rc = put_user_role(d, k, d->role_id[R_PRAYER_TEAM], 1,
					   vtext(fmt_ts(ts, until)));
	}
	return rc;
}

/* ---- authentication ---- */

static int put_audit(struct demo *d, const char *req, const char *action,
		     const char *actor, const char *actor_type,
		     const char *details, const char *ip, const char *ua,
		     int64_t at)
{
	char id[ID_LEN + 1], ts[TS_LEN + 1];

	hexid(d, id);
	d->naudit++;
	return PUT(d, T_AUTHAUDIT, vtext(id), vtext(req), vtext(action),
		   vtext_or_null(actor), vtext_or_null(actor_type),
		   vtext_or_null(details), vtext_or_null(ip),
		   vtext_or_null(ua), vtext(fmt_ts(ts, at)));
}

static int put_session(struct demo *d, long k, int64_t at, const char *req,
		       const char *device, const char *ip, int full)
{
	char id[ID_LEN + 1], ts[TS_LEN + 1], ts2[TS_LEN + 1];

	hexid(d, id);
	return PUT(d, T_SESSION, vtext(id), vtext(d->user[k]),
		   vtext(fmt_ts(ts, at)), vtext(fmt_ts(ts2, at + 14 * DAY)),
		   vtext_or_null(req), vtext(device), vtext(ip), vint(full));
}

static int put_notification(struct demo *d, long k, const char *req,
			    int read, int64_t at, int64_t read_at)
{
	char id[ID_LEN + 1], ts[TS_LEN + 1], ts2[TS_LEN + 1];

	hexid(d, id);
	d->nnotify++;
	return PUT(d, T_NOTIFY, vtext(id), vtext(d->user[k]), vtext(req),
		   vtext("auth_request"), vint(read), vtext(fmt_ts(ts, at)),
		   read ? vtext(fmt_ts(ts2, read_at)) : vnull());
}

/* One login request by user k, with its approvals, audit trail,
 * notification and session. */
static int one_auth_request(struct demo *d, long k)
{
	static const char bad_device[] = "Mozilla/5.0 (\xff\xfe; Nokia)";
	char id[ID_LEN + 1], ip[48], code[8];
	char ts[TS_LEN + 1], ts2[TS_LEN + 1], ts3[TS_LEN + 1];
	char appr_id[ID_LEN + 1];
	const char *status, *device = PICK(d, devices);
	const char *ua = PICK(d, user_agents);
	unsigned roll = (unsigned)rng_below(d, 100);
	int64_t at = later(d, d->user_at[k], T_END - T_START);
	int64_t appr_at = at + 60 * USEC + (int64_t)rng_below(d, 6 * HOUR);
	long approver = (long)rng_below(d, (uint64_t)users_by(d, at));
	int second = chance(d, 30);
	long approver2 = (long)rng_below(d, (uint64_t)users_by(d, at));
	long notified = (long)rng_below(d, (uint64_t)users_by(d, at));
	struct value device_v;
	int rc;

	hexid(d, id);
	fmt_ip(d, ip);
	snprintf(code, sizeof(code), "%06u", (unsigned)rng_below(d, 1000000));
	status = roll < 60 ? "approved" : roll < 70 ? "pending" :
		 roll < 92 ? "expired" : "rejected";
	device_v = vtext(device);
	if (d->nreq == 0) {
		device_v = vtext("unknown");
		snprintf(code, sizeof(code), "048213");
	} else if (d->nreq == 1) {
		device_v = vtextn(bad_device, sizeof(bad_device) - 1);
	}
	d->nreq++;
	fmt_ts(ts, at);
	fmt_ts(ts2, at + DAY);
	fmt_ts(ts3, appr_at);
	rc = PUT(d, T_AUTHREQ, vtext(id), vtext(d->user[k]), device_v,
		 vtext(ip), vtext(code), vtext(ts), vtext(ts2), vtext(status),
		 *status == 'a' ? vtext(d->user[approver]) : vnull(),
		 *status == 'a' ? vtext(ts3) : vnull());
	if (!rc)
		rc = put_audit(d, id, "created", d->user[k], "user",
			       "Login requested from a new device", ip, ua, at);
	if (rc)
		return rc;
	if (*status == 'a') {
		hexid(d, appr_id);
		rc = PUT(d, T_AUTHAPPROVAL, vtext(appr_id), vtext(id),
			 vtext(d->user[approver]), vtext(ts3));
		if (!rc && second) {
			hexid(d, appr_id);
			rc = PUT(d, T_AUTHAPPROVAL, vtext(appr_id), vtext(id),
				 vtext(d->user[approver2]),
				 vtext(fmt_ts(ts2, appr_at + 5 * 60 * USEC)));
		}
		if (!rc)
			rc = put_audit(d, id, "approved", d->user[approver],
				       "user", "{\"method\": \"peer\"}", NULL,
				       NULL, appr_at);
		if (!rc)
			rc = put_notification(d, notified, id, 1, at,
					      appr_at + 30 * USEC);
		if (!rc)
			rc = put_session(d, k, appr_at, id, device, ip, 1);
	} else if (*status == 'p') {
		rc = put_notification(d, notified, id, 0, at, 0);
		if (!rc)
			rc = put_session(d, k, at, id, device, ip, 0);
	} else if (*status == 'e') {
		rc = put_audit(d, id, "expired", NULL, "system",
			       "Request expired after 24 hours", NULL, NULL,
			       at + DAY);
	} else {
		rc = put_audit(d, id, "rejected", d->user[0], "admin",
			       "Denied: unrecognized device", ip, NULL,
			       appr_at);
	}
	return rc;
}

static int gen_auth(struct demo *d)
{
	char id[ID_LEN + 1], ts[TS_LEN + 1], ip[48];
	int rc;

	/* The deliberate orphans come first: #0 of their tables. */
	hexid(d, id);
	rc = PUT(d, T_AUTHAPPROVAL, vtext(id), vtext(DEAD_AUTHREQ),
		 vtext(d->user[0]), vtext(fmt_ts(ts, d->user_at[1] + HOUR)));
	if (!rc)
		rc = put_notification(d, 0, DEAD_NOTIFY_REQ, 0,
				      d->user_at[1] + 2 * HOUR, 0);
	/* #0 of the audit log: the system acting on its own. */
	if (!rc)
		rc = put_audit(d, DEAD_AUTHREQ, "cleanup", "system", "system",
			       "Purged requests older than 30 days", NULL,
			       NULL, d->user_at[0] + 90 * DAY);
	for (long k = 0; k < d->nusers && !rc; k++) {
		long n = k < DEMO_MIN_USERS ? 2 : (long)rng_below(d, 5);
		int legacy = chance(d, 15);

		for (long j = 0; j < n && !rc; j++)
			rc = one_auth_request(d, k);
		if (!rc && legacy) {    /* a session from before device auth */
			int64_t at = later(d, d->user_at[k], 30 * DAY);
			const char *device = PICK(d, devices);

			fmt_ip(d, ip);
			rc = put_session(d, k, at, NULL, device, ip, 1);
		}
	}
	return rc;
}

static int gen_securitylog(struct demo *d)
{
	static const char *const events[] = {
		"login_success", "login_failed", "rate_limit_exceeded",
		"invite_token_created", "session_expired", "suspicious_login",
		"password_less_login",
	};
	long n = d->nusers + d->nprayers / 50;
	char id[ID_LEN + 1], ts[TS_LEN + 1], ip[48];
	struct buf *det = &d->tx[0];
	int rc;

	for (long i = 0; i < n; i++) {
		int64_t at = T_START + (int64_t)rng_below(d, T_END - T_START);
		long k = (long)rng_below(d, (uint64_t)users_by(d, at));
		const char *ev = PICK(d, events);
		int anon = !strcmp(ev, "login_failed") && chance(d, 50);
		const char *ua = PICK(d, user_agents);
		unsigned attempts = 1 + (unsigned)rng_below(d, 9);
		int has_ua = chance(d, 90);
		struct value when;

		hexid(d, id);
		fmt_ip(d, ip);
		buf_reset(det);
		buf_addf(det, "{\"event\": \"%s\", \"attempts\": %u}", ev,
			 attempts);
		when = vtext(fmt_ts(ts, at));
		if (i == 0)     /* a time with no date */
			when = vtext("09:15:42.318204");
		rc = PUT(d, T_SECLOG, vtext(id), vtext(ev),
			 anon ? vnull() : vtext(d->user[k]), vtext(ip),
			 has_ua ? vtext(ua) : vnull(), vbuf(det), when);
		if (rc)
			return rc;
	}
	return 0;
}

/* ---- prayers ---- */

/* Join a sentence to b: same line, new line or new paragraph by `mode`. */
static void sentence(struct buf *b, int mode, const char *s)
{
	if (b->len)
		buf_addstr(b, mode == 0 ? " " : mode == 1 ? "\n" : "\n\n");
	buf_addstr(b, s);
}

/* Append s with every '@' replaced by obj. */
static void add_subst(struct buf *b, const char *s, const char *obj)
{
	for (; *s; s++) {
		if (*s == '@')
			buf_addstr(b, obj);
		else
			buf_addch(b, *s);
	}
}

/* A prayer request into text, and (if gen is not NULL) the prayer
 * ThyWill generated for it. */
static void compose(struct demo *d, struct buf *text, struct buf *gen)
{
	const struct person *p = &persons[rng_below(d, NELEM(persons))];
	const char *need = PICK(d, needs), *self = PICK(d, self_needs);
	unsigned kind = (unsigned)rng_below(d, 10);
	unsigned mode = (unsigned)rng_below(d, 20);
	unsigned extra = (unsigned)rng_below(d, 5);
	unsigned from = (unsigned)rng_below(d, NELEM(followups));
	int tmode = mode < 12 ? 0 : mode < 17 ? 1 : 2;
	struct buf *s = &d->tx[3];

	buf_reset(text);
	buf_reset(s);
	if (kind < 6)
		buf_addf(s, "%s %s's %s.", PICK(d, req_openers), p->req, need);
	else if (kind < 9)
		buf_addf(s, "Please pray for me as I %s.", self);
	else
		buf_addf(s, "Praise report: %s's %s went better than we hoped!",
			 p->req, need);
	sentence(text, tmode, s->data);
	for (unsigned i = 0; i < extra; i++)     /* distinct sentences */
		sentence(text, tmode, followups[(from + i) % NELEM(followups)]);
	if (chance(d, 10)) {
		buf_reset(s);
		buf_addf(s, "- %s", PICK(d, first_names));
		sentence(text, 2, s->data);
	}
	if (chance(d, 15))
		buf_addch(text, '\n');
	if (!gen)
		return;

	buf_reset(gen);
	mode = (unsigned)rng_below(d, 10);
	extra = 1 + (unsigned)rng_below(d, 3);
	from = (unsigned)rng_below(d, NELEM(gen_middles));
	tmode = mode < 6 ? 0 : 1;
	buf_reset(s);
	if (kind < 6)
		buf_addf(s, "%s %s and %s %s.", PICK(d, gen_openers), p->gen,
			 p->poss, need);
	else if (kind < 9)
		buf_addf(s, "%s this dear one as they %s.",
			 PICK(d, gen_openers), self);
	else
		buf_addf(s, "Father, we thank You for Your faithfulness to %s.",
			 p->gen);
	sentence(gen, tmode, s->data);
	for (unsigned i = 0; i < extra; i++) {
		buf_reset(s);
		add_subst(s, gen_middles[(from + i) % NELEM(gen_middles)],
			  kind < 6 ? p->obj : "them");
		sentence(gen, tmode, s->data);
	}
	sentence(gen, tmode, PICK(d, gen_closers));
}

/* The 1 MiB prayer: a year of daily prayer-journal lines. */
static void build_big(struct demo *d)
{
	struct buf *b = &d->big;
	long day = 1;

	while (b->len < BIG_TEXT_MIN + 1000) {
		const struct person *p = &persons[rng_below(d, NELEM(persons))];
		const char *need = PICK(d, needs);
		const char *mid = PICK(d, gen_middles);

		buf_addf(b, "Day %ld: %s %s and %s %s. ", day++,
			 PICK(d, gen_openers), p->gen, p->poss, need);
		add_subst(b, mid, p->obj);
		buf_addstr(b, " Amen.\n");
	}
}

/* A random attribute of a prayer, by index into the names below. */
static const char *const attr_names[] = {
	"archived", "answered", "answer_date", "answer_testimony",
	"name_visibility", "prayer_type",
};

static int one_attribute(struct demo *d, const char *pid, size_t pidn,
			 int which, const char *author, int64_t at)
{
	static const char *const testimonies[] = {
		"The surgery went well and she is home!",
		"He got the job. Thank you for praying!",
		"Scans came back clear.\nWe are so grateful.",
		"Not the answer we wanted, but we have peace.",
	};
	char id[ID_LEN + 1], ts[TS_LEN + 1], ts2[TS_LEN + 1];
	int64_t when = later(d, at, 120 * DAY);
	const char *value = NULL;
	int by_author = chance(d, 80);

	hexid(d, id);
	switch (which) {
	case 0:
	case 1:
		value = "true";
		break;
	case 2:
		value = fmt_ts(ts2, later(d, at, 90 * DAY));
		break;
	case 3:
		value = PICK(d, testimonies);
		break;
	case 4:
		value = chance(d, 50) ? "anonymous" : "public";
		break;
	default:
		value = chance(d, 70) ? "ongoing" : "urgent";
		break;
	}
	return PUT(d, T_PRAYER_ATTR, vtext(id), vtextn(pid, pidn),
		   vtext(attr_names[which]), vtext(value),
		   vtext(fmt_ts(ts, when)),
		   by_author ? vtext(author) : vnull(), vnull());
}

static int one_activity(struct demo *d, const char *pid, size_t pidn,
			const char *user, int64_t at)
{
	static const struct {
		const char *action, *old, *new_;
	} acts[] = {
		{ "archived", "false", "true" },
		{ "restored", "true", "false" },
		{ "answered", NULL, "true" },
		{ "flagged", "false", "true" },
		{ "unflagged", "true", "false" },
		{ "set_answer_date", NULL, "@" },
		{ "set_testimony", NULL, "Praise God, it went well." },
		{ "featured", "false", "true" },
	};
	char id[ID_LEN + 1], ts[TS_LEN + 1], ts2[TS_LEN + 1];
	unsigned a = (unsigned)rng_below(d, NELEM(acts));
	int64_t when = later(d, at, 60 * DAY);
	struct value old_v = vtext_or_null(acts[a].old);
	struct value new_v = vtext(acts[a].new_);
	const char *action = acts[a].action;

	hexid(d, id);
	if (acts[a].new_[0] == '@')
		new_v = vtext(fmt_ts(ts2, later(d, at, 90 * DAY)));
	if (d->nactivity++ == 0) {  /* the text "NULL", and a real NULL */
		action = "set_project_tag";
		old_v = vtext("NULL");
		new_v = vnull();
	}
	return PUT(d, T_ACTIVITY, vtext(id), vtextn(pid, pidn), vtext(user),
		   vtext(action), old_v, new_v, vtext(fmt_ts(ts, when)),
		   vnull());
}

static int put_mark(struct demo *d, const char *id, const char *user,
		    const char *pid, size_t pidn, const char *ts,
		    struct value path)
{
	d->nmark++;
	return PUT(d, T_PRAYERMARK, vtext(id), vtext(user), vtextn(pid, pidn),
		   vtext(ts), path);
}

static int put_skip(struct demo *d, const char *user, const char *pid,
		    size_t pidn, int64_t at)
{
	char id[ID_LEN + 1], ts[TS_LEN + 1];

	hexid(d, id);
	return PUT(d, T_SKIP, vtext(id), vtext(user), vtextn(pid, pidn),
		   vtext(fmt_ts(ts, at)));
}

/* The marks, attributes, activity and skips of one prayer. */
static int prayer_children(struct demo *d, const char *pid, size_t pidn,
			   long author, int64_t at, struct value path)
{
	long limit = users_by(d, at);
	unsigned marks = (unsigned)rng_below(d, 7) +
			 (chance(d, 20) ? (unsigned)rng_below(d, 11) : 0);
	unsigned nattr = (unsigned)rng_below(d, 3);
	unsigned nact = (unsigned)rng_below(d, 5);
	unsigned nskip = chance(d, 50);
	unsigned first_attr = (unsigned)rng_below(d, NELEM(attr_names));
	char id[ID_LEN + 1], ts[TS_LEN + 1];
	int rc = 0;

	for (unsigned i = 0; i < marks && !rc; i++) {
		long u = (long)rng_below(d, (uint64_t)limit);
		int with_path = chance(d, 25);

		hexid(d, id);
		fmt_ts(ts, later(d, at, 30 * DAY));
		rc = put_mark(d, id, d->user[u], pid, pidn, ts,
			      with_path ? path : vnull());
	}
	for (unsigned i = 0; i < nattr && !rc; i++)
		rc = one_attribute(d, pid, pidn,
				   (int)((first_attr + i) % NELEM(attr_names)),
				   d->user[author], at);
	for (unsigned i = 0; i < nact && !rc; i++) {
		int by_author = chance(d, 60);
		long u = (long)rng_below(d, (uint64_t)limit);

		if (by_author)
			u = author;
		rc = one_activity(d, pid, pidn, d->user[u], at);
	}
	for (unsigned i = 0; i < nskip && !rc; i++) {
		long u = (long)rng_below(d, (uint64_t)limit);
		rc = put_skip(d, d->user[u], pid, pidn, later(d, at, 10 * DAY));
	}
	return rc;
}

/* The hard cases that hang off prayer P0: an id '', content-duplicate
 * marks, and the orphans. */
static int prayer0_extras(struct demo *d, const char *pid, size_t pidn,
			  int64_t at)
{
	char id[ID_LEN + 1], id2[ID_LEN + 1], ts[TS_LEN + 1];
	int rc;

	fmt_ts(ts, at + 3 * HOUR + 123457);
	rc = put_mark(d, "", d->user[0], pid, pidn, ts, vnull());
	hexid(d, id);
	hexid(d, id2);
	fmt_ts(ts, at + 5 * HOUR + 654321);
	if (!rc)
		rc = put_mark(d, id, d->user[2], pid, pidn, ts, vnull());
	if (!rc)
		rc = put_mark(d, id2, d->user[2], pid, pidn, ts, vnull());
	/* Children of a prayer that was deleted. */
	hexid(d, id);
	if (!rc)
		rc = put_mark(d, id, d->user[1], DEAD_PRAYER,
			      strlen(DEAD_PRAYER), ts, vnull());
	if (!rc)
		rc = one_attribute(d, DEAD_PRAYER, strlen(DEAD_PRAYER), 1,
				   d->user[1], at);
	if (!rc)
		rc = one_activity(d, DEAD_PRAYER, strlen(DEAD_PRAYER),
				  d->user[1], at);
	if (!rc)
		rc = put_skip(d, d->user[3], DEAD_PRAYER, strlen(DEAD_PRAYER),
			      at + DAY);
	return rc;
}

static int one_prayer(struct demo *d, long i)
{
	static const char format_lines[] =
		"[prayer]\n"
		"# heading\n"
		"| pipe\n"
		"\\ backslash\n"
		"name: value\n"
		"id: fake\n"
		"---\n"
		"===\n"
		"Please pray that this request survives every editor.\n";
	static const char scripts[] =
		"🙏 Please pray for peace ✝️❤️\n"
		"Пожалуйста, помолитесь за мою семью.\n"
		"התפללו לשלום ירושלים\n"
		"ادعوا لنا بالسلام والصحة";
	static const char with_tab[] =
		"Names to pray for:\tAnna\tMark\tJoy\n"
		"Needs: healing | jobs | C:\\family\\hope";
	static const char bad_utf8[] =
		"Please pray for my friend \xff\xfe (her name was garbled by"
		" the old import).";
	static const char with_nul[] =
		"Before the NUL\0after the NUL: pray for clarity.";
	static const char flags_pool[][24] = {
		"[\"self_harm\"]", "[\"medical\"]", "[\"personal_info\"]",
	};
	static const char *const methods[] = {
		"ai_full", "ai_full", "ai_full", "keyword_fallback", "default",
	};
	static const char *const spec_types[] = {
		"specific", "general", "specific", "unknown",
	};
	char hid[ID_LEN + 1], ts[TS_LEN + 1], ts2[TS_LEN + 1], ts3[TS_LEN + 1];
	struct buf *text = &d->tx[0], *gen = &d->tx[1], *path = &d->tx[2];
	int64_t slot = (T_END - T_START) / d->nprayers;
	int64_t at = T_START + slot * i +
		     (int64_t)rng_below(d, (uint64_t)slot);
	long author = (long)rng_below(d, (uint64_t)users_by(d, at));
	int has_gen = chance(d, 75);
	unsigned path_roll = (unsigned)rng_below(d, 100);
	unsigned tag_roll = (unsigned)rng_below(d, 100);
	const char *tag = PICK(d, project_tags);
	int flagged = chance(d, 3);
	double score = flagged ? 0.3 + (double)rng_below(d, 30) / 100 :
			  (double)(85 + rng_below(d, 16)) / 100;
	const char *sflags = flagged ? flags_pool[rng_below(d, 3)] : "[]";
	const char *method = PICK(d, methods), *spec = PICK(d, spec_types);
	double conf = (double)(40 + rng_below(d, 60)) / 100;
	const char *category = PICK(d, categories);
	int suggest = chance(d, 10), dismissed = suggest && chance(d, 40);
	int featured = chance(d, 1);
	int64_t feat_at = later(d, at, 14 * DAY);
	const char *id = hid;
	size_t idn = ID_LEN;
	struct value text_v, gen_v, tag_v, created_v, path_v, feat_v;
	/* Computed at run time from these, never folded by the compiler. */
	volatile double tenth = 0.1, one = 1.0, three = 3.0;
	int rc;

	hexid(d, hid);
	compose(d, text, has_gen ? gen : NULL);
	fmt_ts(ts, at);
	text_v = vbuf(text);
	gen_v = has_gen ? vbuf(gen) : vnull();
	tag_v = tag_roll < 8 ? vtext(tag) : vnull();
	created_v = vtext(ts);
	feat_v = featured ? vtext(fmt_ts(ts3, feat_at)) : vnull();

	switch (i) {
	case 0:
		author = 1;
		text_v = vtext("Please pray for my mother: surgery on Friday.\n"
			       "She is 81 and | afraid \\ tired.");
		gen_v = vtext("Lord, hold her close.\r\n"
			      "Give the doctors steady hands.\r\n");
		tag_v = vnull();
		score = 1.0;
		conf = tenth + 2 * tenth;
		break;
	case 1:
		id = "12345";
		author = 0;
		text_v = vtextn(format_lines, sizeof(format_lines) - 1);
		tag_v = vtext("");
		score = one / three;
		conf = 2 * one / three;
		break;
	case 2:
		id = "../../etc/passwd";
		author = 2;
		text_v = vtext("   Please pray for our church roof repairs;"
			       " the rain gets in.   ");
		tag_v = vtext("NULL");
		method = "unknown";
		spec = "unknown";
		score = tenth * 7;             /* 0.7000000000000001 */
		conf = 1e-300;
		break;
	case 3:
		id = "..";
		author = 1;
		text_v = vtextn(scripts, sizeof(scripts) - 1);
		conf = 123456.78901234567;
		featured = 1;
		feat_v = vreal(2460388.5);     /* a Julian day */
		break;
	case 4:
		id = "2024/03/prayer for dad";
		author = 3;
		text_v = vtextn(with_tab, sizeof(with_tab) - 1);
		break;
	case 5:
		id = "line one\nline two";
		author = 2;
		text_v = vtextn(bad_utf8, sizeof(bad_utf8) - 1);
		created_v = vtext("2023-01-09T14:03:22Z");
		break;
	case 6:
		buf_reset(&d->tx[3]);
		buf_addstr(&d->tx[3], "prayer-");
		while (d->tx[3].len < 300)
			buf_addch(&d->tx[3],
				  hexdigits[d->tx[3].len % 16]);
		id = NULL;      /* set below: tx[3] */
		author = 0;
		text_v = vtextn(with_nul, sizeof(with_nul) - 1);
		created_v = vint(1673300000);  /* 2023-01-09, unix time */
		break;
	case 7:
		author = 3;
		build_big(d);
		text_v = vbuf(&d->big);
		has_gen = 0;
		gen_v = vnull();
		break;
	}
	if (!id) {
		id = d->tx[3].data;
		idn = d->tx[3].len;
	} else if (id != hid) {
		idn = strlen(id);
	}
	buf_reset(path);
	buf_addf(path, "text_archives/prayers/%.4s/%.2s/%.4s_%.2s_%.2s_prayer_",
		 ts, ts + 5, ts, ts + 5, ts + 8);
	buf_add(path, id, idn);
	buf_addstr(path, ".txt");
	path_v = path_roll < 75 ? vbuf(path) : path_roll < 95 ? vnull() :
		 vtext("");
	rc = PUT(d, T_PRAYER, vtextn(id, idn), vtext(d->user[author]), text_v,
		 gen_v, tag_v, created_v, vint(flagged), path_v, vreal(score),
		 vtext(sflags), vtext(method), vtext(spec), vreal(conf),
		 vtext(category),
		 suggest ? vtext(fmt_ts(ts2, at + 90 * DAY)) : vnull(),
		 vint(dismissed), vint(featured), feat_v);
	if (!rc)
		rc = prayer_children(d, id, idn, author, at, path_v);
	if (!rc && i == 0)
		rc = prayer0_extras(d, id, idn, at);
	return rc;
}

static int gen_prayers(struct demo *d)
{
	int rc = 0;

	for (long i = 0; i < d->nprayers && !rc; i++)
		rc = one_prayer(d, i);
	return rc;
}

/* ---- the rest ---- */

static int gen_changelog(struct demo *d)
{
	static const char *const prefixes[] = {
		"feat: ", "fix: ", "refactor: ", "docs: ", "chore: ",
	};
	static const char *const friendly[] = {
		"You can now download all your prayers as text files.",
		"Sessions no longer expire early on phones.",
		"Answered prayers now show on your profile.",
		"Logging in is safer against repeated attempts.",
		"Prayers are sorted into better categories.",
	};
	long n = 12 + d->nprayers / 1000;
	int64_t slot = (T_END - T_START) / n;
	char id[41], ts[TS_LEN + 1], ts2[TS_LEN + 1];
	struct buf *msg = &d->tx[0];
	int rc;

	for (long i = 0; i < n; i++) {
		int64_t at = T_START + slot * i +
			     (int64_t)rng_below(d, (uint64_t)slot);
		int64_t seen = later(d, at, 2 * DAY);
		const char *prefix = PICK(d, prefixes);
		const char *subj = PICK(d, changelog_subjects);
		int body = chance(d, 30), has_friendly = chance(d, 70);
		const char *fr = PICK(d, friendly);
		int has_type = chance(d, 85);
		const char *type = PICK(d, change_types);

		hexstr(d, id, 40);
		buf_reset(msg);
		buf_addf(msg, "%s%s", prefix, subj);
		if (i == 0) {   /* a very long, multi-line message */
			buf_addstr(msg, "\n\nThis change touches every layer:\n");
			for (int l = 1; l <= 400; l++)
				buf_addf(msg, "- step %d: %s; verified with"
					 " the full test suite (%d/400)\n",
					 l, PICK(d, changelog_subjects), l);
			buf_addstr(msg, "\nCo-authored-by: Ruth Miller"
				   " <ruth@example.org>");
		} else if (body) {
			buf_addstr(msg, "\n\nThe old behaviour surprised users"
				   " on slow connections.\nCloses #");
			buf_addf(msg, "%u", 10 + (unsigned)rng_below(d, 400));
		}
		rc = PUT(d, T_CHANGELOG, vtext(id), vbuf(msg),
			 has_friendly ? vtext(fr) : vnull(),
			 has_type ? vtext(type) : vnull(),
			 vtext(fmt_ts(ts, at)), vtext(fmt_ts(ts2, seen)));
		if (rc)
			return rc;
	}
	return 0;
}

static int gen_migrations(struct demo *d)
{
	static const char *const names[] = {
		"001_initial_schema", "002_add_roles", "003_auth_requests",
		"004_prayer_attributes", "005_activity_log",
		"006_invite_token_usage", "007_supporters",
		"008_archive_suggestions", "009_featured_prayers",
		"010_membership_applications",
	};
	char ts[TS_LEN + 1], sum[65];
	int64_t at = T_START + 2 * HOUR;
	int rc;

	for (size_t i = 0; i < NELEM(names); i++) {
		int64_t ms = 3 + (int64_t)rng_below(d, 900);
		struct value ms_v = vint(ms);

		at = later(d, at, 90 * DAY) + 1;
		hexstr(d, sum, 64);
		if (i == 3)
			ms_v = vreal(12.5);    /* a REAL in an INTEGER column */
		else if (i == 5)
			ms_v = vnull();
		rc = PUT(d, T_MIGRATION, vtext(names[i]), vtext(fmt_ts(ts, at)),
			 vtext(sum), ms_v, vtext("completed"));
		if (rc)
			return rc;
	}
	return 0;
}

static int gen_membership(struct demo *d)
{
	static const char *const domains[] = {
		"example.org", "example.com", "mail.example.net",
	};
	long n = d->nusers / 4 + 3;
	char id[ID_LEN + 1], tok[ID_LEN + 1], ip[48], contact[128];
	char ts[TS_LEN + 1], ts2[TS_LEN + 1], ts3[TS_LEN + 1];
	struct buf *name = &d->tx[0], *essay = &d->tx[1], *path = &d->tx[2];
	int rc;

	for (long i = 0; i < n; i++) {
		int64_t at = T_START + (int64_t)rng_below(d, T_END - T_START);
		int64_t done_at = later(d, at, 5 * DAY);
		unsigned roll = (unsigned)rng_below(d, 100);
		const char *status = roll < 55 ? "approved" :
				     roll < 80 ? "pending" : "rejected";
		long by = (long)rng_below(d, (uint64_t)users_by(d, at));
		unsigned paras = 1 + (unsigned)rng_below(d, 3);
		unsigned contact_kind = (unsigned)rng_below(d, 10);
		int has_path = chance(d, 60);

		hexid(d, id);
		fmt_ip(d, ip);
		buf_reset(name);
		make_name(d, name);
		buf_reset(essay);
		for (unsigned p = 0; p < paras; p++)
			sentence(essay, 2, PICK(d, essays));
		if (contact_kind < 6) {
			const char *who = PICK(d, first_names);
			unsigned num = (unsigned)rng_below(d, 1000);
			const char *domain = PICK(d, domains);

			snprintf(contact, sizeof(contact), "%s.%u@%s", who, num,
				 domain);
			lower_ascii(contact);
		} else if (contact_kind < 8) {
			unsigned a = (unsigned)rng_below(d, 100);
			unsigned b = (unsigned)rng_below(d, 10000);

			snprintf(contact, sizeof(contact), "+1 (555) 01%02u-%04u",
				 a, b);
		}
		fmt_ts(ts, at);
		buf_reset(path);
		buf_addf(path, "text_archives/membership_applications/"
			 "%.4s_%.2s_%.2s_%s.txt", ts, ts + 5, ts + 8, id);
		if (*status == 'a') {   /* approval sends an invite */
			hexid(d, tok);
			rc = PUT(d, T_INVITETOKEN, vtext(tok),
				 vtext(d->user[by]), vint(0), vint(1),
				 vtext(fmt_ts(ts3, done_at + 7 * DAY)),
				 vnull(), vtext("membership"));
			if (rc)
				return rc;
		}
		rc = PUT(d, T_MEMBERSHIP, vtext(id), vbuf(name), vbuf(essay),
			 contact_kind < 8 ? vtext(contact) : vnull(), vtext(ip),
			 vtext(status), vtext(ts),
			 *status == 'p' ? vnull() : vtext(fmt_ts(ts2, done_at)),
			 *status == 'p' ? vnull() : vtext(d->user[by]),
			 *status == 'a' ? vtext(tok) : vnull(),
			 has_path ? vbuf(path) : vnull());
		if (rc)
			return rc;
	}
	return 0;
}

#define NNOTES 20

/* app_note: no primary key, and some rows exactly equal to others. */
static int gen_app_notes(struct demo *d)
{
	static const char *const bodies[] = {
		"Follow up with the Okafor family next week.",
		"Prayer team meets Wednesday 7pm: bring the list",
		"Agenda:\n1. welcome\n2. prayer requests\n3. closing",
		"Reminder | do not delete",
		"Backup at C:\\Users\\admin\\thywill.db",
		"windows note\r\nsecond line\r\n",
		"Great night of prayer 🙏",
		"",
		"   ",
		"Ask Miriam about the Hebrew translation: מרים",
	};
	static const unsigned char blob_bytes[] = {
		0x00, 0x0a, 0x0d, 0xff, 0x7f, 0x22, 0x5c, 0x00,
	};
	struct value row[NNOTES][5];
	char ts[NNOTES][TS_LEN + 1];
	unsigned char blobs[NNOTES][24];
	int rc;

	for (int i = 0; i < NNOTES; i++) {
		long author = (long)rng_below(d, (uint64_t)(d->nusers < 10 ?
							    d->nusers : 10));
		int no_author = chance(d, 15);
		const char *body = PICK(d, bodies);
		int64_t at = T_START + (int64_t)rng_below(d, T_END - T_START);
		unsigned w = (unsigned)rng_below(d, 8);
		unsigned p = (unsigned)rng_below(d, 4);
		size_t blen = 1 + rng_below(d, sizeof(blobs[i]));

		for (size_t j = 0; j < blen; j++)
			blobs[i][j] = (unsigned char)rng_next(d);
		row[i][0] = no_author ? vnull() : vtext(d->user[author]);
		row[i][1] = vtext(body);
		row[i][2] = vtext(fmt_ts(ts[i], at));
		row[i][3] = w < 4 ? vreal((double)(w + 1) / 4) :
			    w < 6 ? vreal(1.0) : vnull();
		row[i][4] = p == 0 ? vnull() : p == 1 ? vblob("", 0) :
			    vblob(blobs[i], blen);
	}
	row[0][3] = vreal(0.1 + 0.2);
	row[0][4] = vblob(blob_bytes, sizeof(blob_bytes));
	row[1][3] = vreal(INFINITY);
	row[1][4] = vblob("", 0);
	row[2][3] = vreal(DBL_MAX);
	row[4][3] = vreal(4.9406564584124654e-324);    /* smallest denormal */
	row[5][1] = vtext(bodies[5]);                   /* CRLF */
	memcpy(row[7], row[3], sizeof(row[3]));         /* exact duplicates */
	memcpy(row[12], row[3], sizeof(row[3]));
	memcpy(row[15], row[9], sizeof(row[9]));
	for (int j = 0; j < 5; j++)
		row[18][j] = row[19][j] = vnull();
	for (int i = 0; i < NNOTES; i++) {
		rc = put(d, T_APP_NOTE, row[i], 5);
		if (rc)
			return rc;
	}
	return 0;
}

/* user_preference: an untyped column holding every storage class. */
static int gen_preferences(struct demo *d)
{
	static const unsigned char thumb[] = {
		0x89, 'P', 'N', 'G', 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00,
	};
	static const char *const themes[] = { "dark", "light", "system" };
	static const double scales[] = { 0.9, 1.0, 1.1, 1.25, 1.5 };
	char ts[TS_LEN + 1];
	unsigned char blob[32];
	int rc;

	/* The hard users first, by hand. */
	rc = PUT(d, T_USER_PREF, vtext(d->user[0]), vtext("theme"),
		 vtext("dark"));
	if (!rc)
		rc = PUT(d, T_USER_PREF, vtext(d->user[0]), vtext("font_scale"),
			 vreal(1.25));
	if (!rc)
		rc = PUT(d, T_USER_PREF, vtext(d->user[0]),
			 vtext("email_digest"), vint(1));
	if (!rc)
		rc = PUT(d, T_USER_PREF, vtext(d->user[0]),
			 vtext("avatar_thumb"), vblob(thumb, sizeof(thumb)));
	if (!rc)
		rc = PUT(d, T_USER_PREF, vtext(d->user[0]),
			 vtext("last_prompt_seen"), vnull());
	if (!rc)    /* an INTEGER where a REAL is usual */
		rc = PUT(d, T_USER_PREF, vtext(d->user[1]), vtext("font_scale"),
			 vint(2));
	if (!rc)
		rc = PUT(d, T_USER_PREF, vtext(d->user[1]), vtext("theme"),
			 vtext(""));
	if (!rc)
		rc = PUT(d, T_USER_PREF, vtext(d->user[1]),
			 vtext("avatar_thumb"), vblob("", 0));
	if (!rc)
		rc = PUT(d, T_USER_PREF, vtext(d->user[2]),
			 vtext("reminder: time"), vtext("07:30"));
	if (!rc)
		rc = PUT(d, T_USER_PREF, vtext(d->user[2]), vtext("theme"),
			 vtext("system"));
	if (!rc)
		rc = PUT(d, T_USER_PREF, vtext(d->user[3]), vtext("signature"),
			 vtext("يوسف\nYusuf | Amman"));
	for (long k = DEMO_MIN_USERS; k < d->nusers && !rc; k++) {
		unsigned mask = (unsigned)rng_below(d, 128);
		const char *theme = PICK(d, themes);
		double scale = scales[rng_below(d, NELEM(scales))];
		int digest = chance(d, 40);
		size_t blen = 8 + rng_below(d, 24);
		int seen = chance(d, 50);
		int64_t at = later(d, d->user_at[k], 300 * DAY);
		int64_t goal = 1 + (int64_t)rng_below(d, 20);

		/* Mostly one or two keys each: mask bits are rare. */
		if ((mask & 3) == 0)
			rc = PUT(d, T_USER_PREF, vtext(d->user[k]),
				 vtext("theme"), vtext(theme));
		if (!rc && (mask & 12) == 0)
			rc = PUT(d, T_USER_PREF, vtext(d->user[k]),
				 vtext("font_scale"), vreal(scale));
		if (!rc && (mask & 16))
			rc = PUT(d, T_USER_PREF, vtext(d->user[k]),
				 vtext("email_digest"), vint(digest));
		if (!rc && (mask & 96) == 96) {
			for (size_t j = 0; j < blen; j++)
				blob[j] = (unsigned char)rng_next(d);
			rc = PUT(d, T_USER_PREF, vtext(d->user[k]),
				 vtext("avatar_thumb"), vblob(blob, blen));
		}
		if (!rc && (mask & 32))
			rc = PUT(d, T_USER_PREF, vtext(d->user[k]),
				 vtext("last_prompt_seen"),
				 seen ? vtext(fmt_ts(ts, at)) : vnull());
		if (!rc && (mask & 64))
			rc = PUT(d, T_USER_PREF, vtext(d->user[k]),
				 vtext("daily_goal"), vint(goal));
	}
	return rc;
}

/* ------------------------------------------------------------------ */

static int prepare_all(struct demo *d)
{
	struct buf sql = BUF_INIT;
	int rc = 0;

	for (int t = 0; t < T_COUNT && !rc; t++) {
		const char *p;
		int n = 1;

		for (p = tables[t].cols; *p; p++)
			n += *p == ',';
		d->ncols[t] = n;
		buf_reset(&sql);
		buf_addstr(&sql, "INSERT INTO ");
		buf_add_sqlident(&sql, tables[t].name);
		buf_addf(&sql, " (%s) VALUES (", tables[t].cols);
		for (int i = 1; i <= n; i++)
			buf_addf(&sql, i > 1 ? ", ?%d" : "?%d", i);
		buf_addch(&sql, ')');
		rc = store_prepare(d->s, sql.data, &d->st[t], d->err);
		if (rc)
			buf_addf(d->err, " (table %s: is the ThyWill schema"
				 " there?)", tables[t].name);
	}
	buf_release(&sql);
	return rc;
}

static void demo_free(struct demo *d)
{
	for (int t = 0; t < T_COUNT; t++)
		store_finalize(d->st[t]);
	for (long k = 0; d->user && k < d->nusers; k++)
		free(d->user[k]);
	free(d->user);
	free(d->user_at);
	free(d->token);
	free(d->name_slot);
	for (size_t i = 0; i < NELEM(d->tx); i++)
		buf_release(&d->tx[i]);
	buf_release(&d->big);
}

int demo_fill(struct store *s, const struct demo_opts *o,
	      void (*progress)(long done, long total, void *ctx), void *ctx,
	      struct buf *err)
{
	struct buf scratch = BUF_INIT;
	struct demo d;
	int rc, in_tx = 0;

	memset(&d, 0, sizeof(d));
	for (size_t i = 0; i < NELEM(d.tx); i++)
		buf_init(&d.tx[i]);
	buf_init(&d.big);
	d.s = s;
	d.err = err ? err : &scratch;
	d.rng = o->seed;
	d.progress = progress;
	d.ctx = ctx;
	d.nprayers = o->prayers < DEMO_MIN_PRAYERS ? DEMO_MIN_PRAYERS :
		     o->prayers;
	d.nusers = o->users > 0 ? o->users :
		   d.nprayers / 8 > 40 ? d.nprayers / 8 : 40;
	if (d.nusers < DEMO_MIN_USERS)
		d.nusers = DEMO_MIN_USERS;
	if (d.nprayers > 100000000 || d.nusers > 100000000) {
		buf_addstr(d.err, "demo: at most 100000000 users or prayers");
		rc = -EINVAL;
		goto out;
	}
	/* Rows per prayer and per user, as measured; the last report is
	 * exact. */
	d.total = (long)(d.nprayers * 8.52 + d.nusers * 17.9) + 60;
	d.next_report = REPORT_EVERY;

	rc = store_begin(s, 1, d.err);
	if (rc)
		goto out;
	in_tx = 1;
	rc = store_exec(s, demo_extra_schema_sql, d.err);
	if (rc) {
		buf_addstr(d.err, " (creating the demo's extra tables)");
		goto out;
	}
	rc = prepare_all(&d);
	if (rc)
		goto out;
	plan_users(&d);
	rc = gen_users(&d);
	if (!rc)
		rc = gen_spare_tokens(&d);
	if (!rc)
		rc = gen_roles(&d);
	if (!rc)
		rc = gen_user_roles(&d);
	if (!rc)
		rc = gen_auth(&d);
	if (!rc)
		rc = gen_securitylog(&d);
	if (!rc)
		rc = gen_prayers(&d);
	if (!rc)
		rc = gen_changelog(&d);
	if (!rc)
		rc = gen_migrations(&d);
	if (!rc)
		rc = gen_membership(&d);
	if (!rc)
		rc = gen_app_notes(&d);
	if (!rc)
		rc = gen_preferences(&d);
	if (rc)
		goto out;
	/* Statements must be done before COMMIT can release the lock. */
	for (int t = 0; t < T_COUNT; t++) {
		store_finalize(d.st[t]);
		d.st[t] = NULL;
	}
	rc = store_commit(s, d.err);
	if (rc)
		goto out;
	in_tx = 0;
	d.total = d.done;
	report(&d);
	rc = store_reload_schema(s, d.err);
out:
	if (rc && in_tx)
		store_rollback(s);
	demo_free(&d);
	buf_release(&scratch);
	return rc;
}
