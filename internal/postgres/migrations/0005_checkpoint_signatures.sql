-- Schema version 5: a stored checkpoint gains signature lines and nothing
-- else (review of issue 13, M6), as SQLite's migration 9. Version 4's
-- trigger checked only that the old note stayed a prefix of the new one,
-- so the application role, which may add a witness's cosignature, could
-- append any text — terminal escapes, lines that are not signatures — and
-- make the note unreadable. The text added must now be whole note
-- signature lines ("— NAME BASE64" and a newline: a name of printable
-- ASCII without spaces or '+', standard base64), and the row's time may
-- not change. gatehouse checks each line's form again
-- (internal/audit.CheckNote) before it stores a note and whenever it
-- verifies the trail.
CREATE OR REPLACE FUNCTION audit_checkpoint_only_sign() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF TG_OP <> 'UPDATE' OR NEW.tenant_id <> OLD.tenant_id OR NEW.size <> OLD.size OR NEW.time <> OLD.time
		OR left(NEW.note, length(OLD.note)) <> OLD.note
		OR substr(NEW.note, length(OLD.note) + 1) !~ '^(— [!-*,-~]+ [A-Za-z0-9+/]+=*\n)*$' THEN
		RAISE EXCEPTION 'a checkpoint only gains signatures' USING ERRCODE = 'insufficient_privilege';
	END IF;
	RETURN NEW;
END
$$;
