package gatehouse

import (
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/idna"
	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"
)

// SSOSettings are the sign-in settings kept in the store.
type SSOSettings struct {
	// Allow: users may sign in with the identity provider.
	Allow bool `json:"allow"`
	// Require: SSO is required; local password login is refused except for
	// the exempt users.
	Require bool `json:"require"`
	// AutoCreate: an account is created on a user's first successful SSO
	// sign-in. It has no effect while Allow is off.
	AutoCreate bool `json:"auto_create"`
	// Issuer identifies the identity provider; sign-ins from another issuer
	// are refused. Empty: not configured, any issuer is accepted.
	Issuer string `json:"issuer"`
	// Exempt lists the users who keep local login while Require is on.
	Exempt []string `json:"exempt"`
	// Verification is how the gate verifies the identity provider's ID
	// tokens; nil while it is not configured ('sso idp set --client-id'):
	// then only asserted identities (the flag form) can sign in.
	Verification *TokenVerification `json:"token_verification"`
}

// TokenVerification is the identity provider's token policy: whose ID
// tokens the gate accepts and on which keys (see docs/sso-and-provisioning.md).
type TokenVerification struct {
	// ClientID must be among a token's audiences.
	ClientID string `json:"client_id"`
	// KeySource is KeysDiscovery or KeysFile.
	KeySource string `json:"key_source"`
	// Keys are the imported keys (KeysFile): public keys only.
	Keys []IdPKey `json:"keys,omitempty"`
	// Algorithms is the signature algorithm allow-list.
	Algorithms []string `json:"algorithms"`
	// ClockSkew is the leeway for exp, nbf, iat and auth_time.
	ClockSkew Duration `json:"clock_skew"`
	// MaxAge, when set, is how long ago the user may have authenticated
	// (auth_time); a token without auth_time is then refused.
	MaxAge Duration `json:"max_age"`
	// RequireACR: a token's acr must be one of these (when set).
	RequireACR []string `json:"require_acr"`
	// RequireAMR: a token's amr must hold every one of these (when set).
	RequireAMR []string `json:"require_amr"`
	// TestedAt is when 'sso test' last verified the whole flow for this
	// issuer and client; nil: never.
	TestedAt *time.Time `json:"tested_at"`
}

// The key sources of TokenVerification.
const (
	// KeysDiscovery: keys from the issuer's discovery document and JWKS,
	// fetched and cached by the process that verifies.
	KeysDiscovery = "discovery"
	// KeysFile: a JWK Set imported into the store, for air-gapped servers.
	KeysFile = "jwks_file"
)

// IdPKey describes one imported public key.
type IdPKey struct {
	KeyID      string `json:"kid"`
	Type       string `json:"kty"`
	Algorithm  string `json:"alg,omitempty"`
	Thumbprint string `json:"thumbprint"` // RFC 7638, SHA-256, base64url
}

// IdPChange changes the identity provider's settings: a nil field is left
// as it is.
type IdPChange struct {
	Issuer     *string
	ClientID   *string
	Discovery  bool   // key source: discovery
	JWKS       []byte // key source: this JWK Set (imported; re-run to rotate)
	Algorithms []string
	ClockSkew  *time.Duration
	MaxAge     *time.Duration
	RequireACR *[]string
	RequireAMR *[]string
}

// IsZero reports whether the change changes nothing.
func (c *IdPChange) IsZero() bool {
	return c.Issuer == nil && c.ClientID == nil && !c.Discovery && c.JWKS == nil && c.Algorithms == nil &&
		c.ClockSkew == nil && c.MaxAge == nil && c.RequireACR == nil && c.RequireAMR == nil
}

// Identity is what the identity provider asserted about a user who
// authenticated: the input of a sign-in decision.
type Identity struct {
	Issuer        string `json:"issuer"`
	Subject       string `json:"subject"`
	Email         string `json:"email"`
	EmailVerified bool   `json:"email_verified"`
	// InIdP: the user exists at the identity provider.
	InIdP bool `json:"in_idp"`
	// AuthComplete: authentication finished successfully.
	AuthComplete bool `json:"auth_complete"`
	// AuthExpired: the authentication is stale — expired, or satisfied by
	// cached credentials of an earlier session.
	AuthExpired bool `json:"auth_expired"`
	// Verified: the gate verified the identity provider's ID token itself.
	// False for an identity a caller asserted (Gate.SignIn), whatever the
	// caller sets.
	Verified bool `json:"verified"`
}

