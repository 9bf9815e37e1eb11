-- Schema version 2: the whole store, per tenant.
--
-- Every table mirrors SQLite's of the same name, column for column (store
-- copy moves rows between the two by column name), with tenant_id first and
-- in every key: one database holds many tenants, and no key of one tenant
-- can collide with another's. IDs are per tenant too, allocated as the
-- tenant's max(id) + 1 inside the change transaction (one tenant's changes
-- are serialised by its audit head's lock), so that a copied store keeps
-- the IDs its events mention.
--
-- Text is compared and sorted byte by byte (COLLATE "C"), as SQLite's BINARY
-- does: times are text in audit.TimeLayout and must sort as written,
-- whatever the database's locale. Names that SQLite declares COLLATE NOCASE
-- are unique and looked up through nocase(), which folds ASCII letters only,
-- exactly as NOCASE does (lower() would also fold other letters, depending
-- on the locale).

CREATE FUNCTION nocase(s TEXT) RETURNS TEXT
	LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
	RETURN translate(s, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz') COLLATE "C";

-- One row per tenant ('' is a database's one on-prem store). A tenant's
-- first rows, its head and its store.init event are written in the
-- transaction that inserts this row.
CREATE TABLE tenants (
	tenant_id  TEXT COLLATE "C" PRIMARY KEY,
	created_at TEXT COLLATE "C" NOT NULL
);

-- The tenants of version 1, which held only audit chains.
INSERT INTO tenants (tenant_id, created_at)
	SELECT h.tenant_id, coalesce((SELECT e.time FROM audit_events e WHERE e.tenant_id = h.tenant_id ORDER BY e.seq LIMIT 1), '')
	FROM audit_heads h;

ALTER TABLE audit_events ALTER COLUMN time TYPE TEXT COLLATE "C";
ALTER TABLE audit_events ALTER COLUMN action TYPE TEXT COLLATE "C";

CREATE TABLE settings (
	tenant_id TEXT COLLATE "C" NOT NULL REFERENCES tenants,
	key       TEXT COLLATE "C" NOT NULL,
	value     TEXT COLLATE "C" NOT NULL,
	PRIMARY KEY (tenant_id, key)
);

-- Accounts. name is unique without regard to ASCII case; email is an
-- attribute, unique once normalised; SSO accounts are keyed on (sso_issuer,
-- sso_subject). ungranted is kept by the triggers below; name_skeleton is
-- gatehouse.NameSkeleton(name), written with every name.
CREATE TABLE users (
	tenant_id       TEXT COLLATE "C" NOT NULL REFERENCES tenants,
	id              BIGINT  NOT NULL CHECK (id > 0),
	name            TEXT COLLATE "C" NOT NULL,
	kind            TEXT COLLATE "C" NOT NULL CHECK (kind IN ('local', 'sso', 'support')),
	email           TEXT COLLATE "C",
	enabled         BOOLEAN NOT NULL DEFAULT true,
	msp_admin       BOOLEAN NOT NULL DEFAULT false,
	created_at      TEXT COLLATE "C" NOT NULL,
	created_via     TEXT COLLATE "C" NOT NULL,
	created_by      TEXT COLLATE "C" NOT NULL,
	password_hash   TEXT COLLATE "C",
	last_signin_at  TEXT COLLATE "C",
	last_signin_by  TEXT COLLATE "C",
	sso_issuer      TEXT COLLATE "C",
	sso_subject     TEXT COLLATE "C",
	ungranted       BOOLEAN NOT NULL DEFAULT true,
	name_skeleton   TEXT COLLATE "C",
	PRIMARY KEY (tenant_id, id),
	UNIQUE (tenant_id, sso_issuer, sso_subject)
);

CREATE UNIQUE INDEX users_name ON users (tenant_id, nocase(name));
CREATE UNIQUE INDEX users_email_unique ON users (tenant_id, email) WHERE email IS NOT NULL;
-- There is at most one support account per tenant.
CREATE UNIQUE INDEX users_one_support ON users (tenant_id) WHERE kind = 'support';
CREATE INDEX users_created ON users (tenant_id, created_at, id);
CREATE INDEX users_name_skeleton ON users (tenant_id, name_skeleton);
-- The pending queue, oldest first: the terms are pendingCondition's.
CREATE INDEX users_pending ON users (tenant_id, created_at, id)
	WHERE ungranted AND enabled AND NOT msp_admin AND kind <> 'support';

CREATE TABLE roles (
	tenant_id TEXT COLLATE "C" NOT NULL REFERENCES tenants,
	id        BIGINT  NOT NULL CHECK (id > 0),
	name      TEXT COLLATE "C" NOT NULL,
	builtin   BOOLEAN NOT NULL DEFAULT false,
	PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX roles_name ON roles (tenant_id, nocase(name));

CREATE TABLE scopes (
	tenant_id TEXT COLLATE "C" NOT NULL REFERENCES tenants,
	id        BIGINT  NOT NULL CHECK (id > 0),
	name      TEXT COLLATE "C" NOT NULL,
	builtin   BOOLEAN NOT NULL DEFAULT false,
	PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX scopes_name ON scopes (tenant_id, nocase(name));

CREATE TABLE groups (
	tenant_id TEXT COLLATE "C" NOT NULL REFERENCES tenants,
	id        BIGINT NOT NULL CHECK (id > 0),
	name      TEXT COLLATE "C" NOT NULL,
	PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX groups_name ON groups (tenant_id, nocase(name));

CREATE TABLE orgs (
	tenant_id TEXT COLLATE "C" NOT NULL REFERENCES tenants,
	id        BIGINT NOT NULL CHECK (id > 0),
	name      TEXT COLLATE "C" NOT NULL,
	PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX orgs_name ON orgs (tenant_id, nocase(name));

-- The builtin Master role and scope of the tenants of version 1; a new
-- tenant gets its own when it is created.
INSERT INTO roles (tenant_id, id, name, builtin) SELECT tenant_id, 1, 'Master', true FROM tenants;
INSERT INTO scopes (tenant_id, id, name, builtin) SELECT tenant_id, 1, 'Master', true FROM tenants;

CREATE TABLE user_roles (
	tenant_id TEXT COLLATE "C" NOT NULL,
	user_id   BIGINT NOT NULL,
	role_id   BIGINT NOT NULL,
	PRIMARY KEY (tenant_id, user_id, role_id),
	FOREIGN KEY (tenant_id, user_id) REFERENCES users ON DELETE CASCADE,
	FOREIGN KEY (tenant_id, role_id) REFERENCES roles
);

CREATE TABLE user_scopes (
	tenant_id TEXT COLLATE "C" NOT NULL,
	user_id   BIGINT NOT NULL,
	scope_id  BIGINT NOT NULL,
	PRIMARY KEY (tenant_id, user_id, scope_id),
	FOREIGN KEY (tenant_id, user_id) REFERENCES users ON DELETE CASCADE,
	FOREIGN KEY (tenant_id, scope_id) REFERENCES scopes
);

CREATE TABLE user_groups (
	tenant_id TEXT COLLATE "C" NOT NULL,
	user_id   BIGINT NOT NULL,
	group_id  BIGINT NOT NULL,
	PRIMARY KEY (tenant_id, user_id, group_id),
	FOREIGN KEY (tenant_id, user_id) REFERENCES users ON DELETE CASCADE,
	FOREIGN KEY (tenant_id, group_id) REFERENCES groups
);

CREATE TABLE user_orgs (
	tenant_id TEXT COLLATE "C" NOT NULL,
	user_id   BIGINT NOT NULL,
	org_id    BIGINT NOT NULL,
	PRIMARY KEY (tenant_id, user_id, org_id),
	FOREIGN KEY (tenant_id, user_id) REFERENCES users ON DELETE CASCADE,
	FOREIGN KEY (tenant_id, org_id) REFERENCES orgs
);

-- ungranted is true while a user has no role, no group and no
-- organisation: set false by a grant, computed again after a revoke, in the
-- statement that changes the link (SQLite's schema 5).
CREATE FUNCTION user_link_granted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	UPDATE users SET ungranted = false
		WHERE tenant_id = NEW.tenant_id AND id = NEW.user_id AND ungranted;
	RETURN NULL;
END
$$;

CREATE FUNCTION user_link_revoked() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	UPDATE users SET ungranted = NOT (
			EXISTS (SELECT 1 FROM user_roles l WHERE l.tenant_id = OLD.tenant_id AND l.user_id = OLD.user_id)
			OR EXISTS (SELECT 1 FROM user_groups l WHERE l.tenant_id = OLD.tenant_id AND l.user_id = OLD.user_id)
			OR EXISTS (SELECT 1 FROM user_orgs l WHERE l.tenant_id = OLD.tenant_id AND l.user_id = OLD.user_id))
		WHERE tenant_id = OLD.tenant_id AND id = OLD.user_id;
	RETURN NULL;
END
$$;

CREATE TRIGGER user_roles_granted AFTER INSERT ON user_roles FOR EACH ROW EXECUTE FUNCTION user_link_granted();
CREATE TRIGGER user_groups_granted AFTER INSERT ON user_groups FOR EACH ROW EXECUTE FUNCTION user_link_granted();
CREATE TRIGGER user_orgs_granted AFTER INSERT ON user_orgs FOR EACH ROW EXECUTE FUNCTION user_link_granted();
CREATE TRIGGER user_roles_revoked AFTER DELETE ON user_roles FOR EACH ROW EXECUTE FUNCTION user_link_revoked();
CREATE TRIGGER user_groups_revoked AFTER DELETE ON user_groups FOR EACH ROW EXECUTE FUNCTION user_link_revoked();
CREATE TRIGGER user_orgs_revoked AFTER DELETE ON user_orgs FOR EACH ROW EXECUTE FUNCTION user_link_revoked();

-- The support account's one live credential: only an argon2id hash.
CREATE TABLE support_credentials (
	tenant_id        TEXT COLLATE "C" NOT NULL,
	user_id          BIGINT NOT NULL,
	password_hash    TEXT COLLATE "C" NOT NULL,
	request_id       TEXT COLLATE "C" NOT NULL,
	issued_at        TEXT COLLATE "C" NOT NULL,
	expires_at       TEXT COLLATE "C" NOT NULL,
	reset_after_use  BIGINT NOT NULL DEFAULT 0, -- seconds; 0: off
	first_logon_at   TEXT COLLATE "C",
	envelope_sha256  TEXT COLLATE "C" NOT NULL,
	envelope_path    TEXT COLLATE "C" NOT NULL DEFAULT '',
	PRIMARY KEY (tenant_id, user_id),
	UNIQUE (tenant_id, request_id),
	FOREIGN KEY (tenant_id, user_id) REFERENCES users ON DELETE CASCADE
);

-- The vendor's age recipients: every envelope is encrypted to all of them.
CREATE TABLE support_recipients (
	tenant_id   TEXT COLLATE "C" NOT NULL REFERENCES tenants,
	id          BIGINT NOT NULL CHECK (id > 0),
	kind        TEXT COLLATE "C" NOT NULL,
	recipient   TEXT COLLATE "C" NOT NULL,
	fingerprint TEXT COLLATE "C" NOT NULL,
	comment     TEXT COLLATE "C" NOT NULL DEFAULT '',
	added_at    TEXT COLLATE "C" NOT NULL,
	added_by    TEXT COLLATE "C" NOT NULL,
	PRIMARY KEY (tenant_id, id),
	UNIQUE (tenant_id, recipient),
	UNIQUE (tenant_id, fingerprint)
);

-- Users who keep local login while SSO is required.
CREATE TABLE sso_exemptions (
	tenant_id TEXT COLLATE "C" NOT NULL,
	user_id   BIGINT NOT NULL,
	added_at  TEXT COLLATE "C" NOT NULL,
	added_by  TEXT COLLATE "C" NOT NULL,
	PRIMARY KEY (tenant_id, user_id),
	FOREIGN KEY (tenant_id, user_id) REFERENCES users ON DELETE CASCADE
);

-- Every SSO sign-in decision, for 'sso explain'.
CREATE TABLE sso_attempts (
	tenant_id      TEXT COLLATE "C" NOT NULL REFERENCES tenants,
	id             BIGINT  NOT NULL CHECK (id > 0),
	time           TEXT COLLATE "C" NOT NULL,
	issuer         TEXT COLLATE "C" NOT NULL,
	subject        TEXT COLLATE "C" NOT NULL,
	email          TEXT COLLATE "C" NOT NULL,
	email_verified BOOLEAN NOT NULL,
	in_idp         BOOLEAN NOT NULL,
	auth_complete  BOOLEAN NOT NULL,
	auth_expired   BOOLEAN NOT NULL,
	decision       TEXT COLLATE "C" NOT NULL,
	reason         TEXT COLLATE "C" NOT NULL,
	user_id        BIGINT,
	PRIMARY KEY (tenant_id, id),
	FOREIGN KEY (tenant_id, user_id) REFERENCES users ON DELETE SET NULL (user_id)
);

CREATE INDEX sso_attempts_email ON sso_attempts (tenant_id, email, id);
CREATE INDEX sso_attempts_subject ON sso_attempts (tenant_id, subject, id);

-- Failed-logon throttling: one row per account and credential ('' for a
-- local password, the request ID for the support credential).
CREATE TABLE login_failures (
	tenant_id    TEXT COLLATE "C" NOT NULL,
	user_id      BIGINT NOT NULL,
	credential   TEXT COLLATE "C" NOT NULL,
	failures     BIGINT NOT NULL CHECK (failures > 0),
	window_start TEXT COLLATE "C" NOT NULL,
	locked_until TEXT COLLATE "C",
	PRIMARY KEY (tenant_id, user_id, credential),
	FOREIGN KEY (tenant_id, user_id) REFERENCES users ON DELETE CASCADE
);
