package sqlite

import (
	"github.com/gatehouse-dev/gatehouse/internal/audit"
	"github.com/gatehouse-dev/gatehouse/pkg/gatehouse"
)

const qInsertAttempt = `INSERT INTO sso_attempts (time, issuer, subject, email, email_verified,
		in_idp, auth_complete, auth_expired, decision, reason, user_id, verified, detail)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

// InsertAttempt records an SSO sign-in attempt.
func (tx *Tx) InsertAttempt(a gatehouse.SignInAttempt, userID int64) error {
	var uid any
	if userID != 0 {
		uid = userID
	}
	_, err := tx.exec(qInsertAttempt, audit.FormatTime(a.Time), a.Issuer, a.Subject, a.Email, a.EmailVerified, a.InIdP,
		a.AuthComplete, a.AuthExpired, a.Decision, a.Reason, uid, a.Verified, a.Detail)
	return err
}

// Attempts returns the latest attempts by subject or email, newest first.
func (tx *Tx) Attempts(subject, email string, limit int) ([]gatehouse.SignInAttempt, error) {
	rows, err := tx.tx.QueryContext(tx.ctx, `SELECT time, issuer, subject, email, email_verified, in_idp, auth_complete,
			auth_expired, decision, reason, verified, detail FROM sso_attempts WHERE subject = ? OR (email = ? AND email != '')
		ORDER BY id DESC LIMIT ?`, subject, email, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []gatehouse.SignInAttempt
	for rows.Next() {
		var a gatehouse.SignInAttempt
		var t string
		if err := rows.Scan(&t, &a.Issuer, &a.Subject, &a.Email, &a.EmailVerified, &a.InIdP, &a.AuthComplete,
			&a.AuthExpired, &a.Decision, &a.Reason, &a.Verified, &a.Detail); err != nil {
			return nil, err
		}
		a.Time, _ = audit.ParseTime(t)
		out = append(out, a)
	}
	return out, rows.Err()
}
