package oidc

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	jose "github.com/go-jose/go-jose/v4"
)

// Options are a Verifier's dependencies.
type Options struct {
	// HTTPClient fetches the discovery document and the key set. nil means
	// a client with a 10 s timeout that follows at most 5 redirects, and only
	// to the same scheme and host (a redirect elsewhere could let another
	// host supply the keys). Whatever the client, an answer larger than
	// 1 MiB is an error.
	HTTPClient *http.Client
	// Now is the one clock: token times and the key cache's 30 s limit are
	// measured with it. nil means time.Now.
	Now func() time.Time
	// Cache keeps the keys fetched through discovery. nil means the
	// process-wide cache, shared by every Verifier without one of its own.
	Cache *KeyCache
}

// maxTokenSize bounds a token: ID tokens are a few kilobytes.
const maxTokenSize = 64 << 10

// Verifier verifies tokens for one Config. It is safe for concurrent use.
// With Discovery, its keys live in Options.Cache (by default the process-wide
// cache), so Verifiers may be made per request without extra fetches.
type Verifier struct {
	cfg      Config
	algs     []jose.SignatureAlgorithm
	now      func() time.Time
	keys     keySource
	verifier *oidc.IDTokenVerifier
}

// New checks cfg with Validate and returns a Verifier for it. It does no I/O:
// with Discovery, the provider is first asked for its keys by the first
// Verify that needs them.
func New(cfg Config, opts Options) (*Verifier, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	v := &Verifier{cfg: cfg, now: opts.Now}
	v.cfg.Algorithms = slices.Clone(cfg.Algorithms)
	if len(v.cfg.Algorithms) == 0 {
		v.cfg.Algorithms = slices.Clone(DefaultAlgorithms)
	}
	v.cfg.RequireACR = slices.Clone(cfg.RequireACR)
	v.cfg.RequireAMR = slices.Clone(cfg.RequireAMR)
	v.cfg.JWKS = nil
	for _, a := range v.cfg.Algorithms {
		v.algs = append(v.algs, jose.SignatureAlgorithm(a))
	}
	if v.now == nil {
		v.now = time.Now
	}

	if len(cfg.JWKS) > 0 {
		keys, err := parseJWKS(cfg.JWKS)
		if err != nil {
			return nil, err
		}
		v.keys = staticKeys(keys)
	} else {
		cache := opts.Cache
		if cache == nil {
			cache = processKeyCache
		}
		v.keys = &remoteKeys{
			issuer: cfg.Issuer,
			entry:  cache.forIssuer(cfg.Issuer),
			client: httpClient(opts.HTTPClient),
			now:    v.now,
		}
	}

	v.verifier = oidc.NewVerifier(cfg.Issuer, keySet{v}, &oidc.Config{
		ClientID:             cfg.ClientID,
		SupportedSigningAlgs: v.cfg.Algorithms,
		// go-oidc allows no leeway on exp and a fixed 5 minutes on nbf;
		// Verify checks both with the configured skew instead.
		SkipExpiryCheck: true,
		Now:             v.now,
	})
	return v, nil
}

// Verify verifies raw, an ID token in compact serialisation, and returns its
// claims. nonce is the nonce of the authentication request; when it is empty
// the token's nonce is not checked. Line breaks in raw are ignored (go-jose's
// base64 decoding skips them), but a caller that reads a token from a file
// should trim it all the same, so that TokenHash identifies the token and not
// the file.
//
// A token that fails a check is refused with an *Error. When the provider's
// keys cannot be had, the error is an *UnavailableError: no decision. Any
// other error is ctx's.
func (v *Verifier) Verify(ctx context.Context, raw string, nonce string) (*Claims, error) {
	now := v.now()
	if len(raw) > maxTokenSize {
		return nil, refuse(Malformed, fmt.Sprintf("the token is larger than %d bytes", maxTokenSize), nil)
	}

	// Read the token before go-oidc does, to name the reason of a refusal
	// that go-oidc would only describe in words. Accepting still takes
	// go-oidc's Verify below.
	jws, err := jose.ParseSignedCompact(raw, v.algs)
	if err != nil {
		var unexpected *jose.ErrUnexpectedSignatureAlgorithm
		if errors.As(err, &unexpected) {
			return nil, refuse(AlgNotAllowed, fmt.Sprintf("the token is signed with %s, which the policy does not allow (allowed: %s)",
				quote(string(unexpected.Got)), strings.Join(v.cfg.Algorithms, ", ")), unverifiedClaims(raw, unexpected.Got))
		}
		return nil, refuse(Malformed, "the token is not a JWS in compact serialisation", nil)
	}
	unverified, err := decodeClaims(jws.UnsafePayloadWithoutVerification())
	if err != nil {
		return nil, refuse(Malformed, err.Error(), nil)
	}
	// An OAuth access token in JWT form (RFC 9068) can carry the client ID
	// as its audience: it must never pass for an ID token.
	if len(jws.Signatures) > 0 {
		if typ, _ := jws.Signatures[0].Protected.ExtraHeaders[jose.HeaderType].(string); strings.EqualFold(typ, "at+jwt") || strings.EqualFold(typ, "application/at+jwt") {
			return nil, refuse(Malformed, "the token is an access token (typ at+jwt), not an ID token", nil)
		}
	}

	rec := &sigRecord{}
	tok, err := v.verifier.Verify(context.WithValue(ctx, sigRecordKey{}, rec), raw)
	if err != nil {
		return nil, v.classify(err, rec, unverified)
	}
	var verified rawClaims
	if err := tok.Claims(&verified); err != nil {
		return nil, refuse(Malformed, "the verified payload could not be read again", unverified.claims())
	}
	claims := verified.claims()
	if e := v.check(&verified, claims, now, nonce); e != nil {
		return nil, e
	}
	return claims, nil
}

