-- Schema version 5: find the users awaiting role assignment through an
-- index, so that 'users pending' costs what the queue holds, not what the
-- whole user table holds.

-- ungranted is 1 while a user has no role, no group and no organisation.
-- The triggers below keep it true of the link tables in the same statement
-- that changes them (including cascaded deletes); nothing else writes it.
ALTER TABLE users ADD COLUMN ungranted INTEGER NOT NULL DEFAULT 1 CHECK (ungranted IN (0, 1));

-- user_links is every grant of a role, group or organisation, by user: the
-- one definition the flag is computed from.
CREATE VIEW user_links AS
	SELECT user_id FROM user_roles
	UNION ALL SELECT user_id FROM user_groups
	UNION ALL SELECT user_id FROM user_orgs;

UPDATE users SET ungranted = NOT EXISTS (SELECT 1 FROM user_links l WHERE l.user_id = users.id);

CREATE TRIGGER user_roles_granted AFTER INSERT ON user_roles
BEGIN UPDATE users SET ungranted = 0 WHERE id = NEW.user_id AND ungranted = 1; END;
CREATE TRIGGER user_groups_granted AFTER INSERT ON user_groups
BEGIN UPDATE users SET ungranted = 0 WHERE id = NEW.user_id AND ungranted = 1; END;
CREATE TRIGGER user_orgs_granted AFTER INSERT ON user_orgs
BEGIN UPDATE users SET ungranted = 0 WHERE id = NEW.user_id AND ungranted = 1; END;

CREATE TRIGGER user_roles_revoked AFTER DELETE ON user_roles
BEGIN UPDATE users SET ungranted = NOT EXISTS (SELECT 1 FROM user_links l WHERE l.user_id = OLD.user_id) WHERE id = OLD.user_id; END;
CREATE TRIGGER user_groups_revoked AFTER DELETE ON user_groups
BEGIN UPDATE users SET ungranted = NOT EXISTS (SELECT 1 FROM user_links l WHERE l.user_id = OLD.user_id) WHERE id = OLD.user_id; END;
CREATE TRIGGER user_orgs_revoked AFTER DELETE ON user_orgs
BEGIN UPDATE users SET ungranted = NOT EXISTS (SELECT 1 FROM user_links l WHERE l.user_id = OLD.user_id) WHERE id = OLD.user_id; END;

-- The queue, oldest first. Its WHERE clause is pendingCondition's, term for
-- term, which is what lets SQLite choose this partial index. It covers every
-- column userSelect reads, so listing the queue never visits the users
-- table: it holds only the pending accounts, so covering costs little.
CREATE INDEX users_pending ON users (created_at, id, name, kind, email, enabled, msp_admin,
	created_via, created_by, last_signin_at, sso_issuer, sso_subject, ungranted)
	WHERE ungranted = 1 AND enabled = 1 AND msp_admin = 0 AND kind != 'support';

-- users_email_unique (schema 3) serves every lookup by email; this older
-- index only cost a page write on every account insert.
DROP INDEX users_email;
