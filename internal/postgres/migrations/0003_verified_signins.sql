-- Schema version 3: sign-ins whose ID token gatehouse verified itself, as
-- SQLite's migration 7. verified: the gate checked the identity provider's
-- ID token; false when the caller asserted the identity. detail: why a
-- token was refused (reason token_invalid), '' otherwise.
ALTER TABLE sso_attempts ADD COLUMN verified BOOLEAN NOT NULL DEFAULT false;
ALTER TABLE sso_attempts ADD COLUMN detail TEXT COLLATE "C" NOT NULL DEFAULT '';
