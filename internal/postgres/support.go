package postgres

import (
	"errors"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/audit"
	"github.com/gatehouse-dev/gatehouse/pkg/gatehouse"
	"github.com/jackc/pgx/v5"
)

// SupportAccount reads the support account and its live credential.
func (v *View) SupportAccount() (gatehouse.SupportAccountRow, bool, error) {
	var a gatehouse.SupportAccountRow
	var lastAt, lastBy, hash, reqID, issued, expires, first, envPath, envSHA *string
	var reset *int64
	err := v.queryRow(`SELECT u.id, u.name, u.enabled, u.last_signin_at, u.last_signin_by,
			c.password_hash, c.request_id, c.issued_at, c.expires_at, c.reset_after_use, c.first_logon_at,
			c.envelope_path, c.envelope_sha256
		FROM users u LEFT JOIN support_credentials c ON c.tenant_id = u.tenant_id AND c.user_id = u.id
		WHERE u.tenant_id = $1 AND u.kind = 'support'`).Scan(&a.ID, &a.Name, &a.Enabled, &lastAt, &lastBy,
		&hash, &reqID, &issued, &expires, &reset, &first, &envPath, &envSHA)
	if errors.Is(err, pgx.ErrNoRows) {
		return a, false, nil
	}
	if err != nil {
		return a, false, classify(err, "read the support account")
	}
	a.LastSignInAt = parseTimePtr(lastAt)
	if lastBy != nil {
		a.LastSignInBy = *lastBy
	}
	if hash != nil {
		a.Credential = &gatehouse.CredentialRow{
			PasswordHash:   *hash,
			RequestID:      *reqID,
			IssuedAt:       parseTimePtr(issued),
			ExpiresAt:      parseTimePtr(expires),
			ResetAfterUse:  time.Duration(*reset) * time.Second,
			FirstLogonAt:   parseTimePtr(first),
			EnvelopeSHA256: *envSHA,
			EnvelopePath:   *envPath,
		}
	}
	return a, true, nil
}

// PutSupportCredential replaces the support account's credential. A
// request ID already used is ECONFLICT, and the transaction goes on.
func (tx *Tx) PutSupportCredential(userID int64, c gatehouse.CredentialRow) error {
	_, err := tx.guarded("store the support credential", `INSERT INTO support_credentials
			(tenant_id, user_id, password_hash, request_id, issued_at, expires_at, reset_after_use, first_logon_at, envelope_sha256, envelope_path)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
		ON CONFLICT (tenant_id, user_id) DO UPDATE SET password_hash = excluded.password_hash, request_id = excluded.request_id,
			issued_at = excluded.issued_at, expires_at = excluded.expires_at, reset_after_use = excluded.reset_after_use,
			first_logon_at = excluded.first_logon_at, envelope_sha256 = excluded.envelope_sha256, envelope_path = excluded.envelope_path`,
		userID, c.PasswordHash, c.RequestID, audit.FormatTime(c.IssuedAt), audit.FormatTime(c.ExpiresAt),
		int64(c.ResetAfterUse/time.Second), formatTimeOrNull(c.FirstLogonAt), c.EnvelopeSHA256, c.EnvelopePath)
	return err
}

// DeleteSupportCredential removes the support credential; false when there
// was none.
func (tx *Tx) DeleteSupportCredential(userID int64) (bool, error) {
	tag, err := tx.exec("DELETE FROM support_credentials WHERE tenant_id = $1 AND user_id = $2", userID)
	return tag.RowsAffected() == 1, classify(err, "remove the support credential")
}

// SetFirstLogon records the credential's first technician logon.
func (tx *Tx) SetFirstLogon(userID int64, at time.Time) error {
	_, err := tx.exec("UPDATE support_credentials SET first_logon_at = $3 WHERE tenant_id = $1 AND user_id = $2",
		userID, audit.FormatTime(at))
	return classify(err, "record the first logon")
}

// LatestEvent returns the newest successful event whose action is one of
// actions.
func (v *View) LatestEvent(actions ...string) (gatehouse.EventRef, bool, error) {
	var ev gatehouse.EventRef
	err := v.queryRow(`SELECT seq, actor, action FROM audit_events
		WHERE tenant_id = $1 AND action = ANY($2) AND outcome = 'success'
		ORDER BY seq DESC LIMIT 1`, actions).Scan(&ev.Seq, &ev.Actor, &ev.Action)
	if errors.Is(err, pgx.ErrNoRows) {
		return ev, false, nil
	}
	return ev, err == nil, classify(err, "read the audit trail")
}

// EnvelopeIssued reports whether a successful support.request or
// support.rotate event recorded this envelope SHA-256 (hex). Details are
// JSON text; one that does not parse (an edited row) matches nothing.
func (v *View) EnvelopeIssued(sha256Hex string) (bool, error) {
	var ok bool
	err := v.queryRow(`SELECT EXISTS (SELECT 1 FROM audit_events
		WHERE tenant_id = $1 AND action IN ('support.request', 'support.rotate') AND outcome = 'success'
		AND details LIKE '%' || $2 || '%'
		AND CASE WHEN details LIKE '{%}' THEN details::jsonb ->> 'envelope_sha256' END = $2)`, sha256Hex).Scan(&ok)
	return ok, classify(err, "read the audit trail")
}
