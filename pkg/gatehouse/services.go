package gatehouse

import "context"

// The services a server that embeds gatehouse, and the gatehouse command,
// reach the rules through. internal/core implements them over a Store;
// pkg/gatehouse/store opens one.

// Gate decides sign-ins: the single code path for every sign-in, SSO or
// local, and every vendor technician logon. Each decision — allowed or
// refused, with a reason code — is recorded as one audit event in the
// transaction that takes it. A refusal is a result, not an error; an error
// means the store could not decide (ErrorCode says why).
type Gate interface {
	// SignIn decides an SSO sign-in for an identity the server has
	// authenticated with the identity provider: signed in, created (once,
	// with no access), or refused. Concurrent first sign-ins of one
	// identity create exactly one account and all succeed.
	SignIn(ctx context.Context, id Identity) (SignInResult, error)
	// LocalLogin decides a local password login (a user name, email or
	// ID), refused with sso_required while SSO is required and the user is
	// not exempt.
	LocalLogin(ctx context.Context, user string, password []byte) (SignInResult, error)
	// SupportLogon verifies a vendor technician's logon to the support
	// account.
	SupportLogon(ctx context.Context, technician string, password []byte) (SupportLogonResult, error)
}

// Users administers accounts and their grants; changes need an enabled
// MSP admin as actor (or the bootstrap window) and are audited.
type Users interface {
	User(ctx context.Context, ref string) (User, error)
	ListUsers(ctx context.Context, f UserFilter, fn func(u *User) error) error
	SetPassword(ctx context.Context, actor, ref, hash string) error
	SetEnabled(ctx context.Context, actor, ref string, enabled bool) (changed bool, err error)
	Assign(ctx context.Context, actor, ref string, g Grants) (User, bool, error)
	Unassign(ctx context.Context, actor, ref string, g Grants) (User, bool, error)
	Unlock(ctx context.Context, actor, ref string) (bool, error)
	Records(ctx context.Context, kind string) ([]Record, error)
	AddRecord(ctx context.Context, actor, kind, name string) (existing string, changed bool, err error)
	License(ctx context.Context) (License, error)
	SetAdminSeats(ctx context.Context, actor string, seats int) (License, bool, error)
}

// SSO administers single sign-on.
type SSO interface {
	SSOSettings(ctx context.Context) (SSOSettings, error)
	SetSSOFlag(ctx context.Context, actor, key string, on bool) (bool, error)
	SetSSOIssuer(ctx context.Context, actor, issuer string) (bool, error)
	SetSSOExempt(ctx context.Context, actor, ref string, exempt bool) (bool, error)
	Explain(ctx context.Context, query string) (ExplainFacts, error)
}

// Audit reads and checks the audit trail.
type Audit interface {
	AuditLog
	// VerifyAudit checks every link of the chain (head and progress as in
	// VerifyOptions) and, when the chain holds, replays the security state
	// its events record and compares it with the store's rows, on the
	// same snapshot.
	VerifyAudit(ctx context.Context, head *ChainHead, progress func(done, total int64), checkpoints ...TreeCheck) (AuditVerification, error)
}

// AuditVerification is what 'audit verify' found.
type AuditVerification struct {
	ChainResult
	// State compares the store's rows with the trail; nil when they were
	// not compared (see StateNotChecked, or a chain fault).
	State *StateCheck `json:"state,omitempty"`
	// StateNotChecked says why a sound chain's state was not compared.
	StateNotChecked string `json:"state_not_checked,omitempty"`
}

// OK reports whether the chain holds and the store's state is what its
// events say.
func (v *AuditVerification) OK() bool {
	return v.ChainResult.OK() && (v.State == nil || v.State.OK())
}
