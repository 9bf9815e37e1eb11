package gatehouse_test

import (
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/pkg/gatehouse"
)

func checkOf(t *testing.T, checks []gatehouse.Check, name string) gatehouse.Check {
	t.Helper()
	for _, c := range checks {
		if c.Check == name {
			return c
		}
	}
	t.Fatalf("no check %s in %+v", name, checks)
	return gatehouse.Check{}
}

// TestExplainTokens: sso explain says whether the gate verified the token,
// and a refused token fails the troubleshooting row its check maps onto.
func TestExplainTokens(t *testing.T) {
	at := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	attempt := func(reason, detail string, verified bool) gatehouse.ExplainFacts {
		return gatehouse.ExplainFacts{Query: "ann@example.com", Settings: gatehouse.SSOSettings{Allow: true, AutoCreate: true},
			Attempts: []gatehouse.SignInAttempt{{Time: at, Identity: gatehouse.Identity{Email: "ann@example.com", Verified: verified},
				Decision: "refused", Reason: reason, Detail: detail}}}
	}
	cases := []struct {
		facts           gatehouse.ExplainFacts
		status, contain string
		also            string // another check that must fail
	}{
		{attempt("token_invalid", "expired", false), "failed", "the ID token was refused (expired)", "sign_in_fresh"},
		{attempt("token_invalid", "stale_authentication", false), "failed", "stale_authentication", "sign_in_fresh"},
		{attempt("token_invalid", "mfa_required", false), "failed", "mfa_required", "authentication_completed"},
		{attempt("token_invalid", "bad_signature", false), "failed", "altered or signed by someone else", ""},
		{attempt("email_unverified", "", true), "ok", "gatehouse verified", ""},
		{attempt("email_unverified", "", false), "unknown", "verified: false", ""},
	}
	for _, c := range cases {
		e := gatehouse.Explain(c.facts)
		got := checkOf(t, e.Checks, "token_verified")
		if got.Status != c.status || !strings.Contains(got.Detail, c.contain) {
			t.Errorf("%s/%s: token_verified %+v, want %s with %q", c.facts.Attempts[0].Reason, c.facts.Attempts[0].Detail, got, c.status, c.contain)
		}
		if got.Status == "failed" && got.Fix == "" {
			t.Errorf("%s: a failed token check with no fix", c.facts.Attempts[0].Detail)
		}
		if c.also != "" {
			if a := checkOf(t, e.Checks, c.also); a.Status != "failed" {
				t.Errorf("%s: %s is %s, want failed", c.facts.Attempts[0].Detail, c.also, a.Status)
			}
		}
	}
	if e := gatehouse.Explain(gatehouse.ExplainFacts{Query: "nobody"}); len(e.Checks) > 0 {
		for _, c := range e.Checks {
			if c.Check == "token_verified" {
				t.Errorf("no attempt recorded, yet a token check: %+v", c)
			}
		}
	}
}

// TestTokenChecks: every refusal detail fails exactly one of the checks
// 'sso test' reports, and has a meaning and a fix.
func TestTokenChecks(t *testing.T) {
	for _, d := range gatehouse.TokenDetails {
		if d.Meaning == "" || d.Fix == "" {
			t.Errorf("%s: no meaning or fix", d.Code)
		}
		failed := 0
		for _, c := range gatehouse.TokenChecks(d.Code, nil) {
			switch c.Status {
			case "failed":
				failed++
				if !strings.HasPrefix(c.Detail, d.Code+": ") || c.Fix != d.Fix {
					t.Errorf("%s: %+v", d.Code, c)
				}
			case "unknown":
			default:
				t.Errorf("%s: check %s is %s after a refusal", d.Code, c.Check, c.Status)
			}
		}
		if failed != 1 {
			t.Errorf("%s fails %d checks, want 1", d.Code, failed)
		}
	}
	tv := &gatehouse.TokenVerification{MaxAge: gatehouse.Duration(time.Hour)}
	for _, c := range gatehouse.TokenChecks("", tv) {
		if c.Status != "ok" {
			t.Errorf("a verified token: %+v", c)
		}
		if c.Check == "authentication_age" && strings.Contains(c.Detail, "not required") {
			t.Errorf("max-age set, yet %q", c.Detail)
		}
		if c.Check == "mfa_policy" && !strings.Contains(c.Detail, "not required") {
			t.Errorf("no acr/amr policy, yet %q", c.Detail)
		}
	}
}
