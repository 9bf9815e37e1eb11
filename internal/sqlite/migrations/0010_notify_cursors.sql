-- Schema version 10: the delivery cursors of 'gatehouse events forward'
-- (issue 16). A cursor is the sequence number of the last event a
-- notification rule has dealt with (delivered, or found not to match). It
-- is operational state beside the audit trail, not security state: it is
-- written outside a change, appends no event and is not replayed by 'audit
-- verify --state' (docs/security.md). The rules themselves are settings
-- (notify.rule.NAME), audited like every setting. 'store copy' does not
-- carry cursors: a copy's forwarder starts each rule afresh.
CREATE TABLE notify_cursors (
	name       TEXT    PRIMARY KEY,
	seq        INTEGER NOT NULL CHECK (seq >= 0),
	updated_at TEXT    NOT NULL
) STRICT;
