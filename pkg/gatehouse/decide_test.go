package gatehouse_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/pkg/gatehouse"
)

// The decision tables below are the reference for the order in which
// reasons apply. DecideSignIn follows the numbered table of
// docs/sso-and-provisioning.md ("first match wins"); DecideSupportLogon the
// order of the logon reason codes in docs/support-access.md; and
// DecideLocalLogin its own comment: every reason that does not need the
// password comes before one that does, so that a refusal for another
// reason says nothing about the password. A "precedence" case has two or
// more reasons apply at once and names the one that must win.

const testIssuer = "https://idp.example.com"

// freshIdentity is an identity every check of the authentication passes.
func freshIdentity() gatehouse.Identity {
	return gatehouse.Identity{Issuer: testIssuer, Subject: "sub-1", Email: "ann@example.com",
		EmailVerified: true, InIdP: true, AuthComplete: true}
}

// openSSO is a store with SSO allowed, auto-creation on and the issuer set.
func openSSO() gatehouse.SignInFacts {
	return gatehouse.SignInFacts{Settings: gatehouse.SSOSettings{Allow: true, AutoCreate: true, Issuer: testIssuer}}
}

var signInCases = []struct {
	name   string
	id     func(*gatehouse.Identity)
	facts  func(*gatehouse.SignInFacts)
	want   gatehouse.SignInReason
	reason string // why this precedence matters, for precedence cases
}{
	// One case per reason.
	{name: "ExistingEnabledAccount", facts: existing(true), want: gatehouse.SignedIn},
	{name: "NewAccount", want: gatehouse.AccountCreated},
	{name: "DisabledAccount", facts: existing(false), want: gatehouse.ReasonDisabled},
	{name: "SSONotAllowed", facts: func(f *gatehouse.SignInFacts) { f.Settings.Allow = false }, want: gatehouse.ReasonNotAllowed},
	{name: "OtherIssuer", id: func(id *gatehouse.Identity) { id.Issuer = "https://evil.example.com" }, want: gatehouse.ReasonIssuer},
	{name: "AutoCreateOff", facts: func(f *gatehouse.SignInFacts) { f.Settings.AutoCreate = false }, want: gatehouse.ReasonAutoCreate},
	{name: "NotInIdP", id: func(id *gatehouse.Identity) { id.InIdP = false }, want: gatehouse.ReasonNotInIdP},
	{name: "AuthIncomplete", id: func(id *gatehouse.Identity) { id.AuthComplete = false }, want: gatehouse.ReasonIncomplete},
	{name: "AuthExpired", id: func(id *gatehouse.Identity) { id.AuthExpired = true }, want: gatehouse.ReasonExpired},
	{name: "EmailUnverified", id: func(id *gatehouse.Identity) { id.EmailVerified = false }, want: gatehouse.ReasonUnverified},
	{name: "NoEmail", id: func(id *gatehouse.Identity) { id.Email = "" }, want: gatehouse.ReasonUnverified},
	// A verified flag without an email vouches for nothing.
	{name: "NoEmailButVerified", id: func(id *gatehouse.Identity) { id.Email, id.EmailVerified = "", true }, want: gatehouse.ReasonUnverified},
	{name: "EmailTaken", facts: func(f *gatehouse.SignInFacts) { f.EmailTaken = true }, want: gatehouse.ReasonConflict},
	{name: "NameConfusable", facts: func(f *gatehouse.SignInFacts) { f.NameConfusable = true }, want: gatehouse.ReasonConfusable},
	{name: "NoIssuerConfigured", id: func(id *gatehouse.Identity) { id.Issuer = "https://any.example.com" },
		facts: func(f *gatehouse.SignInFacts) { f.Settings.Issuer = "" }, want: gatehouse.AccountCreated},

	// Precedence.
	{name: "NotAllowedBeforeEverything", want: gatehouse.ReasonNotAllowed,
		id: func(id *gatehouse.Identity) {
			*id = gatehouse.Identity{Issuer: "https://evil.example.com", Subject: "s", AuthExpired: true}
		},
		facts: func(f *gatehouse.SignInFacts) {
			*f = gatehouse.SignInFacts{Settings: gatehouse.SSOSettings{Issuer: testIssuer}, AccountExists: true, AccountEnabled: true}
		},
		reason: "an SSO switched off signs nobody in, not even an enabled account"},
	{name: "NotAllowedWithAutoCreateOn", facts: func(f *gatehouse.SignInFacts) { f.Settings.Allow = false },
		want: gatehouse.ReasonNotAllowed, reason: "auto-create has no effect while SSO is not allowed"},
	{name: "IssuerBeforeAccount", id: func(id *gatehouse.Identity) { id.Issuer = "https://evil.example.com" },
		facts: existing(true), want: gatehouse.ReasonIssuer,
		reason: "another IdP asserting a known subject does not sign in as it"},
	{name: "IssuerBeforeAuthentication", id: func(id *gatehouse.Identity) {
		id.Issuer, id.AuthComplete = "https://evil.example.com", false
	}, want: gatehouse.ReasonIssuer, reason: "docs order: issuer (2) before authentication (3)"},
	{name: "IncompleteBeforeExpired", id: func(id *gatehouse.Identity) { id.AuthComplete, id.AuthExpired = false, true },
		want: gatehouse.ReasonIncomplete, reason: "docs order: incomplete (3) before expired (4)"},
	{name: "IncompleteWithEnabledAccount", id: func(id *gatehouse.Identity) { id.AuthComplete = false },
		facts: existing(true), want: gatehouse.ReasonIncomplete,
		reason: "an incomplete authentication never signs anyone in"},
	{name: "ExpiredWithEnabledAccount", id: func(id *gatehouse.Identity) { id.AuthExpired = true },
		facts: existing(true), want: gatehouse.ReasonExpired,
		reason: "a stale or cached authentication never signs anyone in"},
	{name: "ExpiredBeforeNotInIdP", id: func(id *gatehouse.Identity) { id.AuthExpired, id.InIdP = true, false },
		want: gatehouse.ReasonExpired, reason: "docs order: expired (4) before not in IdP (5)"},
	{name: "NotInIdPWithEnabledAccount", id: func(id *gatehouse.Identity) { id.InIdP = false },
		facts: existing(true), want: gatehouse.ReasonNotInIdP,
		reason: "a user removed at the IdP loses access though the account is still enabled here"},
	{name: "NotInIdPBeforeDisabled", id: func(id *gatehouse.Identity) { id.InIdP = false },
		facts: existing(false), want: gatehouse.ReasonNotInIdP, reason: "docs order: not in IdP (5) before disabled (6)"},
	{name: "ExpiredBeforeDisabled", id: func(id *gatehouse.Identity) { id.AuthExpired = true },
		facts: existing(false), want: gatehouse.ReasonExpired,
		reason: "the account's state is told only to a fresh, complete authentication"},
	{name: "DisabledWithAutoCreateOff", facts: func(f *gatehouse.SignInFacts) {
		existing(false)(f)
		f.Settings.AutoCreate = false
	}, want: gatehouse.ReasonDisabled, reason: "docs order: the account (6) before auto-create (8)"},
	{name: "ExistingAccountWithAutoCreateOff", facts: func(f *gatehouse.SignInFacts) {
		existing(true)(f)
		f.Settings.AutoCreate = false
	}, want: gatehouse.SignedIn, reason: "auto-create governs new accounts only"},
	{name: "ExistingAccountWithUnverifiedEmail", id: func(id *gatehouse.Identity) { id.EmailVerified = false },
		facts: existing(true), want: gatehouse.SignedIn,
		reason: "an account is keyed on (issuer, subject); the email vouches only for a new account"},
	{name: "AutoCreateOffBeforeUnverified", id: func(id *gatehouse.Identity) { id.EmailVerified = false },
		facts: func(f *gatehouse.SignInFacts) { f.Settings.AutoCreate = false },
		want:  gatehouse.ReasonAutoCreate, reason: "docs order: auto-create (8) before email (9)"},
	{name: "UnverifiedBeforeConflict", id: func(id *gatehouse.Identity) { id.EmailVerified = false },
		facts: func(f *gatehouse.SignInFacts) { f.EmailTaken = true }, want: gatehouse.ReasonUnverified,
		reason: "an email the IdP did not vouch for is refused as such; whether an account holds it is not told"},
	{name: "ConflictBeforeConfusable", facts: func(f *gatehouse.SignInFacts) { f.EmailTaken, f.NameConfusable = true, true },
		want: gatehouse.ReasonConflict, reason: "docs order: conflict (10) before confusable (11)"},
}

