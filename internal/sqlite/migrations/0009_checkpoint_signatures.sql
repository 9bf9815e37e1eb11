-- Schema version 9: a stored checkpoint gains signature lines and nothing
-- else (review of issue 13, M6). Version 8's trigger checked only that the
-- old note stayed a prefix of the new one, so any text — terminal escapes,
-- lines that are not signatures — could be appended, and the note could
-- no longer be read. The text added must now be whole note signature lines
-- ("— NAME BASE64" and a newline) in printable ASCII but for the em dash,
-- and the row's time may not change. gatehouse checks each line's form
-- again (internal/audit.CheckNote) before it stores a note and whenever it
-- verifies the trail; whoever can write the file can still drop the
-- trigger, which verify then reports.
DROP TRIGGER audit_checkpoints_only_sign;

CREATE TRIGGER audit_checkpoints_only_sign BEFORE UPDATE ON audit_checkpoints
	WHEN NEW.size <> OLD.size OR NEW.time <> OLD.time
		OR substr(NEW.note, 1, length(OLD.note)) <> OLD.note
		OR (length(NEW.note) > length(OLD.note) AND (
			substr(NEW.note, length(OLD.note) + 1, 2) <> '— '
			OR substr(NEW.note, -1) <> char(10)
			OR substr(NEW.note, length(OLD.note) + 1) GLOB ('*[^ -~' || char(10) || '—]*')
			OR instr(replace(substr(NEW.note, length(OLD.note) + 1, length(NEW.note) - length(OLD.note) - 1), char(10) || '— ', ''), char(10)) > 0
			OR instr(substr(NEW.note, length(OLD.note) + 1), '—  ') > 0))
BEGIN
	SELECT RAISE(ABORT, 'a checkpoint only gains signatures');
END;
