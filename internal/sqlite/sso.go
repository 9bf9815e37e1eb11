package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"strconv"

	"github.com/gatehouse-dev/gatehouse/internal/audit"
	"github.com/gatehouse-dev/gatehouse/internal/password"
	"github.com/gatehouse-dev/gatehouse/pkg/gatehouse"
)

// Statements of the sign-in gate, prepared once (see hotStatements).
const (
	qSSOFlags       = "SELECT key, value FROM settings WHERE key IN (?, ?, ?, ?)"
	qUserByIdentity = "SELECT id, name, enabled FROM users WHERE sso_issuer = ? AND sso_subject = ?"
	// A user name equal to the email would collide with the new account's
	// name: that is the same conflict as a taken email.
	qEmailTaken = "SELECT count(*) FROM users WHERE email = ? OR name = ?"
	// An account name confusable with an existing one (the same
	// gatehouse.NameSkeleton) is refused: see DecideSignIn.
	qNameConfusable = "SELECT count(*) FROM users WHERE name_skeleton = ?"
	qTouchSSOSignIn = "UPDATE users SET last_signin_at = ?, last_signin_by = 'sso' WHERE id = ?"
	qInsertSSOUser  = `INSERT INTO users (name, kind, email, created_at, created_via, created_by,
			last_signin_at, last_signin_by, sso_issuer, sso_subject, name_skeleton)
		VALUES (?, 'sso', ?, ?, 'auto', ?, ?, 'sso', ?, ?, ?)`
	qInsertAttempt = `INSERT INTO sso_attempts (time, issuer, subject, email, email_verified,
			in_idp, auth_complete, auth_expired, decision, reason, user_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
)

// The SSO flags SetSSOFlag changes.
const (
	SettingSSOAllow      = settingSSOAllow
	SettingSSORequire    = settingSSORequire
	SettingSSOAutoCreate = settingSSOAutoCreate
)

const (
	settingSSOAllow      = "sso.allow"
	settingSSORequire    = "sso.require"
	settingSSOAutoCreate = "sso.auto_create"
	settingSSOIssuer     = "sso.issuer"
)

// ssoFlags reads allow, require, auto_create and the issuer in one query:
// the sign-in gate runs on every sign-in and needs nothing else.
func (tx *Tx) ssoFlags() (gatehouse.SSOSettings, error) {
	var s gatehouse.SSOSettings
	rows, err := tx.query(qSSOFlags, settingSSOAllow, settingSSORequire, settingSSOAutoCreate, settingSSOIssuer)
	if err != nil {
		return s, err
	}
	defer rows.Close()
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			return s, err
		}
		switch k {
		case settingSSOAllow:
			s.Allow = v == "true"
		case settingSSORequire:
			s.Require = v == "true"
		case settingSSOAutoCreate:
			s.AutoCreate = v == "true"
		case settingSSOIssuer:
			s.Issuer = v
		}
	}
	return s, rows.Err()
}

// ssoSettings reads every SSO setting, the exempt users included.
func (tx *Tx) ssoSettings() (gatehouse.SSOSettings, error) {
	s, err := tx.ssoFlags()
	if err != nil {
		return s, err
	}
	// CROSS JOIN keeps the few exemptions as the outer loop; left to itself
	// the planner walks every user in name order to avoid a small sort.
	rows, err := tx.tx.QueryContext(tx.ctx, "SELECT u.name FROM sso_exemptions e CROSS JOIN users u ON u.id = e.user_id ORDER BY u.name")
	if err != nil {
		return s, err
	}
	defer rows.Close()
	s.Exempt = []string{}
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return s, err
		}
		s.Exempt = append(s.Exempt, n)
	}
	return s, rows.Err()
}

// SSOSettings reads the SSO settings.
func (db *DB) SSOSettings(ctx context.Context) (s gatehouse.SSOSettings, err error) {
	err = db.View(ctx, func(tx *Tx) error {
		s, err = tx.ssoSettings()
		return err
	})
	return s, err
}

// SetSSOFlag changes one of the allow, require and auto_create settings.
// Rules: auto-create and require need SSO allowed; SSO cannot be turned off
// while it is required (nobody but the exempt could log in). Turning SSO
// off keeps auto_create as it is, inert until SSO is allowed again.
// Changing a setting alters no account.
func (db *DB) SetSSOFlag(ctx context.Context, actor, key string, on bool) (bool, error) {
	action := map[string]string{settingSSOAllow: "sso.allow", settingSSORequire: "sso.require", settingSSOAutoCreate: "sso.auto_create"}[key]
	ev, err := db.ChangeAsAdmin(ctx, actor, action, "sso", func(tx *Tx) (*gatehouse.NewEvent, error) {
		s, err := tx.ssoSettings()
		if err != nil {
			return nil, err
		}
		cur := map[string]bool{settingSSOAllow: s.Allow, settingSSORequire: s.Require, settingSSOAutoCreate: s.AutoCreate}[key]
		if cur == on {
			return nil, nil
		}
		switch {
		case key == settingSSOAutoCreate && on && !s.Allow:
			return nil, gatehouse.Errorf(gatehouse.EINVALID, "automatic user creation needs SSO allowed: run 'gatehouse sso allow on' first")
		case key == settingSSORequire && on && !s.Allow:
			return nil, gatehouse.Errorf(gatehouse.EINVALID, "SSO cannot be required while it is not allowed: run 'gatehouse sso allow on' first")
		case key == settingSSOAllow && !on && s.Require:
			return nil, gatehouse.Errorf(gatehouse.EINVALID, "SSO is required: turn that off first ('gatehouse sso require off'), or nobody but the exempt users could log in")
		case key == settingSSORequire && on:
			n, err := tx.breakGlassAdmins()
			if err != nil {
				return nil, err
			}
			if n == 0 {
				return nil, gatehouse.Errorf(gatehouse.ECONFLICT, "SSO cannot be required while no enabled MSP admin can log in locally: give one a password ('gatehouse users passwd ADMIN') and exempt it ('gatehouse sso exempt add ADMIN') first")
			}
		}
		if err := tx.SetSetting(key, strconv.FormatBool(on)); err != nil {
			return nil, err
		}
		details := map[string]any{"from": cur, "to": on}
		if key == settingSSOAllow && !on && s.AutoCreate {
			details["auto_create_inert"] = true
		}
		return &gatehouse.NewEvent{Actor: actor, Action: action, Target: "sso", Outcome: gatehouse.OutcomeSuccess, Details: details}, nil
	})
	return ev != nil, err
}

// breakGlassSQL selects the break-glass admins: enabled local MSP admins
// with a password, exempt from required SSO — those who can still log in
// when the identity provider fails.
const breakGlassSQL = `SELECT u.id FROM sso_exemptions e CROSS JOIN users u ON u.id = e.user_id
	WHERE u.msp_admin = 1 AND u.enabled = 1 AND u.kind = 'local' AND u.password_hash IS NOT NULL`

// breakGlassAdmins counts the break-glass admins.
func (tx *Tx) breakGlassAdmins() (int, error) {
	var n int
	err := tx.tx.QueryRowContext(tx.ctx, "SELECT count(*) FROM ("+breakGlassSQL+")").Scan(&n)
	return n, err
}

// keepBreakGlass refuses a change that would take user id (name) out of the
// break-glass admins while SSO is required and it is the last of them:
// nobody could then log in if the identity provider failed, not even to
// turn required SSO off. Like a seat beyond the licence, this is a conflict
// with the store's state, refused before anything changes, and not audited.
func (tx *Tx) keepBreakGlass(id int64, name string) error {
	s, err := tx.ssoFlags()
	if err != nil || !s.Require {
		return err
	}
	var mine, n int
	if err := tx.tx.QueryRowContext(tx.ctx, "SELECT count(*) FILTER (WHERE id = ?), count(*) FROM ("+breakGlassSQL+")", id).Scan(&mine, &n); err != nil {
		return err
	}
	if mine == 1 && n == 1 {
		return gatehouse.Errorf(gatehouse.ECONFLICT, "%s is the last enabled MSP admin who can log in locally while SSO is required: exempt another admin with a password first, or turn 'sso require' off", name)
	}
	return nil
}

// SetSSOIssuer sets the identity provider's issuer identifier.
func (db *DB) SetSSOIssuer(ctx context.Context, actor, issuer string) (bool, error) {
	ev, err := db.ChangeAsAdmin(ctx, actor, "sso.idp", "sso", func(tx *Tx) (*gatehouse.NewEvent, error) {
		cur, _, err := tx.Setting(settingSSOIssuer)
		if err != nil || cur == issuer {
			return nil, err
		}
		if err := tx.SetSetting(settingSSOIssuer, issuer); err != nil {
			return nil, err
		}
		return &gatehouse.NewEvent{Actor: actor, Action: "sso.idp", Target: "sso", Outcome: gatehouse.OutcomeSuccess,
			Details: map[string]any{"issuer": issuer, "previous_issuer": cur}}, nil
	})
	return ev != nil, err
}

// SetSSOExempt adds or removes a user's exemption from required SSO.
func (db *DB) SetSSOExempt(ctx context.Context, actor, ref string, exempt bool) (bool, error) {
	action := map[bool]string{true: "sso.exempt.add", false: "sso.exempt.remove"}[exempt]
	ev, err := db.ChangeAsAdmin(ctx, actor, action, ref, func(tx *Tx) (*gatehouse.NewEvent, error) {
		u, err := tx.findUser(ref)
		if err != nil {
			return nil, err
		}
		if u.SSOExempt == exempt {
			return nil, nil
		}
		if exempt && u.Kind != "local" {
			return nil, gatehouse.Errorf(gatehouse.EINVALID, "%s is a %s account: only local accounts log in with a password", u.Name, u.Kind)
		}
		if !exempt {
			if err := tx.keepBreakGlass(u.ID, u.Name); err != nil {
				return nil, err
			}
		}
		q := "DELETE FROM sso_exemptions WHERE user_id = ?"
		args := []any{u.ID}
		if exempt {
			q, args = "INSERT INTO sso_exemptions (user_id, added_at, added_by) VALUES (?, ?, ?)", []any{u.ID, audit.FormatTime(tx.now), tx.recordedActor(actor)}
		}
		if _, err := tx.tx.ExecContext(tx.ctx, q, args...); err != nil {
			return nil, err
		}
		return &gatehouse.NewEvent{Actor: actor, Action: action, Target: u.Name, Outcome: gatehouse.OutcomeSuccess,
			Details: map[string]any{"id": u.ID, "msp_admin": u.MSPAdmin}}, nil
	})
	return ev != nil, err
}

// SignIn decides an SSO sign-in and records it: one audit event and one
// attempt, in one transaction. The whole decision runs under the write
// lock, so concurrent first sign-ins of one identity create exactly one
// account, and every caller gets a success.
func (db *DB) SignIn(ctx context.Context, id gatehouse.Identity) (gatehouse.SignInResult, error) {
	if err := id.Validate(); err != nil {
		return gatehouse.SignInResult{}, err
	}
	var res gatehouse.SignInResult
	_, err := db.Change(ctx, func(tx *Tx) (*gatehouse.NewEvent, error) {
		s, err := tx.ssoFlags()
		if err != nil {
			return nil, err
		}
		facts := gatehouse.SignInFacts{Settings: s}
		var userID int64
		var name string
		var enabled bool
		err = tx.queryRow(qUserByIdentity,
			id.Issuer, id.Subject).Scan(&userID, &name, &enabled)
		switch {
		case err == nil:
			facts.AccountExists, facts.AccountEnabled = true, enabled
		case !errors.Is(err, sql.ErrNoRows):
			return nil, err
		}
		if !facts.AccountExists && id.Email != "" {
			var n int
			if err := tx.queryRow(qEmailTaken, id.Email, id.Email).Scan(&n); err != nil {
				return nil, err
			}
			facts.EmailTaken = n > 0
			if !facts.EmailTaken {
				if err := tx.queryRow(qNameConfusable, gatehouse.NameSkeleton(id.Email)).Scan(&n); err != nil {
					return nil, err
				}
				facts.NameConfusable = n > 0
			}
		}
		reason := gatehouse.DecideSignIn(&id, &facts)
		res = gatehouse.SignInResult{Reason: reason, Time: tx.now}
		action := "signin.denied"
		outcome := gatehouse.OutcomeDenied
		switch reason {
		case gatehouse.SignedIn:
			res.Decision, action, outcome = "signed_in", "signin.success", gatehouse.OutcomeSuccess
			if _, err := tx.exec(qTouchSSOSignIn, audit.FormatTime(tx.now), userID); err != nil {
				return nil, err
			}
		case gatehouse.AccountCreated:
			res.Decision, action, outcome = "created", "user.auto_create", gatehouse.OutcomeSuccess
			name = id.Email
			r, err := tx.exec(qInsertSSOUser,
				name, id.Email, audit.FormatTime(tx.now), id.Issuer, audit.FormatTime(tx.now), id.Issuer, id.Subject, gatehouse.NameSkeleton(name))
			if err != nil {
				return nil, err
			}
			userID, _ = r.LastInsertId()
		default:
			res.Decision = "refused"
		}
		if res.Allowed() {
			res.User, res.UserID = name, userID
		}
		var uid any
		if userID != 0 {
			uid = userID
		}
		if _, err := tx.exec(qInsertAttempt,
			audit.FormatTime(tx.now), id.Issuer, id.Subject, id.Email, id.EmailVerified, id.InIdP, id.AuthComplete,
			id.AuthExpired, res.Decision, string(reason), uid); err != nil {
			return nil, err
		}
		actor := id.Email
		if actor == "" {
			actor = id.Subject
		}
		details := map[string]any{"issuer": id.Issuer, "subject": id.Subject, "email": id.Email, "reason": string(reason)}
		if res.Allowed() {
			details["user_id"] = userID
		}
		target := name
		if target == "" {
			target = actor
		}
		return &gatehouse.NewEvent{Actor: actor, Action: action, Target: target, Outcome: outcome, Details: details}, nil
	})
	return res, err
}

// LocalLogin decides a local password login — the path that required SSO
// closes — and audits it either way.
func (db *DB) LocalLogin(ctx context.Context, ref string, pw []byte) (gatehouse.SignInResult, error) {
	// The name is recorded even when no such user exists: it must be fit
	// for the audit trail.
	if err := gatehouse.ValidateActor(ref); err != nil {
		return gatehouse.SignInResult{}, gatehouse.Errorf(gatehouse.EINVALID, "invalid user: use 1 to 128 printable characters")
	}
	var u gatehouse.User
	var hash string
	var found, locked bool
	err := db.View(ctx, func(tx *Tx) error {
		var err error
		u, err = tx.findUser(ref)
		if gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND {
			return nil
		}
		if err != nil {
			return err
		}
		found = true
		var h sql.NullString
		if err := tx.tx.QueryRowContext(ctx, "SELECT password_hash FROM users WHERE id = ?", u.ID).Scan(&h); err != nil {
			return err
		}
		hash = h.String
		r, err := tx.failureRecord(u.ID, localCredential)
		locked = r.Locked(tx.now)
		return err
	})
	if err != nil {
		return gatehouse.SignInResult{}, err
	}
	// A locked account's password is not judged: the dummy check spends
	// the same time, so neither the answer nor its timing tells anything.
	passwordOK := false
	if hash != "" && !locked {
		ok, err := password.Verify(hash, pw)
		if err != nil {
			return gatehouse.SignInResult{}, gatehouse.Wrap(gatehouse.EUNAVAILABLE, err, "the stored password of %s is damaged", u.Name)
		}
		passwordOK = ok
	} else {
		password.VerifyDummy(pw)
	}
	var res gatehouse.SignInResult
	_, err = db.Change(ctx, func(tx *Tx) (*gatehouse.NewEvent, error) {
		s, err := tx.ssoSettings()
		if err != nil {
			return nil, err
		}
		reason := gatehouse.SignedIn
		switch {
		case !found:
			reason = gatehouse.ReasonNoSuchUser
		case !u.Enabled:
			reason = gatehouse.ReasonDisabled
		case u.Kind != "local":
			reason = gatehouse.ReasonNotLocalUser
		case s.Require && !u.SSOExempt:
			reason = gatehouse.ReasonSSORequired
		case hash == "":
			reason = gatehouse.ReasonNoPassword
		case !passwordOK:
			reason = gatehouse.ReasonBadPassword
		}
		details := map[string]any{"sso_required": s.Require}
		verdict := map[gatehouse.SignInReason]passwordVerdict{gatehouse.SignedIn: passwordRight, gatehouse.ReasonBadPassword: passwordWrong}[reason]
		if locked && verdict != passwordNotJudged {
			verdict = passwordLocked // not judged, as above
		}
		if nowLocked, err := tx.throttle(u.ID, localCredential, verdict, details); err != nil {
			return nil, err
		} else if nowLocked {
			reason = gatehouse.ReasonLocked
		}
		details["reason"] = string(reason)
		res = gatehouse.SignInResult{Decision: "refused", Reason: reason, Time: tx.now}
		target := gatehouse.Clip(ref, 128)
		action, outcome := "login.denied", gatehouse.OutcomeDenied
		if found {
			target = u.Name
		}
		if reason == gatehouse.SignedIn {
			res.Decision, res.User, res.UserID = "signed_in", u.Name, u.ID
			action, outcome = "login.success", gatehouse.OutcomeSuccess
			if _, err := tx.tx.ExecContext(tx.ctx, "UPDATE users SET last_signin_at = ?, last_signin_by = 'local' WHERE id = ?", audit.FormatTime(tx.now), u.ID); err != nil {
				return nil, err
			}
		}
		return &gatehouse.NewEvent{Actor: target, Action: action, Target: target, Outcome: outcome, Details: details}, nil
	})
	return res, err
}

// Explain gathers the recorded attempts for an email or subject, the
// current settings and the matching account.
func (db *DB) Explain(ctx context.Context, query string) (gatehouse.ExplainFacts, error) {
	var f gatehouse.ExplainFacts
	f.Query = query
	email, _ := gatehouse.NormaliseEmail(query)
	err := db.View(ctx, func(tx *Tx) error {
		var err error
		if f.Settings, err = tx.ssoSettings(); err != nil {
			return err
		}
		rows, err := tx.tx.QueryContext(ctx, `SELECT time, issuer, subject, email, email_verified, in_idp, auth_complete,
				auth_expired, decision, reason FROM sso_attempts WHERE subject = ? OR (email = ? AND email != '')
			ORDER BY id DESC LIMIT 10`, query, email)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var a gatehouse.SignInAttempt
			var t string
			if err := rows.Scan(&t, &a.Issuer, &a.Subject, &a.Email, &a.EmailVerified, &a.InIdP, &a.AuthComplete,
				&a.AuthExpired, &a.Decision, &a.Reason); err != nil {
				return err
			}
			a.Time, _ = audit.ParseTime(t)
			f.Attempts = append(f.Attempts, a)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		ref := query
		if len(f.Attempts) > 0 && f.Attempts[0].Decision != "refused" {
			var id int64
			if err := tx.tx.QueryRowContext(ctx, "SELECT id FROM users WHERE sso_issuer = ? AND sso_subject = ?",
				f.Attempts[0].Issuer, f.Attempts[0].Subject).Scan(&id); err == nil {
				ref = strconv.FormatInt(id, 10)
			}
		}
		if u, err := tx.findUser(ref); err == nil {
			f.User = &u
		} else if gatehouse.ErrorCode(err) != gatehouse.ENOTFOUND {
			return err
		}
		return nil
	})
	return f, err
}
