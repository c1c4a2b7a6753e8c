-- The golden fixture: a handful of hand-written rows with every hard case
-- the text format and the layout must get right. tests/golden.sh runs
-- `archivefs init DB` (the ThyWill schema) and then `sqlite3 DB < this`;
-- tests/golden/expected/ is the tree `archivefs export` writes for the
-- result, committed byte for byte.
--
-- Control characters are written with char() so that this file itself
-- holds no CR, TAB or trailing blank an editor could change. Rows are
-- inserted out of key order on purpose: files must order them by date,
-- then key, whatever the insertion order.

BEGIN;

-- Two extra tables the ThyWill layout does not describe: generic homes.
-- A composite key: one file per value of the first key column.
CREATE TABLE prayer_tag (
	prayer_id TEXT NOT NULL,
	tag TEXT NOT NULL,
	weight REAL,
	PRIMARY KEY (prayer_id, tag)
);
-- No primary key: one file per rowid, and two identical rows.
CREATE TABLE visit_log (username TEXT, page TEXT, visited_at DATETIME);

-- users: two in January 2024 (inserted in key order, filed in date order:
-- admin first, although "  Бо́рис 🙏 " sorts before it), and one whose
-- created_at is not a date (undated). supporter_type: '' next to NULL
-- next to the text 'NULL'.
INSERT INTO user VALUES
	('  Бо́рис 🙏 ', '2024-01-20 18:30:00.250000', 'admin',
	 '65ace2685a072c6d70616f2f48dce01c', 0, NULL, 1,
	 '2024-02-01 00:00:00.000000', 'NULL'),
	('admin', '2024-01-05 09:00:00.000000', NULL, NULL, 1,
	 'text_archives/users/2024_01_users.txt', 0, NULL, ''),
	('Miriam מרים', 'yesterday', 'admin', NULL, 1, NULL, 0, NULL, NULL);

-- prayers.
-- P1: text on two lines without a final newline; generated_prayer written
-- on Windows (CR LF, final newline); safety_score the integer-valued REAL
-- 1.0; specificity_confidence 0.1 + 0.2, which needs 17 digits;
-- text_file_path '' next to project_tag NULL.
INSERT INTO prayer VALUES
	('3f2a9c8e1b2d4f6a8c0e2b4d6f8a0c2e', '  Бо́рис 🙏 ',
	 'Please pray for my mother: surgery on Friday.' || char(10) ||
	 'She is 81 and | afraid \ tired.',
	 'Lord, hold her close.' || char(13, 10) ||
	 'Give the doctors steady hands.' || char(13, 10),
	 NULL, '2024-03-14 09:26:53.120034', 0, '', 1.0, '[]', 'default',
	 'general', 0.1 + 0.2, 'health', NULL, 0, 0, NULL);

-- P2: text whose lines look like format syntax, with a TAB, trailing
-- spaces, a trailing TAB and a final newline; project_tag is not valid
-- UTF-8; generated_prayer is the text 'NULL'.
INSERT INTO prayer VALUES
	('c0ffee00c0ffee00c0ffee00c0ffee00', 'admin',
	 '[prayer]' || char(10) ||
	 '# x' || char(10) ||
	 '| y' || char(10) ||
	 '\ z' || char(10) ||
	 'id: fake' || char(10) ||
	 'col' || char(9) || 'umn' || char(10) ||
	 'two spaces after this  ' || char(10) ||
	 'a tab after this' || char(9) || char(10) ||
	 char(10) ||
	 'amen' || char(10),
	 'NULL', CAST(x'6f6c64ff' AS TEXT), '2024-03-02 23:59:59.999999', 1,
	 NULL, 0.95, '["self-harm"]', 'ai', 'specific', 0.5, 'mental_health',
	 '2024-06-01 00:00:00.000000', 1, 0, NULL);

-- P3: an id with '/', '..' and a space; created_at an INTEGER (unix time),
-- so undated; featured_at a BLOB (NUMERIC affinity keeps it as is); text
-- with a Latin-1 byte (not UTF-8) and a CR alone.
INSERT INTO prayer VALUES
	('a/b/../c d', 'Miriam מרים',
	 'Pour le caf' || CAST(x'e9' AS TEXT) || ' du matin' || char(13) || 'merci',
	 '', 'x', 1710000000, 0, NULL, -2.5, '[]', 'default', 'general', 1e-7,
	 'gratitude', NULL, 0, 1, x'00ff');

-- Children of the prayers: attributes, marks, skips, activity.
INSERT INTO prayer_attributes VALUES
	('attr-2', '3f2a9c8e1b2d4f6a8c0e2b4d6f8a0c2e', 'is_answered', 'true',
	 '2024-03-20 10:00:00.000000', 'admin', NULL),
	('attr-1', '3f2a9c8e1b2d4f6a8c0e2b4d6f8a0c2e', 'answer_testimony',
	 'She came home on Monday.' || char(10) || 'Thank you all.',
	 '2024-03-20 10:00:00.000000', '  Бо́рис 🙏 ', NULL),
	('attr-3', 'c0ffee00c0ffee00c0ffee00c0ffee00', 'is_archived', NULL,
	 '2024-03-03 00:00:00.000000', NULL, NULL);