// existing sets the facts of an account found for (issuer, subject).
func existing(enabled bool) func(*gatehouse.SignInFacts) {
	return func(f *gatehouse.SignInFacts) { f.AccountExists, f.AccountEnabled = true, enabled }
}

func TestDecideSignIn(t *testing.T) {
	for _, tt := range signInCases {
		t.Run(tt.name, func(t *testing.T) {
			id, f := freshIdentity(), openSSO()
			if tt.id != nil {
				tt.id(&id)
			}
			if tt.facts != nil {
				tt.facts(&f)
			}
			if got := gatehouse.DecideSignIn(&id, &f); got != tt.want {
				t.Errorf("DecideSignIn(%+v, %+v) = %s, want %s %s", id, f, got, tt.want, because(tt.reason))
			}
		})
	}
}

// TestDecideSignInNeverLetsInWhatTheDocsRefuse checks the guarantees of
// docs/sso-and-provisioning.md over every combination of the facts: no
// sign-in without SSO allowed, the configured issuer, and a complete, fresh
// authentication of a user the IdP has; no account created unless
// auto-creation is on and the IdP vouched for an email that no account
// holds and that looks like no account's name; a disabled account never
// signs in.
func TestDecideSignInNeverLetsInWhatTheDocsRefuse(t *testing.T) {
	for _, c := range boolCombinations(12) {
		id := gatehouse.Identity{Issuer: testIssuer, Subject: "s", InIdP: c[0], AuthComplete: c[1], AuthExpired: c[2], EmailVerified: c[3]}
		if c[4] {
			id.Email = "ann@example.com"
		}
		if c[5] {
			id.Issuer = "https://evil.example.com"
		}
		f := gatehouse.SignInFacts{Settings: gatehouse.SSOSettings{Allow: c[6], AutoCreate: c[7], Issuer: testIssuer},
			AccountExists: c[8], AccountEnabled: c[9], EmailTaken: c[10], NameConfusable: c[11]}
		got := gatehouse.DecideSignIn(&id, &f)
		authOK := f.Settings.Allow && id.Issuer == testIssuer && id.AuthComplete && !id.AuthExpired && id.InIdP
		signIn := authOK && f.AccountExists && f.AccountEnabled
		create := authOK && !f.AccountExists && f.Settings.AutoCreate && id.Email != "" && id.EmailVerified &&
			!f.EmailTaken && !f.NameConfusable
		if (got == gatehouse.SignedIn) != signIn || (got == gatehouse.AccountCreated) != create {
			t.Errorf("DecideSignIn(%+v, %+v) = %s; want signed in %v, created %v", id, f, got, signIn, create)
		}
	}
}

