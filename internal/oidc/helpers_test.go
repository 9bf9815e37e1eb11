package oidc

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/oidc/oidctest"

	jose "github.com/go-jose/go-jose/v4"
)

const (
	testIssuer = "https://idp.example.test"
	testClient = "gatehouse-test"
	testNonce  = "nonce-7f3a9c51e2"
)

// t0 is the tests' "now".
var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// testKeys are made once per test binary: RSA key generation is slow under
// the race detector.
type testKeys struct {
	rsa      *rsa.PrivateKey // kid rsa-1 in the test set
	otherRSA *rsa.PrivateKey // in no set
	ec       *ecdsa.PrivateKey
	ed       ed25519.PrivateKey
}

var (
	keysOnce sync.Once
	keys     testKeys
)

func theKeys(t *testing.T) *testKeys {
	t.Helper()
	keysOnce.Do(func() {
		must := func(err error) {
			if err != nil {
				panic(err)
			}
		}
		var err error
		keys.rsa, err = rsa.GenerateKey(rand.Reader, 2048)
		must(err)
		keys.otherRSA, err = rsa.GenerateKey(rand.Reader, 2048)
		must(err)
		keys.ec, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		must(err)
		_, keys.ed, err = ed25519.GenerateKey(rand.Reader)
		must(err)
	})
	return &keys
}

// jwksOf writes a JWK Set of the public halves of the given keys.
func jwksOf(t *testing.T, ks ...jose.JSONWebKey) []byte {
	t.Helper()
	for i := range ks {
		switch k := ks[i].Key.(type) {
		case *rsa.PrivateKey:
			ks[i].Key = k.Public()
		case *ecdsa.PrivateKey:
			ks[i].Key = k.Public()
		case ed25519.PrivateKey:
			ks[i].Key = k.Public()
		}
	}
	b, err := json.Marshal(jose.JSONWebKeySet{Keys: ks})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// testJWKS is the usual set: rsa-1 (RS256), ec-1 (ES256), ed-1 (EdDSA).
func testJWKS(t *testing.T) []byte {
	k := theKeys(t)
	return jwksOf(t,
		jose.JSONWebKey{Key: k.rsa, KeyID: "rsa-1", Algorithm: "RS256", Use: "sig"},
		jose.JSONWebKey{Key: k.ec, KeyID: "ec-1", Algorithm: "ES256", Use: "sig"},
		jose.JSONWebKey{Key: k.ed, KeyID: "ed-1", Algorithm: "EdDSA"},
	)
}

// claims returns a valid payload for t0, changed by mods.
func claims(mods ...func(map[string]any)) map[string]any {
	c := map[string]any{
		"iss":            testIssuer,
		"aud":            testClient,
		"sub":            "user-1",
		"iat":            t0.Add(-time.Minute).Unix(),
		"exp":            t0.Add(10 * time.Minute).Unix(),
		"auth_time":      t0.Add(-2 * time.Minute).Unix(),
		"nonce":          testNonce,
		"email":          "user-1@example.test",
		"email_verified": true,
	}
	for _, m := range mods {
		m(c)
	}
	return c
}

func set(k string, v any) func(map[string]any) { return func(c map[string]any) { c[k] = v } }
func del(k string) func(map[string]any)        { return func(c map[string]any) { delete(c, k) } }

// sign makes a compact JWS of payload with go-jose; kid "" leaves it out.
func sign(t *testing.T, key any, alg jose.SignatureAlgorithm, kid string, payload map[string]any) string {
	t.Helper()
	return oidctest.Sign(t, key, alg, kid, "JWT", payload)
}

// signTyp is sign with the header's typ.
func signTyp(t *testing.T, key any, alg jose.SignatureAlgorithm, kid, typ string, payload map[string]any) string {
	t.Helper()
	return oidctest.Sign(t, key, alg, kid, typ, payload)
}

func rs256(t *testing.T, payload map[string]any) string {
	return sign(t, theKeys(t).rsa, jose.RS256, "rsa-1", payload)
}

// unsigned makes a token with the given header and an empty signature, as
// an attacker would write an "alg": "none" token by hand.
func unsigned(t *testing.T, header, payload map[string]any) string {
	return oidctest.Unsigned(header, payload)
}

// clock is a settable clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock(t time.Time) *clock { return &clock{t: t} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func staticConfig(t *testing.T) Config {
	return Config{Issuer: testIssuer, ClientID: testClient, Skew: DefaultSkew, JWKS: testJWKS(t)}
}

