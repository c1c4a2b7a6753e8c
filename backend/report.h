/*
 * report.h - `archivefs report DB [DIR] [--json] [--min SCORE]`: what an
 * operator needs to know before an upgrade.
 *
 * Sections: rows per table and where each table lives (tables in generic
 * homes flagged); the change journal (recorded, followed, changes waiting
 * and for how long, history, sync failures); what survives a rebuild from
 * DIR (DIR is rebuilt into a temporary database with `import`, and every
 * row of every table is compared with DB's, value for value; then the
 * sessions that stay logged in, the admins, the valid invite tokens and
 * the pending login requests are counted on both sides); where secrets
 * and personal data are, with the modes the layout gives and those DIR
 * has.
 *
 * The readiness score (0-100) is the sum of measured checks, each worth a
 * fixed number of points and each printed with what it measured:
 *
 *   integrity      5  PRAGMA integrity_check of DB is "ok"
 *   consistency   25  DIR is what DB renders: 25 x matching / (rendered + extra)
 *   rebuild       25  rows rebuilt from DIR identical to DB's: 25 x identical / rows
 *   state         10  sessions, admins, invites, pending logins that survive
 *                     the rebuild: 10 x kept / all (ThyWill tables only)
 *   unsynced      10  no committed change waiting for a mount or sync (a
 *                     change younger than 1 s while one follows is in flight)
 *   sync           5  no sync folder failure recorded
 *   secrets       15  DIR's files of secret tables have no group/other
 *                     permission bits, nor their folders: 15 x right / all
 *   private db     5  DB itself (it holds the secrets) is not readable by
 *                     other users
 *
 * A check that needs DIR earns nothing without it ("not measured"). A
 * check that cannot apply to this database (state without the ThyWill
 * tables; unsynced and sync when archivefs never recorded it) is left out,
 * and the score is scaled to the points that apply: score =
 * round(100 x earned / applicable). Partial points are rounded down: only
 * a perfect measurement earns a check's full points.
 *
 * Exit status: 0 with the report printed; 1 if it could not be made, or
 * the score is below --min; 2 usage.
 */
#ifndef ARCHIVEFS_REPORT_H
#define ARCHIVEFS_REPORT_H

int report_command(int argc, char **argv);

#endif
