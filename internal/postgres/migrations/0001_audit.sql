-- Schema version 1: the audit trail, one hash chain per tenant.
--
-- Every table that holds a tenant's data has tenant_id: one database serves
-- many tenants. Text columns hold exactly the bytes that internal/audit
-- hashes: time in audit.TimeLayout, details as the JSON text written (text,
-- not jsonb, which would reorder and respace it and break the hash).

CREATE TABLE audit_events (
	tenant_id TEXT   NOT NULL,
	seq       BIGINT NOT NULL CHECK (seq >= 1),
	time      TEXT   NOT NULL,
	actor     TEXT   NOT NULL,
	os_user   TEXT   NOT NULL,
	action    TEXT   NOT NULL,
	target    TEXT   NOT NULL,
	outcome   TEXT   NOT NULL,
	details   TEXT   NOT NULL,
	prev_hash TEXT   NOT NULL,
	hash      TEXT   NOT NULL,
	PRIMARY KEY (tenant_id, seq),
	-- Two events with one predecessor would be a fork: refused outright.
	UNIQUE (tenant_id, prev_hash)
);

CREATE INDEX audit_events_time ON audit_events (tenant_id, time);

-- The head of each tenant's chain. A change locks its tenant's row first
-- and moves it with the event it appends, in the same transaction, so the
-- appends of one tenant are serialised wherever the writers run. (Locking
-- the last event instead does not serialise them: two writers lock the same
-- tail, and both append after it.)
CREATE TABLE audit_heads (
	tenant_id TEXT   PRIMARY KEY,
	seq       BIGINT NOT NULL CHECK (seq >= 0),
	hash      TEXT   NOT NULL
);

CREATE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	RAISE EXCEPTION 'audit events are append-only' USING ERRCODE = 'insufficient_privilege';
END
$$;

CREATE TRIGGER audit_events_no_update BEFORE UPDATE OR DELETE ON audit_events
	FOR EACH ROW EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
	FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();

-- A head only moves forward, and is never removed.
CREATE FUNCTION audit_head_forward() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF TG_OP <> 'UPDATE' OR NEW.tenant_id <> OLD.tenant_id OR NEW.seq < OLD.seq THEN
		RAISE EXCEPTION 'audit heads only move forward' USING ERRCODE = 'insufficient_privilege';
	END IF;
	RETURN NEW;
END
$$;

CREATE TRIGGER audit_heads_forward BEFORE UPDATE OR DELETE ON audit_heads
	FOR EACH ROW EXECUTE FUNCTION audit_head_forward();
CREATE TRIGGER audit_heads_no_truncate BEFORE TRUNCATE ON audit_heads
	FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();
