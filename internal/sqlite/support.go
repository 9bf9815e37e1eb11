package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/audit"
	"github.com/gatehouse-dev/gatehouse/internal/password"
	"github.com/gatehouse-dev/gatehouse/pkg/gatehouse"
)

// Support setting keys.
const (
	settingSupportAccount         = "support.account_name"
	settingSupportTTL             = "support.ttl"
	settingSupportResetAfterUse   = "support.reset_after_use"
	settingSupportEndpoint        = "support.endpoint"
	settingSupportEndpointTimeout = "support.endpoint_timeout"
)

func (tx *Tx) durationSetting(key string, def time.Duration) (time.Duration, error) {
	v, ok, err := tx.Setting(key)
	if err != nil || !ok {
		return def, err
	}
	if v == "" || v == "0" {
		return 0, nil
	}
	return gatehouse.ParseDuration(v)
}

func (tx *Tx) supportSettings() (gatehouse.SupportSettings, error) {
	var s gatehouse.SupportSettings
	name, ok, err := tx.Setting(settingSupportAccount)
	if err != nil {
		return s, err
	}
	if !ok {
		name = gatehouse.DefaultSupportAccountName
	}
	s.AccountName = name
	ttl, err := tx.durationSetting(settingSupportTTL, gatehouse.DefaultSupportTTL)
	if err != nil {
		return s, err
	}
	reset, err := tx.durationSetting(settingSupportResetAfterUse, 0)
	if err != nil {
		return s, err
	}
	timeout, err := tx.durationSetting(settingSupportEndpointTimeout, gatehouse.DefaultEndpointTimeout)
	if err != nil {
		return s, err
	}
	// A value above its bound (stored by an older version) is read as the
	// bound: the shorter window is the safe reading.
	s.TTL = gatehouse.Duration(min(ttl, gatehouse.MaxSupportTTL))
	s.ResetAfterUse = gatehouse.Duration(min(reset, gatehouse.MaxResetAfterUse))
	s.EndpointTimeout = gatehouse.Duration(min(timeout, gatehouse.MaxEndpointTimeout))
	s.Endpoint, _, err = tx.Setting(settingSupportEndpoint)
	return s, err
}

func (tx *Tx) modeAndTenant() (gatehouse.Mode, string, error) {
	mode, _, err := tx.Setting(settingMode)
	if err != nil {
		return "", "", err
	}
	tenant, _, err := tx.Setting(settingTenantID)
	return gatehouse.Mode(mode), tenant, err
}

// SupportState is everything support access decides on, read at once.
type SupportState struct {
	Mode        gatehouse.Mode
	TenantID    string
	Settings    gatehouse.SupportSettings
	Server      gatehouse.ServerAddress
	ServerOK    bool
	Recipients  []gatehouse.Recipient
	Credential  gatehouse.SupportCredential
	AccountID   int64
	LastLogon   time.Time
	LastLogonBy string
	// EnvelopePath and EnvelopeSHA256 describe the live credential's
	// envelope file ("" when it was not written to a file).
	EnvelopePath   string
	EnvelopeSHA256 string
}

// Fingerprints lists the recipients' fingerprints, in the order added.
func (s *SupportState) Fingerprints() []string {
	fps := make([]string, len(s.Recipients))
	for i, r := range s.Recipients {
		fps[i] = r.Fingerprint
	}
	return fps
}

// AccountName is the support account's full name in this store.
func (s *SupportState) AccountName() string {
	return gatehouse.SupportAccountName(s.Settings.AccountName, s.Mode, s.TenantID)
}

