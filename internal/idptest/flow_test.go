package idptest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"golang.org/x/oauth2"

	"github.com/gatehouse-dev/gatehouse/internal/browsertest"
)

func TestMain(m *testing.M) {
	if err := EnsureInstalled(); err != nil {
		fmt.Fprintf(os.Stderr, "idptest: %v\n", err)
		os.Exit(1)
	}
	browsertest.Main(m)
}

// These tests are the proof that the harness works: a real browser signs
// in at the real provider, and the code is exchanged and the ID token
// checked with libraries that are not the provider's.

var alice = User{Login: "alice", Subject: "248289761001", Email: "alice@example.test", EmailVerified: true, Name: "Alice Liddell"}

// A native public client (a CLI such as `sso test`) signs in with PKCE, and
// its redirect URI, registered without a port, matches the callback's
// random port (RFC 8252 section 7.3).
func TestNativePublicClient(t *testing.T) {
	callback := newCallback(t)
	p := Start(t, Options{
		Clients: []Client{{ID: "gatehouse-cli", Native: true, RedirectURIs: []string{"http://127.0.0.1/callback"}}},
		Users:   []User{alice},
	})
	cfg := oauthConfig(t, p, "gatehouse-cli", "", callback.URL+"/callback")
	cfg.Endpoint.AuthStyle = oauth2.AuthStyleInParams

	b := browsertest.New(t)
	start := time.Now()
	claims := signIn(t, b, p, cfg, "alice", callback.URL+"/callback")
	checkClaims(t, claims, p.Issuer, "gatehouse-cli", alice)
	authTime := time.Unix(int64(claims.AuthTime), 0)
	if authTime.Before(start.Add(-2*time.Second)) || authTime.After(time.Now().Add(2*time.Second)) {
		t.Errorf("auth_time %v, want the sign-in just made (%v to now)", authTime, start)
	}
}

// A confidential web client (a server) authenticates with
// client_secret_basic; a user signs in by subject; a second sign-in in the
// same browser goes through on the provider's session without a form.
func TestConfidentialWebClient(t *testing.T) {
	callback := newCallback(t)
	bob := User{Login: "bob", Subject: "bob-sub-7", Email: "bob@example.test", EmailVerified: false, Name: "Bob"}
	redirect := callback.URL + "/oidc/callback"
	p := Start(t, Options{
		Clients: []Client{{ID: "gatehouse-server", Secret: "s3cret-for-tests-only", RedirectURIs: []string{redirect}}},
		Users:   []User{alice, bob},
	})
	cfg := oauthConfig(t, p, "gatehouse-server", "s3cret-for-tests-only", redirect)
	cfg.Endpoint.AuthStyle = oauth2.AuthStyleInHeader

	b := browsertest.New(t)
	for i := range 2 {
		claims := signIn(t, b, p, cfg, bob.Subject, redirect)
		checkClaims(t, claims, p.Issuer, "gatehouse-server", bob)
		if t.Failed() {
			t.Fatalf("sign-in %d failed", i+1)
		}
	}
}

// A web client's redirect URIs match exactly: another port is refused.
func TestWebClientRedirectExact(t *testing.T) {
	p := Start(t, Options{
		Clients: []Client{{ID: "web", Secret: "x", RedirectURIs: []string{"http://127.0.0.1:1234/cb"}}},
	})
	cfg := oauthConfig(t, p, "web", "x", "http://127.0.0.1:4321/cb")
	resp, err := http.Get(cfg.AuthCodeURL("state", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), "redirect_uri did not match") {
		t.Errorf("authorization with another port: %s\n%s", resp.Status, body)
	}
}

// An unknown login fails the sign-in, and the error shows the page.
func TestUnknownLogin(t *testing.T) {
	callback := newCallback(t)
	p := Start(t, Options{
		Clients: []Client{{ID: "cli", Native: true, RedirectURIs: []string{"http://127.0.0.1/callback"}}},
		Users:   []User{alice},
	})
	cfg := oauthConfig(t, p, "cli", "", callback.URL+"/callback")
	authURL := cfg.AuthCodeURL("state", oauth2.S256ChallengeOption(oauth2.GenerateVerifier()))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, _, err := browsertest.New(t).SignIn(ctx, authURL, "mallory", "pw", callback.URL)
	if err == nil || !strings.Contains(err.Error(), `no user with login or sub "mallory"`) {
		t.Errorf("SignIn as an unknown user: %v, want the provider's refusal", err)
	}
}

// idClaims are the ID token claims the tests look at.
type idClaims struct {
	Issuer        string          `json:"iss"`
	Audience      json.RawMessage `json:"aud"`
	Subject       string          `json:"sub"`
	Email         string          `json:"email"`
	EmailVerified *bool           `json:"email_verified"`
	Name          string          `json:"name"`
	Nonce         string          `json:"nonce"`
	AuthTime      float64         `json:"auth_time"`
	Expiry        float64         `json:"exp"`
	IssuedAt      float64         `json:"iat"`
}

