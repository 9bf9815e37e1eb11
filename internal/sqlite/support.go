package sqlite

import (
	"database/sql"
	"errors"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/audit"
	"github.com/gatehouse-dev/gatehouse/pkg/gatehouse"
)

// SupportAccount reads the support account and its live credential.
func (tx *Tx) SupportAccount() (gatehouse.SupportAccountRow, bool, error) {
	var a gatehouse.SupportAccountRow
	var lastAt, lastBy, hash, reqID, issued, expires, first, envPath, envSHA sql.NullString
	var reset sql.NullInt64
	err := tx.tx.QueryRowContext(tx.ctx, `SELECT u.id, u.name, u.enabled, u.last_signin_at, u.last_signin_by,
			c.password_hash, c.request_id, c.issued_at, c.expires_at, c.reset_after_use, c.first_logon_at,
			c.envelope_path, c.envelope_sha256
		FROM users u LEFT JOIN support_credentials c ON c.user_id = u.id
		WHERE u.kind = 'support'`).Scan(&a.ID, &a.Name, &a.Enabled, &lastAt, &lastBy,
		&hash, &reqID, &issued, &expires, &reset, &first, &envPath, &envSHA)
	if errors.Is(err, sql.ErrNoRows) {
		return a, false, nil
	}
	if err != nil {
		return a, false, err
	}
	a.LastSignInAt, a.LastSignInBy = parseNullTime(lastAt), lastBy.String
	if hash.Valid {
		a.Credential = &gatehouse.CredentialRow{
			PasswordHash: hash.String, RequestID: reqID.String,
			IssuedAt: parseNullTime(issued), ExpiresAt: parseNullTime(expires), FirstLogonAt: parseNullTime(first),
			ResetAfterUse:  time.Duration(reset.Int64) * time.Second,
			EnvelopePath:   envPath.String,
			EnvelopeSHA256: envSHA.String,
		}
	}
	return a, true, nil
}

// PutSupportCredential replaces the support account's credential.
func (tx *Tx) PutSupportCredential(userID int64, c gatehouse.CredentialRow) error {
	var first any
	if !c.FirstLogonAt.IsZero() {
		first = audit.FormatTime(c.FirstLogonAt)
	}
	_, err := tx.tx.ExecContext(tx.ctx, `INSERT INTO support_credentials
			(user_id, password_hash, request_id, issued_at, expires_at, reset_after_use, first_logon_at, envelope_sha256, envelope_path)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (user_id) DO UPDATE SET password_hash = excluded.password_hash, request_id = excluded.request_id,
			issued_at = excluded.issued_at, expires_at = excluded.expires_at, reset_after_use = excluded.reset_after_use,
			first_logon_at = excluded.first_logon_at, envelope_sha256 = excluded.envelope_sha256, envelope_path = excluded.envelope_path`,
		userID, c.PasswordHash, c.RequestID, audit.FormatTime(c.IssuedAt), audit.FormatTime(c.ExpiresAt),
		int64(c.ResetAfterUse/time.Second), first, c.EnvelopeSHA256, c.EnvelopePath)
	return tx.db.classify(err, "store the support credential")
}

// DeleteSupportCredential removes the support account's credential.
func (tx *Tx) DeleteSupportCredential(userID int64) (bool, error) {
	return tx.affected("DELETE FROM support_credentials WHERE user_id = ?", userID)
}

// SetFirstLogon records the credential's first technician logon.
func (tx *Tx) SetFirstLogon(userID int64, at time.Time) error {
	_, err := tx.tx.ExecContext(tx.ctx, "UPDATE support_credentials SET first_logon_at = ? WHERE user_id = ?", audit.FormatTime(at), userID)
	return err
}
