-- output: the TR39 skeleton of each user's name (gatehouse.NameSkeleton),
-- so that an SSO sign-in can refuse to create an account whose name is
-- confusable with an existing one through an index. Set by every statement
-- that inserts or renames a user; rows of an older store are filled in by
-- migrate.go right after this file runs.
ALTER TABLE users ADD COLUMN name_skeleton TEXT;
CREATE INDEX users_name_skeleton ON users (name_skeleton);
