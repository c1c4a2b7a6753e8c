/*
 * query.c - SQL text shared by rendering and listing (see query.h).
 */
#include "query.h"

#include <string.h>

#include "archive.h"

void query_col(struct buf *q, const char *alias, const struct store_table *t, int col)
{
	buf_addf(q, "%s.", alias);
	buf_add_sqlident(q, t->cols[col].name);
}

void query_from(struct buf *q, const struct store_table *t, const char *alias)
{
	buf_addstr(q, " FROM main.");
	buf_add_sqlident(q, t->name);
	buf_addf(q, " AS %s", alias);
}

void query_name_key(struct buf *q, const struct home *h, const char *alias)
{
	if (h->t->rowid_key)
		buf_addf(q, "%s.%s", alias, archive_rowid_name(h->t));
	else
		query_col(q, alias, h->t, h->t->pk[0]);
}

void query_orphans_where(struct buf *q, const struct home *c)
{
	const struct home *p = c->parent;

	buf_addstr(q, " WHERE NOT EXISTS (SELECT 1");
	query_from(q, p->t, "p");
	buf_addstr(q, " WHERE ");
	query_col(q, "p", p->t, p->t->pk[0]);
	buf_addstr(q, " = ");
	query_col(q, "c", c->t, c->fk_col);
	buf_addch(q, ')');
}

void query_month_bounds(const char *month, char from[9], char to[9])
{
	memcpy(from, month, 7);
	from[4] = '-';
	from[7] = '-';
	from[8] = '\0';
	memcpy(to, from, 9);
	to[7] = '.';
}
