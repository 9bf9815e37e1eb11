package oidc

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

func TestDiscoveryVerifies(t *testing.T) {
	k := theKeys(t)
	idp := newIdP(t, testJWKS(t))
	clk := newClock(t0)
	v := discoveryVerifier(t, idp, clk)

	for range 3 {
		if _, err := v.Verify(context.Background(), sign(t, k.ec, jose.ES256, "ec-1", forIssuer(idp.URL)), testNonce); err != nil {
			t.Fatal(err)
		}
		clk.Advance(time.Minute)
	}
	if d, j := idp.discoveryHits.Load(), idp.jwksHits.Load(); d != 1 || j != 1 {
		t.Fatalf("%d discovery and %d key set requests, want 1 and 1", d, j)
	}
}

// TestUnknownKidFlood sends many tokens with unknown key IDs, one after the
// other and at once: the provider's key set is fetched at most once per 30 s.
func TestUnknownKidFlood(t *testing.T) {
	k := theKeys(t)
	idp := newIdP(t, testJWKS(t))
	clk := newClock(t0)
	v := discoveryVerifier(t, idp, clk)
	ctx := context.Background()

	if _, err := v.Verify(ctx, rs256(t, forIssuer(idp.URL)), ""); err != nil {
		t.Fatal(err)
	}
	unknown := func(i int) string {
		return sign(t, k.otherRSA, jose.RS256, fmt.Sprintf("flood-%d", i), forIssuer(idp.URL))
	}
	tokens := make([]string, 40)
	for i := range tokens {
		tokens[i] = unknown(i)
	}

	// One after the other, over 29 s: no fetch, each refused as unknown.
	for i, raw := range tokens {
		clk.Advance(700 * time.Millisecond)
		c, err := v.Verify(ctx, raw, "")
		wantRefusal(t, c, err, UnknownKey)
		if i == 0 && !strings.Contains(err.Error(), "flood-0") {
			t.Errorf("message %q does not name the key id", err)
		}
	}
	if got := idp.jwksHits.Load(); got != 1 {
		t.Fatalf("%d key set requests in the first 30 s, want 1", got)
	}

	// 30 s after the fetch: the flood at once, 40 goroutines, one fetch.
	clk.Advance(RefetchInterval)
	var wg sync.WaitGroup
	errs := make(chan error, len(tokens))
	for _, raw := range tokens {
		wg.Go(func() {
			_, err := v.Verify(ctx, raw, "")
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		wantRefusal(t, nil, err, UnknownKey)
	}
	if got := idp.jwksHits.Load(); got != 2 {
		t.Fatalf("%d key set requests after 30 s, want 2", got)
	}
	// Known keys still verify, without fetching.
	if _, err := v.Verify(ctx, rs256(t, forIssuer(idp.URL)), ""); err != nil {
		t.Fatal(err)
	}
	if got, d := idp.jwksHits.Load(), idp.discoveryHits.Load(); got != 2 || d != 1 {
		t.Fatalf("%d key set and %d discovery requests, want 2 and 1", got, d)
	}
}

// TestRotatedKey: the provider publishes a new key and signs with it.
func TestRotatedKey(t *testing.T) {
	k := theKeys(t)
	rotated := jwksOf(t, jose.JSONWebKey{Key: k.otherRSA, KeyID: "rsa-2", Algorithm: "RS256"},
		jose.JSONWebKey{Key: k.rsa, KeyID: "rsa-1", Algorithm: "RS256"})
	newToken := func(iss string) string { return sign(t, k.otherRSA, jose.RS256, "rsa-2", forIssuer(iss)) }
	ctx := context.Background()

	t.Run("AfterThirtySecondsSinceTheLastFetch", func(t *testing.T) {
		idp := newIdP(t, testJWKS(t))
		clk := newClock(t0)
		v := discoveryVerifier(t, idp, clk)
		if _, err := v.Verify(ctx, rs256(t, forIssuer(idp.URL)), ""); err != nil {
			t.Fatal(err)
		}
		idp.setJWKS(http.StatusOK, rotated)

		clk.Advance(RefetchInterval - time.Second)
		c, err := v.Verify(ctx, newToken(idp.URL), "")
		wantRefusal(t, c, err, UnknownKey)

		clk.Advance(time.Second)
		if _, err := v.Verify(ctx, newToken(idp.URL), ""); err != nil {
			t.Fatalf("the rotated key was not picked up 30 s after the last fetch: %v", err)
		}
		if got := idp.jwksHits.Load(); got != 2 {
			t.Fatalf("%d key set requests, want 2", got)
		}
	})

	t.Run("AtOnceWhenNoRecentFetch", func(t *testing.T) {
		idp := newIdP(t, testJWKS(t))
		clk := newClock(t0)
		v := discoveryVerifier(t, idp, clk)
		if _, err := v.Verify(ctx, rs256(t, forIssuer(idp.URL)), ""); err != nil {
			t.Fatal(err)
		}
		idp.setJWKS(http.StatusOK, rotated)
		clk.Advance(10 * time.Minute)
		if _, err := v.Verify(ctx, newToken(idp.URL), ""); err != nil {
			t.Fatalf("the rotated key was not picked up at once: %v", err)
		}
		if got := idp.jwksHits.Load(); got != 2 {
			t.Fatalf("%d key set requests, want 2", got)
		}
	})
}

// TestKnownKidBadSignatureDoesNotFetch: a wrong signature with a known key
// ID is refused from the cache; fetching again would not change the answer.
func TestKnownKidBadSignatureDoesNotFetch(t *testing.T) {
	k := theKeys(t)
	idp := newIdP(t, testJWKS(t))
	clk := newClock(t0)
	v := discoveryVerifier(t, idp, clk)
	ctx := context.Background()
	if _, err := v.Verify(ctx, rs256(t, forIssuer(idp.URL)), ""); err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Minute)
	c, err := v.Verify(ctx, sign(t, k.otherRSA, jose.RS256, "rsa-1", forIssuer(idp.URL)), "")
	wantRefusal(t, c, err, BadSignature)
	if got := idp.jwksHits.Load(); got != 1 {
		t.Fatalf("%d key set requests, want 1", got)
	}
}

func TestWithdrawnKeyStopsAfterMaxKeyAge(t *testing.T) {
	k := theKeys(t)
	ctx := context.Background()
	withoutRSA := jwksOf(t, jose.JSONWebKey{Key: k.ec, KeyID: "ec-1"})
	longLived := func(iss string) string { return rs256(t, forIssuer(iss, set("exp", t0.Add(24*time.Hour).Unix()))) }

	t.Run("Withdrawn", func(t *testing.T) {
		idp := newIdP(t, testJWKS(t))
		clk := newClock(t0)
		v := discoveryVerifier(t, idp, clk)
		if _, err := v.Verify(ctx, longLived(idp.URL), ""); err != nil {
			t.Fatal(err)
		}
		idp.setJWKS(http.StatusOK, withoutRSA)
		clk.Advance(MaxKeyAge - time.Second)
		if _, err := v.Verify(ctx, longLived(idp.URL), ""); err != nil {
			t.Fatalf("within an hour: %v", err)
		}
		clk.Advance(time.Second)
		c, err := v.Verify(ctx, longLived(idp.URL), "")
		wantRefusal(t, c, err, UnknownKey)
		if got := idp.jwksHits.Load(); got != 2 {
			t.Fatalf("%d key set requests, want 2", got)
		}
	})

	t.Run("ProviderDownKeepsOldKeys", func(t *testing.T) {
		idp := newIdP(t, testJWKS(t))
		clk := newClock(t0)
		v := discoveryVerifier(t, idp, clk)
		if _, err := v.Verify(ctx, longLived(idp.URL), ""); err != nil {
			t.Fatal(err)
		}
		idp.setJWKS(http.StatusServiceUnavailable, []byte("down"))
		clk.Advance(2 * MaxKeyAge)
		if _, err := v.Verify(ctx, longLived(idp.URL), ""); err != nil {
			t.Fatalf("old keys not used while the provider is down: %v", err)
		}
		if got := idp.jwksHits.Load(); got != 2 {
			t.Fatalf("%d key set requests, want 2", got)
		}
	})
}

// TestKeysUnavailable: when the keys cannot be had, Verify does not refuse,
// it cannot decide.
func TestKeysUnavailable(t *testing.T) {
	k := theKeys(t)
	privateOnly := `{"keys":[{"kty":"oct","k":"c2VjcmV0LXNlY3JldC1zZWNyZXQ","kid":"rsa-1"}]}`
	tests := []struct {
		name   string
		status int
		body   string
		issuer string // the discovery document's issuer, if not the server's
	}{
		{name: "KeySetError", status: http.StatusInternalServerError, body: "oops"},
		{name: "KeySetNotFound", status: http.StatusNotFound, body: "not found"},
		{name: "KeySetHTML", status: http.StatusOK, body: "<html><body>log in</body></html>"},
		{name: "KeySetEmpty", status: http.StatusOK, body: `{"keys":[]}`},
		{name: "KeySetNotASet", status: http.StatusOK, body: `{"kty":"RSA"}`},
		{name: "KeySetOnlyUnusableKeys", status: http.StatusOK, body: privateOnly},
		{name: "KeySetTooLarge", status: http.StatusOK, body: `{"keys":[],"x":"` + strings.Repeat("a", 2<<20) + `"}`},
		{name: "DiscoveryIssuerMismatch", status: http.StatusOK, body: string(testJWKS(t)), issuer: "https://other.example.test"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			idp := newIdP(t, nil)
			idp.setJWKS(tc.status, []byte(tc.body))
			idp.issuer = tc.issuer
			v := discoveryVerifier(t, idp, newClock(t0))
			c, err := v.Verify(context.Background(), rs256(t, forIssuer(idp.URL)), "")
			u := wantUnavailable(t, c, err)
			t.Log(u)
			if u.Issuer != idp.URL {
				t.Errorf("issuer %q, want %q", u.Issuer, idp.URL)
			}
			if len(u.Error()) > 600 {
				t.Errorf("message of %d bytes", len(u.Error()))
			}
		})
	}

	t.Run("ProviderDown", func(t *testing.T) {
		idp := newIdP(t, testJWKS(t))
		idp.Close()
		v := discoveryVerifier(t, idp, newClock(t0))
		c, err := v.Verify(context.Background(), sign(t, k.ec, jose.ES256, "ec-1", forIssuer(idp.URL)), "")
		wantUnavailable(t, c, err)
	})

	t.Run("DiscoveryNotFound", func(t *testing.T) {
		srv := httptest.NewServer(http.NotFoundHandler())
		defer srv.Close()
		v, err := New(Config{Issuer: srv.URL, ClientID: testClient, Discovery: true},
			Options{Now: func() time.Time { return t0 }, Cache: NewKeyCache()})
		if err != nil {
			t.Fatal(err)
		}
		c, err := v.Verify(context.Background(), rs256(t, forIssuer(srv.URL)), "")
		wantUnavailable(t, c, err)
	})
}

