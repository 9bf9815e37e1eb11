-- sso: sign-ins whose ID token gatehouse verified itself (issue 12).
-- verified: 1 when the gate checked the identity provider's ID token
-- (`sso signin --id-token`, the public package's OpenID Connect flow), 0
-- when the caller asserted the identity (the flag form, for servers that
-- verify themselves). detail: why a token was refused (bad_signature,
-- expired, ...; reason token_invalid), '' otherwise. Attempts of an older
-- store were all asserted: 0 and ''.
ALTER TABLE sso_attempts ADD COLUMN verified INTEGER NOT NULL DEFAULT 0 CHECK (verified IN (0, 1));
ALTER TABLE sso_attempts ADD COLUMN detail TEXT NOT NULL DEFAULT '';
