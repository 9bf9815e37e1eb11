package sqlite_test

import (
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/sqlite"
	"github.com/gatehouse-dev/gatehouse/internal/storetest"
	"github.com/gatehouse-dev/gatehouse/pkg/gatehouse"
)

// TestConformance runs the store contract's conformance suite on SQLite.
func TestConformance(t *testing.T) {
	n := 0
	storetest.Run(t, storetest.Harness{
		Location: func(t *testing.T) string {
			n++
			return filepath.Join(t.TempDir(), fmt.Sprintf("store%d.db", n))
		},
		TamperEvent: func(t *testing.T, location, _ string, seq int64) {
			rawExec(t, location,
				"DROP TRIGGER audit_events_no_update",
				fmt.Sprintf("UPDATE audit_events SET actor = 'mallory' WHERE seq = %d", seq))
		},
		SetSchemaVersion: func(t *testing.T, location string, v int) {
			rawExec(t, location, fmt.Sprintf("PRAGMA user_version = %d", v))
		},
		SchemaVersion: sqlite.SchemaVersion(),
		CreateBeforeState: func(t *testing.T, location string, fill func(tx gatehouse.Tx) error) {
			if err := sqlite.CreateAtVersionForTest(location, 7, fill); err != nil {
				t.Fatal(err)
			}
		},
		Exec: func(t *testing.T, location, q string) { rawExec(t, location, q) },
	})
}

// rawExec runs statements on the file behind gatehouse's back.
func rawExec(t *testing.T, path string, stmts ...string) {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, q := range stmts {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}
