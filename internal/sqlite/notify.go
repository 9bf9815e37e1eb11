package sqlite

import (
	"context"
	"database/sql"
	"errors"

	"github.com/gatehouse-dev/gatehouse/internal/audit"
	"github.com/gatehouse-dev/gatehouse/pkg/gatehouse"
)

var _ gatehouse.NotifyCursors = (*DB)(nil)

// NotifyCursor returns a delivery cursor's position.
func (db *DB) NotifyCursor(ctx context.Context, name string) (int64, bool, error) {
	var seq int64
	err := db.read.QueryRowContext(ctx, "SELECT seq FROM notify_cursors WHERE name = ?", name).Scan(&seq)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, db.classify(err, "read a delivery cursor")
	}
	return seq, true, nil
}

// AdvanceNotifyCursor moves a delivery cursor from from to to, in its own
// write transaction (no audit event: docs/security.md).
func (db *DB) AdvanceNotifyCursor(ctx context.Context, name string, from, to int64) (bool, error) {
	if db.readOnly {
		return false, gatehouse.Errorf(gatehouse.EINTERNAL, "cannot change the store %s: it was opened read-only", db.path)
	}
	now := audit.FormatTime(db.now().UTC())
	res, err := db.write.ExecContext(ctx, `INSERT INTO notify_cursors (name, seq, updated_at) SELECT ?, ?, ?
		WHERE ? = 0 AND NOT EXISTS (SELECT 1 FROM notify_cursors WHERE name = ?)
		ON CONFLICT (name) DO NOTHING`, name, to, now, from, name)
	if err != nil {
		return false, db.classify(err, "write a delivery cursor")
	}
	if n, _ := res.RowsAffected(); n == 1 {
		return true, nil
	}
	res, err = db.write.ExecContext(ctx, "UPDATE notify_cursors SET seq = ?, updated_at = ? WHERE name = ? AND seq = ?", to, now, name, from)
	if err != nil {
		return false, db.classify(err, "write a delivery cursor")
	}
	n, err := res.RowsAffected()
	return n == 1, err
}
