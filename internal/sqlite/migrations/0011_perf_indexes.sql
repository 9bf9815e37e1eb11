-- Schema version 11: costs bounded by an index, not by the size of the
-- store (issue 15).

-- 'audit list --action X --limit N' and --action 'support.*': the events of
-- one action are found through this index, in sequence order (the rowid is
-- its last column), instead of by scanning the trail. The core's lookups of
-- the newest event of some actions use it too.
CREATE INDEX audit_events_action ON audit_events (action);

-- Every admin command first counts the enabled MSP admins (bootstrap is
-- open while there are none) and looks the actor up among them. This
-- partial index holds only those few accounts, so both cost the same at a
-- thousand users as at a hundred thousand, instead of a scan of the users
-- inside the write transaction. Its WHERE clause is the queries' own.
CREATE INDEX users_enabled_admins ON users (name) WHERE msp_admin = 1 AND enabled = 1;
