-- Schema version 11: costs bounded by an index, not by the size of the
-- store (issue 15).

-- 'audit list --action X --limit N' and --action 'support.*': the events of
-- one action are found through this index, in sequence order (the rowid is
-- its last column), instead of by scanning the trail. The core's lookups of
-- the newest event of some actions use it too.
CREATE INDEX audit_events_action ON audit_events (action);
