package core

// The gate: every sign-in decision — SSO sign-in, local password login,
// vendor technician logon — is taken here, and only here. Each follows the
// same shape: anything slow (an argon2id check) runs outside the write
// transaction, on a snapshot; then one write transaction reads the state
// again, takes the decision with a pure function of pkg/gatehouse
// (DecideSignIn, DecideLocalLogin, DecideSupportLogon), applies lock-out,
// and records the decision — success or refusal — with its audit event.
// A credential changed between the two reads is judged on the new state.

import (
	"cmp"
	"context"

	"github.com/gatehouse-dev/gatehouse/internal/password"
	"github.com/gatehouse-dev/gatehouse/pkg/gatehouse"
)

// SignIn decides an SSO sign-in and records it: one audit event and one
// attempt, in one transaction. The whole decision runs under the store's
// write serialisation, so concurrent first sign-ins of one identity create
// exactly one account, and every caller gets a success.
func (c *Core) SignIn(ctx context.Context, id gatehouse.Identity) (gatehouse.SignInResult, error) {
	// Only the gate's own verification makes an identity verified.
	id.Verified = false
	if err := id.Validate(); err != nil {
		return gatehouse.SignInResult{}, err
	}
	return c.signIn(ctx, id, nil)
}

// signIn decides and records the sign-in of id. ev is nil for an asserted
// identity, else the evidence of the ID token it came from; a token that
// failed verification (ev.detail) is refused with token_invalid before
// anything else is looked at.
func (c *Core) signIn(ctx context.Context, id gatehouse.Identity, ev *tokenEvidence) (gatehouse.SignInResult, error) {
	var res gatehouse.SignInResult
	_, err := c.update(ctx, func(t *change) (*gatehouse.NewEvent, error) {
		if ev != nil && ev.policy != "" {
			// The token was verified on a snapshot: decide only if the
			// policy it was verified against is still the policy.
			cur, _, err := t.Setting(settingIdP)
			if err != nil {
				return nil, err
			}
			if cur != ev.policy {
				return nil, gatehouse.Errorf(gatehouse.ECONFLICT, "the identity provider settings changed while the token was verified; sign in again")
			}
		}
		var reason gatehouse.SignInReason
		var acct gatehouse.AccountRef
		if ev != nil && ev.detail != "" {
			reason = gatehouse.ReasonTokenInvalid
		} else {
			s, err := ssoFlags(t)
			if err != nil {
				return nil, err
			}
			facts := gatehouse.SignInFacts{Settings: s}
			var found bool
			acct, found, err = t.SSOAccount(id.Issuer, id.Subject)
			if err != nil {
				return nil, err
			}
			facts.AccountExists, facts.AccountEnabled = found, acct.Enabled
			if !found && id.Email != "" {
				if facts.EmailTaken, err = t.EmailOrNameTaken(id.Email); err != nil {
					return nil, err
				}
				if !facts.EmailTaken {
					if facts.NameConfusable, err = t.SkeletonTaken(gatehouse.NameSkeleton(id.Email)); err != nil {
						return nil, err
					}
				}
			}
			reason = gatehouse.DecideSignIn(&id, &facts)
		}
		res = gatehouse.SignInResult{Reason: reason, Time: t.Now(), Verified: id.Verified}
		if ev != nil {
			res.Detail = ev.detail
		}
		action, outcome := "signin.denied", gatehouse.OutcomeDenied
		userID, name := acct.ID, acct.Name
		switch reason {
		case gatehouse.SignedIn:
			res.Decision, action, outcome = "signed_in", "signin.success", gatehouse.OutcomeSuccess
			if err := t.RecordSignIn(userID, "sso"); err != nil {
				return nil, err
			}
		case gatehouse.AccountCreated:
			res.Decision, action, outcome = "created", "user.auto_create", gatehouse.OutcomeSuccess
			name = id.Email
			var err error
			if userID, err = t.InsertUser(gatehouse.UserRow{Name: name, Kind: "sso", Email: id.Email, Enabled: true,
				CreatedVia: "auto", CreatedBy: id.Issuer, LastSignInBy: "sso", SSOIssuer: id.Issuer, SSOSubject: id.Subject,
				NameSkeleton: gatehouse.NameSkeleton(name)}); err != nil {
				return nil, err
			}
		default:
			res.Decision = "refused"
		}
		if res.Allowed() {
			res.User, res.UserID = name, userID
		}
		if err := t.InsertAttempt(gatehouse.SignInAttempt{Time: t.Now(), Identity: id, Decision: res.Decision,
			Reason: string(reason), Detail: res.Detail}, userID); err != nil {
			return nil, err
		}
		actor := id.Email
		if actor == "" {
			actor = id.Subject
		}
		details := map[string]any{"issuer": id.Issuer, "subject": id.Subject, "email": id.Email, "reason": string(reason),
			"verified": id.Verified}
		if res.Allowed() {
			details["user_id"] = userID
		}
		if ev != nil {
			// A refused token's claims are recorded only when its signature
			// held (SignedClaims); else the event names nobody from it.
			details["token_sha256"] = ev.hash
			if ev.claims != nil {
				details["claims"] = ev.claims
			}
			if ev.detail != "" {
				details["detail"] = ev.detail
			}
		}
		if actor == "" {
			actor = "anonymous"
		}
		target := name
		if target == "" {
			target = cmp.Or(id.Email, id.Subject, "sso")
		}
		return &gatehouse.NewEvent{Actor: actor, Action: action, Target: target, Outcome: outcome, Details: details}, nil
	})
	return res, err
}

