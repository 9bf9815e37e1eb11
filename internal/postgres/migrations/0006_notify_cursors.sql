-- Schema version 6: the delivery cursors of 'gatehouse events forward'
-- (issue 16), as SQLite's migration 10, per tenant. A cursor is the
-- sequence number of the last event a notification rule has dealt with.
-- It is operational state beside the audit trail, not security state:
-- written outside a change, no event, not replayed by 'audit verify
-- --state' (docs/security.md). 'store copy' does not carry cursors.
CREATE TABLE notify_cursors (
	tenant_id  TEXT COLLATE "C" NOT NULL REFERENCES tenants,
	name       TEXT COLLATE "C" NOT NULL,
	seq        BIGINT NOT NULL CHECK (seq >= 0),
	updated_at TEXT COLLATE "C" NOT NULL,
	PRIMARY KEY (tenant_id, name)
);
