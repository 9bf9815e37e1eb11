-- accounts: failed-logon throttling (issue 10, item 15). One row per account
-- and credential: '' for a local password, the request ID for the support
-- credential, so that a new support credential starts with no failures and
-- failures cannot lock the vendor out for longer than it takes to issue one.
-- The policy is in settings (login.max_failures, login.failure_window,
-- login.lockout); without them the defaults apply.
CREATE TABLE login_failures (
	user_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	credential   TEXT NOT NULL,
	failures     INTEGER NOT NULL CHECK (failures > 0),
	window_start TEXT NOT NULL,
	locked_until TEXT,
	PRIMARY KEY (user_id, credential)
) STRICT, WITHOUT ROWID;

-- output: the TR39 skeleton of each user's name (gatehouse.NameSkeleton),
-- so that an SSO sign-in can refuse to create an account whose name is
-- confusable with an existing one through an index. Set by every statement
-- that inserts or renames a user; rows of an older store are filled in by
-- migrate.go right after this file runs.
ALTER TABLE users ADD COLUMN name_skeleton TEXT;
CREATE INDEX users_name_skeleton ON users (name_skeleton);
