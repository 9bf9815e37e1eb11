-- Schema version 1: server settings and the audit trail.

-- Settings the server acts on. Changed only through audited commands.
CREATE TABLE settings (
	key   TEXT PRIMARY KEY,
	value TEXT NOT NULL
) STRICT, WITHOUT ROWID;

-- The audit trail: append-only, hash-chained (see internal/audit).
-- time is fixed-width UTC text so that it sorts in time order.
CREATE TABLE audit_events (
	seq       INTEGER PRIMARY KEY,
	time      TEXT NOT NULL,
	actor     TEXT NOT NULL,
	os_user   TEXT NOT NULL,
	action    TEXT NOT NULL,
	target    TEXT NOT NULL,
	outcome   TEXT NOT NULL,
	details   TEXT NOT NULL,
	prev_hash TEXT NOT NULL,
	hash      TEXT NOT NULL
) STRICT;

CREATE INDEX audit_events_time ON audit_events (time);

CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
BEGIN
	SELECT RAISE(ABORT, 'audit events are append-only');
END;

CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
BEGIN
	SELECT RAISE(ABORT, 'audit events are append-only');
END;
