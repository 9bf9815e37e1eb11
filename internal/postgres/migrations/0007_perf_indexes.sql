-- Schema version 7: costs bounded by an index, not by the size of the
-- store (issue 15).

-- 'audit list --action X --limit N' and --action 'support.*': one action's
-- events in sequence order, so that the newest N are read from the end of
-- the index instead of scanning the tenant's trail. COLLATE "C" lets the
-- prefix range (action > 'support.' AND action < 'support/' COLLATE "C")
-- use it whatever the database's collation.
CREATE INDEX audit_events_action ON audit_events (tenant_id, action COLLATE "C", seq);

-- Every admin command first counts the tenant's enabled MSP admins
-- (bootstrap is open while there are none) and looks the actor up among
-- them: this partial index holds only those accounts, so neither scans the
-- tenant's users. Its WHERE clause is the queries' own.
CREATE INDEX users_enabled_admins ON users (tenant_id, nocase(name)) WHERE msp_admin AND enabled;
