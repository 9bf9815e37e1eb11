-- Schema version 4: the Merkle tree over each tenant's audit trail, and
-- signed checkpoints of it (issue 13; internal/audit/tree.go).
--
-- tree: the hashes that event seq's record (seq-1) stores in the tenant's
-- RFC 6962 tree, as golang.org/x/mod/sumdb/tlog defines them: its leaf
-- hash, then one interior hash per subtree it completes, 32 bytes each.
-- Written with the event; the migration fills it in for older events.
ALTER TABLE audit_events ADD COLUMN tree BYTEA NOT NULL DEFAULT ''::bytea;

-- Signed checkpoints (C2SP tlog-checkpoint notes) of each tenant's log:
-- the log's signature and, as witnesses answer, their cosignatures. A row
-- is never removed; its note only gains signatures.
CREATE TABLE audit_checkpoints (
	tenant_id TEXT COLLATE "C" NOT NULL REFERENCES tenants,
	size      BIGINT NOT NULL CHECK (size >= 1),
	time      TEXT   NOT NULL,
	note      TEXT   NOT NULL,
	PRIMARY KEY (tenant_id, size)
);

CREATE FUNCTION audit_checkpoint_only_sign() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF TG_OP <> 'UPDATE' OR NEW.tenant_id <> OLD.tenant_id OR NEW.size <> OLD.size
		OR left(NEW.note, length(OLD.note)) <> OLD.note THEN
		RAISE EXCEPTION 'a checkpoint only gains signatures' USING ERRCODE = 'insufficient_privilege';
	END IF;
	RETURN NEW;
END
$$;

CREATE TRIGGER audit_checkpoints_only_sign BEFORE UPDATE OR DELETE ON audit_checkpoints
	FOR EACH ROW EXECUTE FUNCTION audit_checkpoint_only_sign();
CREATE TRIGGER audit_checkpoints_no_truncate BEFORE TRUNCATE ON audit_checkpoints
	FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();
