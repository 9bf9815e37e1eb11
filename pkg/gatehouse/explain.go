package gatehouse

import (
	"fmt"
	"time"
)

// SignInAttempt is one recorded SSO sign-in decision.
type SignInAttempt struct {
	Time time.Time `json:"time"`
	Identity
	Decision string `json:"decision"`
	Reason   string `json:"reason"`
	Detail   string `json:"detail,omitempty"`
}

// ExplainFacts are what 'sso explain' answers from: the recorded attempts
// for an email or subject (newest first), the current settings, the account.
type ExplainFacts struct {
	Query    string
	Settings SSOSettings
	Attempts []SignInAttempt
	User     *User
}

// Check is one line of the troubleshooting list.
type Check struct {
	Check  string `json:"check"`
	Status string `json:"status"` // ok, failed or unknown
	Detail string `json:"detail"`
	Fix    string `json:"fix,omitempty"`
}

// Explanation answers "why was no account created?" and "why is a user who
// signed in not listed?" for one email or subject.
type Explanation struct {
	Query       string         `json:"query"`
	Verdict     string         `json:"verdict"`
	Account     string         `json:"account,omitempty"`
	Pending     bool           `json:"pending"`
	LastAttempt *SignInAttempt `json:"last_attempt,omitempty"`
	Checks      []Check        `json:"checks"`
}

// Explain walks the seed's troubleshooting lists over the facts and says,
// for each condition, whether it held, when it failed, and what to change.
func Explain(f ExplainFacts) Explanation {
	e := Explanation{Query: f.Query}
	var last *SignInAttempt
	if len(f.Attempts) > 0 {
		last = &f.Attempts[0]
		e.LastAttempt = last
	}
	failedAt := func(reason SignInReason) bool { return last != nil && last.Reason == string(reason) }
	when := func() string {
		if last == nil {
			return ""
		}
		return last.Time.UTC().Format(time.RFC3339)
	}
	add := func(check string, ok bool, unknown bool, detail, fix string) {
		c := Check{Check: check, Status: "ok", Detail: detail}
		switch {
		case unknown:
			c.Status = "unknown"
		case !ok:
			c.Status, c.Fix = "failed", fix
		}
		e.Checks = append(e.Checks, c)
	}
	s := f.Settings

	// "An MSP user signs in but no account is created."
	if last == nil {
		add("authenticated_with_idp", false, false,
			fmt.Sprintf("no SSO sign-in is recorded for %q", Clip(f.Query, 80)),
			"have the user sign in through the identity provider; check the email or subject asked about")
	} else {
		add("authenticated_with_idp", true, false, fmt.Sprintf("last sign-in at %s from issuer %s", when(), last.Issuer), "")
	}
	// Did gatehouse verify the identity provider's token itself?
	var token TokenDetail
	switch {
	case last == nil:
	case last.Reason == string(ReasonTokenInvalid):
		token, _ = TokenDetailOf(last.Detail)
		add("token_verified", false, false, fmt.Sprintf("the ID token was refused (%s): %s (%s)", last.Detail, ifElse(token.Meaning != "", token.Meaning, "unknown check"), when()), token.Fix)
	case last.Verified:
		add("token_verified", true, false, "gatehouse verified the identity provider's ID token (signature, issuer, audience, times, nonce, policy)", "")
	default:
		add("token_verified", false, true, "verified: false: the caller asserted this identity (sso signin without --id-token, or a server verifying tokens itself); gatehouse did not check a token", "")
	}
	failedToken := func(check string) bool { return token.Troubleshooting == check }
	add("sso_allowed", s.Allow && !failedAt(ReasonNotAllowed), false,
		map[bool]string{true: "users may sign in with the identity provider", false: "SSO is not allowed"}[s.Allow]+
			ifFailed(failedAt(ReasonNotAllowed), "; it was not allowed at "+when()),
		"gatehouse sso allow on")
	add("auto_create_on", (s.AutoCreate && !failedAt(ReasonAutoCreate)) || f.User != nil, false,
		map[bool]string{true: "automatic user creation is on", false: "automatic user creation is off"}[s.AutoCreate]+
			ifFailed(failedAt(ReasonAutoCreate), "; it was off at "+when()),
		"gatehouse sso auto-create on (needs SSO allowed)")
	add("user_in_idp", !failedAt(ReasonNotInIdP), last == nil,
		ifElse(failedAt(ReasonNotInIdP), "the identity provider said the user does not exist there ("+when()+")", "the identity provider knows the user"),
		"create the user at the identity provider")
	add("authentication_completed", !failedAt(ReasonIncomplete) && !failedToken("authentication_completed"), last == nil,
		ifElse(failedAt(ReasonIncomplete) || failedToken("authentication_completed"), "authentication did not complete as required ("+when()+")", "authentication completed"),
		"have the user finish signing in (MFA, consent) at the identity provider")
	if failedAt(ReasonIssuer) {
		add("issuer", false, false, "the sign-in came from issuer "+last.Issuer+", not the configured "+s.Issuer, "gatehouse sso idp set --issuer URL, or sign in through the configured provider")
	}
	if failedAt(ReasonUnverified) {
		add("email_verified", false, false, "the identity provider did not vouch for the email ("+when()+"); no account is created on an unverified email", "verify the email at the identity provider")
	}
	if failedAt(ReasonConflict) {
		add("no_identity_conflict", false, false, "another account already holds the email "+last.Email+"; a second identity cannot take it over", "give the existing account this identity deliberately, or change the email at the identity provider")
	}
	if failedAt(ReasonConfusable) {
		add("name_not_confusable", false, false, "the account name would look like an existing account's name ("+when()+"): a look-alike of another account (Unicode confusables, case aside) is never created", "check that this is not an impersonation; if the person is genuine, change the email at the identity provider or create the account deliberately with 'gatehouse users add'")
	}
	if failedAt(ReasonDisabled) {
		add("account_enabled", false, false, "the account exists but is disabled", "gatehouse users enable USER")
	}

	// "An MSP user can log in but does not appear under Users."
	add("sign_in_fresh", !failedAt(ReasonExpired) && !failedToken("sign_in_fresh"), last == nil,
		ifElse(failedAt(ReasonExpired) || failedToken("sign_in_fresh"), "the sign-in was expired or satisfied by cached credentials from a previous session ("+when()+")", "the sign-in was current"),
		"sign out and sign in again, fully, through the identity provider")
	if f.User != nil {
		u := f.User
		e.Account, e.Pending = u.Name, u.Pending
		detail := fmt.Sprintf("account %s exists (created %s, %s); 'gatehouse users list' shows every account", u.Name, u.CreatedVia, u.CreatedAt.UTC().Format(time.RFC3339))
		if u.Pending {
			detail += "; it awaits role assignment: 'gatehouse users pending' lists it"
		}
		add("account_listed", u.Enabled, false, detail, "gatehouse users enable "+u.Name)
	} else {
		add("account_listed", false, false, "no account matches "+Clip(f.Query, 80), "see the failed checks above")
	}

	switch {
	case f.User != nil && f.User.Pending:
		e.Verdict = "account " + f.User.Name + " exists and awaits role assignment"
	case f.User != nil:
		e.Verdict = "account " + f.User.Name + " exists"
	case last != nil && last.Decision == "refused":
		e.Verdict = "no account: the last sign-in (" + when() + ") was refused: " + last.Reason
	default:
		e.Verdict = "no account, and no SSO sign-in recorded"
	}
	return e
}

func ifFailed(cond bool, s string) string { return ifElse(cond, s, "") }

func ifElse(cond bool, a, b string) string {
	if cond {
		return a
	}
	return b
}
