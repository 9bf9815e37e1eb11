package postgres

import (
	"context"

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
