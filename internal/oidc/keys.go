package oidc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// RefetchInterval is the least time between two fetches of an issuer's keys
// by one KeyCache, whether the earlier fetch succeeded or not.
const RefetchInterval = 30 * time.Second

// MaxKeyAge is the age after which fetched keys are refreshed by the next
// verification, even if they verify it.
const MaxKeyAge = time.Hour

// KeyCache holds the keys fetched through discovery, per issuer. A nil
// Options.Cache means the process-wide cache, which every Verifier without a
// cache of its own shares. A KeyCache is safe for concurrent use.
type KeyCache struct {
	mu      sync.Mutex
	issuers map[string]*issuerKeys
}

// NewKeyCache returns an empty cache, for a Verifier (or a group of them)
// that must not share keys or fetch limits with the rest of the process.
func NewKeyCache() *KeyCache {
	return &KeyCache{issuers: map[string]*issuerKeys{}}
}

var processKeyCache = NewKeyCache()

func (c *KeyCache) forIssuer(issuer string) *issuerKeys {
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.issuers[issuer]
	if e == nil {
		e = &issuerKeys{fetching: make(chan struct{}, 1)}
		c.issuers[issuer] = e
	}
	return e
}

// issuerKeys is one issuer's entry in a KeyCache.
type issuerKeys struct {
	// fetching holds a token while one goroutine fetches, so that concurrent
	// verifications that need new keys wait for one fetch instead of each
	// making their own.
	fetching chan struct{}

	mu sync.Mutex
	keySnapshot
	jwksURI string // from discovery; empty before it succeeded and after a key set fetch failed
}

// keySnapshot is the state of an issuer's keys at one moment.
type keySnapshot struct {
	keys      []jose.JSONWebKey // the last set fetched successfully; nil before one was
	keysAt    time.Time         // when keys were fetched
	attempted time.Time         // when the last fetch started, whatever its outcome
	lastErr   error             // why the last fetch failed; nil if it succeeded
}

func (e *issuerKeys) snapshot() keySnapshot {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.keySnapshot
}

// fetchFunc fetches an issuer's keys; jwksURI is the key set's address when
// known, and the address used is returned.
type fetchFunc func(ctx context.Context, jwksURI string) (keys []jose.JSONWebKey, usedURI string, err error)

// maxFetchTime bounds one fetch (discovery and key set), whatever the HTTP
// client's own timeout.
const maxFetchTime = 30 * time.Second

// refresh fetches the keys unless a fetch started less than RefetchInterval
// ago, and returns the state after. A caller that finds a fetch under way
// waits for it rather than starting another. The fetch itself does not end
// when ctx does, only the wait: a caller that gives up (a browser that closed
// its connection) must not turn the fetch into a failure that holds every
// other verification off for RefetchInterval. The only error refresh returns
// is ctx's.
func (e *issuerKeys) refresh(ctx context.Context, now func() time.Time, fetch fetchFunc) (keySnapshot, error) {
	select {
	case e.fetching <- struct{}{}:
	case <-ctx.Done():
		return keySnapshot{}, ctx.Err()
	}

	e.mu.Lock()
	t := now()
	if !e.attempted.IsZero() && t.Sub(e.attempted) < RefetchInterval {
		s := e.keySnapshot
		e.mu.Unlock()
		<-e.fetching
		return s, nil
	}
	e.attempted = t
	uri := e.jwksURI
	e.mu.Unlock()

	done := make(chan keySnapshot, 1)
	go func() {
		defer func() { <-e.fetching }()
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), maxFetchTime)
		defer cancel()
		keys, uri, err := fetch(fctx, uri)

		e.mu.Lock()
		defer e.mu.Unlock()
		if err != nil {
			e.lastErr = err
			e.jwksURI = "" // find the key set again next time: it may have moved
		} else {
			e.keys, e.keysAt, e.lastErr, e.jwksURI = keys, t, nil, uri
		}
		done <- e.keySnapshot
	}()
	select {
	case s := <-done:
		return s, nil
	case <-ctx.Done():
		return keySnapshot{}, ctx.Err()
	}
}

// sigResult is a key source's verdict on a signature: payload set when it
// verified, else a refusal detail and message, or unavailable.
type sigResult struct {
	payload     []byte
	detail, msg string
	unavailable *UnavailableError
	err         error // the caller's context ended
}

// keySource finds the key for a token and verifies its signature.
type keySource interface {
	verify(ctx context.Context, jws *jose.JSONWebSignature) sigResult
}

// keyOutcome is what a set of keys made of a signature.
type keyOutcome int

const (
	verified keyOutcome = iota
	noKey               // no key with the token's kid; without a kid, none that fits its alg
	badSig              // a key with the token's kid, or one fitting its alg, exists; none verified
)

// tryKeys verifies jws with the keys that may have made it: those with its
// key ID, or, when it names none, every key that fits its algorithm.
func tryKeys(keys []jose.JSONWebKey, jws *jose.JSONWebSignature) ([]byte, keyOutcome) {
	h := jws.Signatures[0].Header
	outcome := noKey
	for i := range keys {
		k := &keys[i]
		if h.KeyID != "" && k.KeyID != h.KeyID {
			continue
		}
		usable := (k.Algorithm == "" || k.Algorithm == h.Algorithm) &&
			(k.Use == "" || k.Use == "sig") && keyFitsAlg(k.Key, h.Algorithm)
		if h.KeyID == "" && !usable {
			continue
		}
		outcome = badSig
		if !usable {
			continue
		}
		if payload, err := jws.Verify(k); err == nil {
			return payload, verified
		}
	}
	return nil, outcome
}