// localOK are the facts of a local login that succeeds.
func localOK() gatehouse.LocalLoginFacts {
	return gatehouse.LocalLoginFacts{Found: true, Enabled: true, Kind: "local", HasPassword: true, PasswordOK: true}
}

var localLoginCases = []struct {
	name   string
	facts  func(*gatehouse.LocalLoginFacts)
	want   gatehouse.SignInReason
	reason string
}{
	{name: "OK", want: gatehouse.SignedIn},
	{name: "ExemptWhileSSORequired", facts: func(f *gatehouse.LocalLoginFacts) { f.SSORequired, f.Exempt = true, true }, want: gatehouse.SignedIn},
	{name: "ExemptWhileSSONotRequired", facts: func(f *gatehouse.LocalLoginFacts) { f.Exempt = true }, want: gatehouse.SignedIn},
	{name: "NoSuchUser", facts: func(f *gatehouse.LocalLoginFacts) { *f = gatehouse.LocalLoginFacts{} }, want: gatehouse.ReasonNoSuchUser},
	{name: "Disabled", facts: func(f *gatehouse.LocalLoginFacts) { f.Enabled = false }, want: gatehouse.ReasonDisabled},
	{name: "SSOAccount", facts: func(f *gatehouse.LocalLoginFacts) { f.Kind = "sso" }, want: gatehouse.ReasonNotLocalUser},
	{name: "SupportAccount", facts: func(f *gatehouse.LocalLoginFacts) { f.Kind = "support" }, want: gatehouse.ReasonNotLocalUser},
	{name: "SSORequired", facts: func(f *gatehouse.LocalLoginFacts) { f.SSORequired = true }, want: gatehouse.ReasonSSORequired},
	{name: "NoPassword", facts: func(f *gatehouse.LocalLoginFacts) { f.HasPassword, f.PasswordOK = false, false }, want: gatehouse.ReasonNoPassword},
	{name: "WrongPassword", facts: func(f *gatehouse.LocalLoginFacts) { f.PasswordOK = false }, want: gatehouse.ReasonBadPassword},

	// Precedence: nothing that needs the password is said before every
	// reason that does not has passed.
	{name: "NoSuchUserWhatever", facts: func(f *gatehouse.LocalLoginFacts) { f.Found, f.SSORequired = false, true },
		want: gatehouse.ReasonNoSuchUser, reason: "facts of no account are not judged"},
	{name: "DisabledWithWrongPassword", facts: func(f *gatehouse.LocalLoginFacts) { f.Enabled, f.PasswordOK = false, false },
		want: gatehouse.ReasonDisabled, reason: "a disabled account's refusal says nothing about the password"},
	{name: "DisabledWithRightPassword", facts: func(f *gatehouse.LocalLoginFacts) { f.Enabled = false },
		want: gatehouse.ReasonDisabled, reason: "a disabled account never logs in"},
	{name: "DisabledBeforeKind", facts: func(f *gatehouse.LocalLoginFacts) { f.Enabled, f.Kind = false, "sso" },
		want: gatehouse.ReasonDisabled, reason: "the account's state comes first"},
	{name: "DisabledBeforeSSORequired", facts: func(f *gatehouse.LocalLoginFacts) { f.Enabled, f.SSORequired = false, true },
		want: gatehouse.ReasonDisabled, reason: "the account's state comes first"},
	{name: "NotLocalWithWrongPassword", facts: func(f *gatehouse.LocalLoginFacts) { f.Kind, f.PasswordOK = "sso", false },
		want: gatehouse.ReasonNotLocalUser, reason: "an SSO account's refusal says nothing about a password"},
	{name: "NotLocalBeforeSSORequired", facts: func(f *gatehouse.LocalLoginFacts) { f.Kind, f.SSORequired = "support", true },
		want: gatehouse.ReasonNotLocalUser, reason: "the support account never logs in here, required SSO or not"},
	{name: "SSORequiredWithRightPassword", facts: func(f *gatehouse.LocalLoginFacts) { f.SSORequired = true },
		want: gatehouse.ReasonSSORequired, reason: "required SSO closes local login for the non-exempt, right password or not"},
	{name: "SSORequiredWithWrongPassword", facts: func(f *gatehouse.LocalLoginFacts) { f.SSORequired, f.PasswordOK = true, false },
		want: gatehouse.ReasonSSORequired, reason: "the refusal says nothing about the password (and counts no failure)"},
	{name: "SSORequiredWithoutPassword", facts: func(f *gatehouse.LocalLoginFacts) {
		f.SSORequired, f.HasPassword, f.PasswordOK = true, false, false
	}, want: gatehouse.ReasonSSORequired, reason: "whether the account has a password is not told either"},
	{name: "NoPasswordIsNotWrongPassword", facts: func(f *gatehouse.LocalLoginFacts) { f.HasPassword, f.PasswordOK = false, false },
		want: gatehouse.ReasonNoPassword, reason: "an account without a password has none to guess"},
	{name: "NoPasswordWhateverMatched", facts: func(f *gatehouse.LocalLoginFacts) { f.HasPassword, f.PasswordOK = false, true },
		want: gatehouse.ReasonNoPassword, reason: "without a stored password nothing can match"},
}

