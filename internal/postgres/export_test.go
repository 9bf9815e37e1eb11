package postgres

import (
	"context"
	"strings"

	"github.com/gatehouse-dev/gatehouse/internal/audit"
	"github.com/gatehouse-dev/gatehouse/pkg/gatehouse"
)

// CreateAtVersionForTest creates the on-prem store of the database at url
// as a gatehouse with only the first v migrations would have: its init
// writes the settings every schema has, then fill's rows, and its event
// records no state, as before schema 4.
func CreateAtVersionForTest(url string, v int, fill func(tx gatehouse.Tx) error) error {
	all := migrations
	migrations = all[:v]
	defer func() { migrations = all }()
	s, _, err := Create(context.Background(), url, Options{}, func(tx gatehouse.Tx) (*gatehouse.NewEvent, error) {
		for _, kv := range [][2]string{{"mode", "onprem"}, {"tenant_id", ""}, {"created_at", audit.FormatTime(tx.Now())}} {
			if err := tx.SetSetting(kv[0], kv[1]); err != nil {
				return nil, err
			}
		}
		if fill != nil {
			if err := fill(tx); err != nil {
				return nil, err
			}
		}
		return &gatehouse.NewEvent{Actor: "old", Action: "store.init", Target: "store", Outcome: gatehouse.OutcomeSuccess,
			Details: map[string]any{"mode": "onprem", "tenant_id": "", "schema_version": v}}, nil
	})
	if err != nil {
		return err
	}
	return s.Close()
}

// EventsQueryPlanForTest is PostgreSQL's plan (EXPLAIN, text) for the
// statement ListEvents runs for f.
func (s *Store) EventsQueryPlanForTest(ctx context.Context, f gatehouse.EventFilter) (string, error) {
	q, args := s.eventsQuery(f)
	rows, err := s.pool.Query(ctx, "EXPLAIN "+q, args...)
	if err != nil {
		return "", err
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			return "", err
		}
		plan = append(plan, line)
	}
	return strings.Join(plan, "\n"), rows.Err()
}
