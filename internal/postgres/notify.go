package postgres

import (
	"context"
	"errors"

	"github.com/gatehouse-dev/gatehouse/internal/audit"
	"github.com/gatehouse-dev/gatehouse/pkg/gatehouse"
	"github.com/jackc/pgx/v5"
)

var _ gatehouse.NotifyCursors = (*Store)(nil)

// NotifyCursor returns a delivery cursor's position.
func (s *Store) NotifyCursor(ctx context.Context, name string) (int64, bool, error) {
	var seq int64
	err := s.pool.QueryRow(ctx, "SELECT seq FROM notify_cursors WHERE tenant_id = $1 AND name = $2", s.tenant, name).Scan(&seq)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, classify(err, "read a delivery cursor")
	}
	return seq, true, nil
}

// AdvanceNotifyCursor moves a delivery cursor from from to to, in its own
// statement (no audit event: docs/security.md).
func (s *Store) AdvanceNotifyCursor(ctx context.Context, name string, from, to int64) (bool, error) {
	if s.readOnly {
		return false, gatehouse.Errorf(gatehouse.EINTERNAL, "cannot change the store: it was opened read-only")
	}
	now := audit.FormatTime(s.now().UTC())
	if from == 0 {
		tag, err := s.pool.Exec(ctx, `INSERT INTO notify_cursors (tenant_id, name, seq, updated_at) VALUES ($1, $2, $3, $4)
			ON CONFLICT (tenant_id, name) DO NOTHING`, s.tenant, name, to, now)
		if err != nil {
			return false, classify(err, "write a delivery cursor")
		}
		if tag.RowsAffected() == 1 {
			return true, nil
		}
	}
	tag, err := s.pool.Exec(ctx, "UPDATE notify_cursors SET seq = $3, updated_at = $4 WHERE tenant_id = $1 AND name = $2 AND seq = $5",
		s.tenant, name, to, now, from)
	if err != nil {
		return false, classify(err, "write a delivery cursor")
	}
	return tag.RowsAffected() == 1, nil
}
