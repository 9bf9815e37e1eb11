-- Schema version 7: costs bounded by an index, not by the size of the
-- store (issue 15).

-- 'audit list --action X --limit N' and --action 'support.*': one action's
-- events in sequence order, so that the newest N are read from the end of
-- the index instead of scanning the tenant's trail. COLLATE "C" lets the
-- prefix range (action > 'support.' AND action < 'support/' COLLATE "C")
-- use it whatever the database's collation.
CREATE INDEX audit_events_action ON audit_events (tenant_id, action COLLATE "C", seq);