func (tx *Tx) supportState() (SupportState, error) {
	var st SupportState
	var err error
	if st.Mode, st.TenantID, err = tx.modeAndTenant(); err != nil {
		return st, err
	}
	if st.Settings, err = tx.supportSettings(); err != nil {
		return st, err
	}
	if st.Server, st.ServerOK, err = tx.serverAddress(); err != nil {
		return st, err
	}
	if st.Recipients, err = tx.recipients(); err != nil {
		return st, err
	}
	c := &st.Credential
	c.AccountName = st.AccountName()
	var enabled int
	var lastAt, lastBy, hash, reqID, issued, expires, first, envPath, envSHA sql.NullString
	var reset sql.NullInt64
	err = tx.tx.QueryRowContext(tx.ctx, `SELECT u.id, u.name, u.enabled, u.last_signin_at, u.last_signin_by,
			c.password_hash, c.request_id, c.issued_at, c.expires_at, c.reset_after_use, c.first_logon_at,
			c.envelope_path, c.envelope_sha256
		FROM users u LEFT JOIN support_credentials c ON c.user_id = u.id
		WHERE u.kind = 'support'`).Scan(&st.AccountID, &c.AccountName, &enabled, &lastAt, &lastBy,
		&hash, &reqID, &issued, &expires, &reset, &first, &envPath, &envSHA)
	if errors.Is(err, sql.ErrNoRows) {
		return st, nil
	}
	if err != nil {
		return st, err
	}
	c.AccountExists, c.Enabled = true, enabled == 1
	st.LastLogon, st.LastLogonBy = parseNullTime(lastAt), lastBy.String
	if hash.Valid {
		c.HasCredential = true
		c.PasswordHash, c.RequestID = hash.String, reqID.String
		c.IssuedAt, c.ExpiresAt, c.FirstLogonAt = parseNullTime(issued), parseNullTime(expires), parseNullTime(first)
		c.ResetAfterUse = time.Duration(reset.Int64) * time.Second
		st.EnvelopePath, st.EnvelopeSHA256 = envPath.String, envSHA.String
	}
	return st, nil
}

func parseNullTime(s sql.NullString) time.Time {
	if !s.Valid {
		return time.Time{}
	}
	t, _ := audit.ParseTime(s.String)
	return t
}

// SupportState reads the support state in one snapshot.
func (db *DB) SupportState(ctx context.Context) (st SupportState, err error) {
	err = db.View(ctx, func(tx *Tx) error {
		st, err = tx.supportState()
		return err
	})
	return st, err
}

// ensureSupportAccount creates the support account (Master role and scope)
// or enables it. It reports what it did.
func (tx *Tx) ensureSupportAccount(st *SupportState, via, actor string) (id int64, created, enabled bool, err error) {
	if st.Credential.AccountExists {
		if !st.Credential.Enabled {
			if _, err := tx.tx.ExecContext(tx.ctx, "UPDATE users SET enabled = 1 WHERE id = ?", st.AccountID); err != nil {
				return 0, false, false, err
			}
			enabled = true
		}
		return st.AccountID, false, enabled, nil
	}
	name := st.AccountName()
	res, err := tx.tx.ExecContext(tx.ctx, `INSERT INTO users (name, kind, enabled, created_at, created_via, created_by, name_skeleton)
		VALUES (?, 'support', 1, ?, ?, ?, ?)`, name, audit.FormatTime(tx.now), via, actor, gatehouse.NameSkeleton(name))
	if err != nil {
		if gatehouse.ErrorCode(tx.db.classify(err, "")) == gatehouse.ECONFLICT {
			return 0, false, false, gatehouse.Errorf(gatehouse.ECONFLICT,
				"a user named %s already exists and is not the support account; set another name with 'gatehouse support configure --account-name'", name)
		}
		return 0, false, false, err
	}
	id, _ = res.LastInsertId()
	for _, q := range []string{
		"INSERT INTO user_roles (user_id, role_id) SELECT ?, id FROM roles WHERE name = 'Master' AND builtin = 1",
		"INSERT INTO user_scopes (user_id, scope_id) SELECT ?, id FROM scopes WHERE name = 'Master' AND builtin = 1",
	} {
		if _, err := tx.tx.ExecContext(tx.ctx, q, id); err != nil {
			return 0, false, false, err
		}
	}
	st.AccountID, st.Credential.AccountExists, st.Credential.Enabled = id, true, true
	return id, true, true, nil
}