func TestDecideLocalLogin(t *testing.T) {
	for _, tt := range localLoginCases {
		t.Run(tt.name, func(t *testing.T) {
			f := localOK()
			if tt.facts != nil {
				tt.facts(&f)
			}
			if got := gatehouse.DecideLocalLogin(&f); got != tt.want {
				t.Errorf("DecideLocalLogin(%+v) = %s, want %s %s", f, got, tt.want, because(tt.reason))
			}
		})
	}
}

// TestDecideLocalLoginRefusalHidesPassword: over every combination of the
// facts, a refusal for any reason but wrong_password is the same whether
// the password matched or not, and only a matching password signs in.
func TestDecideLocalLoginRefusalHidesPassword(t *testing.T) {
	for _, kind := range []string{"local", "sso", "support"} {
		for _, c := range boolCombinations(5) {
			f := gatehouse.LocalLoginFacts{Found: c[0], Enabled: c[1], Kind: kind, SSORequired: c[2], Exempt: c[3], HasPassword: c[4]}
			right, wrong := f, f
			right.PasswordOK, wrong.PasswordOK = true, false
			r, w := gatehouse.DecideLocalLogin(&right), gatehouse.DecideLocalLogin(&wrong)
			if w == gatehouse.SignedIn {
				t.Errorf("%+v: a wrong password signed in", wrong)
			}
			if r != w && !(r == gatehouse.SignedIn && w == gatehouse.ReasonBadPassword) {
				t.Errorf("%+v: %s with the right password, %s with a wrong one: the refusal tells the password", f, r, w)
			}
		}
	}
}