// Validate checks the identity's fields and normalises its email. A
// malformed identity is bad input (EINVALID), not a refusal.
func (id *Identity) Validate() error {
	if err := ValidateText("issuer", id.Issuer, 512); err != nil {
		return err
	}
	if err := ValidateText("subject", id.Subject, 255); err != nil {
		return err
	}
	if id.Email != "" {
		e, err := NormaliseEmail(id.Email)
		if err != nil {
			return err
		}
		id.Email = e
	}
	return nil
}

// ValidateText checks a free-text identifier (an issuer, a subject, an
// actor): not blank, at most max bytes, UTF-8 without control characters
// (C0, DEL and C1). Bidi and zero-width characters are kept — a subject is
// opaque — and escaped wherever the text is shown.
func ValidateText(what, s string, max int) error {
	switch {
	case strings.TrimSpace(s) == "":
		return Errorf(EINVALID, "empty %s", what)
	case len(s) > max:
		return Errorf(EINVALID, "%s too long (%d bytes, at most %d)", what, len(s), max)
	case !utf8.ValidString(s) || strings.ContainsFunc(s, unicode.IsControl): // C0, DEL and C1
		return Errorf(EINVALID, "%s has control characters or is not UTF-8", what)
	case HoldsPrivateKey(s):
		return errPrivateKey(what)
	}
	return nil
}

// NormaliseEmail returns the canonical form of an email address: trimmed,
// Unicode NFC, case-folded, with an internationalised domain in punycode and
// without the trailing dot of a fully qualified domain name.
// Two spellings of one address normalise to the same string, so they can
// never become two accounts.
func NormaliseEmail(s string) (string, error) {
	bad := func(why string) (string, error) {
		return "", Errorf(EINVALID, "invalid email %q: %s", Clip(s, 80), why)
	}
	s = strings.TrimSpace(s)
	if s == "" || len(s) > 254 || !utf8.ValidString(s) {
		return bad("empty, not UTF-8, or longer than 254 bytes")
	}
	s = cases.Fold().String(norm.NFC.String(s))
	local, domain, ok := strings.Cut(s, "@")
	if !ok || strings.Contains(domain, "@") {
		return bad("need exactly one @")
	}
	if local == "" || len(local) > 64 {
		return bad("the part before @ must be 1 to 64 bytes")
	}
	// The address becomes an account's name: nothing invisible or
	// reordering (UnsafeRune: C1, bidi, zero-width) may be part of it.
	if strings.ContainsFunc(local, func(r rune) bool {
		return r <= ' ' || UnsafeRune(r) || unicode.IsSpace(r) || strings.ContainsRune(`"(),:;<>[\]`, r)
	}) {
		return bad("the part before @ has spaces, control, format or invisible characters, or specials")
	}
	ascii, err := idna.Lookup.ToASCII(domain)
	if err == nil {
		// A trailing dot names the DNS root: "example.com." is
		// "example.com", one address (once; "example.com.." is not a name).
		// After it, every label must be 1 to 63 bytes and the name at most
		// 253: an empty label ("a..b") is no DNS name either.
		ascii = strings.TrimSuffix(ascii, ".")
		_, err = dnsName.ToASCII(ascii)
	}
	if err != nil || !strings.Contains(ascii, ".") || strings.HasSuffix(ascii, ".") {
		return bad("the domain is not a valid DNS name")
	}
	return local + "@" + ascii, nil
}

// dnsName is idna.Lookup that also refuses empty and over-long labels.
var dnsName = idna.New(idna.MapForLookup(), idna.BidiRule(), idna.VerifyDNSLength(true))

// SignInReason is the reason code of a sign-in decision.
type SignInReason string