// unknownKeyWords says that no key in the set described by where can have
// made the token's signature.
func unknownKeyWords(jws *jose.JSONWebSignature, where string) string {
	h := jws.Signatures[0].Header
	if h.KeyID == "" {
		return "the token names no key id, and no key in " + where + " fits its algorithm " + h.Algorithm
	}
	return "no key with the token's key id " + quote(h.KeyID) + " is in " + where
}

func badSigWords(jws *jose.JSONWebSignature) string {
	h := jws.Signatures[0].Header
	if h.KeyID == "" {
		return "the signature (" + h.Algorithm + ", no key id) does not verify with any key that fits it"
	}
	return "the signature (" + h.Algorithm + ") does not verify with the key " + quote(h.KeyID)
}

// staticKeys is the key source of a JWK Set kept in the store.
type staticKeys []jose.JSONWebKey

func (s staticKeys) verify(_ context.Context, jws *jose.JSONWebSignature) sigResult {
	payload, outcome := tryKeys(s, jws)
	switch outcome {
	case verified:
		return sigResult{payload: payload}
	case noKey:
		return sigResult{detail: UnknownKey, msg: unknownKeyWords(jws, "the imported key set")}
	default:
		return sigResult{detail: BadSignature, msg: badSigWords(jws)}
	}
}

// remoteKeys is the key source of discovery: the issuer's entry in a
// KeyCache, and what this Verifier fetches it with.
type remoteKeys struct {
	issuer string
	entry  *issuerKeys
	client *http.Client
	now    func() time.Time
}

func (r *remoteKeys) verify(ctx context.Context, jws *jose.JSONWebSignature) sigResult {
	before := r.entry.snapshot()
	if before.keys != nil {
		payload, outcome := tryKeys(before.keys, jws)
		fresh := r.now().Sub(before.keysAt) < MaxKeyAge
		switch {
		case fresh && outcome == verified:
			return sigResult{payload: payload}
		case fresh && outcome == badSig && jws.Signatures[0].Header.KeyID != "":
			// The key it names is known: new keys would not change the answer.
			return sigResult{detail: BadSignature, msg: badSigWords(jws)}
		}
	}

	// No keys yet, keys over an hour old, an unknown key id, or a token
	// without key id that no cached key verifies: fetch, at most once per
	// RefetchInterval.
	after, err := r.entry.refresh(ctx, r.now, r.fetch)
	if err != nil {
		return sigResult{err: err}
	}
	keys := after.keys
	if keys == nil {
		return sigResult{unavailable: r.unavailable(after.lastErr)}
	}
	payload, outcome := tryKeys(keys, jws)
	switch {
	case outcome == verified:
		// With new keys, or with keys that are old because the refresh failed:
		// an outage of the provider does not stop sign-ins with its keys.
		return sigResult{payload: payload}
	case outcome == badSig && jws.Signatures[0].Header.KeyID != "":
		return sigResult{detail: BadSignature, msg: badSigWords(jws)}
	case after.lastErr != nil:
		// The last fetch failed: the key may be one the provider has just
		// published, so no decision.
		return sigResult{unavailable: r.unavailable(after.lastErr)}
	case outcome == noKey:
		return sigResult{detail: UnknownKey, msg: unknownKeyWords(jws, "the provider's key set fetched at "+after.keysAt.UTC().Format(time.RFC3339))}
	default:
		return sigResult{detail: BadSignature, msg: badSigWords(jws)}
	}
}

func (r *remoteKeys) unavailable(err error) *UnavailableError {
	var u *UnavailableError
	if errors.As(err, &u) {
		return u
	}
	if err == nil {
		err = errors.New("no key set fetched yet")
	}
	return &UnavailableError{Issuer: r.issuer, Msg: "the keys of " + r.issuer + " are unavailable", Err: err}
}

// fetch finds the key set through discovery unless its address is known,
// then fetches it.
func (r *remoteKeys) fetch(ctx context.Context, jwksURI string) ([]jose.JSONWebKey, string, error) {
	if jwksURI == "" {
		p, err := Discover(ctx, r.client, r.issuer)
		if err != nil {
			return nil, "", err
		}
		jwksURI = p.JWKSURI
	}
	keys, err := fetchJWKS(ctx, r.client, jwksURI)
	if err != nil {
		return nil, "", err
	}
	return keys, jwksURI, nil
}

// fetchJWKS gets a key set and keeps the keys this package can use. Keys it
// cannot use (another key type, an encryption key, a private key) are
// skipped, as RFC 7517 section 5 asks; a set with none left is an error, as
// is an answer that is not a key set.
func fetchJWKS(ctx context.Context, client *http.Client, uri string) ([]jose.JSONWebKey, error) {
	if err := checkURL("jwks_uri", uri); err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, uri, nil)
	if err != nil {
		return nil, fmt.Errorf("jwks_uri %s: %v", quote(uri), err)
	}
	req.Header.Set("Accept", "application/jwk-set+json, application/json")
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetching the key set: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("the key set at %s answered %s", uri, resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxJWKSSize+1))
	if err != nil {
		return nil, fmt.Errorf("reading the key set: %w", err)
	}
	raws, err := splitJWKS(body)
	if err != nil {
		return nil, fmt.Errorf("the answer of %s: %w", uri, err)
	}
	var keys []jose.JSONWebKey
	for _, raw := range raws {
		if k, err := parsePublicKey(raw); err == nil {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("the key set at %s holds no public signing key this verifier can use", uri)
	}
	return keys, nil
}