// NewCredential is a support credential ready to commit, after its envelope
// was delivered.
type NewCredential struct {
	Actor  string
	Action string // support.request or support.rotate
	Reason string
	// RunBy (rotation) is the --actor of whoever ran the rotation, "" if
	// none was given; the event's actor is system, and its details name
	// the caller (see runBy).
	RunBy string
	// PreviousRequestID is the live credential's request ID when this one
	// was prepared ("" for none). If another credential was committed in
	// between, the commit is refused rather than silently replacing it.
	PreviousRequestID string
	PasswordHash      string
	RequestID         string
	IssuedAt          time.Time
	ExpiresAt         time.Time
	ResetAfterUse     time.Duration
	EnvelopeSHA256    string
	// EnvelopePath is the absolute path of the envelope file, "" if none.
	EnvelopePath string
	Recipients   []string // fingerprints
	DeliveredTo  []string
}

// CommitSupportRequest commits a requested credential: it creates or
// enables the support account and replaces its credential, with the
// support.request event, in one transaction. Only an MSP admin may.
func (db *DB) CommitSupportRequest(ctx context.Context, c NewCredential) (*gatehouse.Event, error) {
	return db.ChangeAsAdmin(ctx, c.Actor, c.Action, "support", func(tx *Tx) (*gatehouse.NewEvent, error) {
		return tx.commitCredential(c, true)
	})
}

// CommitSupportRotation commits a rotated credential. Rotation is
// maintenance (cron) and needs no admin, but it never opens or extends a
// grant: it is refused if the account was disabled or the credential ended
// meanwhile, and the new credential keeps the current one's window — its
// expiry is at most the current effective expiry, and its reset-after-use
// and first-logon time carry over. Only in cloud mode, where the enabled
// account is the standing grant, does a rotation issue a credential when
// there is none.
func (db *DB) CommitSupportRotation(ctx context.Context, c NewCredential) (*gatehouse.Event, error) {
	return db.Change(ctx, func(tx *Tx) (*gatehouse.NewEvent, error) {
		return tx.commitCredential(c, false)
	})
}

func (tx *Tx) commitCredential(c NewCredential, grant bool) (*gatehouse.NewEvent, error) {
	st, err := tx.supportState()
	if err != nil {
		return nil, err
	}
	if st.Credential.RequestID != c.PreviousRequestID {
		return nil, gatehouse.Errorf(gatehouse.ECONFLICT, "the support credential changed while this one was being delivered; nothing was committed, run the command again")
	}
	cur := st.Credential
	expires, reset, firstLogon := c.ExpiresAt, c.ResetAfterUse, time.Time{}
	if !grant {
		switch {
		case !cur.AccountExists || !cur.Enabled:
			return nil, gatehouse.Errorf(gatehouse.ECONFLICT, "the support account was disabled while the new credential was being delivered; nothing was committed")
		case cur.HasCredential && !tx.now.Before(cur.EffectiveExpiry()):
			return nil, gatehouse.Errorf(gatehouse.ECONFLICT, "the support credential expired while the new one was being delivered; nothing was committed (rotation never extends access)")
		case cur.HasCredential:
			// The grant's window carries over, read again here: a first
			// logon during delivery has started the reset-after-use clock.
			if eff := cur.EffectiveExpiry(); eff.Before(expires) {
				expires = eff
			}
			reset, firstLogon = cur.ResetAfterUse, cur.FirstLogonAt
		case st.Mode != gatehouse.ModeCloud:
			return nil, gatehouse.Errorf(gatehouse.ECONFLICT, "there is no support credential to rotate; nothing was committed (rotation never grants access)")
		}
	}
	details := map[string]any{
		"request_id":      c.RequestID,
		"account":         st.AccountName(),
		"expires_at":      audit.FormatTime(expires),
		"recipients":      c.Recipients,
		"envelope_sha256": c.EnvelopeSHA256,
		"delivered_to":    c.DeliveredTo,
	}
	if c.Reason != "" {
		details["reason"] = c.Reason
	}
	if c.PreviousRequestID != "" {
		details["replaces_request_id"] = c.PreviousRequestID
	}
	if reset > 0 {
		details["reset_after_use"] = gatehouse.FormatDuration(reset)
	}
	if grant {
		_, created, enabled, err := tx.ensureSupportAccount(&st, c.Action, tx.recordedActor(c.Actor))
		if err != nil {
			return nil, err
		}
		details["account_created"], details["account_enabled"] = created, enabled
	} else {
		details["run_by"] = tx.runBy(c.RunBy)
		if !firstLogon.IsZero() {
			details["first_logon_at"] = audit.FormatTime(firstLogon)
		}
	}
	var first any
	if !firstLogon.IsZero() {
		first = audit.FormatTime(firstLogon)
	}
	_, err = tx.tx.ExecContext(tx.ctx, `INSERT INTO support_credentials
			(user_id, password_hash, request_id, issued_at, expires_at, reset_after_use, first_logon_at, envelope_sha256, envelope_path)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (user_id) DO UPDATE SET password_hash = excluded.password_hash, request_id = excluded.request_id,
			issued_at = excluded.issued_at, expires_at = excluded.expires_at, reset_after_use = excluded.reset_after_use,
			first_logon_at = excluded.first_logon_at, envelope_sha256 = excluded.envelope_sha256, envelope_path = excluded.envelope_path`,
		st.AccountID, c.PasswordHash, c.RequestID, audit.FormatTime(c.IssuedAt), audit.FormatTime(expires),
		int64(reset/time.Second), first, c.EnvelopeSHA256, c.EnvelopePath)
	if err != nil {
		return nil, err
	}
	return &gatehouse.NewEvent{Actor: c.Actor, Action: c.Action, Target: st.AccountName(),
		Outcome: gatehouse.OutcomeSuccess, Details: details}, nil
}

