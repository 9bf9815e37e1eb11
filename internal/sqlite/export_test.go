package sqlite

import (
	"context"
	"strings"

	"github.com/gatehouse-dev/gatehouse/internal/audit"
	"github.com/gatehouse-dev/gatehouse/pkg/gatehouse"
)

// InsertSettingForTest inserts without upsert, to provoke a unique violation.
func (tx *Tx) InsertSettingForTest(key, value string) error {
	_, err := tx.tx.ExecContext(tx.ctx, "INSERT INTO settings (key, value) VALUES (?, ?)", key, value)
	return err
}

// ExecForTest runs a statement inside a change (tests that need rows the
// commands of a later issue will create).
func (tx *Tx) ExecForTest(q string, args ...any) error {
	_, err := tx.tx.ExecContext(tx.ctx, q, args...)
	return err
}

// CreateAtVersionForTest creates a store as a gatehouse with only the first
// v migrations would have, to test upgrades: its init writes the settings
// every schema has, and its event records no state, as before schema 8.
// fill, when set, then writes more rows in the same transaction, as the
// old gatehouse's commands would have.
func CreateAtVersionForTest(path string, v int, fill ...func(tx gatehouse.Tx) error) error {
	all := migrations
	migrations = all[:v]
	defer func() { migrations = all }()
	db, _, err := Create(context.Background(), path, Options{}, func(tx gatehouse.Tx) (*gatehouse.NewEvent, error) {
		for _, kv := range [][2]string{{"mode", "onprem"}, {"tenant_id", ""}, {"created_at", audit.FormatTime(tx.Now())}} {
			if err := tx.SetSetting(kv[0], kv[1]); err != nil {
				return nil, err
			}
		}
		for _, f := range fill {
			if err := f(tx); err != nil {
				return nil, err
			}
		}
		return &gatehouse.NewEvent{Actor: "old", Action: "store.init", Target: "store", Outcome: gatehouse.OutcomeSuccess,
			Details: map[string]any{"mode": "onprem", "tenant_id": "", "schema_version": v}}, nil
	})
	if err != nil {
		return err
	}
	return db.Close()
}

// UsersQueryPlanForTest is SQLite's plan for the statement ListUsers runs
// for f, one line per step.
func (db *DB) UsersQueryPlanForTest(ctx context.Context, f gatehouse.UserFilter) (string, error) {
	q, args := usersQuery(f)
	rows, err := db.read.QueryContext(ctx, "EXPLAIN QUERY PLAN "+q, args...)
	if err != nil {
		return "", err
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			return "", err
		}
		plan = append(plan, detail)
	}
	return strings.Join(plan, "\n"), rows.Err()
}

// AppendWithoutTreeForBench makes appends skip the tree column, as before
// schema 8, until the returned function is called: a benchmark's baseline.
func AppendWithoutTreeForBench() (restore func()) {
	appendWithoutTree = true
	return func() { appendWithoutTree = false }
}

// EventsQueryPlanForTest is SQLite's plan for the statement ListEvents
// chooses for f in a snapshot of the store now, one line per step.
func (db *DB) EventsQueryPlanForTest(ctx context.Context, f gatehouse.EventFilter) (string, error) {
	var plan []string
	err := db.view(ctx, func(tx *Tx) error {
		q, args, err := tx.eventsQuery(f)
		if err != nil {
			return err
		}
		rows, err := tx.tx.QueryContext(ctx, "EXPLAIN QUERY PLAN "+q, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id, parent, unused int
			var detail string
			if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
				return err
			}
			plan = append(plan, detail)
		}
		return rows.Err()
	})
	return strings.Join(plan, "\n"), err
}

// AdminCheckQueriesForTest are the statements of the admin checks.
var AdminCheckQueriesForTest = []string{qEnabledAdmins, qEnabledAdmin}