// localCredential keys a local account's password in the failure records;
// the support account's failures are keyed on its credential's request ID.
const localCredential = ""

// LocalLogin decides a local password login — the path that required SSO
// closes — and audits it either way.
func (c *Core) LocalLogin(ctx context.Context, ref string, pw []byte) (gatehouse.SignInResult, error) {
	// The name is recorded even when no such user exists: it must be fit
	// for the audit trail.
	if err := gatehouse.ValidateActor(ref); err != nil {
		return gatehouse.SignInResult{}, gatehouse.Errorf(gatehouse.EINVALID, "invalid user: use 1 to 128 printable characters")
	}
	var u gatehouse.User
	var hash string
	var found, locked bool
	err := c.read(ctx, func(v gatehouse.View) error {
		var err error
		u, err = findUser(v, ref)
		if gatehouse.ErrorCode(err) == gatehouse.ENOTFOUND {
			return nil
		}
		if err != nil {
			return err
		}
		found = true
		if hash, err = v.PasswordHash(u.ID); err != nil {
			return err
		}
		r, err := v.FailureRecord(u.ID, localCredential)
		locked = r.Locked(v.Now())
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
	_, err = c.update(ctx, func(t *change) (*gatehouse.NewEvent, error) {
		s, err := ssoSettings(t)
		if err != nil {
			return nil, err
		}
		reason := gatehouse.DecideLocalLogin(&gatehouse.LocalLoginFacts{
			Found: found, Enabled: u.Enabled, Kind: u.Kind, SSORequired: s.Require, Exempt: u.SSOExempt,
			HasPassword: hash != "", PasswordOK: passwordOK,
		})
		details := map[string]any{"sso_required": s.Require}
		verdict := map[gatehouse.SignInReason]passwordVerdict{gatehouse.SignedIn: passwordRight, gatehouse.ReasonBadPassword: passwordWrong}[reason]
		if locked && verdict != passwordNotJudged {
			verdict = passwordLocked // not judged, as above
		}
		if nowLocked, err := throttle(t, u.ID, localCredential, verdict, details); err != nil {
			return nil, err
		} else if nowLocked {
			reason = gatehouse.ReasonLocked
		}
		details["reason"] = string(reason)
		res = gatehouse.SignInResult{Decision: "refused", Reason: reason, Time: t.Now()}
		target := gatehouse.Clip(ref, 128)
		action, outcome := "login.denied", gatehouse.OutcomeDenied
		if found {
			target = u.Name
		}
		if reason == gatehouse.SignedIn {
			res.Decision, res.User, res.UserID = "signed_in", u.Name, u.ID
			action, outcome = "login.success", gatehouse.OutcomeSuccess
			if err := t.RecordSignIn(u.ID, "local"); err != nil {
				return nil, err
			}
		}
		return &gatehouse.NewEvent{Actor: target, Action: action, Target: target, Outcome: outcome, Details: details}, nil
	})
	return res, err
}

// SupportLogon verifies a technician's logon with the support password and
// records the decision, success or refusal, as one support.logon event.
// The argon2id check runs outside any transaction, so a logon never holds
// the write lock while hashing; the decision is then re-taken on the state
// inside the transaction, so a credential revoked or replaced meanwhile is
// refused.
func (c *Core) SupportLogon(ctx context.Context, technician string, pw []byte) (gatehouse.SupportLogonResult, error) {
	if err := gatehouse.ValidateTechnician(technician); err != nil {
		return gatehouse.SupportLogonResult{}, err
	}
	var st SupportState
	lockedID := ""
	err := c.read(ctx, func(v gatehouse.View) error {
		var err error
		if st, err = supportState(v); err != nil || !st.Credential.HasCredential {
			return err
		}
		// A locked credential's password is not judged (see LocalLogin).
		r, err := v.FailureRecord(st.AccountID, st.Credential.RequestID)
		if r.Locked(v.Now()) {
			lockedID = st.Credential.RequestID
		}
		return err
	})
	if err != nil {
		return gatehouse.SupportLogonResult{}, err
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
	_, err = c.update(ctx, func(t *change) (*gatehouse.NewEvent, error) {
		st, err := supportState(t)
		if err != nil {
			return nil, err
		}
		cr := st.Credential
		passwordOK := verified != "" && verified == cr.RequestID
		reason := gatehouse.DecideSupportLogon(&cr, passwordOK, t.Now())
		// Failures are keyed on the credential, not the account: they lock
		// only the credential attacked, and a new one is not locked.
		details := map[string]any{"technician": technician}
		verdict := map[gatehouse.LogonReason]passwordVerdict{gatehouse.LogonOK: passwordRight, gatehouse.LogonWrongPassword: passwordWrong}[reason]
		if lockedID != "" && lockedID == cr.RequestID && verdict != passwordNotJudged {
			verdict = passwordLocked
		}
		if nowLocked, err := throttle(t, st.AccountID, cr.RequestID, verdict, details); err != nil {
			return nil, err
		} else if nowLocked {
			reason = gatehouse.LogonLocked
		}
		details["reason"] = string(reason)
		res = gatehouse.SupportLogonResult{Account: cr.AccountName, Technician: technician,
			Allowed: reason == gatehouse.LogonOK, Reason: reason, Time: t.Now()}
		if cr.HasCredential {
			details["request_id"] = cr.RequestID
		}
		outcome := gatehouse.OutcomeDenied
		if res.Allowed {
			outcome = gatehouse.OutcomeSuccess
			if cr.FirstLogonAt.IsZero() {
				cr.FirstLogonAt = t.Now()
				if err := t.SetFirstLogon(st.AccountID, t.Now()); err != nil {
					return nil, err
				}
				details["first_logon"] = true
			}
			if err := t.RecordSignIn(st.AccountID, technician); err != nil {
				return nil, err
			}
			exp := cr.EffectiveExpiry()
			res.ExpiresAt = &exp
			details["expires_at"] = storedTime(exp)
		}
		return &gatehouse.NewEvent{Actor: technician, Action: "support.logon", Target: cr.AccountName,
			Outcome: outcome, Details: details}, nil
	})
	return res, err
}

// passwordVerdict is what a logon decided without throttling made of the
// password: not judged (refused for another reason first), right or wrong.
type passwordVerdict int

const (
	passwordNotJudged passwordVerdict = iota
	passwordRight
	passwordWrong
	// passwordLocked: the logon found the credential locked before the
	// check and skipped it; it is refused as locked even if the lock ended
	// meanwhile, and counts nothing.
	passwordLocked
)

// throttle applies failed-logon throttling to a logon decided without it,
// inside the logon's transaction, and notes what it did in the event's
// details. While the credential is locked, it reports locked: the caller
// refuses the logon as locked whatever the password was. Otherwise a wrong
// password counts a failure (the one that reaches the limit locks), and a
// right one clears the count. Counts of the user's other credentials (a
// replaced support credential) are dropped.
func throttle(t *change, userID int64, credential string, v passwordVerdict, details map[string]any) (locked bool, err error) {
	if v == passwordNotJudged {
		return false, nil
	}
	r, err := t.FailureRecord(userID, credential)
	if err != nil {
		return false, err
	}
	if r.Locked(t.Now()) {
		details["locked_until"] = detailTime(r.LockedUntil)
		return true, nil
	}
	if v == passwordLocked {
		return true, nil
	}
	keep := &credential
	if v == passwordRight {
		keep = nil
	}
	if _, err := t.DeleteFailures(userID, keep); err != nil {
		return false, err
	}
	if v == passwordRight {
		return false, nil
	}
	p, err := lockoutPolicy(t)
	if err != nil {
		return false, err
	}
	r = p.Fail(r, t.Now())
	if !r.LockedUntil.IsZero() {
		details["locked_until"] = detailTime(r.LockedUntil)
	}
	details["failures"] = r.Failures
	return false, t.PutFailureRecord(userID, credential, r)
}