// Sign-in reason codes, recorded in the audit trail and the attempts.
const (
	SignedIn           SignInReason = "signed_in"
	AccountCreated     SignInReason = "account_created"
	ReasonDisabled     SignInReason = "account_disabled"
	ReasonNotAllowed   SignInReason = "sso_not_allowed"
	ReasonIssuer       SignInReason = "issuer_mismatch"
	ReasonAutoCreate   SignInReason = "auto_create_off"
	ReasonNotInIdP     SignInReason = "not_in_idp"
	ReasonIncomplete   SignInReason = "auth_incomplete"
	ReasonExpired      SignInReason = "auth_expired"
	ReasonUnverified   SignInReason = "email_unverified"
	ReasonConflict     SignInReason = "identity_conflict"
	ReasonConfusable   SignInReason = "name_confusable"
	ReasonSSORequired  SignInReason = "sso_required"
	ReasonBadPassword  SignInReason = "wrong_password"
	ReasonNoSuchUser   SignInReason = "no_such_user"
	ReasonNoPassword   SignInReason = "no_local_password"
	ReasonNotLocalUser SignInReason = "not_a_local_account"
	// ReasonLocked: too many wrong passwords; the password was not judged.
	ReasonLocked SignInReason = "account_locked"
	// ReasonTokenInvalid: the ID token failed verification; the result's
	// Detail says which check (TokenDetails).
	ReasonTokenInvalid SignInReason = "token_invalid"
)

// SignInFacts is what the store knows when a sign-in is decided.
type SignInFacts struct {
	Settings SSOSettings
	// Account is the account keyed on (issuer, subject), if any.
	AccountExists  bool
	AccountEnabled bool
	// EmailTaken: another account already holds the identity's email.
	EmailTaken bool
	// NameConfusable: the account to create would be named like an
	// existing account, to the eye (the same NameSkeleton).
	NameConfusable bool
}

// DecideSignIn is the one rule for SSO sign-ins. Conditions on the
// authentication itself come before the account, so a stale or incomplete
// authentication never signs anyone in; an account is created only when
// SSO and auto-creation are on and the IdP vouched for the email.
func DecideSignIn(id *Identity, f *SignInFacts) SignInReason {
	s := &f.Settings
	switch {
	case !s.Allow:
		return ReasonNotAllowed
	case s.Issuer != "" && id.Issuer != s.Issuer:
		return ReasonIssuer
	case !id.AuthComplete:
		return ReasonIncomplete
	case id.AuthExpired:
		return ReasonExpired
	case !id.InIdP:
		return ReasonNotInIdP
	case f.AccountExists && !f.AccountEnabled:
		return ReasonDisabled
	case f.AccountExists:
		return SignedIn
	case !s.AutoCreate:
		return ReasonAutoCreate
	case id.Email == "" || !id.EmailVerified:
		return ReasonUnverified
	case f.EmailTaken:
		return ReasonConflict
	case f.NameConfusable:
		return ReasonConfusable
	}
	return AccountCreated
}

// SignInResult is the outcome of a sign-in.
type SignInResult struct {
	Decision string       `json:"decision"` // signed_in, created or refused
	Reason   SignInReason `json:"reason"`
	// Detail names the failed check of a token_invalid refusal.
	Detail string `json:"detail,omitempty"`
	// Verified: the identity came from an ID token the gate verified.
	Verified bool      `json:"verified"`
	User     string    `json:"user,omitempty"`
	UserID   int64     `json:"user_id,omitempty"`
	Time     time.Time `json:"time"`
}

// Allowed reports whether the user is signed in.
func (r *SignInResult) Allowed() bool { return r.Decision != "refused" }

// LocalLoginFacts are what a local password login is decided on. The
// password is judged (PasswordOK) outside the write transaction; the rest
// is read inside it.
type LocalLoginFacts struct {
	Found       bool   // an account has the name, email or ID given
	Enabled     bool   // it is enabled
	Kind        string // local, sso or support
	SSORequired bool   // sso.require is on
	Exempt      bool   // the account is exempt from required SSO
	HasPassword bool   // the account has a local password
	PasswordOK  bool   // the password given matches it
}

// DecideLocalLogin decides a local password login — the path that
// required SSO closes — before throttling (ReasonLocked is the gate's, on
// top of this). The order matters: a reason that needs the password is
// given only when every reason that does not has passed, so a refusal
// for another reason says nothing about the password.
func DecideLocalLogin(f *LocalLoginFacts) SignInReason {
	switch {
	case !f.Found:
		return ReasonNoSuchUser
	case !f.Enabled:
		return ReasonDisabled
	case f.Kind != "local":
		return ReasonNotLocalUser
	case f.SSORequired && !f.Exempt:
		return ReasonSSORequired
	case !f.HasPassword:
		return ReasonNoPassword
	case !f.PasswordOK:
		return ReasonBadPassword
	}
	return SignedIn
}
