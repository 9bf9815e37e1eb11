package postgres

import (
	"context"
	"embed"
	"encoding/json"
	"fmt"
	"maps"

	"github.com/gatehouse-dev/gatehouse/internal/audit"
	"github.com/gatehouse-dev/gatehouse/internal/schema"
	"github.com/gatehouse-dev/gatehouse/pkg/gatehouse"
	"github.com/jackc/pgx/v5"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// migrations are read once from the embedded files named NNNN_name.sql.
var migrations = schema.Load(migrationFS, "migrations")

// stateVersion is the first schema whose events record the after-state of
// every change: a migration from an older one records each tenant's
// baseline (Options.Migrate).
const stateVersion = 4

// SchemaVersion is the schema version this binary writes.
func SchemaVersion() int { return len(migrations) }

// migrationLock is the key of the advisory lock that serialises migrations
// of one database by several processes ("GATE" in ASCII).
const migrationLock = 0x47415445

const qSchemaVersion = "SELECT coalesce(max(version), 0) FROM schema_migrations"

// migrate applies the pending migrations, each recorded in
// schema_migrations, in one transaction: a crash leaves the database as it
// was or fully migrated. A migration of a database that had a schema
// appends a store.migrate event to every tenant's chain in that
// transaction, as SQLite's does to its one chain. A database newer than
// this binary is refused before anything is written. When the schema is
// current it costs one query and writes nothing.
func (s *Store) migrate(ctx context.Context) error {
	v, err := schemaVersion(ctx, s.pool)
	if err != nil {
		return classify(err, "read the schema version")
	}
	if err := s.checkVersion(v); err != nil {
		return err
	}
	if v == SchemaVersion() {
		s.version = v
		return nil
	}
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		// Another process may be migrating: wait for it, then look again.
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", migrationLock); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
			version    INTEGER     PRIMARY KEY,
			name       TEXT        NOT NULL,
			applied_at TIMESTAMPTZ NOT NULL DEFAULT now())`); err != nil {
			return err
		}
		from, err := schemaVersion(ctx, tx)
		if err != nil {
			return err
		}
		if err := s.checkVersion(from); err != nil {
			return err
		}
		if from > 0 {
			if err := checkRecordedSchema(ctx, tx, from); err != nil {
				return err
			}
		}
		for _, m := range migrations[from:] {
			if _, err := tx.Exec(ctx, m.SQL); err != nil {
				return fmt.Errorf("migration %s: %w", m.Name, err)
			}
			if _, err := tx.Exec(ctx, "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", m.Version, m.Name); err != nil {
				return err
			}
		}
		if from > 0 && from < 4 {
			if err := backfillTree(ctx, tx); err != nil {
				return err
			}
		}
		if from > 0 && from < SchemaVersion() {
			return s.recordMigration(ctx, tx, from)
		}
		return nil
	})
	if err != nil {
		return classify(err, "migrate the database schema")
	}
	s.version = SchemaVersion()
	return nil
}

// recordMigration appends store.migrate to the chain of every tenant, in
// the migration's transaction, each after locking the tenant's head.
func (s *Store) recordMigration(ctx context.Context, tx pgx.Tx, from int) error {
	rows, err := tx.Query(ctx, "SELECT tenant_id FROM tenants ORDER BY tenant_id")
	if err != nil {
		return err
	}
	tenants, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return err
	}
	now := s.now().UTC()
	for _, tenant := range tenants {
		var head gatehouse.ChainHead
		if err := tx.QueryRow(ctx, qLockHead, tenant, audit.GenesisHash).Scan(&head.Seq, &head.Hash); err != nil {
			return err
		}
		details := map[string]any{}
		if from < stateVersion && s.migrateHook != nil {
			d, err := s.migrateHook(&Tx{View: View{ctx: ctx, q: tx, tenant: tenant, now: now}, s: s, head: head}, from)
			if err != nil {
				return err
			}
			maps.Copy(details, d)
		}
		details["from_version"], details["to_version"], details["kind"] = from, SchemaVersion(), "postgres"
		ne := &gatehouse.NewEvent{
			Actor:   gatehouse.ActorSystem,
			Action:  "store.migrate",
			Target:  "store",
			Outcome: gatehouse.OutcomeSuccess,
			Details: details,
		}
		if _, err := appendEvent(ctx, tx, tenant, head, ne, now, s.osUser); err != nil {
			return err
		}
	}
	return nil
}

// backfillTree fills in the tree column (schema 4) of every tenant's
// events, in order, in batches, with the append-only trigger lifted for
// the migration's transaction only. The tree is built over the events as
// they are: a chain that does not hold is still reported by audit verify,
// and no checkpoint is signed over it.
func backfillTree(ctx context.Context, tx pgx.Tx) error {
	if _, err := tx.Exec(ctx, "ALTER TABLE audit_events DISABLE TRIGGER audit_events_no_update"); err != nil {
		return err
	}
	rows, err := tx.Query(ctx, "SELECT DISTINCT tenant_id FROM audit_events ORDER BY tenant_id")
	if err != nil {
		return err
	}
	tenants, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return err
	}
	for _, tenant := range tenants {
		var b audit.TreeBuilder
		for last := int64(0); ; {
			rows, err := tx.Query(ctx, "SELECT "+eventColumns+" FROM audit_events WHERE tenant_id = $1 AND seq > $2 ORDER BY seq LIMIT 10000", tenant, last)
			if err != nil {
				return err
			}
			batch := &pgx.Batch{}
			var ev gatehouse.Event
			for rows.Next() {
				if err := scanEvent(rows, &ev); err != nil {
					rows.Close()
					return fmt.Errorf("tenant %q: event %d cannot be read: run 'gatehouse audit verify' with the older gatehouse", tenant, last+1)
				}
				leaf, err := audit.LeafHash(&ev)
				if err != nil {
					rows.Close()
					return err
				}
				batch.Queue("UPDATE audit_events SET tree = $3 WHERE tenant_id = $1 AND seq = $2", tenant, ev.Seq, audit.EncodeStored(b.Add(leaf)))
				last = ev.Seq
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return err
			}
			if batch.Len() == 0 {
				break
			}
			if err := tx.SendBatch(ctx, batch).Close(); err != nil {
				return err
			}
		}
	}
	_, err = tx.Exec(ctx, "ALTER TABLE audit_events ENABLE TRIGGER audit_events_no_update")
	return err
}

type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// schemaVersion reads the schema version: 0 for a database gatehouse has
// never migrated.
func schemaVersion(ctx context.Context, q querier) (int, error) {
	var exists bool
	if err := q.QueryRow(ctx, "SELECT to_regclass('schema_migrations') IS NOT NULL").Scan(&exists); err != nil || !exists {
		return 0, err
	}
	var v int
	err := q.QueryRow(ctx, qSchemaVersion).Scan(&v)
	return v, err
}

func (s *Store) checkVersion(v int) error {
	if v > SchemaVersion() {
		return gatehouse.Errorf(gatehouse.EUNAVAILABLE,
			"the PostgreSQL database %s has schema version %d, newer than this gatehouse supports (%d); use a newer gatehouse — the database was not modified",
			s.location, v, SchemaVersion())
	}
	return nil
}

// checkRecordedSchema refuses to migrate a database where a tenant's trail
// records a newer schema than schema_migrations says
// (audit.RecordedSchema): the version was lowered, and a migration would
// rebuild the tree over the events as they are and record the rows as they
// are as a new baseline.
func checkRecordedSchema(ctx context.Context, tx pgx.Tx, from int) error {
	rows, err := tx.Query(ctx, `SELECT tenant_id, seq, action, details FROM audit_events
		WHERE action IN ('store.init', 'store.migrate', 'store.copy') ORDER BY tenant_id, seq`)
	if err != nil {
		return err
	}
	defer rows.Close()
	var (
		tenant, prev string
		r            = audit.RecordedSchema{Kind: "postgres"}
		ev           gatehouse.Event
		details      string
	)
	check := func() error {
		return r.LoweredError(fmt.Sprintf("the database (tenant %q)", prev), int64(from))
	}
	for rows.Next() {
		if err := rows.Scan(&tenant, &ev.Seq, &ev.Action, &details); err != nil {
			return err
		}
		if tenant != prev {
			if err := check(); err != nil {
				return err
			}
			prev, r = tenant, audit.RecordedSchema{Kind: "postgres"}
		}
		ev.Details = json.RawMessage(details)
		r.Note(&ev)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	return check()
}
