package core_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/core"
	"github.com/gatehouse-dev/gatehouse/internal/oidc"
	"github.com/gatehouse-dev/gatehouse/internal/oidc/oidctest"
	"github.com/gatehouse-dev/gatehouse/internal/wire"
	"github.com/gatehouse-dev/gatehouse/pkg/gatehouse"
	jose "github.com/go-jose/go-jose/v4"
)

const (
	testIssuer = "https://idp.example.test"
	testClient = "gatehouse-test"
)

// testIdP signs ID tokens with an RSA key whose public half the store
// imports (--jwks-file).
type testIdP struct {
	key  *rsa.PrivateKey
	kid  string
	jwks []byte
}

func newTestIdP(t testing.TB) *testIdP {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	p := &testIdP{key: key, kid: "test-rsa-1"}
	p.jwks, err = json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &key.PublicKey, KeyID: p.kid, Algorithm: "RS256", Use: "sig"}}})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// claims are a valid token's claims for subject sub at now.
func (p *testIdP) claims(now time.Time, sub, email string) map[string]any {
	return map[string]any{
		"iss": testIssuer, "aud": testClient, "sub": sub, "email": email, "email_verified": true,
		"iat": now.Unix(), "exp": now.Add(5 * time.Minute).Unix(), "auth_time": now.Add(-time.Minute).Unix(),
		"nonce": "n-0S6_WzA2Mj",
	}
}

func signJWT(t testing.TB, alg jose.SignatureAlgorithm, key any, kid string, claims map[string]any) string {
	t.Helper()
	return oidctest.Sign(t, key, alg, kid, "JWT", claims)
}

func (p *testIdP) sign(t testing.TB, claims map[string]any) string {
	return signJWT(t, jose.RS256, p.key, p.kid, claims)
}