var (
	issued = time.Date(2026, 11, 3, 10, 0, 0, 0, time.UTC)
	during = issued.Add(time.Hour)
)

// liveCredential is a credential a logon at during passes with the right
// password: issued at issued, valid for 72 hours.
func liveCredential() gatehouse.SupportCredential {
	return gatehouse.SupportCredential{AccountName: "vendorsupport", AccountExists: true, Enabled: true, HasCredential: true,
		RequestID: "req-1", IssuedAt: issued, ExpiresAt: issued.Add(72 * time.Hour)}
}

var supportLogonCases = []struct {
	name       string
	cred       func(*gatehouse.SupportCredential)
	wrongPw    bool
	now        time.Time // zero: during
	want       gatehouse.LogonReason
	precedence string
}{
	{name: "OK", want: gatehouse.LogonOK},
	{name: "AccountMissing", cred: func(c *gatehouse.SupportCredential) {
		*c = gatehouse.SupportCredential{AccountName: "vendorsupport"}
	}, want: gatehouse.LogonNoAccount},
	{name: "AccountDisabled", cred: func(c *gatehouse.SupportCredential) { c.Enabled = false }, want: gatehouse.LogonAccountDisabled},
	{name: "NoCredential", cred: func(c *gatehouse.SupportCredential) { c.HasCredential = false }, want: gatehouse.LogonNoCredential},
	{name: "Expired", now: issued.Add(72 * time.Hour), want: gatehouse.LogonExpired},
	{name: "NotYetValid", now: issued.Add(-gatehouse.SupportLogonClockSkew - time.Nanosecond), want: gatehouse.LogonNotYetValid},
	{name: "WrongPassword", wrongPw: true, want: gatehouse.LogonWrongPassword},
	// Reset after use ends the credential that long after the first
	// logon, when that is before its expiry; not when it is after.
	{name: "ResetAfterUseLastInstant", cred: resetAfterUse(issued.Add(time.Hour), 2*time.Hour),
		now: issued.Add(3*time.Hour - time.Nanosecond), want: gatehouse.LogonOK},
	{name: "ResetAfterUseEnds", cred: resetAfterUse(issued.Add(time.Hour), 2*time.Hour),
		now: issued.Add(3 * time.Hour), want: gatehouse.LogonExpired},
	{name: "ResetAfterUseBeyondExpiry", cred: resetAfterUse(issued.Add(71*time.Hour), 24*time.Hour),
		now: issued.Add(72 * time.Hour), want: gatehouse.LogonExpired},
	{name: "ResetAfterUseBeforeFirstLogon", cred: resetAfterUse(time.Time{}, time.Minute),
		now: issued.Add(71 * time.Hour), want: gatehouse.LogonOK},

	// Precedence, in the order of docs/support-access.md.
	{name: "MissingWhatever", cred: func(c *gatehouse.SupportCredential) { c.AccountExists = false }, wrongPw: true,
		now: issued.Add(-time.Hour), want: gatehouse.LogonNoAccount, precedence: "no account: nothing else is judged"},
	{name: "DisabledWithWrongPassword", cred: func(c *gatehouse.SupportCredential) { c.Enabled = false }, wrongPw: true,
		want: gatehouse.LogonAccountDisabled, precedence: "a disabled account's refusal says nothing about the password"},
	{name: "DisabledWithRightPassword", cred: func(c *gatehouse.SupportCredential) { c.Enabled = false },
		want: gatehouse.LogonAccountDisabled, precedence: "a revoked (disabled) account refuses its old password"},
	{name: "DisabledBeforeExpired", cred: func(c *gatehouse.SupportCredential) { c.Enabled = false },
		now: issued.Add(100 * time.Hour), want: gatehouse.LogonAccountDisabled, precedence: "docs order: disabled before expired"},
	{name: "NoCredentialWithWrongPassword", cred: func(c *gatehouse.SupportCredential) { c.HasCredential = false }, wrongPw: true,
		want: gatehouse.LogonNoCredential, precedence: "no credential: there is no password to be wrong"},
	{name: "NotYetValidWithWrongPassword", wrongPw: true, now: issued.Add(-time.Hour),
		want: gatehouse.LogonNotYetValid, precedence: "a window that cannot be placed in time refuses whatever the password"},
	{name: "ExpiredWithWrongPassword", wrongPw: true, now: issued.Add(73 * time.Hour),
		want: gatehouse.LogonExpired, precedence: "an expired credential's refusal says nothing about the password"},
	{name: "NotYetValidBeforeExpired", cred: func(c *gatehouse.SupportCredential) { c.ExpiresAt = issued.Add(-2 * time.Hour) },
		now: issued.Add(-time.Hour), want: gatehouse.LogonNotYetValid, precedence: "docs order: not yet valid before expired"},
}

