package postgres

import (
	"errors"

	"github.com/gatehouse-dev/gatehouse/internal/audit"
	"github.com/gatehouse-dev/gatehouse/pkg/gatehouse"
	"github.com/jackc/pgx/v5"
)

// FailureRecord reads the failed-logon count of a user's credential ("" is
// the local password); no record is a zero FailureRecord.
func (v *View) FailureRecord(userID int64, credential string) (gatehouse.FailureRecord, error) {
	var r gatehouse.FailureRecord
	var start string
	var locked *string
	err := v.queryRow(`SELECT failures, window_start, locked_until FROM login_failures
		WHERE tenant_id = $1 AND user_id = $2 AND credential = $3`, userID, credential).Scan(&r.Failures, &start, &locked)
	if errors.Is(err, pgx.ErrNoRows) {
		return gatehouse.FailureRecord{}, nil
	}
	if err != nil {
		return gatehouse.FailureRecord{}, classify(err, "read the failed logons")
	}
	r.WindowStart, _ = audit.ParseTime(start)
	r.LockedUntil = parseTimePtr(locked)
	return r, nil
}

// PutFailureRecord stores a credential's failure count.
func (tx *Tx) PutFailureRecord(userID int64, credential string, r gatehouse.FailureRecord) error {
	_, err := tx.exec(`INSERT INTO login_failures (tenant_id, user_id, credential, failures, window_start, locked_until)
		VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (tenant_id, user_id, credential) DO UPDATE SET failures = excluded.failures,
			window_start = excluded.window_start, locked_until = excluded.locked_until`,
		userID, credential, r.Failures, audit.FormatTime(r.WindowStart), formatTimeOrNull(r.LockedUntil))
	return classify(err, "record the failed logon")
}

// DeleteFailures removes a user's failure records: all of them when keep is
// nil, else all but the one of credential *keep. It returns how many it
// removed.
func (tx *Tx) DeleteFailures(userID int64, keep *string) (int64, error) {
	q, args := "DELETE FROM login_failures WHERE tenant_id = $1 AND user_id = $2", []any{userID}
	if keep != nil {
		q, args = q+" AND credential <> $3", append(args, *keep)
	}
	tag, err := tx.exec(q, args...)
	return tag.RowsAffected(), classify(err, "clear the failed logons")
}