// runBy names who ran maintenance whose event's actor is system (rotate,
// sweep, ensure): the OS user, as the event's os_user also records, and
// the --actor given, if any. Both are attribution: the OS user is the real
// user ID's name, the actor whatever the caller typed (docs/security.md).
func (tx *Tx) runBy(actor string) map[string]string {
	m := map[string]string{"os_user": tx.db.osUser}
	if actor != "" {
		m["actor"] = actor
	}
	return m
}

// RevokeSupport disables the support account and deletes its credential.
// It reports false when there was nothing to revoke.
func (db *DB) RevokeSupport(ctx context.Context, actor, reason string) (bool, error) {
	ev, err := db.ChangeAsAdmin(ctx, actor, "support.revoke", "support", func(tx *Tx) (*gatehouse.NewEvent, error) {
		st, err := tx.supportState()
		if err != nil {
			return nil, err
		}
		c := st.Credential
		if !c.AccountExists || (!c.Enabled && !c.HasCredential) {
			return nil, nil
		}
		if err := tx.disableSupport(st.AccountID, true); err != nil {
			return nil, err
		}
		details := map[string]any{"request_id": c.RequestID, "had_credential": c.HasCredential}
		if reason != "" {
			details["reason"] = reason
		}
		return &gatehouse.NewEvent{Actor: actor, Action: "support.revoke", Target: st.AccountName(),
			Outcome: gatehouse.OutcomeSuccess, Details: details}, nil
	})
	return ev != nil, err
}

func (tx *Tx) disableSupport(id int64, disable bool) error {
	if _, err := tx.tx.ExecContext(tx.ctx, "DELETE FROM support_credentials WHERE user_id = ?", id); err != nil {
		return err
	}
	if disable {
		_, err := tx.tx.ExecContext(tx.ctx, "UPDATE users SET enabled = 0 WHERE id = ?", id)
		return err
	}
	return nil
}

