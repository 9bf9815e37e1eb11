package sqlite

import (
	"database/sql"
	"errors"

	"github.com/gatehouse-dev/gatehouse/internal/audit"
	"github.com/gatehouse-dev/gatehouse/pkg/gatehouse"
)

// FailureRecord reads the failed-logon count of a user's credential.
func (tx *Tx) FailureRecord(userID int64, credential string) (gatehouse.FailureRecord, error) {
	var r gatehouse.FailureRecord
	var start string
	var locked sql.NullString
	err := tx.tx.QueryRowContext(tx.ctx, "SELECT failures, window_start, locked_until FROM login_failures WHERE user_id = ? AND credential = ?",
		userID, credential).Scan(&r.Failures, &start, &locked)
	if errors.Is(err, sql.ErrNoRows) {
		return r, nil
	}
	r.WindowStart, _ = audit.ParseTime(start)
	r.LockedUntil = parseNullTime(locked)
	return r, err
}

// PutFailureRecord stores a credential's failure count.
func (tx *Tx) PutFailureRecord(userID int64, credential string, r gatehouse.FailureRecord) error {
	var until any
	if !r.LockedUntil.IsZero() {
		until = audit.FormatTime(r.LockedUntil)
	}
	_, err := tx.tx.ExecContext(tx.ctx, `INSERT INTO login_failures (user_id, credential, failures, window_start, locked_until)
		VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (user_id, credential) DO UPDATE SET failures = excluded.failures,
			window_start = excluded.window_start, locked_until = excluded.locked_until`,
		userID, credential, r.Failures, audit.FormatTime(r.WindowStart), until)
	return err
}

// DeleteFailures removes a user's failure records, all or all but *keep's.
func (tx *Tx) DeleteFailures(userID int64, keep *string) (int64, error) {
	q, args := "DELETE FROM login_failures WHERE user_id = ?", []any{userID}
	if keep != nil {
		q, args = q+" AND credential != ?", append(args, *keep)
	}
	res, err := tx.tx.ExecContext(tx.ctx, q, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}