func newVerifier(t *testing.T, cfg Config, now func() time.Time) *Verifier {
	t.Helper()
	v, err := New(cfg, Options{Now: now})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return v
}

// wantRefusal checks that err is an *Error with the given detail.
func wantRefusal(t *testing.T, c *Claims, err error, detail string) *Error {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("got claims %v, error %v (%T); want a refusal %s", c, err, err, detail)
	}
	if e.Detail != detail {
		t.Fatalf("got refusal %q (%v); want %q", e.Detail, e, detail)
	}
	if c != nil {
		t.Fatalf("a refusal returned claims %+v", c)
	}
	return e
}

// wantUnavailable checks that err is an *UnavailableError and not a refusal.
func wantUnavailable(t *testing.T, c *Claims, err error) *UnavailableError {
	t.Helper()
	var u *UnavailableError
	var e *Error
	if !errors.As(err, &u) || errors.As(err, &e) || c != nil {
		t.Fatalf("got claims %v, error %v (%T); want unavailable", c, err, err)
	}
	return u
}

// fakeIdP is an identity provider's discovery document and key set on an
// httptest server, counting requests.
type fakeIdP struct {
	*httptest.Server
	discoveryHits atomic.Int64
	jwksHits      atomic.Int64

	mu         sync.Mutex
	jwks       []byte
	jwksStatus int
	issuer     string // the issuer the document names; the server's URL if ""
}

func newIdP(t *testing.T, jwks []byte) *fakeIdP {
	t.Helper()
	idp := &fakeIdP{jwks: jwks, jwksStatus: http.StatusOK}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		idp.discoveryHits.Add(1)
		idp.mu.Lock()
		iss := idp.issuer
		idp.mu.Unlock()
		if iss == "" {
			iss = idp.URL
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"issuer":                                iss,
			"authorization_endpoint":                idp.URL + "/authorize",
			"token_endpoint":                        idp.URL + "/token",
			"jwks_uri":                              idp.URL + "/jwks",
			"userinfo_endpoint":                     idp.URL + "/userinfo",
			"code_challenge_methods_supported":      []string{"S256"},
			"id_token_signing_alg_values_supported": []string{"RS256", "ES256"},
		})
	})
	mux.HandleFunc("GET /jwks", func(w http.ResponseWriter, r *http.Request) {
		idp.jwksHits.Add(1)
		idp.mu.Lock()
		body, status := idp.jwks, idp.jwksStatus
		idp.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = w.Write(body)
	})
	idp.Server = httptest.NewServer(mux)
	t.Cleanup(idp.Close)
	return idp
}

func (idp *fakeIdP) setJWKS(status int, body []byte) {
	idp.mu.Lock()
	defer idp.mu.Unlock()
	idp.jwksStatus, idp.jwks = status, body
}

// discoveryVerifier verifies for idp with its own key cache and clock.
func discoveryVerifier(t *testing.T, idp *fakeIdP, clk *clock) *Verifier {
	t.Helper()
	v, err := New(Config{Issuer: idp.URL, ClientID: testClient, Skew: DefaultSkew, Discovery: true},
		Options{HTTPClient: idp.Client(), Now: clk.Now, Cache: NewKeyCache()})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return v
}

// forIssuer returns claims for iss instead of testIssuer.
func forIssuer(iss string, mods ...func(map[string]any)) map[string]any {
	return claims(append([]func(map[string]any){set("iss", iss)}, mods...)...)
}