// signIn runs the authorization code flow with PKCE, state, nonce and
// max_age through the browser, exchanges the code, verifies the ID token's
// signature against PublicJWKS, and returns its claims with the nonce
// checked.
func signIn(t *testing.T, b *browsertest.Browser, p *Provider, cfg *oauth2.Config, login, redirect string) idClaims {
	t.Helper()
	verifier, state, nonce := oauth2.GenerateVerifier(), randomString(), randomString()
	authURL := cfg.AuthCodeURL(state,
		oauth2.S256ChallengeOption(verifier),
		oauth2.SetAuthURLParam("nonce", nonce),
		oauth2.SetAuthURLParam("max_age", "300"))

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	final, text, err := b.SignIn(ctx, authURL, login, "any password", redirect)
	if err != nil {
		t.Fatal(err)
	}
	if text != "callback reached" {
		t.Errorf("callback page text %q", text)
	}
	u, err := url.Parse(final)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	if q.Get("error") != "" {
		t.Fatalf("the provider redirected with %s: %s", q.Get("error"), q.Get("error_description"))
	}
	if q.Get("state") != state {
		t.Errorf("state %q, want %q", q.Get("state"), state)
	}
	if q.Get("iss") != p.Issuer { // RFC 9207
		t.Errorf("iss in the redirect %q, want %q", q.Get("iss"), p.Issuer)
	}

	// Without the verifier the code is refused: PKCE is enforced.
	if _, err := cfg.Exchange(ctx, q.Get("code")); err == nil {
		t.Error("the code was exchanged without the PKCE verifier")
	}
	tok, err := cfg.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("exchange the code: %v", err)
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		t.Fatal("no id_token in the token response")
	}

	jws, err := jose.ParseSignedCompact(raw, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		t.Fatalf("parse the ID token: %v", err)
	}
	var keys jose.JSONWebKeySet
	if err := json.Unmarshal(p.PublicJWKS(), &keys); err != nil {
		t.Fatal(err)
	}
	kid := jws.Signatures[0].Header.KeyID
	found := keys.Key(kid)
	if len(found) != 1 {
		t.Fatalf("the ID token's kid %q is not in PublicJWKS", kid)
	}
	if !found[0].IsPublic() {
		t.Error("PublicJWKS has a private key")
	}
	payload, err := jws.Verify(found[0])
	if err != nil {
		t.Fatalf("the ID token's signature does not verify with PublicJWKS: %v", err)
	}
	var c idClaims
	if err := json.Unmarshal(payload, &c); err != nil {
		t.Fatal(err)
	}
	if c.Nonce != nonce {
		t.Errorf("nonce %q, want %q", c.Nonce, nonce)
	}
	return c
}

func checkClaims(t *testing.T, c idClaims, issuer, clientID string, u User) {
	t.Helper()
	var aud []string // a string or an array of strings
	if json.Unmarshal(c.Audience, &aud) != nil {
		var one string
		json.Unmarshal(c.Audience, &one)
		aud = []string{one}
	}
	if c.Issuer != issuer {
		t.Errorf("iss %q, want %q", c.Issuer, issuer)
	}
	if !slices.Contains(aud, clientID) {
		t.Errorf("aud %s, want %q", c.Audience, clientID)
	}
	if c.Subject != u.Subject {
		t.Errorf("sub %q, want %q", c.Subject, u.Subject)
	}
	if c.Email != u.Email || c.EmailVerified == nil || *c.EmailVerified != u.EmailVerified {
		t.Errorf("email %q, email_verified %v; want %q, %v", c.Email, c.EmailVerified, u.Email, u.EmailVerified)
	}
	if c.Name != u.Name {
		t.Errorf("name %q, want %q", c.Name, u.Name)
	}
	if c.AuthTime == 0 {
		t.Error("no auth_time, though the request had max_age")
	}
	now := float64(time.Now().Unix())
	if c.Expiry <= now || c.IssuedAt > now+2 {
		t.Errorf("exp %v, iat %v; now %v", c.Expiry, c.IssuedAt, now)
	}
}

// oauthConfig returns an oauth2 configuration for the client, with the
// endpoints from the provider's discovery document.
func oauthConfig(t *testing.T, p *Provider, clientID, secret, redirect string) *oauth2.Config {
	t.Helper()
	resp, err := http.Get(p.Issuer + "/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var doc struct {
		Issuer                string   `json:"issuer"`
		AuthorizationEndpoint string   `json:"authorization_endpoint"`
		TokenEndpoint         string   `json:"token_endpoint"`
		CodeChallengeMethods  []string `json:"code_challenge_methods_supported"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
		t.Fatal(err)
	}
	if doc.Issuer != p.Issuer || !slices.Equal(doc.CodeChallengeMethods, []string{"S256"}) {
		t.Fatalf("discovery: issuer %q, code challenge methods %q", doc.Issuer, doc.CodeChallengeMethods)
	}
	return &oauth2.Config{
		ClientID:     clientID,
		ClientSecret: secret,
		Endpoint:     oauth2.Endpoint{AuthURL: doc.AuthorizationEndpoint, TokenURL: doc.TokenEndpoint},
		RedirectURL:  redirect,
		Scopes:       []string{"openid", "email", "profile"},
	}
}

// newCallback serves the redirect target on 127.0.0.1.
func newCallback(t *testing.T) *httptest.Server {
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, "callback reached")
	}))
	t.Cleanup(s.Close)
	return s
}

func randomString() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}