// TestUnavailableBetweenFetches: after a failed fetch, a known key still
// verifies; an unknown one cannot be decided, and waits 30 s for a new fetch.
func TestUnavailableBetweenFetches(t *testing.T) {
	k := theKeys(t)
	idp := newIdP(t, testJWKS(t))
	clk := newClock(t0)
	v := discoveryVerifier(t, idp, clk)
	ctx := context.Background()
	if _, err := v.Verify(ctx, rs256(t, forIssuer(idp.URL)), ""); err != nil {
		t.Fatal(err)
	}
	idp.setJWKS(http.StatusBadGateway, []byte("bad gateway"))
	newKid := sign(t, k.otherRSA, jose.RS256, "rsa-2", forIssuer(idp.URL))

	clk.Advance(RefetchInterval)
	c, err := v.Verify(ctx, newKid, "")
	wantUnavailable(t, c, err)
	if got := idp.jwksHits.Load(); got != 2 {
		t.Fatalf("%d key set requests, want 2", got)
	}
	// The fetch after a failed one goes through discovery again.
	clk.Advance(10 * time.Second)
	c, err = v.Verify(ctx, newKid, "")
	wantUnavailable(t, c, err)
	if _, err := v.Verify(ctx, rs256(t, forIssuer(idp.URL)), ""); err != nil {
		t.Fatalf("a known key after a failed fetch: %v", err)
	}
	if got := idp.jwksHits.Load(); got != 2 {
		t.Fatalf("%d key set requests within 30 s of the failed one, want 2", got)
	}

	idp.setJWKS(http.StatusOK, jwksOf(t, jose.JSONWebKey{Key: k.otherRSA, KeyID: "rsa-2"}))
	clk.Advance(RefetchInterval)
	if _, err := v.Verify(ctx, newKid, ""); err != nil {
		t.Fatalf("after the provider came back: %v", err)
	}
	if d := idp.discoveryHits.Load(); d != 2 {
		t.Fatalf("%d discovery requests, want 2 (again after the failed key set fetch)", d)
	}
}

