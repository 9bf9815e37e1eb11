-- Schema version 2: accounts, the named records granted to them, and vendor
-- support access.

-- Accounts. name is unique without regard to case; email is an attribute,
-- never a key; SSO accounts are keyed on (sso_issuer, sso_subject).
CREATE TABLE users (
	id              INTEGER PRIMARY KEY,
	name            TEXT NOT NULL UNIQUE COLLATE NOCASE,
	kind            TEXT NOT NULL CHECK (kind IN ('local', 'sso', 'support')),
	email           TEXT,
	enabled         INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
	msp_admin       INTEGER NOT NULL DEFAULT 0 CHECK (msp_admin IN (0, 1)),
	created_at      TEXT NOT NULL,
	created_via     TEXT NOT NULL,
	created_by      TEXT NOT NULL,
	password_hash   TEXT,
	last_signin_at  TEXT,
	last_signin_by  TEXT,
	sso_issuer      TEXT,
	sso_subject     TEXT,
	UNIQUE (sso_issuer, sso_subject)
) STRICT;

-- There is at most one support account.
CREATE UNIQUE INDEX users_one_support ON users (kind) WHERE kind = 'support';
CREATE INDEX users_email ON users (email);

CREATE TABLE roles (
	id      INTEGER PRIMARY KEY,
	name    TEXT NOT NULL UNIQUE COLLATE NOCASE,
	builtin INTEGER NOT NULL DEFAULT 0
) STRICT;

CREATE TABLE scopes (
	id      INTEGER PRIMARY KEY,
	name    TEXT NOT NULL UNIQUE COLLATE NOCASE,
	builtin INTEGER NOT NULL DEFAULT 0
) STRICT;

CREATE TABLE groups (
	id   INTEGER PRIMARY KEY,
	name TEXT NOT NULL UNIQUE COLLATE NOCASE
) STRICT;

CREATE TABLE orgs (
	id   INTEGER PRIMARY KEY,
	name TEXT NOT NULL UNIQUE COLLATE NOCASE
) STRICT;

INSERT INTO roles (name, builtin) VALUES ('Master', 1);
INSERT INTO scopes (name, builtin) VALUES ('Master', 1);

CREATE TABLE user_roles (
	user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	role_id INTEGER NOT NULL REFERENCES roles (id),
	PRIMARY KEY (user_id, role_id)
) STRICT, WITHOUT ROWID;

CREATE TABLE user_scopes (
	user_id  INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	scope_id INTEGER NOT NULL REFERENCES scopes (id),
	PRIMARY KEY (user_id, scope_id)
) STRICT, WITHOUT ROWID;

CREATE TABLE user_groups (
	user_id  INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	group_id INTEGER NOT NULL REFERENCES groups (id),
	PRIMARY KEY (user_id, group_id)
) STRICT, WITHOUT ROWID;

CREATE TABLE user_orgs (
	user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	org_id  INTEGER NOT NULL REFERENCES orgs (id),
	PRIMARY KEY (user_id, org_id)
) STRICT, WITHOUT ROWID;

-- The support account's one live credential. Only an argon2id hash is kept.
-- Revoking deletes the row; a new request replaces it.
CREATE TABLE support_credentials (
	user_id          INTEGER PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
	password_hash    TEXT NOT NULL,
	request_id       TEXT NOT NULL UNIQUE,
	issued_at        TEXT NOT NULL,
	expires_at       TEXT NOT NULL,
	reset_after_use  INTEGER NOT NULL DEFAULT 0,  -- seconds; 0: off
	first_logon_at   TEXT,
	envelope_sha256  TEXT NOT NULL
) STRICT;

-- The vendor's age recipients: every envelope is encrypted to all of them.
CREATE TABLE support_recipients (
	id          INTEGER PRIMARY KEY,
	kind        TEXT NOT NULL,
	recipient   TEXT NOT NULL UNIQUE,
	fingerprint TEXT NOT NULL UNIQUE,
	comment     TEXT NOT NULL DEFAULT '',
	added_at    TEXT NOT NULL,
	added_by    TEXT NOT NULL
) STRICT;
