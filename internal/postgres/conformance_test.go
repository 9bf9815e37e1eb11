package postgres_test

import (
	"context"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/pgtest"
	"github.com/gatehouse-dev/gatehouse/internal/postgres"
	"github.com/gatehouse-dev/gatehouse/internal/storetest"
	"github.com/gatehouse-dev/gatehouse/pkg/gatehouse"
	"github.com/jackc/pgx/v5"
)

// TestConformance runs the store contract's conformance suite on a real
// PostgreSQL server.
func TestConformance(t *testing.T) {
	storetest.Run(t, storetest.Harness{
		Location: func(t *testing.T) string { return pgtest.New(t) },
		Tenants:  true,
		TamperEvent: func(t *testing.T, location, tenant string, seq int64) {
			superExec(t, location, "ALTER TABLE audit_events DISABLE TRIGGER USER")
			superExec(t, location, "UPDATE audit_events SET actor = 'mallory' WHERE tenant_id = $1 AND seq = $2", tenant, seq)
		},
		SetSchemaVersion: func(t *testing.T, location string, v int) {
			superExec(t, location, "DELETE FROM schema_migrations WHERE version > $1", v)
			if v > postgres.SchemaVersion() {
				superExec(t, location, "INSERT INTO schema_migrations (version, name) VALUES ($1, 'from_the_future.sql')", v)
			}
		},
		SchemaVersion: postgres.SchemaVersion(),
		CreateBeforeState: func(t *testing.T, location string, fill func(tx gatehouse.Tx) error) {
			if err := postgres.CreateAtVersionForTest(location, 3, fill); err != nil {
				t.Fatal(err)
			}
		},
		Exec: func(t *testing.T, location, q string) { superExec(t, location, q) },
	})
}

// superExec runs a statement as the database's superuser, behind
// gatehouse's back.
func superExec(t *testing.T, url, q string, args ...any) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, q, args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}
