-- Schema version 8: the Merkle tree over the audit trail, and signed
-- checkpoints of it (issue 13; internal/audit/tree.go).
--
-- tree: the hashes that event seq's record (seq-1) stores in the RFC 6962
-- tree, as golang.org/x/mod/sumdb/tlog defines them: its leaf hash, then
-- one interior hash per subtree it completes, 32 bytes each. Written with
-- the event; the migration fills it in for the events an older store holds.
ALTER TABLE audit_events ADD COLUMN tree BLOB NOT NULL DEFAULT x'';

-- Signed checkpoints (C2SP tlog-checkpoint notes): the log's signature
-- and, as witnesses answer, their cosignatures. A row is never removed;
-- its note only gains signatures.
CREATE TABLE audit_checkpoints (
	size INTEGER PRIMARY KEY CHECK (size >= 1),
	time TEXT NOT NULL,
	note TEXT NOT NULL
) STRICT;

CREATE TRIGGER audit_checkpoints_no_delete BEFORE DELETE ON audit_checkpoints
BEGIN
	SELECT RAISE(ABORT, 'checkpoints are append-only');
END;

CREATE TRIGGER audit_checkpoints_only_sign BEFORE UPDATE ON audit_checkpoints
	WHEN NEW.size <> OLD.size OR substr(NEW.note, 1, length(OLD.note)) <> OLD.note
BEGIN
	SELECT RAISE(ABORT, 'a checkpoint only gains signatures');
END;