// SweepSupport ends an expired credential: on-prem it disables the support
// account too; in cloud mode the account stays enabled (it exists by
// default) and only the dead credential is removed. It reports whether it
// acted. runBy is the --actor of whoever ran it ("" if none).
func (db *DB) SweepSupport(ctx context.Context, runBy string) (bool, error) {
	ev, err := db.Change(ctx, func(tx *Tx) (*gatehouse.NewEvent, error) {
		st, err := tx.supportState()
		if err != nil {
			return nil, err
		}
		c := st.Credential
		if !c.HasCredential || tx.now.Before(c.EffectiveExpiry()) {
			return nil, nil
		}
		disable := st.Mode != gatehouse.ModeCloud
		if err := tx.disableSupport(st.AccountID, disable); err != nil {
			return nil, err
		}
		return &gatehouse.NewEvent{Actor: gatehouse.ActorSystem, Action: "support.sweep", Target: st.AccountName(),
			Outcome: gatehouse.OutcomeSuccess, Details: map[string]any{
				"reason": "credential_expired", "request_id": c.RequestID,
				"expired_at": audit.FormatTime(c.EffectiveExpiry()), "account_disabled": disable,
				"run_by": tx.runBy(runBy),
			}}, nil
	})
	return ev != nil, err
}

// SupportEnsured is what EnsureSupport did.
type SupportEnsured struct {
	// Done is false when the account existed and was enabled.
	Done bool
	// RevokeSeq, when not zero, is the sequence number of the admin's
	// support.revoke event that this re-enabling undid.
	RevokeSeq int64
}

// EnsureSupport re-creates or re-enables the cloud support account, as
// actor system, recording reason and who ran it (runBy: the --actor given,
// "" if none). Re-enabling an account an admin revoked is recorded as its
// own action, support.reenable, naming the revoke event, so a review sees
// an admin's decision being undone; anything else is support.ensure.
func (db *DB) EnsureSupport(ctx context.Context, runBy, reason string) (SupportEnsured, error) {
	var out SupportEnsured
	_, err := db.Change(ctx, func(tx *Tx) (*gatehouse.NewEvent, error) {
		out = SupportEnsured{}
		st, err := tx.supportState()
		if err != nil {
			return nil, err
		}
		if st.Mode != gatehouse.ModeCloud {
			return nil, gatehouse.Errorf(gatehouse.EINVALID, "support ensure is for cloud mode; on-prem, support access is granted by 'gatehouse support request'")
		}
		_, created, enabled, err := tx.ensureSupportAccount(&st, "support.ensure", gatehouse.ActorSystem)
		if err != nil || (!created && !enabled) {
			return nil, err
		}
		out.Done = true
		action := "support.ensure"
		details := map[string]any{"reason": reason, "account_created": created, "account_enabled": enabled,
			"run_by": tx.runBy(runBy)}
		if enabled && !created {
			seq, by, err := tx.lastSupportRevoke()
			if err != nil {
				return nil, err
			}
			if seq != 0 {
				action, out.RevokeSeq = "support.reenable", seq
				details["undoes_revoke_seq"], details["revoked_by"] = seq, by
			}
		}
		return &gatehouse.NewEvent{Actor: gatehouse.ActorSystem, Action: action, Target: st.AccountName(),
			Outcome: gatehouse.OutcomeSuccess, Details: details}, nil
	})
	return out, err
}

// lastSupportRevoke finds the admin's revoke that left the account
// disabled: the latest successful support.revoke, if no ensure or
// re-enable came after it. It returns 0 when there is none. The scan runs
// backwards from the newest event and stops at the first match.
func (tx *Tx) lastSupportRevoke() (seq int64, actor string, err error) {
	var action string
	err = tx.tx.QueryRowContext(tx.ctx, `SELECT seq, actor, action FROM audit_events
		WHERE action IN ('support.revoke', 'support.ensure', 'support.reenable') AND outcome = 'success'
		ORDER BY seq DESC LIMIT 1`).Scan(&seq, &actor, &action)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && action != "support.revoke") {
		return 0, "", nil
	}
	return seq, actor, err
}