// TestProcessWideCache: Verifiers without a cache of their own share one,
// so a Verifier per request does not fetch per request.
func TestProcessWideCache(t *testing.T) {
	idp := newIdP(t, testJWKS(t))
	cfg := Config{Issuer: idp.URL, ClientID: testClient, Skew: DefaultSkew, Discovery: true}
	for range 3 {
		v, err := New(cfg, Options{HTTPClient: idp.Client(), Now: func() time.Time { return t0 }})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := v.Verify(context.Background(), rs256(t, forIssuer(idp.URL)), ""); err != nil {
			t.Fatal(err)
		}
	}
	if got := idp.jwksHits.Load(); got != 1 {
		t.Fatalf("%d key set requests for 3 Verifiers, want 1", got)
	}
}

// TestDefaultClientRefusesRedirectToAnotherHost: the discovery document
// moved to another server would let that server choose the keys.
func TestDefaultClientRefusesRedirectToAnotherHost(t *testing.T) {
	idp := newIdP(t, testJWKS(t))
	redirector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, idp.URL+r.URL.Path, http.StatusFound)
	}))
	defer redirector.Close()

	_, err := Discover(context.Background(), nil, redirector.URL)
	var u *UnavailableError
	if !errors.As(err, &u) || !strings.Contains(err.Error(), "redirect") {
		t.Fatalf("Discover: %v; want unavailable, naming the redirect", err)
	}
	if idp.discoveryHits.Load() != 0 {
		t.Fatal("the redirect was followed")
	}

	// Within the same host, a redirect is followed.
	mux := http.NewServeMux()
	same := httptest.NewServer(mux)
	defer same.Close()
	mux.HandleFunc("/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/moved", http.StatusFound)
	})
	mux.HandleFunc("/moved", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `{"issuer":%q,"jwks_uri":%q}`, same.URL, same.URL+"/jwks")
	})
	if _, err := Discover(context.Background(), nil, same.URL); err != nil {
		t.Fatalf("a redirect within the host: %v", err)
	}
}