// unverifiedClaims reads the claims of a token signed with an algorithm the
// policy refuses, for the record of the refusal; nil if they cannot be read.
func unverifiedClaims(raw string, alg jose.SignatureAlgorithm) *Claims {
	jws, err := jose.ParseSignedCompact(raw, []jose.SignatureAlgorithm{alg})
	if err != nil {
		return nil
	}
	c, err := decodeClaims(jws.UnsafePayloadWithoutVerification())
	if err != nil {
		return nil
	}
	return c.claims()
}

// classify names why go-oidc's Verify refused a token.
func (v *Verifier) classify(err error, rec *sigRecord, unverified *rawClaims) error {
	c := unverified.claims()
	switch {
	case rec.err != nil:
		return rec.err
	case rec.unavailable != nil:
		return rec.unavailable
	case rec.detail != "":
		return refuse(rec.detail, rec.msg, c)
	case !rec.verified:
		// go-oidc refused before asking for the signature: its own parse.
		return refuse(Malformed, "the token is not a signed JWT: "+brief(err.Error()), c)
	case unverified.Iss != v.cfg.Issuer:
		// The signature verified, so these are the verified claims.
		return refuse(WrongIssuer, issuerWords(unverified.Iss, v.cfg.Issuer), c)
	case !slices.Contains(unverified.Aud, v.cfg.ClientID):
		return refuse(WrongAudience, audienceWords(unverified.Aud, v.cfg.ClientID), c)
	default:
		return refuse(Malformed, "the token's claims were refused: "+brief(err.Error()), c)
	}
}

func issuerWords(got, want string) string {
	return fmt.Sprintf("the token was issued by %s, not by %s", quote(got), quote(want))
}

func audienceWords(got []string, want string) string {
	if len(got) == 0 {
		return fmt.Sprintf("the token has no audience; it must include the client id %s", quote(want))
	}
	return fmt.Sprintf("the token's audience %s does not include the client id %s", quote(strings.Join(got, " ")), quote(want))
}