-- Two content-duplicate marks (same user, prayer and time; only the id
-- differs), inserted in reverse key order; an earlier mark whose id sorts
-- last; a mark whose id is ''; an orphan mark whose prayer is gone.
INSERT INTO prayermark VALUES
	('mark-b', 'admin', '3f2a9c8e1b2d4f6a8c0e2b4d6f8a0c2e',
	 '2024-03-15 08:00:00.000000', NULL),
	('mark-a', 'admin', '3f2a9c8e1b2d4f6a8c0e2b4d6f8a0c2e',
	 '2024-03-15 08:00:00.000000', NULL),
	('mark-z', 'Miriam מרים', '3f2a9c8e1b2d4f6a8c0e2b4d6f8a0c2e',
	 '2024-03-14 12:00:00.000000', 'text_archives/prayers/2024/03/2024_03_14_prayer_3f2a9c8e1b2d4f6a8c0e2b4d6f8a0c2e.txt'),
	('', 'admin', 'a/b/../c d', '2024-03-10 07:00:00.000000', ''),
	('mark-orphan', 'admin', 'deleted-prayer-0001',
	 '2024-02-29 12:00:00.000000', NULL);

INSERT INTO prayerskip VALUES
	('skip-1', 'Miriam מרים', 'c0ffee00c0ffee00c0ffee00c0ffee00',
	 '2024-03-03 06:00:00.000000');

INSERT INTO prayer_activity_log VALUES
	('act-1', '3f2a9c8e1b2d4f6a8c0e2b4d6f8a0c2e', 'admin', 'set_attribute',
	 '', 'NULL', '2024-03-20 10:00:00.000000', NULL),
	('act-2', 'c0ffee00c0ffee00c0ffee00c0ffee00', 'admin', 'flag',
	 NULL, '1', '2024-03-03 01:00:00.000000', NULL);

-- roles.
INSERT INTO role VALUES
	('role-admin', 'admin', NULL, '["*"]', '2024-01-01 00:00:00.000000',
	 NULL, 1),
	('role-moderator', 'moderator', 'Can flag: and unflag "prayers"',
	 '["flag","unflag"]', '2023-12-31 23:00:00.000000', 'admin', 0);
INSERT INTO user_roles VALUES
	('ur-1', 'admin', 'role-admin', NULL, '2024-01-05 09:00:01.000000', NULL);

-- Secrets: an invite token and its use, a session, a login request with
-- one approval (a child in its file) and an orphan approval. The
-- verification code looks like an integer but is TEXT.
INSERT INTO invitetoken VALUES
	('65ace2685a072c6d70616f2f48dce01c', 'admin', 1, NULL,
	 '2024-02-05 09:00:00.000000', '  Бо́рис 🙏 ', 'new_user');
INSERT INTO invite_token_usage VALUES
	('use-1', '65ace2685a072c6d70616f2f48dce01c', '  Бо́рис 🙏 ',
	 '2024-01-20 18:29:59.000000', '203.0.113.7');
INSERT INTO session VALUES
	('sess-9f86d081884c7d659a2feaa0c55ad015', 'admin',
	 '2024-03-14 09:00:00.000000', '2024-04-13 09:00:00.000000', 'req-1',
	 'Firefox on Linux', '198.51.100.23', 1);
INSERT INTO authenticationrequest VALUES
	('req-1', 'Miriam מרים', 'Safari on iPhone', '2001:db8::1', '123456',
	 '2024-03-14 08:55:00.000000', '2024-03-14 09:10:00.000000', 'approved',
	 'admin', '2024-03-14 08:58:00.000000');
INSERT INTO authapproval VALUES
	('appr-1', 'req-1', 'admin', '2024-03-14 08:58:00.000000'),
	('appr-orphan', 'req-gone', 'admin', '2024-03-01 12:00:00.000000');

-- System tables.
INSERT INTO changelogentry VALUES
	('0123456789abcdef0123456789abcdef01234567',
	 'Fix login approval' || char(10) || char(10) ||
	 'Approvals were counted twice.' || char(10) ||
	 'Closes #12.' || char(10),
	 'Logging in works again.', 'fix', '2024-03-01 10:00:00.000000',
	 '2024-03-01 10:05:00.000000');
INSERT INTO schema_migrations VALUES
	('010_featured', '2024-02-01 00:00:00', 'e3b0c442', 37, 'completed'),
	('009_roles', '2024-02-03 00:00:00', '98ea6e4f', NULL, 'completed');
INSERT INTO membership_application VALUES
	('app-1', 'newcomer', 'I would like to join.' || char(10), NULL, '',
	 'pending', '2024-03-20 21:00:00.000000', NULL, NULL, NULL, NULL);

-- The extra tables' rows: two share a first key column (one file); a
-- text key that looks like an integer; a key with a leading '.'; a key
-- too long for a file name (shortened, "~" and a hash).
INSERT INTO prayer_tag VALUES
	('3f2a9c8e1b2d4f6a8c0e2b4d6f8a0c2e', 'health', 1.5),
	('3f2a9c8e1b2d4f6a8c0e2b4d6f8a0c2e', 'family', NULL),
	('42', 'answer', 0.0),
	('.hidden', 'dot', 2.0),
	(printf('%.220c', 'k'), 'long', 3.0);
INSERT INTO visit_log VALUES
	('admin', '/prayers', '2024-03-14 09:30:00'),
	('admin', '/prayers', '2024-03-14 09:30:00');

COMMIT;