func TestDiscover(t *testing.T) {
	idp := newIdP(t, testJWKS(t))
	p, err := Discover(context.Background(), idp.Client(), idp.URL)
	if err != nil {
		t.Fatal(err)
	}
	want := Provider{
		Issuer: idp.URL, AuthorizationEndpoint: idp.URL + "/authorize", TokenEndpoint: idp.URL + "/token",
		JWKSURI: idp.URL + "/jwks", UserinfoEndpoint: idp.URL + "/userinfo", CodeChallengeMethods: []string{"S256"},
	}
	if fmt.Sprint(*p) != fmt.Sprint(want) {
		t.Fatalf("got %+v\nwant %+v", *p, want)
	}

	t.Run("IssuerMismatchIsAConfigurationError", func(t *testing.T) {
		idp := newIdP(t, testJWKS(t))
		idp.issuer = idp.URL + "/"
		_, err := Discover(context.Background(), idp.Client(), idp.URL)
		var u *UnavailableError
		if err == nil || errors.As(err, &u) || !strings.Contains(err.Error(), "names the issuer") {
			t.Fatalf("got %v; want a plain error naming the issuer", err)
		}
	})
	t.Run("PlainHTTPOnlyOnLoopback", func(t *testing.T) {
		_, err := Discover(context.Background(), nil, "http://idp.example.test")
		if err == nil || !strings.Contains(err.Error(), "only https") {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("KeySetOverPlainHTTPElsewhere", func(t *testing.T) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintf(w, `{"issuer":"http://%s","jwks_uri":"http://keys.example.test/jwks"}`, r.Host)
		}))
		defer srv.Close()
		_, err := Discover(context.Background(), nil, srv.URL)
		if err == nil || !strings.Contains(err.Error(), "jwks_uri") {
			t.Fatalf("got %v", err)
		}
	})
}

// TestCallerGivingUpDoesNotFailTheFetch: a verification whose context ends
// while the keys are being fetched returns the context's error, and the
// fetch goes on for the verifications after it.
func TestCallerGivingUpDoesNotFailTheFetch(t *testing.T) {
	jwks := testJWKS(t)
	entered, release := make(chan struct{}), make(chan struct{})
	var hits atomic.Int64
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	defer srv.Close()
	mux.HandleFunc("/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `{"issuer":%q,"jwks_uri":%q}`, srv.URL, srv.URL+"/jwks")
	})
	mux.HandleFunc("/jwks", func(w http.ResponseWriter, r *http.Request) {
		if hits.Add(1) == 1 {
			close(entered)
			<-release
		}
		_, _ = w.Write(jwks)
	})
	v, err := New(Config{Issuer: srv.URL, ClientID: testClient, Discovery: true},
		Options{HTTPClient: srv.Client(), Now: func() time.Time { return t0 }, Cache: NewKeyCache()})
	if err != nil {
		t.Fatal(err)
	}
	raw := rs256(t, forIssuer(srv.URL))

	ctx, cancel := context.WithCancel(context.Background())
	go func() { <-entered; cancel() }()
	c, err := v.Verify(ctx, raw, "")
	if !errors.Is(err, context.Canceled) || c != nil {
		t.Fatalf("got %v, %v; want the context's error", c, err)
	}
	close(release)
	if _, err := v.Verify(context.Background(), raw, ""); err != nil {
		t.Fatalf("after the fetch the first caller gave up on: %v", err)
	}
	if got := hits.Load(); got != 1 {
		t.Fatalf("%d key set requests, want 1", got)
	}
}