// resetAfterUse sets the first logon and the reset-after-use duration.
func resetAfterUse(first time.Time, d time.Duration) func(*gatehouse.SupportCredential) {
	return func(c *gatehouse.SupportCredential) { c.FirstLogonAt, c.ResetAfterUse = first, d }
}

func TestDecideSupportLogon(t *testing.T) {
	for _, tt := range supportLogonCases {
		t.Run(tt.name, func(t *testing.T) {
			c := liveCredential()
			if tt.cred != nil {
				tt.cred(&c)
			}
			now := tt.now
			if now.IsZero() {
				now = during
			}
			if got := gatehouse.DecideSupportLogon(&c, !tt.wrongPw, now); got != tt.want {
				t.Errorf("DecideSupportLogon(%+v, password ok %v, %s) = %s, want %s %s",
					c, !tt.wrongPw, now.Format(time.RFC3339Nano), got, tt.want, because(tt.precedence))
			}
		})
	}
}

// TestDecideSupportLogonRefusalHidesPassword: over every state of the
// account and credential and times around every boundary, a refusal other
// than wrong_password is the same with the right password and a wrong
// one, and a wrong password is never ok.
func TestDecideSupportLogonRefusalHidesPassword(t *testing.T) {
	times := []time.Time{
		issued.Add(-gatehouse.SupportLogonClockSkew - time.Nanosecond), issued.Add(-gatehouse.SupportLogonClockSkew),
		issued, during, issued.Add(2 * time.Hour), issued.Add(72*time.Hour - time.Nanosecond), issued.Add(72 * time.Hour),
	}
	for _, b := range boolCombinations(4) {
		c := liveCredential()
		c.AccountExists, c.Enabled, c.HasCredential = b[0], b[1], b[2]
		if b[3] {
			resetAfterUse(issued.Add(time.Hour), time.Hour)(&c)
		}
		for _, now := range times {
			r, w := gatehouse.DecideSupportLogon(&c, true, now), gatehouse.DecideSupportLogon(&c, false, now)
			if w == gatehouse.LogonOK {
				t.Errorf("%+v at %s: a wrong password is ok", c, now)
			}
			if r != w && !(r == gatehouse.LogonOK && w == gatehouse.LogonWrongPassword) {
				t.Errorf("%+v at %s: %s with the right password, %s with a wrong one", c, now, r, w)
			}
		}
	}
}