// SupportLogon verifies a technician's logon with the support password and
// records the decision, success or refusal, as one support.logon event.
// The argon2id check runs outside any transaction, so a logon never holds
// the write lock while hashing; the decision is then re-taken on the state
// inside the transaction, so a credential revoked or replaced meanwhile is
// refused.
func (db *DB) SupportLogon(ctx context.Context, technician string, pw []byte) (gatehouse.SupportLogonResult, error) {
	if err := gatehouse.ValidateTechnician(technician); err != nil {
		return gatehouse.SupportLogonResult{}, err
	}
	st, err := db.SupportState(ctx)
	if err != nil {
		return gatehouse.SupportLogonResult{}, err
	}
	// A locked credential's password is not judged (see LocalLogin).
	lockedID := ""
	if st.Credential.HasCredential {
		locked, err := db.lockedNow(ctx, st.AccountID, st.Credential.RequestID)
		if err != nil {
			return gatehouse.SupportLogonResult{}, err
		}
		if locked {
			lockedID = st.Credential.RequestID
		}
	}
	verified := ""
	if st.Credential.HasCredential && lockedID == "" {
		ok, err := password.Verify(st.Credential.PasswordHash, pw)
		if err != nil {
			return gatehouse.SupportLogonResult{}, gatehouse.Wrap(gatehouse.EUNAVAILABLE, err, "the stored support credential is damaged; issue a new one with 'gatehouse support request'")
		}
		if ok {
			verified = st.Credential.RequestID
		}
	} else {
		password.VerifyDummy(pw)
	}
	var res gatehouse.SupportLogonResult
	_, err = db.Change(ctx, func(tx *Tx) (*gatehouse.NewEvent, error) {
		st, err := tx.supportState()
		if err != nil {
			return nil, err
		}
		c := st.Credential
		passwordOK := verified != "" && verified == c.RequestID
		reason := gatehouse.DecideSupportLogon(&c, passwordOK, tx.now)
		// Failures are keyed on the credential, not the account: they lock
		// only the credential attacked, and a new one is not locked.
		details := map[string]any{"technician": technician}
		verdict := map[gatehouse.LogonReason]passwordVerdict{gatehouse.LogonOK: passwordRight, gatehouse.LogonWrongPassword: passwordWrong}[reason]
		if lockedID != "" && lockedID == c.RequestID && verdict != passwordNotJudged {
			verdict = passwordLocked
		}
		if nowLocked, err := tx.throttle(st.AccountID, c.RequestID, verdict, details); err != nil {
			return nil, err
		} else if nowLocked {
			reason = gatehouse.LogonLocked
		}
		details["reason"] = string(reason)
		res = gatehouse.SupportLogonResult{Account: c.AccountName, Technician: technician,
			Allowed: reason == gatehouse.LogonOK, Reason: reason, Time: tx.now}
		if c.HasCredential {
			details["request_id"] = c.RequestID
		}
		outcome := gatehouse.OutcomeDenied
		if res.Allowed {
			outcome = gatehouse.OutcomeSuccess
			if c.FirstLogonAt.IsZero() {
				c.FirstLogonAt = tx.now
				if _, err := tx.tx.ExecContext(tx.ctx, "UPDATE support_credentials SET first_logon_at = ? WHERE user_id = ?",
					audit.FormatTime(tx.now), st.AccountID); err != nil {
					return nil, err
				}
				details["first_logon"] = true
			}
			if _, err := tx.tx.ExecContext(tx.ctx, "UPDATE users SET last_signin_at = ?, last_signin_by = ? WHERE id = ?",
				audit.FormatTime(tx.now), technician, st.AccountID); err != nil {
				return nil, err
			}
			exp := c.EffectiveExpiry()
			res.ExpiresAt = &exp
			details["expires_at"] = audit.FormatTime(exp)
		}
		return &gatehouse.NewEvent{Actor: technician, Action: "support.logon", Target: c.AccountName,
			Outcome: outcome, Details: details}, nil
	})
	return res, err
}