// tokenStore is a store that verifies tokens from p, with auto-creation on.
func tokenStore(t *testing.T, p *testIdP, now time.Time, policy gatehouse.IdPChange) *core.Core {
	t.Helper()
	path := filepath.Join(t.TempDir(), "gatehouse.db")
	db, _, err := wire.Create(ctx, path, wire.Options{OSUser: "op", Now: func() time.Time { return now }}, core.InitParams{Actor: "op"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	for _, k := range []string{core.SettingSSOAllow, core.SettingSSOAutoCreate} {
		if _, err := db.SetSSOFlag(ctx, "op", k, true); err != nil {
			t.Fatal(err)
		}
	}
	issuer, client := testIssuer, testClient
	policy.Issuer, policy.ClientID, policy.JWKS = &issuer, &client, p.jwks
	if _, err := db.SetIdP(ctx, "op", policy); err != nil {
		t.Fatal(err)
	}
	return db
}

func lastEvent(t *testing.T, db *core.Core) gatehouse.Event {
	t.Helper()
	var last gatehouse.Event
	if err := db.ListEvents(ctx, gatehouse.EventFilter{Limit: 1}, func(ev *gatehouse.Event) error {
		last = *ev
		last.Details = append(json.RawMessage(nil), ev.Details...)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return last
}

func countUsers(t *testing.T, db *core.Core) int {
	t.Helper()
	n := 0
	if err := db.ListUsers(ctx, gatehouse.UserFilter{}, func(*gatehouse.User) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestSignInIDTokenRefusals: every way a token can fail is refused with
// token_invalid and its detail, recorded as one signin.denied event with
// the token's hash (never the token), and creates nothing.
func TestSignInIDTokenRefusals(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	p := newTestIdP(t)
	other, _ := rsa.GenerateKey(rand.Reader, 2048)
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	pubDER, _ := x509.MarshalPKIXPublicKey(&p.key.PublicKey)
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})
	with := func(k string, v any) map[string]any {
		c := p.claims(now, "sub-1", "ann@example.com")
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
		return c
	}
	valid := p.claims(now, "sub-1", "ann@example.com")
	cases := []struct {
		name   string
		token  string
		nonce  string
		policy gatehouse.IdPChange
		want   string
	}{
		{"alg none", oidctest.Unsigned(map[string]any{"alg": "none", "typ": "JWT"}, valid), "", gatehouse.IdPChange{}, oidc.AlgNotAllowed},
		{"HS256 keyed with the public key", signJWT(t, jose.HS256, pubPEM, p.kid, valid), "", gatehouse.IdPChange{}, oidc.AlgNotAllowed},
		{"ES256 outside the allow-list", signJWT(t, jose.ES256, ec, p.kid, valid), "", gatehouse.IdPChange{Algorithms: []string{"RS256"}}, oidc.AlgNotAllowed},
		{"signed by another key, known kid", signJWT(t, jose.RS256, other, p.kid, valid), "", gatehouse.IdPChange{}, oidc.BadSignature},
		{"unknown kid", signJWT(t, jose.RS256, p.key, "rotated-away", valid), "", gatehouse.IdPChange{}, oidc.UnknownKey},
		{"wrong issuer", p.sign(t, with("iss", "https://evil.example.test")), "", gatehouse.IdPChange{}, oidc.WrongIssuer},
		{"wrong audience", p.sign(t, with("aud", "another-app")), "", gatehouse.IdPChange{}, oidc.WrongAudience},
		{"several audiences, azp another", p.sign(t, with("aud", []string{testClient, "another-app"})), "", gatehouse.IdPChange{}, oidc.WrongAZP},
		{"expired", p.sign(t, with("exp", now.Add(-2*time.Minute).Unix())), "", gatehouse.IdPChange{}, oidc.Expired},
		{"nbf in the future", p.sign(t, with("nbf", now.Add(10*time.Minute).Unix())), "", gatehouse.IdPChange{}, oidc.NotYetValid},
		{"iat far in the future", p.sign(t, with("iat", now.Add(time.Hour).Unix())), "", gatehouse.IdPChange{}, oidc.NotYetValid},
		{"nonce missing", p.sign(t, with("nonce", nil)), "n-0S6_WzA2Mj", gatehouse.IdPChange{}, oidc.NonceMissing},
		{"nonce mismatched", p.sign(t, valid), "another-nonce", gatehouse.IdPChange{}, oidc.NonceMismatch},
		{"stale auth_time", p.sign(t, with("auth_time", now.Add(-3*time.Hour).Unix())), "", gatehouse.IdPChange{MaxAge: ptr(time.Hour)}, oidc.StaleAuthentication},
		{"no auth_time with max-age", p.sign(t, with("auth_time", nil)), "", gatehouse.IdPChange{MaxAge: ptr(time.Hour)}, oidc.StaleAuthentication},
		{"acr not satisfied", p.sign(t, with("acr", "urn:pwd")), "", gatehouse.IdPChange{RequireACR: &[]string{"urn:mfa"}}, oidc.MFARequired},
		{"amr without mfa", p.sign(t, with("amr", []string{"pwd"})), "", gatehouse.IdPChange{RequireAMR: &[]string{"mfa"}}, oidc.MFARequired},
		{"no subject", p.sign(t, with("sub", nil)), "", gatehouse.IdPChange{}, oidc.MissingClaim},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			db := tokenStore(t, p, now, c.policy)
			before := countUsers(t, db)
			res, err := db.SignInIDToken(ctx, c.token, c.nonce)
			if err != nil {
				t.Fatalf("SignInIDToken: %v", err)
			}
			if res.Allowed() || res.Reason != gatehouse.ReasonTokenInvalid || res.Detail != c.want || res.Verified {
				t.Fatalf("got %s %s (%s) verified=%v, want refused token_invalid (%s)", res.Decision, res.Reason, res.Detail, res.Verified, c.want)
			}
			if n := countUsers(t, db); n != before {
				t.Errorf("users: %d before, %d after a refused token", before, n)
			}
			ev := lastEvent(t, db)
			var d map[string]any
			if err := json.Unmarshal(ev.Details, &d); err != nil {
				t.Fatal(err)
			}
			if ev.Action != "signin.denied" || ev.Outcome != gatehouse.OutcomeDenied || d["detail"] != c.want ||
				d["reason"] != "token_invalid" || d["verified"] != false || d["token_sha256"] != oidc.TokenHash(c.token) {
				t.Errorf("event %s %s %s", ev.Action, ev.Outcome, ev.Details)
			}
			// A token whose signature did not hold names nobody; one the
			// IdP signed that failed a later check is the IdP's word.
			switch c.want {
			case oidc.Malformed, oidc.AlgNotAllowed, oidc.UnknownKey, oidc.BadSignature:
				if ev.Actor != "anonymous" || ev.Target != "sso" || d["claims"] != nil || d["subject"] != "" || d["email"] != "" {
					t.Errorf("an unsigned token's claims were recorded: actor %q target %q %s", ev.Actor, ev.Target, ev.Details)
				}
			case oidc.MissingClaim:
			default:
				if ev.Actor != "ann@example.com" || d["claims"] == nil {
					t.Errorf("a signed token refused by a later check: actor %q, details %s", ev.Actor, ev.Details)
				}
			}
			sig := c.token[strings.LastIndex(c.token, ".")+1:]
			body := strings.Split(c.token, ".")[1]
			for _, part := range []string{sig, body} {
				if len(part) > 8 && strings.Contains(string(ev.Details), part) {
					t.Errorf("the event holds part of the token: %s", ev.Details)
				}
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

// TestSignInIDToken: a verified token creates the account once (no
// access), signs it in the second time, and records verified: true with
// a claims summary; email_verified false and a taken email create nothing.
func TestSignInIDToken(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	p := newTestIdP(t)
	db := tokenStore(t, p, now, gatehouse.IdPChange{MaxAge: ptr(time.Hour), RequireAMR: &[]string{"mfa"}})
	c := p.claims(now, "sub-1", "Ann@Example.com")
	c["amr"] = []string{"pwd", "mfa"}
	raw := p.sign(t, c)
	for i, want := range []string{"created", "signed_in"} {
		res, err := db.SignInIDToken(ctx, raw, "n-0S6_WzA2Mj")
		if err != nil {
			t.Fatal(err)
		}
		if res.Decision != want || !res.Verified || res.User != "ann@example.com" {
			t.Fatalf("sign-in %d: %+v, want %s of ann@example.com, verified", i+1, res, want)
		}
	}
	u, err := db.User(ctx, "ann@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if !u.Pending || u.MSPAdmin || len(u.Roles)+len(u.Scopes)+len(u.Groups)+len(u.Orgs) != 0 {
		t.Errorf("a created account has access: %+v", u)
	}
	ev := lastEvent(t, db)
	var d map[string]any
	json.Unmarshal(ev.Details, &d)
	claims, _ := d["claims"].(map[string]any)
	if ev.Action != "signin.success" || d["verified"] != true || claims["sub"] != "sub-1" || d["token_sha256"] != oidc.TokenHash(raw) {
		t.Errorf("event %s %s", ev.Action, ev.Details)
	}
	if strings.Contains(string(ev.Details), "n-0S6_WzA2Mj") {
		t.Errorf("the event holds the nonce: %s", ev.Details)
	}

	// The IdP does not vouch for the email: signed, but nothing created.
	c2 := p.claims(now, "sub-2", "bob@example.com")
	c2["email_verified"], c2["amr"] = false, []string{"mfa"}
	res, err := db.SignInIDToken(ctx, p.sign(t, c2), "")
	if err != nil || res.Reason != gatehouse.ReasonUnverified || !res.Verified {
		t.Fatalf("email_verified false: %+v %v", res, err)
	}
	// A second subject claiming ann's email is never linked to her account.
	c3 := p.claims(now, "sub-3", "ann@example.com")
	c3["amr"] = []string{"mfa"}
	res, err = db.SignInIDToken(ctx, p.sign(t, c3), "")
	if err != nil || res.Reason != gatehouse.ReasonConflict || res.UserID != 0 {
		t.Fatalf("a second subject with a taken email: %+v %v", res, err)
	}
	if n := countUsers(t, db); n != 1 {
		t.Errorf("%d users, want ann only", n)
	}
	// An asserted identity is never verified, whatever the caller says.
	res, err = db.SignIn(ctx, gatehouse.Identity{Issuer: testIssuer, Subject: "sub-1", Email: "ann@example.com", EmailVerified: true,
		InIdP: true, AuthComplete: true, Verified: true})
	if err != nil || res.Verified {
		t.Fatalf("asserted identity: %+v %v", res, err)
	}
	json.Unmarshal(lastEvent(t, db).Details, &d)
	if d["verified"] != false {
		t.Errorf("an asserted sign-in's event says verified %v", d["verified"])
	}
}

// TestIdPSettings: the policy is checked before anything is written, and
// shown without the keys' material.
func TestIdPSettings(t *testing.T) {
	now := time.Now()
	p := newTestIdP(t)
	db := tokenStore(t, p, now, gatehouse.IdPChange{})
	s, err := db.SSOSettings(ctx)
	if err != nil {
		t.Fatal(err)
	}
	tv := s.Verification
	if tv == nil || tv.ClientID != testClient || tv.KeySource != gatehouse.KeysFile || len(tv.Keys) != 1 || tv.Keys[0].KeyID != p.kid ||
		time.Duration(tv.ClockSkew) != time.Minute || !slices.Equal(tv.Algorithms, oidc.DefaultAlgorithms) || tv.TestedAt != nil {
		t.Fatalf("settings %+v", tv)
	}
	head := lastEvent(t, db).Seq
	priv, _ := json.Marshal(jose.JSONWebKey{Key: p.key, KeyID: "priv", Algorithm: "RS256"})
	bad := []gatehouse.IdPChange{
		{Algorithms: []string{"none"}},
		{Algorithms: []string{"HS256"}},
		{ClockSkew: ptr(10 * time.Minute)},
		{JWKS: []byte(`{"keys":[` + string(priv) + `]}`)},
		{JWKS: []byte(`{"keys":[]}`)},
		{Discovery: true, JWKS: p.jwks},
	}
	for _, ch := range bad {
		_, err := db.SetIdP(ctx, "op", ch)
		if gatehouse.ErrorCode(err) != gatehouse.EINVALID {
			t.Errorf("%+v: %v, want EINVALID", ch, err)
		}
		if err != nil && strings.Contains(err.Error(), base64.RawURLEncoding.EncodeToString(p.key.D.Bytes())[:16]) {
			t.Errorf("the refusal quotes the private key: %v", err)
		}
	}
	if h := lastEvent(t, db).Seq; h != head {
		t.Errorf("refused settings wrote events (head %d → %d)", head, h)
	}
	changed, err := db.SetIdP(ctx, "op", gatehouse.IdPChange{JWKS: p.jwks})
	if err != nil || changed {
		t.Errorf("re-importing the same keys: changed %v, %v", changed, err)
	}
	// Another issuer cannot inherit the keys imported for this one.
	other := "https://other.example.test"
	if _, err := db.SetIdP(ctx, "op", gatehouse.IdPChange{Issuer: &other}); gatehouse.ErrorCode(err) != gatehouse.EINVALID {
		t.Errorf("a new issuer with the old issuer's imported keys: %v, want EINVALID", err)
	}
	if _, err := db.SetIdP(ctx, "op", gatehouse.IdPChange{Issuer: &other, JWKS: p.jwks}); err != nil {
		t.Errorf("a new issuer with its keys: %v", err)
	}
	// Client-less verification is refused, as is one without a key source.
	fresh, _, err := wire.Create(ctx, filepath.Join(t.TempDir(), "g.db"), wire.Options{}, core.InitParams{Actor: "op"})
	if err != nil {
		t.Fatal(err)
	}
	defer fresh.Close()
	iss := testIssuer
	for _, ch := range []gatehouse.IdPChange{{Issuer: &iss, Discovery: true}, {Issuer: &iss, ClientID: ptr("c")}} {
		if _, err := fresh.SetIdP(ctx, "op", ch); gatehouse.ErrorCode(err) != gatehouse.EINVALID {
			t.Errorf("%+v: %v, want EINVALID", ch, err)
		}
	}
	if _, err := fresh.SignInIDToken(ctx, p.sign(t, p.claims(now, "s", "a@example.com")), ""); gatehouse.ErrorCode(err) != gatehouse.EINVALID {
		t.Errorf("a token without token verification configured: %v, want EINVALID", err)
	}
}

// TestEveryTokenDetailIsExplained: each refusal detail the verifier gives
// has an explanation and a place among the checks 'sso test' reports.
func TestEveryTokenDetailIsExplained(t *testing.T) {
	details := []string{oidc.BadSignature, oidc.UnknownKey, oidc.AlgNotAllowed, oidc.WrongIssuer, oidc.WrongAudience,
		oidc.WrongAZP, oidc.Expired, oidc.NotYetValid, oidc.NonceMismatch, oidc.NonceMissing, oidc.StaleAuthentication,
		oidc.MFARequired, oidc.Malformed, oidc.MissingClaim}
	for _, d := range details {
		if _, ok := gatehouse.TokenDetailOf(d); !ok {
			t.Errorf("detail %s has no explanation in gatehouse.TokenDetails", d)
		}
	}
	if len(gatehouse.TokenDetails) != len(details) {
		t.Errorf("gatehouse.TokenDetails has %d entries, the verifier %d details", len(gatehouse.TokenDetails), len(details))
	}
}