// TestEveryReasonIsDecided fails when a reason code exists that no case of
// the tables above expects, so a new reason cannot be added without a
// test. The codes are listed here by hand, and the list is checked against
// the constants the package's source declares.
func TestEveryReasonIsDecided(t *testing.T) {
	signIn := map[gatehouse.SignInReason]string{
		gatehouse.SignedIn: "", gatehouse.AccountCreated: "", gatehouse.ReasonDisabled: "",
		gatehouse.ReasonNotAllowed: "", gatehouse.ReasonIssuer: "", gatehouse.ReasonAutoCreate: "",
		gatehouse.ReasonNotInIdP: "", gatehouse.ReasonIncomplete: "", gatehouse.ReasonExpired: "",
		gatehouse.ReasonUnverified: "", gatehouse.ReasonConflict: "", gatehouse.ReasonConfusable: "",
		gatehouse.ReasonSSORequired: "", gatehouse.ReasonBadPassword: "", gatehouse.ReasonNoSuchUser: "",
		gatehouse.ReasonNoPassword: "", gatehouse.ReasonNotLocalUser: "",
		gatehouse.ReasonLocked:       "the gate's throttling adds it (internal/core), no decision function returns it",
		gatehouse.ReasonTokenInvalid: "the gate's token verification (internal/oidc) gives it before any decision; internal/core's token tests cover each detail",
	}
	logon := map[gatehouse.LogonReason]string{
		gatehouse.LogonOK: "", gatehouse.LogonNoAccount: "", gatehouse.LogonAccountDisabled: "",
		gatehouse.LogonNoCredential: "", gatehouse.LogonExpired: "", gatehouse.LogonWrongPassword: "",
		gatehouse.LogonNotYetValid: "",
		gatehouse.LogonLocked:      "the gate's throttling adds it (internal/core), no decision function returns it",
	}

	decided := map[gatehouse.SignInReason]bool{}
	for _, c := range signInCases {
		decided[c.want] = true
	}
	for _, c := range localLoginCases {
		decided[c.want] = true
	}
	for r, excused := range signIn {
		if excused == "" && !decided[r] {
			t.Errorf("sign-in reason %s: no case of DecideSignIn or DecideLocalLogin expects it", r)
		}
		if excused != "" && decided[r] {
			t.Errorf("sign-in reason %s is listed as not decided (%s), yet a case expects it", r, excused)
		}
	}
	for r := range decided {
		if _, ok := signIn[r]; !ok {
			t.Errorf("a case expects sign-in reason %q, which is not in the list", r)
		}
	}
	logonDecided := map[gatehouse.LogonReason]bool{}
	for _, c := range supportLogonCases {
		logonDecided[c.want] = true
	}
	for r, excused := range logon {
		if excused == "" && !logonDecided[r] {
			t.Errorf("logon reason %s: no case of DecideSupportLogon expects it", r)
		}
		if excused != "" && logonDecided[r] {
			t.Errorf("logon reason %s is listed as not decided (%s), yet a case expects it", r, excused)
		}
	}

	// The lists above must name every constant of the two types.
	declared := declaredConstants(t, "SignInReason", "LogonReason")
	var listed []string
	for r := range signIn {
		listed = append(listed, "SignInReason "+string(r))
	}
	for r := range logon {
		listed = append(listed, "LogonReason "+string(r))
	}
	slices.Sort(listed)
	if !slices.Equal(listed, declared) {
		t.Errorf("the reason constants declared in the package are\n%s\nthe test lists\n%s",
			strings.Join(declared, "\n"), strings.Join(listed, "\n"))
	}
}

// declaredConstants returns "Type value" for every constant of the named
// types that the package's non-test source declares, sorted.
func declaredConstants(t *testing.T, types ...string) []string {
	t.Helper()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			gd, ok := d.(*ast.GenDecl)
			if !ok || gd.Tok != token.CONST {
				continue
			}
			for _, spec := range gd.Specs {
				vs := spec.(*ast.ValueSpec)
				typ, ok := vs.Type.(*ast.Ident)
				if !ok || !slices.Contains(types, typ.Name) {
					continue
				}
				for _, v := range vs.Values {
					lit, ok := v.(*ast.BasicLit)
					if !ok || lit.Kind != token.STRING {
						t.Fatalf("%s: a %s constant that is not a string literal", fset.Position(v.Pos()), typ.Name)
					}
					out = append(out, typ.Name+" "+strings.Trim(lit.Value, "\"`"))
				}
			}
		}
	}
	if len(out) == 0 {
		t.Fatal("found no reason constants in the package's source")
	}
	slices.Sort(out)
	return out
}

// boolCombinations returns all 2^n assignments of n booleans.
func boolCombinations(n int) [][]bool {
	var out [][]bool
	for i := range 1 << n {
		c := make([]bool, n)
		for j := range c {
			c[j] = i&(1<<j) != 0
		}
		out = append(out, c)
	}
	return out
}

func because(reason string) string {
	if reason == "" {
		return ""
	}
	return "(" + reason + ")"
}