// ConfigureSupport validates and records support settings, as one audited
// change. Renaming the account renames an existing support account in the
// same transaction. It returns the settings in force and whether anything
// changed.
func (db *DB) ConfigureSupport(ctx context.Context, actor string, u gatehouse.SupportUpdate) (gatehouse.SupportSettings, bool, error) {
	var out gatehouse.SupportSettings
	ev, err := db.ChangeAsAdmin(ctx, actor, "support.configure", "support", func(tx *Tx) (*gatehouse.NewEvent, error) {
		st, err := tx.supportState()
		if err != nil {
			return nil, err
		}
		cur := st.Settings
		next := cur
		changes := map[string]any{}
		set := func(key, text string) error {
			changes[key] = text
			return tx.SetSetting(key, text)
		}
		if u.AccountName != nil && *u.AccountName != cur.AccountName {
			if err := gatehouse.ValidateAccountName(*u.AccountName); err != nil {
				return nil, err
			}
			next.AccountName = *u.AccountName
			if err := set(settingSupportAccount, next.AccountName); err != nil {
				return nil, err
			}
			if st.Credential.AccountExists {
				name := gatehouse.SupportAccountName(next.AccountName, st.Mode, st.TenantID)
				if _, err := tx.tx.ExecContext(tx.ctx, "UPDATE users SET name = ?, name_skeleton = ? WHERE id = ?", name, gatehouse.NameSkeleton(name), st.AccountID); err != nil {
					if gatehouse.ErrorCode(tx.db.classify(err, "")) == gatehouse.ECONFLICT {
						return nil, gatehouse.Errorf(gatehouse.ECONFLICT, "a user named %s already exists", name)
					}
					return nil, err
				}
				changes["renamed_account"] = name
			}
		}
		durations := []struct {
			key      string
			in       *time.Duration
			cur      *gatehouse.Duration
			min, max time.Duration
		}{
			{settingSupportTTL, u.TTL, &next.TTL, gatehouse.MinSupportTTL, gatehouse.MaxSupportTTL},
			{settingSupportResetAfterUse, u.ResetAfterUse, &next.ResetAfterUse, gatehouse.MinResetAfterUse, gatehouse.MaxResetAfterUse},
			{settingSupportEndpointTimeout, u.EndpointTimeout, &next.EndpointTimeout, gatehouse.MinEndpointTimeout, gatehouse.MaxEndpointTimeout},
		}
		for _, d := range durations {
			if d.in == nil || gatehouse.Duration(*d.in) == *d.cur {
				continue
			}
			// Zero turns reset-after-use off; the CLI never passes zero otherwise.
			if *d.in != 0 && *d.in < d.min {
				return nil, gatehouse.Errorf(gatehouse.EINVALID, "invalid %s %s: at least %s", d.key, gatehouse.FormatDuration(*d.in), gatehouse.FormatDuration(d.min))
			}
			if *d.in > d.max {
				return nil, gatehouse.Errorf(gatehouse.EINVALID, "invalid %s %s: at most %s", d.key, gatehouse.FormatDuration(*d.in), gatehouse.FormatDuration(d.max))
			}
			*d.cur = gatehouse.Duration(*d.in)
			text := ""
			if *d.in > 0 {
				text = gatehouse.FormatDuration(*d.in)
			}
			if err := set(d.key, text); err != nil {
				return nil, err
			}
		}
		if u.Endpoint != nil {
			ep, err := gatehouse.ParseSupportEndpoint(*u.Endpoint)
			if err != nil {
				return nil, err
			}
			if ep != cur.Endpoint {
				next.Endpoint = ep
				if err := set(settingSupportEndpoint, ep); err != nil {
					return nil, err
				}
			}
		}
		out = next
		if len(changes) == 0 {
			return nil, nil
		}
		return &gatehouse.NewEvent{Actor: actor, Action: "support.configure", Target: "support",
			Outcome: gatehouse.OutcomeSuccess, Details: changes}, nil
	})
	if err == nil && ev == nil {
		st, err := db.SupportState(ctx)
		return st.Settings, false, err
	}
	return out, ev != nil, err
}