// check makes the checks go-oidc leaves to its caller, on the verified claims.
func (v *Verifier) check(r *rawClaims, c *Claims, now time.Time, nonce string) *Error {
	skew := v.cfg.Skew
	latest := now.Add(skew) // the latest time a claim may name as past
	stamp := func(t time.Time) string { return t.UTC().Format(time.RFC3339) }

	switch {
	case r.Iss != v.cfg.Issuer:
		return refuse(WrongIssuer, issuerWords(r.Iss, v.cfg.Issuer), c)
	case !slices.Contains(r.Aud, v.cfg.ClientID):
		return refuse(WrongAudience, audienceWords(r.Aud, v.cfg.ClientID), c)
	case r.Sub == "":
		return refuse(MissingClaim, `the token has no subject ("sub")`, c)
	case r.Exp == nil:
		return refuse(MissingClaim, `the token has no expiry time ("exp")`, c)
	case r.Iat == nil:
		return refuse(MissingClaim, `the token has no issue time ("iat")`, c)
	case !now.Before(c.Expiry.Add(skew)):
		return refuse(Expired, fmt.Sprintf("the token expired at %s (clock skew allowed: %v)", stamp(c.Expiry), skew), c)
	case r.Nbf != nil && c.NotBefore.After(latest):
		return refuse(NotYetValid, fmt.Sprintf("the token is not valid before %s (clock skew allowed: %v)", stamp(c.NotBefore), skew), c)
	case c.IssuedAt.After(latest):
		return refuse(NotYetValid, fmt.Sprintf("the token says it was issued at %s, in the future (clock skew allowed: %v)", stamp(c.IssuedAt), skew), c)
	case r.AuthTime != nil && c.AuthTime.After(latest):
		return refuse(NotYetValid, fmt.Sprintf("the token says the user authenticated at %s, in the future (clock skew allowed: %v)", stamp(c.AuthTime), skew), c)
	case len(r.Aud) > 1 && r.Azp == "":
		return refuse(WrongAZP, `the token has several audiences and no authorized party ("azp")`, c)
	case r.Azp != "" && r.Azp != v.cfg.ClientID:
		return refuse(WrongAZP, fmt.Sprintf("the token was issued to the authorized party %s, not to the client id %s", quote(r.Azp), quote(v.cfg.ClientID)), c)
	case nonce != "" && r.Nonce == "":
		return refuse(NonceMissing, "the token has no nonce, and the sign-in expected one", c)
	case nonce != "" && subtle.ConstantTimeCompare([]byte(r.Nonce), []byte(nonce)) != 1:
		return refuse(NonceMismatch, "the token's nonce is not the one of this sign-in", c)
	case v.cfg.MaxAge > 0 && r.AuthTime == nil:
		return refuse(StaleAuthentication, fmt.Sprintf(`the token has no authentication time ("auth_time"), and the policy requires an authentication within %v`, v.cfg.MaxAge), c)
	case v.cfg.MaxAge > 0 && now.Sub(c.AuthTime) > v.cfg.MaxAge+skew:
		return refuse(StaleAuthentication, fmt.Sprintf("the user authenticated at %s, longer ago than the policy's %v (clock skew allowed: %v)", stamp(c.AuthTime), v.cfg.MaxAge, skew), c)
	case len(v.cfg.RequireACR) > 0 && !slices.Contains(v.cfg.RequireACR, r.ACR):
		return refuse(MFARequired, fmt.Sprintf("the authentication context %s is not one the policy requires (%s)", quote(r.ACR), strings.Join(v.cfg.RequireACR, ", ")), c)
	}
	for _, m := range v.cfg.RequireAMR {
		if !slices.Contains(r.AMR, m) {
			return refuse(MFARequired, fmt.Sprintf("the authentication methods (amr) do not include %s, which the policy requires", quote(m)), c)
		}
	}
	return nil
}

// sigRecord is what the KeySet saw during one Verify call. go-oidc wraps the
// KeySet's error as text, so the KeySet records its verdict here, in the
// call's context, for classify to read.
type sigRecord struct {
	verified    bool
	detail, msg string
	unavailable *UnavailableError
	err         error // the context's
}

type sigRecordKey struct{}

// keySet is the oidc.KeySet go-oidc verifies signatures with.
type keySet struct{ v *Verifier }

// VerifySignature parses jwt with go-jose, allowing only the policy's
// algorithms, and verifies it with the Verifier's keys. It returns the
// payload, or an error when the signature does not verify or the keys are
// unavailable; the verdict is also recorded in ctx's sigRecord, if any.
func (ks keySet) VerifySignature(ctx context.Context, jwt string) ([]byte, error) {
	rec, _ := ctx.Value(sigRecordKey{}).(*sigRecord)
	if rec == nil {
		rec = &sigRecord{}
	}
	jws, err := jose.ParseSignedCompact(jwt, ks.v.algs)
	if err != nil {
		rec.detail, rec.msg = Malformed, "the token is not a JWS in compact serialisation"
		return nil, errors.New(rec.msg)
	}
	if len(jws.Signatures) != 1 {
		rec.detail, rec.msg = Malformed, "the token does not have exactly one signature"
		return nil, errors.New(rec.msg)
	}
	res := ks.v.keys.verify(ctx, jws)
	switch {
	case res.err != nil:
		rec.err = res.err
		return nil, res.err
	case res.unavailable != nil:
		rec.unavailable = res.unavailable
		return nil, res.unavailable
	case res.detail != "":
		rec.detail, rec.msg = res.detail, res.msg
		return nil, errors.New(res.msg)
	}
	rec.verified = true
	return res.payload, nil
}
