package postgres

import (
	"github.com/gatehouse-dev/gatehouse/internal/audit"
	"github.com/gatehouse-dev/gatehouse/pkg/gatehouse"
	"github.com/jackc/pgx/v5"
)

// Attempts returns the latest attempts (newest first, at most limit) whose
// subject is subject or whose email is email (when not "").
func (v *View) Attempts(subject, email string, limit int) ([]gatehouse.SignInAttempt, error) {
	rows, err := v.query(`SELECT time, issuer, subject, email, email_verified, in_idp, auth_complete,
			auth_expired, decision, reason, verified, detail FROM sso_attempts
		WHERE tenant_id = $1 AND (subject = $2 OR (email = $3 AND email <> ''))
		ORDER BY id DESC LIMIT $4`, subject, email, limit)
	if err != nil {
		return nil, classify(err, "read the sign-in attempts")
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (gatehouse.SignInAttempt, error) {
		var a gatehouse.SignInAttempt
		var t string
		err := r.Scan(&t, &a.Issuer, &a.Subject, &a.Email, &a.EmailVerified, &a.InIdP, &a.AuthComplete,
			&a.AuthExpired, &a.Decision, &a.Reason, &a.Verified, &a.Detail)
		a.Time, _ = audit.ParseTime(t)
		return a, err
	})
	if out == nil {
		out = []gatehouse.SignInAttempt{}
	}
	return out, classify(err, "read the sign-in attempts")
}

// InsertAttempt records an SSO sign-in attempt at a.Time (the
// transaction's time when zero), with the tenant's next attempt ID (userID
// 0: no account).
func (tx *Tx) InsertAttempt(a gatehouse.SignInAttempt, userID int64) error {
	at := a.Time
	if at.IsZero() {
		at = tx.now
	}
	var uid any
	if userID != 0 {
		uid = userID
	}
	_, err := tx.exec(`INSERT INTO sso_attempts (tenant_id, id, time, issuer, subject, email, email_verified,
			in_idp, auth_complete, auth_expired, decision, reason, user_id, verified, detail)
		VALUES ($1, (SELECT coalesce(max(id), 0) + 1 FROM sso_attempts WHERE tenant_id = $1), $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
		audit.FormatTime(at), a.Issuer, a.Subject, a.Email, a.EmailVerified, a.InIdP, a.AuthComplete,
		a.AuthExpired, a.Decision, a.Reason, uid, a.Verified, a.Detail)
	return classify(err, "record the sign-in attempt")
}
