-- Schema version 3: SSO sign-in.

-- An email, once normalised, belongs to one account: a second identity
-- claiming it is an identity conflict, never a takeover.
CREATE UNIQUE INDEX users_email_unique ON users (email) WHERE email IS NOT NULL;

-- Users who keep local login while SSO is required (break-glass admins).
CREATE TABLE sso_exemptions (
	user_id  INTEGER PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
	added_at TEXT NOT NULL,
	added_by TEXT NOT NULL
) STRICT;

-- Every SSO sign-in decision, for 'sso explain'. The audit trail has the
-- same facts; this table is indexed for the questions explain asks.
CREATE TABLE sso_attempts (
	id             INTEGER PRIMARY KEY,
	time           TEXT NOT NULL,
	issuer         TEXT NOT NULL,
	subject        TEXT NOT NULL,
	email          TEXT NOT NULL,
	email_verified INTEGER NOT NULL,
	in_idp         INTEGER NOT NULL,
	auth_complete  INTEGER NOT NULL,
	auth_expired   INTEGER NOT NULL,
	decision       TEXT NOT NULL,
	reason         TEXT NOT NULL,
	user_id        INTEGER REFERENCES users (id) ON DELETE SET NULL
) STRICT;

CREATE INDEX sso_attempts_email ON sso_attempts (email, id);
CREATE INDEX sso_attempts_subject ON sso_attempts (subject, id);
CREATE INDEX users_created ON users (created_at);
