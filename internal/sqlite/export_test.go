package sqlite

import (
	"context"
	"strings"

	"github.com/gatehouse-dev/gatehouse/internal/core"
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
// v migrations would have, to test upgrades.
func CreateAtVersionForTest(path string, v int) error {
	all := migrations
	migrations = all[:v]
	defer func() { migrations = all }()
	db, _, err := Create(context.Background(), path, Options{}, core.Init(core.InitParams{Actor: "old"}, v))
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
